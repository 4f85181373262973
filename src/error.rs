//! The errors that stop prun before or around a run, one type per concern, and the one
//! place that maps every outcome to an exit code. Job failures are not here: they are
//! outcomes in the run summary (`report::summary`), counted into exit code 1 by
//! `RunSummary::exit_code`.
//!
//! What the user gave (a jobfile, a path, a combination of options) that cannot work is
//! exit 2, "nothing ran"; an operating-system failure prun did not expect (a disk error,
//! no memory, no threads) is exit 1. `caused_by_the_path` tells the two apart for I/O.

use std::io;
use std::process::ExitCode;

use crate::diagnostic::Diagnostic;
use crate::lock::LockError;
use crate::report::joblog::JoblogError;

/// Exit codes prun uses, documented in the README's table.
pub mod exit {
    /// Every job (and every hook) succeeded.
    pub const SUCCESS: u8 = 0;
    /// At least one job failed, timed out, was skipped or not run, a hook failed, or
    /// output was lost; or prun itself met an operating-system failure.
    pub const FAILURE: u8 = 1;
    /// Usage or jobfile error: nothing ran.
    pub const USAGE: u8 = 2;
    /// `--lock` is held by another run (EX_TEMPFAIL).
    pub const LOCK_HELD: u8 = 75;
    /// Interrupted by a signal: 128 + the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
    pub const SIGNAL_BASE: u8 = 128;
}

/// Everything that can stop prun from running the jobfile to its end.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The jobfile cannot be read, parsed or validated.
    #[error("{0}")]
    Jobfile(Box<Diagnostic>),
    /// A command-line value, or a combination, that cannot work.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A file or directory given for prun to write cannot be used.
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Joblog(#[from] JoblogError),
    /// An operating-system call prun itself needs failed (not a job's failure).
    #[error("{context}: {source}{hint}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
        /// Said after the system's message (what a lack of resources means), or "".
        hint: String,
    },
}

/// Options that do not go together.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("--lock-wait needs a lock: add --lock FILE or `lock:` to the jobfile")]
    LockWaitWithoutLock,
    #[error(
        "containment: cgroup was asked for, but {0}; nothing was run. Run as root or in a delegated cgroup, or use --containment auto"
    )]
    NoCgroups(String),
}

/// A path prun is to write (`--report`, `--junit`, `--timeline`, `--log-dir`) that it
/// cannot use.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} {path}: {source}; give a path in a directory that exists and that prun may write to"
)]
pub struct PathError {
    /// The option or file it is for: `--report`, `the log directory`.
    pub what: &'static str,
    pub path: String,
    #[source]
    pub source: io::Error,
}

impl Error {
    /// Wraps an I/O error with what prun was doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
            hint: String::new(),
        }
    }

    /// A thread or process prun needs could not be started: where that is for lack of
    /// processes or memory, the error says so (an EAGAIN elsewhere, from a non-blocking
    /// stdin or stdout, means something else and gets no hint).
    pub(crate) fn starting(what: &str, source: io::Error) -> Self {
        Error::Io {
            context: format!("starting {what}"),
            hint: out_of_resources(&source),
            source,
        }
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Jobfile(_) | Error::Usage(_) => exit::USAGE,
            Error::Path(e) => io_exit(&e.source),
            Error::Lock(e) => e.exit_code(),
            Error::Joblog(e) => e.exit_code(),
            Error::Io { .. } => exit::FAILURE,
        }
    }

    /// Prints the error to stderr and returns the exit code to leave with.
    pub fn report(self) -> ExitCode {
        crate::report::console::eprint(&format!("error: {self}\n"));
        ExitCode::from(self.exit_code())
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error::Jobfile(Box::new(d))
    }
}

/// Whether `e` says the path given cannot be used (missing, a directory, a link, not
/// allowed, ...) rather than that the system failed.
pub(crate) fn caused_by_the_path(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        NotFound
            | PermissionDenied
            | AlreadyExists
            | IsADirectory
            | NotADirectory
            | ReadOnlyFilesystem
            | InvalidInput
            | InvalidFilename
    ) || e.raw_os_error() == Some(libc::ELOOP)
}

/// Exit 2 for a path that cannot be used, 1 for a system failure.
/// What a failure to start a process or thread means, when it is a lack of resources
/// (said after the system's message), or nothing. Only for errors of starting one.
pub(crate) fn out_of_resources(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EAGAIN) => format!(
            "; the process limit is reached (this user's: ulimit -u, now {}; or the system's)",
            nproc_limit()
        ),
        Some(libc::ENOMEM) => "; the system is out of memory".to_owned(),
        _ => String::new(),
    }
}

/// The soft RLIMIT_NPROC, as `ulimit -u` shows it.
fn nproc_limit() -> String {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut lim) } == 0;
    match lim.rlim_cur {
        _ if !ok => "unknown".to_owned(),
        libc::RLIM_INFINITY => "unlimited".to_owned(),
        n => n.to_string(),
    }
}

pub(crate) fn io_exit(e: &io::Error) -> u8 {
    if caused_by_the_path(e) {
        exit::USAGE
    } else {
        exit::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_failed_start_blames_the_process_limit() {
        let eagain = || io::Error::from_raw_os_error(libc::EAGAIN);
        let started = Error::starting("the worker pool", eagain()).to_string();
        assert!(
            started.starts_with("starting the worker pool: ")
                && started.contains("; the process limit is reached (this user's: ulimit -u"),
            "{started}"
        );
        // A non-blocking stdin or stdout says EAGAIN too: that is no process limit.
        let read = Error::io("reading the jobfile from stdin", eagain()).to_string();
        assert!(!read.contains("limit"), "{read}");
    }
}
