//! The process layer: everything prun does with processes, and nothing else does any.
//! The types here describe a command to run (`Request`) and how it ended (`Finished`) in
//! terms that do not depend on where it ran.
//!
//! - `local`: runs a command and supervises it to its end (output, exit, timeout, what
//!   it leaves behind), in a process group of its own;
//! - `spawn` and `vfork`: the child, from clone to exec; `simple` decides which commands
//!   skip the shell; `slurm` wraps a command in `srun`;
//! - `cgroup`: the run's cgroups, where they can be made; `keeper`: the process that
//!   stops everything when prun is SIGKILLed.
//!
//! Invariants, each checked by a test: no descriptor of prun's reaches a job or a hook
//! (everything prun opens is close-on-exec; `tests/processes.rs`); a job and a hook start
//! with no signal blocked and none of prun's dispositions (`vfork`, checked at every
//! spawn in debug builds, and in `tests/processes.rs`); a child is in its process group,
//! its cgroup and the keeper's list before it runs any of the job's code.

pub(crate) mod cgroup;
pub(crate) mod keeper;
pub(crate) mod local;
pub(crate) mod simple;
pub(crate) mod slurm;
pub(crate) mod spawn;
mod vfork;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

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

/// What a command reads on stdin.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stdin<'a> {
    /// `/dev/null`.
    Null,
    /// These bytes, through a pipe that is then closed (a job's result for its hooks).
    Bytes(&'a [u8]),
    /// This file, from where its offset is (the run's report for a run-level hook: it
    /// may be too big to hold in memory).
    File(&'a std::fs::File),
}

/// One command to run.
pub(crate) struct Request<'a> {
    pub(crate) shell: &'a crate::plan::Shell,
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
    pub(crate) stdin: Stdin<'a>,
    /// SIGTERM to the process group after this long, SIGKILL `grace` later.
    pub(crate) timeout: Option<Duration>,
    pub(crate) grace: Duration,
    /// Once this clock says prun is stopping, the command gets at most `grace` more
    /// (counted from the later of its start and the stop), whatever its `timeout`.
    pub(crate) stop: Option<&'a StopClock>,
    /// The keeper, which the child registers with before it runs (see `vfork`).
    pub(crate) keeper: Option<&'a crate::executor::keeper::Keeper>,
    /// The cgroup the child enters before it runs, where prun contains jobs in cgroups.
    pub(crate) cgroup: Option<&'a cgroup::Cgroup>,
}

/// When prun started stopping (its first signal), shared with the commands that must
/// then end sooner (hooks), and a wake-up for the one being supervised when it changes.
pub(crate) struct StopClock {
    base: Instant,
    /// Nanoseconds after `base`, plus one; 0 while prun is not stopping.
    since: AtomicU64,
    /// An eventfd made readable when the clock is set, so a supervisor asleep in poll
    /// looks at it at once.
    wake: OwnedFd,
}

impl StopClock {
    pub(crate) fn new() -> std::io::Result<Self> {
        // SAFETY: eventfd takes an initial value and flags and returns a new fd or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(StopClock {
            base: Instant::now(),
            since: AtomicU64::new(0),
            // SAFETY: a freshly opened fd that we now own.
            wake: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// prun is stopping from now on (only the first call counts).
    pub(crate) fn stop_now(&self) {
        let n = self.base.elapsed().as_nanos() as u64 + 1;
        if self
            .since
            .compare_exchange(0, n, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a valid u64 to an eventfd we own.
            unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
        }
    }

    /// When prun started stopping, if it has.
    pub(crate) fn since(&self) -> Option<Instant> {
        match self.since.load(Ordering::SeqCst) {
            0 => None,
            n => Some(self.base + Duration::from_nanos(n - 1)),
        }
    }

    /// The fd to poll for changes.
    pub(crate) fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }
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

/// Makes `fd` non-blocking (a pipe end prun owns).
pub(crate) fn set_nonblocking(fd: RawFd) {
    // SAFETY: F_GETFL/F_SETFL on a descriptor the caller owns; no memory is involved.
    unsafe {
        libc::fcntl(
            fd,
            libc::F_SETFL,
            libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
        );
    }
}

/// `from + d`, or a hundred years on when that cannot be represented: durations come from
/// the user (`timeout: 1000y`, `--grace 500y`) and must never overflow into a panic.
pub(crate) fn after(from: Instant, d: Duration) -> Instant {
    from.checked_add(d)
        .unwrap_or_else(|| from + Duration::from_secs(100 * 365 * 86_400))
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
