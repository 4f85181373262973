//! A command to run (`Request`), where its output and input go, and the clock that
//! tells a running command prun is stopping: what a caller hands the process layer,
//! in terms that do not depend on where the command runs.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::cgroup::Cgroup;
use super::environ::EnvBase;
use super::keeper::Keeper;
use crate::input::settings::Shell;

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

/// What a child is set to before it execs (`nice:`, `io:`, a memory limit as
/// RLIMIT_AS where no cgroup enforces one) and what its cgroup limits it to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Tuning {
    pub(crate) nice: Option<i32>,
    /// The `ioprio_set` value.
    pub(crate) ioprio: Option<i32>,
    /// RLIMIT_AS in bytes.
    pub(crate) address_space: Option<u64>,
    /// Written to the slot's cgroup before it starts (only controllers it has enabled).
    pub(crate) cgroup: super::cgroup::CgroupLimits,
}

/// One command to run.
pub(crate) struct Request<'a> {
    pub(crate) shell: &'a Shell,
    pub(crate) script: &'a str,
    /// The command's words, when it can be exec'd without the shell (`simple`).
    pub(crate) direct: Option<&'a [&'a str]>,
    /// Words to run the command through (`srun ...`): then the command runs as
    /// `<wrapper...> <shell> -c <script>`, and a wrapper that is missing is an error.
    pub(crate) wrapper: Option<&'a [String]>,
    /// The parent's environment, captured once per run.
    pub(crate) env_base: &'a EnvBase,
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
    pub(crate) keeper: Option<&'a Keeper>,
    /// The cgroup the child enters before it runs, where prun contains jobs in cgroups.
    pub(crate) cgroup: Option<&'a Cgroup>,
    pub(crate) tuning: Tuning,
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
