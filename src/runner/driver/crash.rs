//! A bug in prun (a panic) on the driver, or on a thread that serves it, ends the run
//! there (`Error::on_panic_exit`): every job and service still running is stopped
//! (SIGTERM, SIGKILL after the grace), no further hook runs, and the run is summed up as
//! it stood — a job that was running as stopped by the bug, one not started as never
//! started — so that the reports and the end ping are still attempted, with exit 70.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::Driver;
use crate::outcome::summary::RunSummary;
use crate::runner::event::Event;

/// How long the jobs get after SIGKILL to be reaped, before the summary is taken anyway.
const REAPED_WITHIN: Duration = Duration::from_secs(5);

/// How often the wait looks whether every process group is gone.
const LOOK_EVERY: Duration = Duration::from_millis(20);

impl Driver {
    /// The run as it stood when the bug ended it, every job stopped.
    pub(super) fn crashed(&mut self, run_id: String, rx: &Receiver<Event>) -> RunSummary {
        crate::output::console::eprint(
            "prun: stopping every job; the reports and the end ping are still attempted\n",
        );
        self.hooks.cancel();
        self.stop_all(rx);
        let summed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let order = self.core.order();
            let results = self.core.take_crashed_results(&order);
            self.summary_of(run_id.clone(), order, results)
        }));
        // The core itself may be what broke: then no job's result can be trusted, and
        // the summary says only that the run ended on a bug.
        summed.unwrap_or_else(|_| self.summary_of(run_id, Vec::new(), Vec::new()))
    }

    /// SIGTERM to every job and service, SIGKILL to those left after the grace; waits
    /// (boundedly) for their workers to say they ended. The core hears none of it.
    fn stop_all(&mut self, rx: &Receiver<Event>) {
        let slots = self.ctx.groups.len();
        for (sig, within) in [
            (libc::SIGTERM, self.plan.grace),
            (libc::SIGKILL, REAPED_WITHIN),
        ] {
            if self.running == 0 {
                return;
            }
            let _ =
                (self.ctx.stop_signal).compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
            self.ctx.signal_slots(sig, slots);
            // The count may be off by the job whose end the bug interrupted: what
            // runs is what has a process group.
            let until = Instant::now() + within;
            while self.running > 0 && Instant::now() < until {
                match rx.recv_timeout(LOOK_EVERY) {
                    Ok(Event::Ended(_)) => self.running -= 1,
                    Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                if self
                    .ctx
                    .groups
                    .iter()
                    .all(|g| g.load(Ordering::SeqCst) == 0)
                {
                    self.running = 0;
                }
            }
        }
    }
}

impl Drop for Driver {
    /// Whatever way the driver goes (a panic in the crash path itself included), no job
    /// outlives it.
    fn drop(&mut self) {
        if self.running > 0 {
            self.ctx.stop_signal.store(libc::SIGKILL, Ordering::SeqCst);
            self.ctx.signal_running(libc::SIGKILL);
        }
    }
}
