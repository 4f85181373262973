//! What the core hears (`Event`) and what it answers (`Action`), as data: every reason
//! and every notice is an enum that the output layer words ([`output::notice`](crate::output::notice)), so the
//! core's tests compare values, not sentences.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::attempt::Fate;
use crate::executor::finished::Finished;
use crate::outcome::outputs::Outputs;
use crate::outcome::{Ending, HookReason, JobResult, Reason, Status};
use crate::plan::JobSpec;

/// The jobs a dynamic matrix made, each with its result from an earlier run if it is
/// not to run again (`--resume`).
pub(crate) type Expansions = Vec<(Arc<JobSpec>, Option<JobResult>)>;

/// Something that happened, as the driver saw it.
#[derive(Debug)]
pub(crate) enum Event {
    /// The run begins: what may start first.
    Start,
    /// The answer to `Action::Expand`: the jobs of `job`'s dynamic matrix, each with its
    /// result from an earlier run if it was done then (`--resume`), or why there are none.
    Expanded {
        job: usize,
        jobs: Result<Expansions, String>,
    },
    /// Every job has ended: the run-level hooks (`count` of them) are due.
    RunLevelHooks { count: usize },
    /// An attempt of a job ended.
    JobEnded(AttemptEnded),
    /// A hook ended (a job's, or a run-level one for `job: None`).
    HookEnded {
        job: Option<usize>,
        hook: crate::plan::hooks::HookKind,
        ended: HookEnd,
    },
    /// prun received a signal (SIGINT, SIGTERM or SIGHUP).
    Signal(i32),
    /// A job with `sources`/`status` is not up to date and runs now, for this reason.
    Stale { job: usize, why: String },
    /// Time passed (`Schedule::wake_at` was reached).
    Tick,
    /// A service's probe passed; `outputs` is what it had written to `PRUN_OUTPUT`.
    ServiceReady {
        job: usize,
        outputs: Result<Outputs, String>,
    },
    /// A service's probe failed (again): how.
    ProbeFailed { job: usize, why: String },
}

/// How a hook ended.
#[derive(Debug)]
pub(crate) enum HookEnd {
    /// It ran, and ended so.
    Ran(Finished),
    /// It never got to the hook thread, which could not start: why.
    NotHanded(String),
}

/// How one attempt of a job ended: what its worker saw.
#[derive(Debug)]
pub(crate) struct AttemptEnded {
    pub(crate) job: usize,
    pub(crate) attempt: u32,
    pub(crate) finished: Finished,
    /// As recorded in the joblog by the worker (`attempt::status`).
    pub(crate) status: Status,
    /// Its `--log-dir` file, and why that is incomplete if it is.
    pub(crate) log: Option<PathBuf>,
    pub(crate) log_error: Option<String>,
    /// What it wrote to `PRUN_OUTPUT`, or why that is not valid (then the attempt
    /// failed).
    pub(crate) outputs: Result<Outputs, String>,
    /// Not spawned: what its worker found before (then `outputs` are the saved ones of
    /// an up-to-date job); or, after a success, why its fingerprint could not be saved.
    pub(crate) not_spawned: Option<NotSpawned>,
    pub(crate) state_error: Option<String>,
}

/// Why a worker did not spawn a job it was given.
#[derive(Debug)]
pub(crate) enum NotSpawned {
    /// Up to date (`sources`/`status`): why, in words.
    UpToDate(String),
    /// Its `if:` (this command) did not hold (`attempt::condition`, never `Holds`).
    Condition(String, super::attempt::Condition),
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Start attempt `attempt` of `job` in pool slot `slot` (1-based).
    Start {
        job: usize,
        slot: usize,
        attempt: u32,
    },
    /// `job` was done in an earlier run (`--resume`): it is not run, and output waiting
    /// for it (`--keep-order`) need not wait.
    Resumed { job: usize },
    /// An attempt of `job` is over: show its block. `note` says how it ended when that
    /// was not a success; `last` is false when a retry follows.
    Show {
        job: usize,
        note: Option<Note>,
        last: bool,
    },
    /// A hook ended: show what it printed, and how it failed if it did.
    ShowHook {
        job: Option<usize>,
        hook: crate::plan::hooks::HookKind,
        failure: Option<HookReason>,
    },
    /// Tell the user.
    Say(Notice),
    /// Run `job`'s hooks for its final result (`None`: the run-level hooks).
    RunHooks { job: Option<usize> },
    /// Send this signal to every running job (and, for SIGKILL, every service).
    SignalJobs(i32),
    /// Send this signal to every running job of the pool, never to a service
    /// (`--max-fail N:kill`); the first one is the stop signal.
    SignalPool(i32),
    /// Stop service `job`: SIGTERM to its group (`fate` says why, for its worker).
    StopService { job: usize, fate: Fate },
    /// SIGKILL to service `job`'s group: its `stop_grace` passed.
    KillService { job: usize },
    /// prun is stopping: every hook from now on gets at most the grace period.
    LimitHooks,
    /// Kill the running hook and run no more.
    KillHooks,
    /// Find the values of `job`'s dynamic matrix now, and answer with `expanded`.
    Expand { job: usize },
    /// `job`'s dynamic matrix became these jobs (in order; maybe none).
    Expanded { job: usize, into: Range<usize> },
}

/// How an attempt that did not succeed ended, for its block's header: `failed, exit 3`,
/// `timed-out, SIGTERM`, or, when a retry follows, `attempt 1/3 failed, exit 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Note {
    pub(crate) status: Status,
    pub(crate) ending: Ending,
    /// This attempt and how many there may be, when a retry follows.
    pub(crate) attempt: Option<(u32, u32)>,
    /// A failure its `allow_failure:` allows (`failed, exit 3, allowed`).
    pub(crate) allowed: bool,
}

impl Note {
    /// How `r` (its last attempt) ended.
    pub(crate) fn of(r: &JobResult) -> Note {
        Note {
            status: r.status,
            ending: r.ending(),
            attempt: None,
            allowed: r.allowed,
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((a, of)) = self.attempt {
            write!(f, "attempt {a}/{of} ")?;
        }
        match self.ending.short() {
            Some(how) => write!(f, "{}, {how}", self.status)?,
            None => write!(f, "{}", self.status)?,
        }
        if self.allowed {
            f.write_str(", allowed")?;
        }
        Ok(())
    }
}

/// What prun says on stderr, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// A job did not succeed, was skipped, or did not start, for `reason`.
    Job { job: usize, reason: Arc<Reason> },
    /// A job's attempt failed, and it is tried again after `delay`.
    Retrying {
        job: usize,
        note: Note,
        delay: Duration,
    },
    /// A job's `--log-dir` file is incomplete.
    LogIncomplete {
        job: usize,
        path: PathBuf,
        why: String,
    },
    /// A job's dynamic matrix has no values: it makes no jobs.
    EmptyMatrix { job: usize },
    /// A hook failed (a job's, or a run-level one for `job: None`).
    HookFailed {
        job: Option<usize>,
        hook: crate::plan::hooks::HookKind,
        reason: HookReason,
    },
    /// The first signal: nothing new starts, `running` jobs got it (SIGKILL after
    /// `grace`), `cleanup` jobs may still start, hooks get at most `grace`.
    Stopping {
        signal: i32,
        running: usize,
        cleanup: usize,
        grace: Duration,
        /// Services running, and the longest `stop_grace` of theirs: they get SIGKILL
        /// only after it.
        services: usize,
        service_grace: Duration,
    },
    /// `--max-fail` was reached: nothing new starts; `running` jobs finish, or with
    /// `:kill` got SIGTERM (SIGKILL after `grace`).
    MaxFail {
        max: crate::input::settings::MaxFail,
        running: usize,
        grace: Duration,
    },
    /// A second signal: everything was killed.
    SecondSignal { signal: i32 },
    /// A service is ready, this long after it started.
    ServiceReady { job: usize, after: Duration },
    /// A job with `sources`/`status` runs, for this reason.
    Runs { job: usize, why: String },
    /// A job's fingerprint could not be saved.
    StateNotSaved { job: usize, why: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_says_how_an_attempt_ended_and_which_it_was() {
        let n = Note {
            status: Status::TimedOut,
            ending: Ending::Killed(libc::SIGTERM),
            attempt: None,
            allowed: false,
        };
        assert_eq!(n.to_string(), "timed-out, SIGTERM");
        let n = Note {
            status: Status::Failed,
            ending: Ending::Exited(2),
            attempt: Some((2, 3)),
            allowed: false,
        };
        assert_eq!(n.to_string(), "attempt 2/3 failed, exit 2");
        let n = Note {
            status: Status::Failed,
            ending: Ending::NotStarted,
            attempt: None,
            allowed: false,
        };
        assert_eq!(n.to_string(), "failed");
        let n = Note {
            status: Status::Failed,
            ending: Ending::Exited(3),
            attempt: None,
            allowed: true,
        };
        assert_eq!(n.to_string(), "failed, exit 3, allowed");
    }
}
