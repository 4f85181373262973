//! The pool: one dedicated rayon thread pool of exactly N workers. Each worker runs one
//! attempt at a time (`attempt`) and reports what happened as an `Event`; workers never
//! print and never decide. The core hands a job to the pool only when a slot is free, so
//! rayon never queues work and a job starts the moment it is handed over.

use std::sync::Arc;
use std::sync::mpsc::SyncSender as Sender;

use super::attempt::{self, Attempt};
use super::context::RunContext;
use super::event::{Ended, Event};

pub(crate) struct Pool {
    pool: rayon::ThreadPool,
}

impl Pool {
    /// A pool of exactly `workers` threads.
    /// A thread that cannot start is rayon's error around the system's, which is
    /// returned as it is (its errno says why).
    pub(crate) fn new(workers: usize) -> std::io::Result<Pool> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("prun-worker-{}", i + 1))
            .build()
            .map_err(|e| {
                use std::error::Error as _;
                let errno = e
                    .source()
                    .and_then(|s| s.downcast_ref::<std::io::Error>())
                    .and_then(std::io::Error::raw_os_error);
                errno.map_or_else(
                    || std::io::Error::other(e),
                    std::io::Error::from_raw_os_error,
                )
            })?;
        Ok(Pool { pool })
    }

    /// Starts `a` on a free worker.
    pub(crate) fn start(&self, ctx: &Arc<RunContext>, a: Attempt, tx: &Sender<Event>) {
        let (ctx, tx) = (Arc::clone(ctx), tx.clone());
        self.pool.spawn_fifo(move || {
            // A bug in a worker must not abort prun (rayon aborts on a panicking job) and
            // leave the driver waiting: report it as the attempt's failure instead.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                attempt::run(&ctx, &a, &tx)
            }));
            let ended = ran.unwrap_or_else(|_| {
                // What it had started must not run on unwatched.
                ctx.signal_slot(a.slot, libc::SIGKILL);
                Box::new(Ended::internal_error(a.job, a.attempt, a.slot))
            });
            // The run's context goes before the driver hears of the end: after the last
            // job it is then dropped here or by the driver, never by a worker that the
            // exit of prun cuts short (which would leave the run's directory behind).
            drop(ctx);
            let _ = tx.send(Event::Ended(ended));
        });
    }
}
