//! How jobs ended, as data and in words: a job's final `Status`, its `JobResult` (every
//! attempt, the reason it was skipped or not run), and `Ending` — the one place an exit
//! code, a signal or a failure to start becomes words, for the summary, the block
//! headers, notices, hooks, JUnit and the timeline alike.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::executor::{Exit, Finished, signal_name};

/// A job's final state (`PRUN_JOB_STATUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Success,
    Failed,
    TimedOut,
    /// Not started because a job it needs did not succeed.
    Skipped,
    Interrupted,
    /// Never started (after `--fail-fast` stopped the run).
    NotRun,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failed => "failed",
            Status::TimedOut => "timed-out",
            Status::Skipped => "skipped",
            Status::Interrupted => "interrupted",
            Status::NotRun => "not-run",
        }
    }

    /// What happened to it, as a verb phrase: "failed", "timed out", "was skipped".
    pub(crate) fn as_verb(self) -> &'static str {
        match self {
            Status::Success => "succeeded",
            Status::Failed => "failed",
            Status::TimedOut => "timed out",
            Status::Skipped => "was skipped",
            Status::Interrupted => "was interrupted",
            Status::NotRun => "did not run",
        }
    }

    /// The status named `s` (as `as_str` writes it).
    pub(crate) fn parse(s: &str) -> Option<Status> {
        [
            Status::Success,
            Status::Failed,
            Status::TimedOut,
            Status::Skipped,
            Status::Interrupted,
            Status::NotRun,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether the job ran and did not succeed.
    pub(crate) fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::TimedOut | Status::Interrupted
        )
    }

    /// How one attempt ended; `stopping` when prun had been told to stop (a signal) by
    /// the time it ended.
    pub(crate) fn of_attempt(f: &Finished, stopping: bool) -> Status {
        if f.success() {
            Status::Success
        } else if f.timed_out {
            Status::TimedOut
        } else if stopping {
            Status::Interrupted
        } else {
            Status::Failed
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A hook that did not succeed.
#[derive(Debug, Clone)]
pub(crate) struct HookFailure {
    /// The name of the job it belongs to, or `None` for a run-level hook.
    pub(crate) job: Option<smol_str::SmolStr>,
    pub(crate) hook: &'static str,
    pub(crate) reason: String,
}

/// One job's record in the run. Kept small (a run may hold a million): what most jobs
/// do not have is boxed in `More`, read through the methods of the same names.
#[derive(Debug, Clone)]
pub(crate) struct JobResult {
    pub(crate) status: Status,
    pub(crate) attempts: u32,
    pub(crate) slot: Option<usize>,
    /// The last attempt, when there was one.
    pub(crate) finished: Option<Finished>,
    /// Why it was skipped, not run, or could not start (shared by the jobs a stop left
    /// not run).
    reason: Option<Arc<str>>,
    /// Skipped only because a `when:` condition did not hold (its own, or a need's so
    /// skipped): that alone does not make the run's exit code 1.
    pub(crate) by_condition: bool,
    more: Option<Box<More>>,
}

/// The parts of a result that most results do not have.
#[derive(Debug, Clone, Default)]
pub(crate) struct More {
    /// The attempts before the last one, oldest first (empty unless it was retried).
    pub(crate) earlier: Vec<EarlierAttempt>,
    /// Its output file, with `--log-dir`.
    pub(crate) log: Option<std::path::PathBuf>,
    /// Writing its log file failed (the file is incomplete): why.
    pub(crate) log_error: Option<String>,
    /// What its last attempt wrote to `PRUN_OUTPUT` (`outputs`).
    pub(crate) outputs: crate::outputs::Outputs,
    /// The resource units its last attempt held (`PRUN_RESOURCE_<name>`).
    pub(crate) units: Units,
}

/// Resource units held: (index into the plan's resources, unit) pairs, in that order;
/// one allocation per holder (`resources::by_resource` groups them).
pub(crate) type Units = Box<[(u32, u32)]>;

impl More {
    fn is_empty(&self) -> bool {
        self.earlier.is_empty()
            && self.log.is_none()
            && self.log_error.is_none()
            && self.outputs.is_empty()
            && self.units.is_empty()
    }
}

/// An attempt of a retried job that was followed by another.
#[derive(Debug, Clone)]
pub(crate) struct EarlierAttempt {
    pub(crate) status: Status,
    pub(crate) finished: Finished,
}

impl JobResult {
    /// A result with `status` and nothing else known.
    pub(crate) fn new(status: Status) -> Self {
        JobResult {
            status,
            attempts: 0,
            slot: None,
            finished: None,
            reason: None,
            by_condition: false,
            more: None,
        }
    }

    pub(crate) fn not_run(reason: Arc<str>) -> Self {
        JobResult::new(Status::NotRun).with_reason(reason)
    }

    /// The same, saying why it was skipped, not run, or could not start.
    pub(crate) fn with_reason(mut self, why: impl Into<Arc<str>>) -> Self {
        self.reason = Some(why.into());
        self
    }

    /// Says why it was skipped, not run, or could not start.
    pub(crate) fn set_reason(&mut self, why: impl Into<Arc<str>>) {
        self.reason = Some(why.into());
    }

    /// The same with `more`, kept only if it holds something.
    pub(crate) fn with_more(mut self, more: More) -> Self {
        self.more = (!more.is_empty()).then(|| Box::new(more));
        self
    }

    /// The rarer parts, taken out (to carry over to the next attempt).
    pub(crate) fn take_more(&mut self) -> More {
        self.more.take().map(|m| *m).unwrap_or_default()
    }

    /// The attempts before the last one, oldest first (empty unless it was retried).
    pub(crate) fn earlier(&self) -> &[EarlierAttempt] {
        self.more.as_ref().map_or(&[], |m| &m.earlier)
    }

    /// Why it was skipped, not run, or could not start.
    pub(crate) fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Its output file, with `--log-dir`.
    pub(crate) fn log(&self) -> Option<&std::path::Path> {
        self.more.as_ref()?.log.as_deref()
    }

    /// Writing its log file failed (the file is incomplete): why.
    pub(crate) fn log_error(&self) -> Option<&str> {
        self.more.as_ref()?.log_error.as_deref()
    }

    /// What its last attempt wrote to `PRUN_OUTPUT`.
    pub(crate) fn outputs(&self) -> &[(String, String)] {
        self.more.as_ref().map_or(&[], |m| &m.outputs)
    }

    /// The resource units its last attempt held.
    pub(crate) fn units(&self) -> &[(u32, u32)] {
        self.more.as_ref().map_or(&[], |m| &m.units)
    }

    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.finished
            .as_ref()
            .and_then(|f| f.exit)
            .and_then(|e| e.code)
    }

    pub(crate) fn signal(&self) -> Option<i32> {
        self.finished
            .as_ref()
            .and_then(|f| f.exit)
            .and_then(|e| e.signal)
    }

    /// From the start of its first attempt to the end of its last (retry delays
    /// included).
    pub(crate) fn duration(&self) -> Duration {
        let Some(last) = &self.finished else {
            return Duration::ZERO;
        };
        match self.earlier().first() {
            Some(first) => (last.started + last.duration)
                .duration_since(first.finished.started)
                .unwrap_or(last.duration),
            None => last.duration,
        }
    }

    /// When its first attempt started.
    pub(crate) fn started(&self) -> Option<SystemTime> {
        self.earlier()
            .first()
            .map(|e| &e.finished)
            .or(self.finished.as_ref())
            .map(|f| f.started)
    }
}

/// How a command ended, as one thing to describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Killed(i32),
    /// It never started (or how it ended is unknown).
    NotStarted,
}

impl Ending {
    pub(crate) fn of(exit: Option<Exit>) -> Ending {
        match exit {
            Some(Exit { code: Some(c), .. }) => Ending::Exited(c),
            Some(Exit {
                signal: Some(s), ..
            }) => Ending::Killed(s),
            _ => Ending::NotStarted,
        }
    }

    /// In a sentence: `exit 3`, `killed by SIGTERM`, `did not start`.
    pub(crate) fn words(self) -> String {
        match self {
            Ending::Exited(c) => format!("exit {c}"),
            Ending::Killed(s) => format!("killed by {}", signal_name(s)),
            Ending::NotStarted => "did not start".to_owned(),
        }
    }

    /// Short, after a status: `exit 3`, `SIGTERM` (`failed, exit 3`, `timed-out, SIGTERM`).
    pub(crate) fn short(self) -> Option<String> {
        match self {
            Ending::Exited(c) => Some(format!("exit {c}")),
            Ending::Killed(s) => Some(signal_name(s).to_owned()),
            Ending::NotStarted => None,
        }
    }

    /// For a table column: `3`, `SIGTERM`, `-`.
    pub(crate) fn column(self) -> String {
        match self {
            Ending::Exited(c) => c.to_string(),
            Ending::Killed(s) => signal_name(s).to_owned(),
            Ending::NotStarted => "-".to_owned(),
        }
    }
}

impl JobResult {
    /// Its output `key`, if it wrote one.
    pub(crate) fn output(&self, key: &str) -> Option<&str> {
        self.outputs()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// How its last attempt ended.
    pub(crate) fn ending(&self) -> Ending {
        Ending::of(self.finished.as_ref().and_then(|f| f.exit))
    }

    /// How a job that did not succeed ended, in a few words: `failed, exit 3`,
    /// `timed-out, SIGTERM`, `skipped`.
    pub(crate) fn note(&self) -> String {
        match self.ending().short() {
            Some(how) => format!("{}, {how}", self.status),
            None => self.status.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_in_words() {
        let killed = Ending::of(Some(Exit {
            code: None,
            signal: Some(15),
        }));
        assert_eq!(killed.words(), "killed by SIGTERM");
        assert_eq!(killed.column(), "SIGTERM");
        assert_eq!(Ending::Exited(3).words(), "exit 3");
        assert_eq!(Ending::of(None).words(), "did not start");
        assert_eq!(Ending::of(None).column(), "-");
    }
}
