//! Why a job or a hook ended as it did, as data: what the core decides (`Reason`,
//! `HookReason`), worded here, once, for every place that shows it — notices, the
//! summary, the reports, JUnit, the step summary.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use smol_str::SmolStr;

use super::ending::Ending;
use super::status::Status;
use crate::executor::finished::{LimitHit, signal_name};

/// Why a job did not succeed, was skipped or not run, or succeeded without running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// What it wrote to `PRUN_OUTPUT` breaks the rules (in the words of `outputs`).
    BadOutputs(String),
    /// Its `timeout` passed.
    TimedOut(Duration),
    /// It left processes running after it exited; they were terminated.
    Leftovers,
    /// It failed under its memory limit (`limits: {memory}`).
    Memory(crate::executor::finished::LimitHit),
    /// It could not be started (in the words of the process layer).
    CannotStart(String),
    /// Skipped: a job it needs did not end as its `when:` asks.
    Need { need: SmolStr, status: Status },
    /// Skipped: `when: failure`, and none of its needs failed.
    NoNeedFailed,
    /// Not started: an `env` value uses an output its job did not write.
    MissingOutput {
        var: String,
        key: String,
        job: SmolStr,
    },
    /// Its dynamic matrix could not be expanded (in the words of [`plan::matrix`](crate::plan::matrix)).
    Matrix(String),
    /// Not started: the run was stopped.
    NotStarted(Stop),
    /// Stopped while running: `--max-fail N:kill` sent it SIGTERM.
    Stopped(Stop),
    /// Not started: the stop deadline (`grace` after the signal) passed first.
    Deadline { grace: Duration, signal: i32 },
    /// A retry was due when the run was stopped; `last` is why its last attempt failed.
    RetriesCancelled {
        after: u32,
        of: u32,
        stop: Stop,
        last: Option<Arc<Reason>>,
    },
    /// It succeeded in an earlier run (`--resume`).
    Resumed,
    /// Not run: up to date (`sources`/`status`), in words: "up to date: 14 sources
    /// unchanged since …".
    UpToDate(String),

    /// Skipped: its `if:` (this command) did not exit 0.
    Condition { cmd: String, ended: Ending },
    /// Failed without starting: its `if:` could not be run, or ran past `hook_timeout`.
    ConditionBroken { cmd: String, why: HookReason },

    /// A service whose probe did not pass within its `timeout`; `last` is how the last
    /// try failed.
    NotReady {
        after: Duration,
        last: Option<String>,
    },
    /// A service that exited before its probe passed.
    ExitedBeforeReady(Ending),
    /// A service that exited on its own while jobs still needed it.
    ExitedWhileNeeded(Ending),
    /// A service not started: no job that needs it was left to run.
    Unneeded,
}

/// What stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A signal to prun.
    Signal(i32),
    /// `--max-fail` (`--fail-fast`): that many jobs failed.
    MaxFail(crate::input::settings::MaxFail),
    /// A bug in prun (a panic): the run ended there.
    Internal,
}

impl Reason {
    /// Whether a notice says it after the job's name without a colon: `job 'a' skipped:
    /// …`, `job 'a' did not start: …` (else `job 'a': …`).
    pub(crate) fn reads_as_verb(&self) -> bool {
        matches!(
            self,
            Reason::Need { .. }
                | Reason::NoNeedFailed
                | Reason::MissingOutput { .. }
                | Reason::Condition { .. }
        )
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Signal(sig) => write!(f, "interrupted by {}", signal_name(*sig)),
            Stop::MaxFail(m) if m.failures == 1 => write!(f, "{m} stopped the run"),
            Stop::MaxFail(m) => write!(f, "{m} stopped the run after {} failures", m.failures),
            Stop::Internal => f.write_str("an internal error in prun (a bug) stopped the run"),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::BadOutputs(why) | Reason::CannotStart(why) | Reason::Matrix(why) => {
                f.write_str(why)
            }
            Reason::TimedOut(t) => write!(f, "timed out after {}", humantime::format_duration(*t)),
            Reason::Leftovers => {
                f.write_str("left processes running after it exited; they were terminated")
            }
            Reason::Memory(LimitHit::OomKilled(limit)) => write!(
                f,
                "out of memory: the OOM killer killed it at its memory limit of {} (limits: memory)",
                crate::sizes::short(*limit)
            ),
            Reason::Memory(LimitHit::AddressSpace(limit)) => write!(
                f,
                "failed with its memory limited to {} of address space (limits: memory, as RLIMIT_AS): it may have run out of it",
                crate::sizes::short(*limit)
            ),
            Reason::Need { need, status } => {
                write!(f, "skipped: needs '{need}', which {}", status.as_verb())
            }
            Reason::NoNeedFailed => {
                f.write_str("skipped: when: failure, and none of its needs failed")
            }
            Reason::MissingOutput { var, key, job } => write!(
                f,
                "did not start: its env {var} uses output '{key}' of '{job}', which '{job}' did not write"
            ),
            Reason::NotStarted(stop) => write!(f, "not started: {stop}"),
            Reason::Stopped(stop) => write!(f, "stopped: {stop}"),
            Reason::Deadline { grace, signal } => write!(
                f,
                "not started: the stop deadline ({} after {}) passed",
                humantime::format_duration(*grace),
                signal_name(*signal)
            ),
            Reason::RetriesCancelled {
                after,
                of,
                stop,
                last,
            } => {
                if let Some(why) = last {
                    write!(f, "{why}; ")?;
                }
                write!(
                    f,
                    "its retries were cancelled after attempt {after}/{of}: {stop}"
                )
            }
            Reason::Resumed => f.write_str("already succeeded in an earlier run (--resume)"),
            Reason::UpToDate(words) => f.write_str(words),
            Reason::Condition { cmd, ended } => {
                write!(f, "skipped: if: `{}` ", shown(cmd))?;
                match ended {
                    Ending::Exited(c) => write!(f, "exited {c}"),
                    Ending::Killed(s) => write!(f, "was killed by {}", signal_name(*s)),
                    Ending::NotStarted => f.write_str("did not start"),
                }
            }
            Reason::ConditionBroken { cmd, why } => {
                write!(f, "if: `{}` ", shown(cmd))?;
                match why {
                    HookReason::CannotStart(e) => write!(f, "could not be run: {e}"),
                    HookReason::TimedOut(t) => write!(
                        f,
                        "did not end within {} (hook_timeout)",
                        humantime::format_duration(*t)
                    ),
                    other => write!(f, "failed: {other}"),
                }
            }
            Reason::NotReady { after, last } => {
                write!(f, "not ready after {}", humantime::format_duration(*after))?;
                match last {
                    Some(why) => write!(f, ": {why}"),
                    // A probe that hangs never reports: say so, not nothing.
                    None => f.write_str(": its probe gave no answer in that time"),
                }
            }
            Reason::ExitedBeforeReady(e) => write!(f, "exited before ready: {}", e.words()),
            Reason::ExitedWhileNeeded(e) => write!(f, "exited while needed: {}", e.words()),
            Reason::Unneeded => f.write_str("not started: no job that needs it is left to run"),
        }
    }
}

/// A condition's command as a reason shows it: its first line, at most 60 characters,
/// control characters as `?`.
fn shown(cmd: &str) -> String {
    let cmd = cmd.trim();
    let line = cmd.lines().next().unwrap_or_default();
    let mut out: String = line
        .chars()
        .take(60)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if out.len() < cmd.len() {
        out.push('…');
    }
    out
}

/// Why a hook counts as failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HookReason {
    /// It could not be started (in the words of the process layer), or the hook thread
    /// could not.
    CannotStart(String),
    /// prun was interrupted, and it ran past the grace period.
    CutShort { grace: Duration },
    /// Its `hook_timeout` passed.
    TimedOut(Duration),
    /// It exited with a code other than 0, or a signal killed it.
    Ended(Ending),
}

impl fmt::Display for HookReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookReason::CannotStart(why) => f.write_str(why),
            HookReason::CutShort { grace } => write!(
                f,
                "stopped after the grace period ({}): prun was interrupted",
                humantime::format_duration(*grace)
            ),
            HookReason::TimedOut(t) => write!(
                f,
                "timed out after {} (hook_timeout)",
                humantime::format_duration(*t)
            ),
            HookReason::Ended(e) => f.write_str(&e.words()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_in_words() {
        let cases: Vec<(Reason, &str)> = vec![
            (
                Reason::TimedOut(Duration::from_secs(90)),
                "timed out after 1m 30s",
            ),
            (
                Reason::Leftovers,
                "left processes running after it exited; they were terminated",
            ),
            (
                Reason::Memory(LimitHit::OomKilled(2 << 30)),
                "out of memory: the OOM killer killed it at its memory limit of 2G (limits: memory)",
            ),
            (
                Reason::Memory(LimitHit::AddressSpace(512 << 20)),
                "failed with its memory limited to 512M of address space (limits: memory, as RLIMIT_AS): it may have run out of it",
            ),
            (
                Reason::Need {
                    need: "a".into(),
                    status: Status::TimedOut,
                },
                "skipped: needs 'a', which timed out",
            ),
            (
                Reason::NoNeedFailed,
                "skipped: when: failure, and none of its needs failed",
            ),
            (
                Reason::MissingOutput {
                    var: "URL".into(),
                    key: "url".into(),
                    job: "db".into(),
                },
                "did not start: its env URL uses output 'url' of 'db', which 'db' did not write",
            ),
            (
                Reason::NotStarted(Stop::Signal(libc::SIGINT)),
                "not started: interrupted by SIGINT",
            ),
            (
                Reason::NotStarted(Stop::MaxFail(crate::input::settings::MaxFail {
                    failures: 1,
                    kill: false,
                })),
                "not started: --fail-fast stopped the run",
            ),
            (
                Reason::Deadline {
                    grace: Duration::from_secs(3),
                    signal: libc::SIGTERM,
                },
                "not started: the stop deadline (3s after SIGTERM) passed",
            ),
            (
                Reason::RetriesCancelled {
                    after: 1,
                    of: 3,
                    stop: Stop::MaxFail(crate::input::settings::MaxFail {
                        failures: 1,
                        kill: false,
                    }),
                    last: Some(Arc::new(Reason::TimedOut(Duration::from_secs(1)))),
                },
                "timed out after 1s; its retries were cancelled after attempt 1/3: --fail-fast stopped the run",
            ),
            (
                Reason::Resumed,
                "already succeeded in an earlier run (--resume)",
            ),
            (
                Reason::Condition {
                    cmd: "test -d /mnt/nas".into(),
                    ended: Ending::Exited(1),
                },
                "skipped: if: `test -d /mnt/nas` exited 1",
            ),
            (
                Reason::Condition {
                    cmd: "  sleep 1\n  true\n".into(),
                    ended: Ending::Killed(libc::SIGSEGV),
                },
                "skipped: if: `sleep 1…` was killed by SIGSEGV",
            ),
            (
                Reason::ConditionBroken {
                    cmd: format!("echo {}", "x".repeat(80)),
                    why: HookReason::TimedOut(Duration::from_secs(5)),
                },
                &*format!(
                    "if: `echo {}…` did not end within 5s (hook_timeout)",
                    "x".repeat(55)
                )
                .leak(),
            ),
            (
                Reason::ConditionBroken {
                    cmd: "x".into(),
                    why: HookReason::CannotStart("cannot run /bin/nosh: No such file".into()),
                },
                "if: `x` could not be run: cannot run /bin/nosh: No such file",
            ),
        ];
        for (reason, words) in cases {
            assert_eq!(reason.to_string(), words);
        }
        assert!(Reason::NoNeedFailed.reads_as_verb() && !Reason::Leftovers.reads_as_verb());
    }

    #[test]
    fn hook_reasons_in_words() {
        assert_eq!(
            HookReason::TimedOut(Duration::from_secs(300)).to_string(),
            "timed out after 5m (hook_timeout)"
        );
        assert_eq!(
            HookReason::CutShort {
                grace: Duration::from_secs(10)
            }
            .to_string(),
            "stopped after the grace period (10s): prun was interrupted"
        );
        assert_eq!(HookReason::Ended(Ending::Exited(3)).to_string(), "exit 3");
    }
}
