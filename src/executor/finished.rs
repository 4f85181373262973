//! How a command ended (`Finished`, `Exit`), as the process layer saw it: the facts
//! the core turns into a job's status (`outcome`), and signals by name.

use std::time::{Duration, SystemTime};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Exit {
    /// The exit code, when it exited by itself.
    pub(crate) code: Option<i32>,
    /// The signal that killed it, when one did.
    pub(crate) signal: Option<i32>,
}

impl Exit {
    pub(crate) fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// The name of signal `n` (`SIGKILL`), or `SIG<n>` when it has none.
pub(crate) fn signal_name(n: i32) -> &'static str {
    nix::sys::signal::Signal::try_from(n).map_or("SIGUNKNOWN", |s| s.as_str())
}

/// Everything about one finished command.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub(crate) started: SystemTime,
    pub(crate) duration: Duration,
    /// `None` when it could not be started at all (see `error`).
    pub(crate) exit: Option<Exit>,
    /// Why it could not be started, in words.
    pub(crate) error: Option<String>,
    pub(crate) timed_out: bool,
    /// Processes were left in its group after the shell exited, and were terminated.
    pub(crate) leftovers: bool,
    /// It timed out because prun was stopping (`Request::stop`), not by its own timeout.
    pub(crate) cut_short: bool,
}

impl Finished {
    /// A command prun did not run, with no error (a job that was up to date).
    pub(crate) fn not_run() -> Self {
        Finished {
            error: None,
            ..Finished::not_started(String::new())
        }
    }

    /// A command that could not be started, for `why`.
    pub(crate) fn not_started(why: String) -> Self {
        Finished {
            started: SystemTime::now(),
            duration: Duration::ZERO,
            exit: None,
            error: Some(why),
            timed_out: false,
            leftovers: false,
            cut_short: false,
        }
    }

    pub(crate) fn success(&self) -> bool {
        !self.timed_out && self.exit.is_some_and(|e| e.success())
    }
}
