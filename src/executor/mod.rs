//! How one command runs and what comes back. `local` runs it as a child process in a
//! process group of its own; the types here describe the request and the outcome in
//! terms that do not depend on where the command ran.

pub(crate) mod local;
pub(crate) mod simple;
pub(crate) mod slurm;
pub(crate) mod spawn;
mod vfork;

use std::path::Path;
use std::time::{Duration, SystemTime};

/// Where the command's stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capture {
    /// Inherit prun's own stdout and stderr.
    Inherit,
    /// /dev/null.
    Null,
    /// One pipe for both, read by prun in the order bytes were written.
    Pipe,
}

/// One command to run.
pub(crate) struct Request<'a> {
    pub(crate) shell: &'a Path,
    pub(crate) script: &'a str,
    /// The command's words, when it can be exec'd without the shell (`simple`).
    pub(crate) direct: Option<&'a [&'a str]>,
    /// Words to run the command through (`srun ...`): then the command runs as
    /// `<wrapper...> <shell> -c <script>`, and a wrapper that is missing is an error.
    pub(crate) wrapper: Option<&'a [String]>,
    /// The parent's environment, captured once per run.
    pub(crate) env_base: &'a spawn::EnvBase,
    /// Variables set over `env_base`; later entries win.
    pub(crate) env: &'a [(String, String)],
    pub(crate) workdir: &'a Path,
    pub(crate) capture: Capture,
    /// Bytes written to the command's stdin, which is then closed; `None` = /dev/null.
    pub(crate) stdin: Option<&'a [u8]>,
    /// SIGTERM to the process group after this long, SIGKILL `grace` later.
    pub(crate) timeout: Option<Duration>,
    pub(crate) grace: Duration,
}

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
}

impl Finished {
    /// A command that could not be started, for `why`.
    pub(crate) fn not_started(why: String) -> Self {
        Finished {
            started: SystemTime::now(),
            duration: Duration::ZERO,
            exit: None,
            error: Some(why),
            timed_out: false,
            leftovers: false,
        }
    }

    pub(crate) fn success(&self) -> bool {
        !self.timed_out && self.exit.is_some_and(|e| e.success())
    }
}
