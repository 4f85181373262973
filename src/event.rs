//! The messages workers, the hook runner and the signal watch send to the driver. They
//! report facts; only the scheduling core decides what follows from them.

use crate::executor::Finished;
use crate::report::Status;
use crate::report::spool::Spool;

#[derive(Debug)]
pub(crate) enum Event {
    /// Bytes a running job wrote (line mode, or stream mode when prun copies output).
    Output { job: usize, bytes: Vec<u8> },
    /// A job's attempt ended.
    Ended(Box<Ended>),
    /// A hook ended: a job's (`Some(job)`) or a run-level one (`None`).
    HookDone {
        job: Option<usize>,
        hook: &'static str,
        finished: Finished,
        output: Vec<u8>,
    },
    /// prun received SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
}

/// How one attempt of a job ended, as its worker saw it.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) job: usize,
    pub(crate) attempt: u32,
    /// The pool slot it ran in.
    pub(crate) slot: usize,
    pub(crate) finished: Finished,
    /// `Status::of_attempt` as the worker recorded it in the joblog.
    pub(crate) status: Status,
    /// All it wrote, in group mode.
    pub(crate) output: Spool,
    /// The end of its output, when reports need it.
    pub(crate) tail: Vec<u8>,
    /// The last byte it wrote to stdout itself, as the owner of a big block (see
    /// `report::owner`).
    pub(crate) stdout_last: Option<u8>,
    /// Writing to stdout as that owner failed.
    pub(crate) stdout_error: Option<std::io::Error>,
    /// Its `--log-dir` file could not be opened or written: why.
    pub(crate) log_error: Option<String>,
    /// What it wrote to `PRUN_OUTPUT`, or why that is not valid.
    pub(crate) outputs: Result<crate::outputs::Outputs, String>,
}

impl Ended {
    /// An attempt that ended with nothing to report yet (fields are then filled in).
    pub(crate) fn new(job: usize, attempt: u32, slot: usize) -> Self {
        Ended {
            job,
            attempt,
            slot,
            finished: Finished::not_started(String::new()),
            status: Status::Failed,
            output: Spool::new(),
            tail: Vec::new(),
            stdout_last: None,
            stdout_error: None,
            log_error: None,
            outputs: Ok(Vec::new()),
        }
    }
}
