//! The errors that stop prun before or around a run, and the one place that maps every
//! outcome to an exit code. Job failures are not here: they are outcomes in the run
//! summary (`report::summary`), counted into exit code 1 by `RunSummary::exit_code`.

use std::io;
use std::process::ExitCode;

use crate::diagnostic::Diagnostic;

/// Exit codes prun uses, documented in the README's table.
pub mod exit {
    /// Every job (and every hook) succeeded.
    pub const SUCCESS: u8 = 0;
    /// At least one job failed, timed out, was skipped or not run, or a hook failed.
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
    /// A command-line value is wrong in a way clap cannot see.
    #[error("{0}")]
    Usage(String),
    /// The lock file is held by another run.
    #[error("{0}")]
    LockHeld(String),
    /// An operating-system call prun itself needs failed (not a job's failure).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with what prun was doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Jobfile(_) | Error::Usage(_) => exit::USAGE,
            Error::LockHeld(_) => exit::LOCK_HELD,
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
