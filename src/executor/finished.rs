//! How a command ended (`Finished`, `Ending`), as the process layer saw it: the facts
//! the core turns into a job's status ([`outcome`](crate::outcome)), and signals by name.

use std::time::{Duration, SystemTime};

/// How a command ended: the one type for it, from the reaper to the words
/// ([`outcome::ending`](crate::outcome::ending) says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Killed(i32),
    /// It never started (or how it ended is unknown: reaped by another).
    #[default]
    NotStarted,
}

impl Ending {
    /// From an exit code or, failing one, a signal (as the joblog and reports keep them).
    pub(crate) fn from_parts(code: Option<i32>, signal: Option<i32>) -> Ending {
        match (code, signal) {
            (Some(c), _) => Ending::Exited(c),
            (None, Some(s)) => Ending::Killed(s),
            (None, None) => Ending::NotStarted,
        }
    }

    pub(crate) fn success(self) -> bool {
        self == Ending::Exited(0)
    }

    /// The exit code, when it exited by itself.
    pub(crate) fn code(self) -> Option<i32> {
        match self {
            Ending::Exited(c) => Some(c),
            _ => None,
        }
    }

    /// The signal that killed it, when one did.
    pub(crate) fn signal(self) -> Option<i32> {
        match self {
            Ending::Killed(s) => Some(s),
            _ => None,
        }
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
    /// `NotStarted` when it could not be started at all (`error` says why).
    pub(crate) ending: Ending,
    /// Why it could not be started, in words.
    pub(crate) error: Option<String>,
    pub(crate) timed_out: bool,
    /// Processes were left in its group after the shell exited, and were terminated.
    pub(crate) leftovers: bool,
    /// It timed out because prun was stopping (`Request::stop`), not by its own timeout.
    pub(crate) cut_short: bool,
    /// What it cost, where prun could measure it (not under Slurm: there `srun` is
    /// what prun waits for).
    pub(crate) cost: Option<Cost>,
    /// It failed under a memory limit (see `LimitHit`).
    pub(crate) limit_hit: Option<LimitHit>,
}

/// How a memory limit was met by a command that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// The OOM killer killed a process of its cgroup, limited to this many bytes.
    OomKilled(u64),
    /// It ran with its address space limited to this many bytes (RLIMIT_AS), and
    /// failed: an allocation refused is the likely cause, which prun cannot see.
    AddressSpace(u64),
}

/// What a command cost: the CPU time (user + system) and the peak memory of its
/// process tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cost {
    pub(crate) cpu: Duration,
    /// The largest resident set of any one process of the tree, in bytes (`wait4`'s
    /// `ru_maxrss`: the command and every process it waited for).
    pub(crate) max_rss: u64,
    /// Whether `max_rss` is the tree's own. A child prun starts shares prun's memory
    /// until it execs, and the kernel charges it prun's peak then: a figure no larger
    /// than prun's own peak says only that the job's was at most that.
    pub(crate) max_rss_exact: bool,
    /// Bytes the tree read from and wrote to storage (`ru_inblock`, `ru_oublock`, in
    /// 512-byte blocks: what reached the block layer, not reads served from the page
    /// cache), for the command and every process it waited for.
    pub(crate) read_bytes: u64,
    pub(crate) write_bytes: u64,
    /// Where `cpu` came from.
    pub(crate) cpu_source: CostSource,
}

/// Where a figure of `Cost` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum CostSource {
    /// `wait4`'s rusage: the command and every process it waited for.
    #[default]
    Rusage,
    /// The job's cgroup (`cpu.stat`): every process that was in it, waited for or not.
    Cgroup,
}

impl CostSource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CostSource::Rusage => "rusage",
            CostSource::Cgroup => "cgroup",
        }
    }
}

impl Cost {
    /// Where `max_rss` came from: `rusage`, or `rusage-at-most` when it is only an
    /// upper bound (`max_rss_exact`).
    pub(crate) fn rss_source(&self) -> &'static str {
        if self.max_rss_exact {
            "rusage"
        } else {
            "rusage-at-most"
        }
    }

    /// Two attempts' costs together: CPU added, the larger peak.
    pub(crate) fn plus(self, other: Cost) -> Cost {
        Cost {
            cpu: self.cpu + other.cpu,
            max_rss: self.max_rss.max(other.max_rss),
            read_bytes: self.read_bytes + other.read_bytes,
            write_bytes: self.write_bytes + other.write_bytes,
            max_rss_exact: match self.max_rss.cmp(&other.max_rss) {
                std::cmp::Ordering::Less => other.max_rss_exact,
                std::cmp::Ordering::Equal => self.max_rss_exact && other.max_rss_exact,
                std::cmp::Ordering::Greater => self.max_rss_exact,
            },
            cpu_source: if self.cpu_source == other.cpu_source {
                self.cpu_source
            } else {
                CostSource::Rusage
            },
        }
    }
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
            ending: Ending::NotStarted,
            error: Some(why),
            timed_out: false,
            leftovers: false,
            cut_short: false,
            cost: None,
            limit_hit: None,
        }
    }

    pub(crate) fn success(&self) -> bool {
        !self.timed_out && self.ending.success()
    }
}
