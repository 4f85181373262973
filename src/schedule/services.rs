//! Services (`service: true`): started when reached with their needs met and a job left
//! that needs them, in a slot past the pool's; ready when their probe passes (or at
//! once without one); failed when not ready in time or when they exit on their own;
//! stopped — TERM, then KILL after `stop_grace` — as soon as no job that needs them may
//! still run, so services needed by other services stop after those.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Schedule;
use super::actions::{Action, AttemptEnded, Note, Notice};
use super::attempt::{self, Fate};
use super::service_state::Phase;
use crate::outcome::outputs::Outputs;
use crate::outcome::{JobResult, More, Reason, Status};

impl Schedule {
    /// The service that `job` is, if it is one.
    pub(super) fn svc_index(&self, job: usize) -> Option<usize> {
        if self.services.is_empty() {
            return None;
        }
        self.services.iter().position(|s| s.job == job)
    }

    /// Whether `job` is a service.
    pub(super) fn is_service(&self, job: usize) -> bool {
        self.svc_index(job).is_some()
    }

    /// What the jobs that need `job` see of it: its result, or while it is a ready
    /// service, a success with the outputs it wrote before it was ready.
    pub(crate) fn seen(&self, job: usize) -> Option<&JobResult> {
        if let Some(r) = &self.results[job] {
            return Some(r);
        }
        let k = self.svc_index(job)?;
        self.services[k].seen.as_ref()
    }

    /// Whether `job` ended as a failure its `allow_failure:` allows (`None`: not ended).
    pub(crate) fn allowed(&self, job: usize) -> Option<bool> {
        self.results[job].as_ref().map(|r| r.allowed)
    }

    /// How `job` ended, as far as the jobs that need it go: a ready service counts as a
    /// success, a service prun found failed as failed before it has ended.
    pub(super) fn ended_as(&self, job: usize) -> Option<(Status, bool)> {
        if let Some(r) = &self.results[job] {
            // A failure its `allow_failure:` allows counts as a success.
            let status = if r.allowed { Status::Success } else { r.status };
            return Some((status, r.by_condition));
        }
        let s = &self.services[self.svc_index(job)?];
        match s.phase {
            _ if s.failure.is_some() => Some((Status::Failed, false)),
            Phase::Ready => Some((Status::Success, false)),
            _ => None,
        }
    }

    /// Starts service `job`, whose needs are met — unless no job that needs it is left to
    /// run (they all ran before, `--resume`, or were skipped): then it is not started.
    pub(super) fn start_service(&mut self, job: usize, out: &mut Vec<Action>) {
        let Some(k) = self.svc_index(job) else {
            return;
        };
        if !self.needed(k) {
            self.services[k].phase = Phase::Ended;
            self.skip(job, Reason::Unneeded, true, out);
            return;
        }
        let now = self.now();
        let s = &mut self.services[k];
        out.push(Action::Start {
            job,
            slot: s.slot,
            attempt: 1,
        });
        let probed = self.plan.jobs[job]
            .opts
            .service
            .as_ref()
            .is_some_and(|svc| svc.probe.is_some());
        s.phase = Phase::Starting { since: now };
        if !probed {
            self.service_ready(job, Ok(Vec::new()), out);
        }
    }

    /// Service `job`'s probe passed; `outputs` is what it had written to `PRUN_OUTPUT`.
    pub(super) fn service_ready(
        &mut self,
        job: usize,
        outputs: Result<Outputs, String>,
        out: &mut Vec<Action>,
    ) {
        let Some(k) = self.svc_index(job) else {
            return;
        };
        let Phase::Starting { since } = self.services[k].phase else {
            return;
        };
        let outputs = match outputs {
            Ok(o) => o,
            Err(why) => return self.fail_service(k, Reason::BadOutputs(why), out),
        };
        let after = self.now().saturating_duration_since(since);
        let s = &mut self.services[k];
        s.phase = Phase::Ready;
        self.blocked.ended(job);
        s.ready_after = Some(after);
        let more = More {
            outputs,
            ready_after: Some(after),
            ..More::default()
        };
        s.seen = Some(JobResult::new(Status::Success).with_more(more));
        out.push(Action::Say(Notice::ServiceReady { job, after }));
    }

    /// Service `job`'s probe failed again: how, for the reason if it never passes.
    pub(super) fn probe_failed(&mut self, job: usize, why: String) {
        if let Some(k) = self.svc_index(job) {
            self.services[k].last_failure = Some(why);
        }
    }

    /// Service k failed while running: said at once, the jobs that need it are skipped
    /// from now on, and it is stopped.
    fn fail_service(&mut self, k: usize, why: Reason, out: &mut Vec<Action>) {
        let why = Arc::new(why);
        let job = self.services[k].job;
        out.push(Action::Say(Notice::Job {
            job,
            reason: Arc::clone(&why),
        }));
        self.services[k].failure = Some(why);
        self.blocked.ended(self.services[k].job);
        self.stop_service(k, Fate::Failed, out);
        self.count_failure(out);
    }

    /// How many services are running (started, not ended), and the longest `stop_grace`
    /// among them.
    pub(super) fn services_running(&self) -> (usize, Duration) {
        let running =
            (self.services.iter()).filter(|s| !matches!(s.phase, Phase::Waiting | Phase::Ended));
        running.fold((0, Duration::ZERO), |(n, g), s| {
            let own = (self.plan.jobs[s.job].opts.service.as_ref())
                .map_or(Duration::ZERO, |v| v.stop_grace);
            (n + 1, g.max(own))
        })
    }

    /// TERM to service k's group, SIGKILL after its `stop_grace`.
    fn stop_service(&mut self, k: usize, fate: Fate, out: &mut Vec<Action>) {
        let job = self.services[k].job;
        let grace =
            (self.plan.jobs[job].opts.service.as_ref()).map_or(Duration::ZERO, |s| s.stop_grace);
        let kill_at = Some(crate::times::after(self.now(), grace));
        self.services[k].phase = Phase::Stopping { fate, kill_at };
        out.push(Action::StopService { job, fate });
    }

    /// Whether a job that needs service k may still run (or runs now).
    fn needed(&self, k: usize) -> bool {
        let s = &self.services[k];
        s.dependents
            .iter()
            .flat_map(|&d| self.jobs_of(d))
            .any(|e| self.may_yet_run(e))
    }

    /// Whether job `e` runs now or may still start.
    fn may_yet_run(&self, e: usize) -> bool {
        if self.results[e].is_some() {
            return false;
        }
        if self.running.contains_key(&e) || self.retries.iter().any(|r| r.job == e) {
            return true;
        }
        if let Some(k) = self.svc_index(e) {
            let s = &self.services[k];
            if s.running() {
                return true;
            }
            if s.phase == Phase::Ended {
                return false;
            }
        }
        !self.stopping.starting || (self.cleanup_may_run() && self.spec(e).opts.when.is_cleanup())
    }

    /// After each event: services not ready in time fail, services no longer needed
    /// stop, services past their `stop_grace` are killed. Returns whether a service
    /// failed or stopped (the jobs that need it may then be skipped, and what they
    /// needed may stop in turn).
    pub(super) fn tend_services(&mut self, out: &mut Vec<Action>) -> bool {
        let mut changed = false;
        for k in 0..self.services.len() {
            let s = &self.services[k];
            let job = s.job;
            let svc = self.plan.jobs[job].opts.service.as_ref();
            let timeout = svc.map_or(Duration::MAX, |s| s.timeout);
            match s.phase {
                Phase::Starting { since }
                    if self.now().saturating_duration_since(since) >= timeout =>
                {
                    let last = s.last_failure.clone();
                    let why = Reason::NotReady {
                        after: timeout,
                        last,
                    };
                    self.fail_service(k, why, out);
                    changed = true;
                }
                Phase::Starting { .. } | Phase::Ready if !self.needed(k) => {
                    self.stop_service(k, Fate::Unneeded, out);
                    changed = true;
                }
                Phase::Stopping {
                    fate,
                    kill_at: Some(at),
                } if at <= self.now() => {
                    self.services[k].phase = Phase::Stopping {
                        fate,
                        kill_at: None,
                    };
                    out.push(Action::KillService { job });
                }
                _ => {}
            }
        }
        changed
    }

    /// When a service's readiness timeout or stop grace runs out.
    pub(super) fn service_wake_at(&self) -> Option<Instant> {
        (self.services.iter())
            .filter_map(|s| match s.phase {
                Phase::Starting { since } => {
                    let svc = self.plan.jobs[s.job].opts.service.as_ref()?;
                    Some(crate::times::after(since, svc.timeout))
                }
                Phase::Stopping { kill_at, .. } => kill_at,
                _ => None,
            })
            .min()
    }

    /// Every service has ended (or never started).
    pub(super) fn services_ended(&self) -> bool {
        self.services.iter().all(|s| !s.running())
    }

    /// Service k's process ended: its result, shown, its hooks.
    pub(super) fn service_ended(&mut self, k: usize, e: AttemptEnded, out: &mut Vec<Action>) {
        let AttemptEnded {
            job,
            attempt,
            finished,
            log,
            log_error,
            outputs,
            ..
        } = e;
        let s = &mut self.services[k];
        let phase = std::mem::replace(&mut s.phase, Phase::Ended);
        let fate = match phase {
            Phase::Stopping { fate, .. } => fate,
            _ => Fate::Running,
        };
        let stop = match (self.stopping.killed, self.stopping.signal) {
            (true, Some(sig)) => sig,
            _ => 0,
        };
        let status = attempt::service_status(fate, &finished, stop);
        let ending = finished.ending;
        let reason = match (fate, phase) {
            (Fate::Failed, _) => s.failure.clone(),
            (Fate::Unneeded, _) => None,
            _ if finished.timed_out => {
                let t = self.plan.jobs[job].opts.timeout.unwrap_or_default();
                Some(Arc::new(Reason::TimedOut(t)))
            }
            _ if finished.error.is_some() => finished
                .error
                .clone()
                .map(|e| Arc::new(Reason::CannotStart(e))),
            (_, Phase::Ready) => Some(Arc::new(Reason::ExitedWhileNeeded(ending))),
            _ => Some(Arc::new(Reason::ExitedBeforeReady(ending))),
        };
        let more = More {
            log,
            log_error,
            outputs: outputs.unwrap_or_default(),
            ready_after: s.ready_after,
            ..More::default()
        };
        s.seen = None;
        let mut result = JobResult::new(status).with_more(more);
        // Said when prun found it failed; said now when it ended on its own.
        if let Some(why) = &reason {
            if fate != Fate::Failed {
                out.push(Action::Say(Notice::Job {
                    job,
                    reason: Arc::clone(why),
                }));
            }
            result.set_reason(Arc::clone(why));
        }
        result.attempts = attempt;
        let slot = self.services[k].slot;
        result.set_finished(Some(slot), finished);
        out.push(Action::Show {
            job,
            note: (status != Status::Success).then(|| Note::of(&result)),
            last: true,
        });
        if status.is_failure() && fate == Fate::Running {
            self.count_failure(out);
        }
        self.finalize(job, result, out);
    }
}
