//! The messages workers and the hook runner send to the scheduler. They report facts;
//! only the scheduler decides what follows from them.

use crate::executor::Finished;
use crate::report::spool::Spool;

#[derive(Debug)]
pub(crate) enum Event {
    /// Bytes a running job wrote (line mode, or stream mode when prun copies output).
    Output { job: usize, bytes: Vec<u8> },
    /// A job's attempt ended; `output` is all it wrote in group mode.
    Ended {
        job: usize,
        attempt: u32,
        finished: Finished,
        output: Spool,
        /// The end of its output, when reports need it.
        tail: Vec<u8>,
        /// The last byte it wrote to stdout itself, as the owner of a big block (see
        /// `pool::DirectStream`).
        direct_last: Option<u8>,
    },
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
