//! The errors that stop prun before or around a run, one type per concern, and the one
//! place that maps every outcome to an exit code. Job failures are not here: they are
//! outcomes in the run summary ([`report::summary`](crate::report::summary)), counted into exit code 1 by
//! `RunSummary::prun_exit`.
//!
//! What the user gave (a jobfile, a path, a combination of options) that cannot work is
//! exit 2, "nothing ran"; an operating-system failure prun did not expect (a disk error,
//! no memory, no threads) is exit 1. [`exit::caused_by_the_path`](crate::exit::caused_by_the_path) tells the two apart for
//! I/O.

use std::io;
use std::process::ExitCode;

use crate::exit;
use crate::input::diagnostic::Diagnostic;
use crate::input::source::ReadError;
use crate::state::history::HistoryError;
use crate::state::joblog::JoblogError;
use crate::state::lock::LockError;

/// The first panic, as said (`Error::on_panic_exit`).
static PANICKED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

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
    #[error(transparent)]
    History(#[from] HistoryError),
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
        "--keep and --keep-days need a history: add --history DIR or `history:` to the jobfile"
    )]
    KeepWithoutHistory,
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
            hint: crate::executor::spawn::out_of_resources(&source),
            source,
        }
    }

    /// The exit code for this error.
    pub fn prun_exit(&self) -> u8 {
        match self {
            Error::Jobfile(_) | Error::Usage(_) => exit::USAGE,
            Error::Path(e) => exit::for_io(&e.source),
            Error::Lock(e) => e.prun_exit(),
            Error::Joblog(e) => e.prun_exit(),
            Error::History(e) => e.prun_exit(),
            Error::Io { .. } => exit::FAILURE,
        }
    }

    /// From now on a panic (a bug in prun) is said at once, kept (`panicked`: the run's
    /// exit code becomes 70), and turned into an ending, never a signal or a hang:
    /// - on a job's worker or a service's thread, into that job's failure;
    /// - on the driver (the main thread) or a thread that serves it (hooks, signals,
    ///   probes: they pass it on as `Event::Crashed`), into the end of the run: every job
    ///   is stopped, the reports are written and the end ping is sent;
    /// - anywhere else on the main thread (before or after a run), into exit 70 by `main`.
    pub fn on_panic_exit() {
        std::panic::set_hook(Box::new(|info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("a thread of prun");
            let said = format!("in {name}: {info}");
            let _ = PANICKED.set(said.clone());
            crate::output::console::eprint(&format!(
                "prun: internal error (a bug in prun; please report it) {said}\n"
            ));
        }));
    }

    /// The first panic there was in prun, if one was (`on_panic_exit`).
    pub(crate) fn panicked() -> Option<String> {
        PANICKED.get().cloned()
    }

    /// A bug, on purpose, where `PRUN_TEST_PANIC` names `at`: for the tests of what a
    /// panic does (debug builds only).
    pub(crate) fn test_panic(at: &str) {
        #[cfg(debug_assertions)]
        if std::env::var_os("PRUN_TEST_PANIC").is_some_and(|v| v == at) {
            panic!("PRUN_TEST_PANIC={at}");
        }
        let _ = at;
    }

    /// A panic `main` caught: prun was not running jobs (or had ended them), so it says
    /// so and leaves with exit 70.
    pub fn caught_panic() -> ExitCode {
        crate::output::console::eprint("prun: stopped on that internal error (exit 70)\n");
        ExitCode::from(crate::exit::INTERNAL)
    }

    /// Prints the error to stderr and returns the exit code to leave with.
    pub fn report(self) -> ExitCode {
        crate::output::console::eprint(&format!("error: {self}\n"));
        ExitCode::from(self.prun_exit())
    }
}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Jobfile(d) => Error::Jobfile(d),
            ReadError::Io { context, source } => Error::io(context, source),
        }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error::Jobfile(Box::new(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobfile_that_cannot_be_read_is_exit_2_and_a_failing_system_exit_1() {
        let unreadable = ReadError::Jobfile(Box::new(Diagnostic::file("j.yaml", "no such file")));
        assert_eq!(Error::from(unreadable).prun_exit(), exit::USAGE);
        let io = ReadError::Io {
            context: "reading the jobfile from stdin",
            source: io::Error::from_raw_os_error(libc::EIO),
        };
        let e = Error::from(io);
        assert_eq!(e.prun_exit(), exit::FAILURE);
        assert!(
            e.to_string()
                .starts_with("reading the jobfile from stdin: "),
            "{e}"
        );
    }

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
