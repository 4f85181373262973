//! The messages workers, the hook thread and the signal watch send to the driver. They
//! report facts; only the core decides what follows from them. What the core hears of
//! an attempt (`AttemptEnded`) travels whole inside `Ended`, beside what only the
//! driver needs (the output to show, the end of it for reports).

use crate::executor::finished::Finished;
use crate::output::spool::Spool;
use crate::schedule::actions::AttemptEnded;

#[derive(Debug)]
pub(crate) enum Event {
    /// Bytes a running job wrote (line mode, or stream mode when prun copies output).
    Output { job: usize, bytes: Vec<u8> },
    /// A job's attempt ended.
    Ended(Box<Ended>),
    /// A hook ended: a job's (`Some(job)`) or a run-level one (`None`).
    HookDone {
        job: Option<usize>,
        hook: crate::plan::hooks::HookKind,
        finished: Finished,
        output: Vec<u8>,
    },
    /// prun received SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
    /// A service's probe passed (its probe thread, or its worker for a log probe).
    ServiceReady { job: usize },
    /// A service's probe failed, differently from the time before: how.
    ProbeFailed { job: usize, why: String },
    /// A job with `sources`/`status` is not up to date: it runs, for this reason.
    Stale { job: usize, why: String },
    /// A thread that serves the driver (hooks, signals, a probe) panicked: a bug, which
    /// ends the run as a panic on the driver does (`serving`).
    Crashed,
}

/// Runs `body`, a thread's work for the driver; a panic in it (said already by the panic
/// hook) reaches the driver as `Event::Crashed`.
pub(crate) fn serving(tx: &std::sync::mpsc::SyncSender<Event>, body: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
        let _ = tx.send(Event::Crashed);
    }
}

/// How one attempt of a job ended, as its worker saw it.
#[derive(Debug)]
pub(crate) struct Ended {
    /// For the core.
    pub(crate) attempt: AttemptEnded,
    /// The pool slot it ran in.
    pub(crate) slot: usize,
    /// All it wrote, in group mode.
    pub(crate) output: Spool,
    /// The end of its output, when reports need it.
    pub(crate) tail: Vec<u8>,
    /// The last byte it wrote to stdout itself, as the owner of a big block (see
    /// [`output::owner`](crate::output::owner)).
    pub(crate) stdout_last: Option<u8>,
    /// Writing to stdout as that owner failed.
    pub(crate) stdout_error: Option<std::io::Error>,
}

impl Ended {
    /// Attempt `attempt` of `job`, in `slot`, whose worker failed (a bug in prun: it
    /// panicked).
    pub(crate) fn internal_error(job: usize, attempt: u32, slot: usize) -> Self {
        Ended {
            attempt: AttemptEnded {
                job,
                attempt,
                finished: Finished::not_started(
                    "internal error in prun's worker (a bug: please report it)".into(),
                ),
                status: crate::outcome::Status::Failed,
                log: None,
                log_error: None,
                outputs: Ok(Vec::new()),
                not_spawned: None,
                state_error: None,
            },
            slot,
            output: Spool::new(),
            tail: Vec::new(),
            stdout_last: None,
            stdout_error: None,
        }
    }
}
