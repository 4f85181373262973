//! An attempt or a hook ended: the job's result, a retry or its final status, and the
//! hooks that are due.

use std::sync::Arc;
use std::time::Instant;

use super::actions::{Action, AttemptEnded, HookEnd, NotSpawned, Note, Notice};
use super::attempt;
use super::attempt::Condition;
use super::{Retry, Schedule};
use crate::outcome::{EarlierAttempt, HookFailure, HookReason, JobResult, More, Reason};

impl Schedule {
    pub(super) fn job_ended(&mut self, now: Instant, e: AttemptEnded, out: &mut Vec<Action>) {
        if let Some(k) = self.svc_index(e.job) {
            return self.service_ended(k, e, out);
        }
        let AttemptEnded {
            job,
            attempt,
            finished,
            status,
            log,
            log_error,
            outputs,
            not_spawned,
            state_error,
        } = e;
        let slot = self.running.remove(&job);
        if let Some(s) = slot {
            self.slots[s - 1] = false;
        }
        let units = slot.map(|s| self.release_units(s)).unwrap_or_default();
        // The stop deadline stays while cleanup jobs may still start: it bounds them.
        // (After `--max-fail N:kill` it is for the jobs it stopped alone.)
        let for_cleanup =
            self.stopping.signal.is_some() && self.stopping.starting && self.cleanup_may_run();
        if self.running.is_empty() && !for_cleanup {
            self.stopping.kill_at = None;
        }
        if let (Some(why), Some(path)) = (&log_error, &log) {
            out.push(Action::Say(Notice::LogIncomplete {
                job,
                path: path.clone(),
                why: why.clone(),
            }));
        }
        let (outputs, bad_outputs) = match outputs {
            Ok(o) => (o, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        let spec = self.spec(job);
        if let Some(why) = state_error {
            out.push(Action::Say(Notice::StateNotSaved { job, why }));
        }
        let spawned = not_spawned.is_none();
        let mut by_condition = false;
        let reason = if let Some(n) = not_spawned {
            Some(match n {
                NotSpawned::UpToDate(words) => Reason::UpToDate(words),
                NotSpawned::Condition(cmd, Condition::Fails(ended)) => {
                    by_condition = true;
                    Reason::Condition { cmd, ended }
                }
                NotSpawned::Condition(cmd, Condition::Broken(why)) => {
                    Reason::ConditionBroken { cmd, why }
                }
                NotSpawned::Condition(_, Condition::Cut | Condition::Holds) => {
                    Reason::NotStarted(self.stop_cause())
                }
            })
        } else if let Some(why) = bad_outputs {
            Some(Reason::BadOutputs(why))
        } else if finished.timed_out {
            Some(Reason::TimedOut(spec.opts.timeout.unwrap_or_default()))
        } else if status == crate::outcome::Status::Interrupted && self.stopping.signal.is_none() {
            Some(Reason::Stopped(self.stop_cause()))
        } else if let Some(hit) = finished.limit_hit.filter(|_| !finished.success()) {
            Some(Reason::Memory(hit))
        } else if finished.leftovers {
            Some(Reason::Leftovers)
        } else {
            finished.error.clone().map(Reason::CannotStart)
        };
        let more = More {
            log,
            log_error,
            outputs,
            units,
            ..More::default()
        };
        let mut result = JobResult::new(status).with_more(self.with_earlier(job, more));
        if let Some(why) = reason {
            let why = Arc::new(why);
            out.push(Action::Say(Notice::Job {
                job,
                reason: Arc::clone(&why),
            }));
            result.set_reason(why);
        }
        result.by_condition = by_condition;
        result.attempts = if spawned { attempt } else { 0 };
        result.set_finished(slot, finished);
        self.retry_or_end(now, job, attempt, spawned, result, out);
    }

    /// `more`, with the attempts before this one of `job` (if it was retried).
    fn with_earlier(&mut self, job: usize, mut more: More) -> More {
        if let Some(mut prev) = self.carried.remove(&job) {
            let last = prev.finished();
            let before = prev.take_more();
            more.log_error = before.log_error.or(more.log_error);
            more.earlier = before.earlier;
            if let Some(f) = last {
                more.earlier.push(EarlierAttempt {
                    status: prev.status,
                    finished: f,
                });
            }
        }
        more
    }

    /// After attempt `attempt` of `job` ended as `result`: its retry, or its end.
    /// `spawned`: the job was run (not found up to date, or stopped by its `if:`, which
    /// is never retried nor allowed to fail).
    fn retry_or_end(
        &mut self,
        now: Instant,
        job: usize,
        attempt: u32,
        spawned: bool,
        mut result: JobResult,
        out: &mut Vec<Action>,
    ) {
        let status = result.status;
        let spec = self.spec(job);
        // Nothing is retried once the run is stopping (--fail-fast, or a signal: an
        // interrupted attempt always ends the job).
        let retry = spawned
            && !status.is_success()
            && !self.stopping.starting
            && spec.opts.retry.retry_after(attempt, result.exit_code());
        if retry {
            let delay = spec.opts.retry.delay_after(attempt);
            let of = spec.opts.retry.retries + 1;
            let note = Note {
                attempt: Some((attempt, of)),
                ..Note::of(&result)
            };
            out.push(Action::Say(Notice::Retrying { job, note, delay }));
            out.push(Action::Show {
                job,
                note: Some(note),
                last: false,
            });
            self.retries.push(Retry {
                at: crate::times::after(now, delay),
                job,
                attempt: attempt + 1,
                last: result,
            });
            return;
        }
        // The last attempt decides whether a failure is allowed; one that is is not
        // counted by --max-fail.
        result.allowed = spawned
            && status.is_failure()
            && attempt::allowed(&spec.opts.allow, status, result.finished().as_ref());
        // A skip by its `if:` is no failure to note (as a skip by `when:`).
        let failing = !status.is_success() && !result.by_condition;
        out.push(Action::Show {
            job,
            note: failing.then(|| Note::of(&result)),
            last: true,
        });
        if status.is_failure() && !result.allowed {
            self.count_failure(out);
        }
        self.finalize(job, result, out);
    }

    /// Records a job's final result and queues its hooks.
    pub(super) fn finalize(&mut self, job: usize, result: JobResult, out: &mut Vec<Action>) {
        self.blocked.ended(job);
        let hooks = self.spec(job).opts.hooks.for_job(result.hook_case()).len();
        if !self.stopping.killed && hooks > 0 {
            self.pending_hooks += hooks;
            self.results[job] = Some(result);
            out.push(Action::RunHooks { job: Some(job) });
            return;
        }
        self.results[job] = Some(result);
    }

    /// A hook ended: its output is shown, and if it failed that is said and recorded.
    pub(super) fn hook_ended(
        &mut self,
        job: Option<usize>,
        hook: crate::plan::hooks::HookKind,
        ended: HookEnd,
        out: &mut Vec<Action>,
    ) {
        self.pending_hooks = self.pending_hooks.saturating_sub(1);
        let failure = match ended {
            HookEnd::Ran(finished) => {
                let timeout =
                    job.map_or(self.plan.hook_timeout, |j| self.spec(j).opts.hook_timeout);
                let failure = attempt::hook_failure(&finished, timeout, self.plan.grace);
                out.push(Action::ShowHook {
                    job,
                    hook,
                    failure: failure.clone(),
                });
                failure
            }
            HookEnd::NotHanded(why) => Some(HookReason::CannotStart(why)),
        };
        let Some(reason) = failure else {
            return;
        };
        out.push(Action::Say(Notice::HookFailed {
            job,
            hook,
            reason: reason.clone(),
        }));
        let job = job.map(|j| self.spec(j).name.clone());
        self.hook_failures.push(HookFailure { job, hook, reason });
    }
}
