//! Stopping: `--fail-fast` and signals start nothing new, cancel due retries, leave
//! cleanup jobs to run until the stop deadline; a second signal kills everything.

use std::sync::Arc;
use std::time::Instant;

use super::Schedule;
use super::actions::{Action, Note, Notice};
use crate::input::settings::MaxFail;
use crate::outcome::{JobResult, Reason, Stop};

impl Schedule {
    /// Starts no new job or retry; a job waiting for its retry keeps its last result,
    /// and its reason says that its retries were cancelled, and why.
    pub(super) fn stop(&mut self, out: &mut Vec<Action>) {
        self.stopping.starting = true;
        let stop = self.stop_cause();
        for mut r in std::mem::take(&mut self.retries) {
            let reason = Arc::new(Reason::RetriesCancelled {
                after: r.attempt - 1,
                of: self.spec(r.job).opts.retry.retries + 1,
                stop,
                last: r.last.reason_shared(),
            });
            out.push(Action::Say(Notice::Job {
                job: r.job,
                reason: Arc::clone(&reason),
            }));
            r.last.set_reason(reason);
            out.push(Action::Show {
                job: r.job,
                note: Some(Note::of(&r.last)),
                last: true,
            });
            self.finalize(r.job, r.last, out);
        }
        self.settle_pending();
    }

    /// A job failed (not an allowed failure): with `--max-fail N`, the N-th stops the
    /// run; with `N:kill` the jobs still running get SIGTERM, SIGKILL after the grace.
    pub(super) fn count_failure(&mut self, out: &mut Vec<Action>) {
        let Some(m) = self.plan.max_fail else {
            return;
        };
        self.stopping.failures += 1;
        if self.stopping.failures < m.failures || self.stopping.starting {
            return;
        }
        self.stop(out);
        let running = self.running.len();
        if m.kill && running > 0 {
            out.push(Action::SignalPool(libc::SIGTERM));
            self.stopping.kill_at = Some(crate::times::after(self.now(), self.plan.grace));
        }
        out.push(Action::Say(Notice::MaxFail {
            max: m,
            running,
            grace: self.plan.grace,
        }));
    }

    /// Once the run is stopped: every job not started yet that is not a cleanup job
    /// will never start (not run); cleanup jobs wait for their needs to end, in file
    /// order. Without cleanup jobs nothing is moved (the end records the rest).
    pub(super) fn settle_pending(&mut self) {
        if !self.plan.has_cleanup {
            return;
        }
        let n = self.plan.jobs.len();
        let mut pending: Vec<usize> = (self.next..n)
            .filter(|&j| self.results[j].is_none())
            .collect();
        self.next = n;
        pending.extend(self.blocked.take_all());
        pending.extend(self.queue.drain(..));
        for (_, w) in &mut self.units.waiting {
            pending.extend(std::mem::take(w).into_iter().map(|(_, j)| j));
        }
        let why = self.why_not_started();
        for j in pending {
            if self.cleanup_may_run() && self.spec(j).opts.when.is_cleanup() {
                self.blocked.look_again(j, self.rank(j));
            } else {
                self.results[j] = Some(JobResult::not_run(Arc::clone(&why)));
                self.blocked.ended(j);
            }
        }
    }

    /// Cleanup jobs not started yet never will (a second signal, or the deadline).
    pub(super) fn abandon_pending(&mut self, why: Arc<Reason>) {
        let mut pending = self.blocked.take_all();
        pending.extend(self.queue.drain(..));
        for (_, w) in &mut self.units.waiting {
            pending.extend(std::mem::take(w).into_iter().map(|(_, j)| j));
        }
        for j in pending {
            if self.results[j].is_none() {
                self.results[j] = Some(JobResult::not_run(Arc::clone(&why)));
            }
        }
    }

    /// The first SIGINT/SIGTERM/SIGHUP stops the run gently: nothing new starts, running
    /// jobs get the signal and SIGKILL after the grace period, and every hook still to
    /// run (the one running now included) gets at most the grace period. A second
    /// signal, of any kind, kills every job and hook at once and runs no more hooks.
    pub(super) fn on_signal(&mut self, now: Instant, signal: i32, out: &mut Vec<Action>) {
        if self.stopping.signal.is_some() {
            self.stopping.killed = true;
            self.stop(out);
            self.stopping.kill_at = None;
            self.pending_hooks = 0;
            out.push(Action::SignalJobs(libc::SIGKILL));
            out.push(Action::KillHooks);
            out.push(Action::Say(Notice::SecondSignal { signal }));
            return;
        }
        self.stopping.signal = Some(signal);
        self.stop(out);
        out.push(Action::SignalJobs(signal));
        out.push(Action::LimitHooks);
        let cleanup = if self.cleanup_may_run() && !self.blocked.is_empty() {
            self.blocked.len()
        } else {
            0
        };
        // Running jobs are killed at the deadline, and cleanup jobs may start until it.
        if !self.running.is_empty() || cleanup > 0 {
            self.stopping.kill_at = Some(crate::times::after(now, self.plan.grace));
        }
        let (services, service_grace) = self.services_running();
        out.push(Action::Say(Notice::Stopping {
            signal,
            running: self.running.len(),
            cleanup,
            grace: self.plan.grace,
            services,
            service_grace,
        }));
    }

    /// What stopped the run: the first signal, else `--fail-fast`.
    pub(super) fn stop_cause(&self) -> Stop {
        match self.stopping.signal {
            Some(sig) => Stop::Signal(sig),
            None => Stop::MaxFail(self.plan.max_fail.unwrap_or(MaxFail {
                failures: 1,
                kill: false,
            })),
        }
    }
}
