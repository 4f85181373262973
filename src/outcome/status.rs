//! A job's final state (`PRUN_JOB_STATUS`).

use std::fmt;

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
    /// Not run: nothing it is made of changed since its last success (`sources`,
    /// `status`). Counts as a success for the jobs that need it.
    UpToDate,
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
            Status::UpToDate => "up-to-date",
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
            Status::UpToDate => "was up to date",
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
            Status::UpToDate,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether it counts as a success for the jobs that need it (and the exit code).
    pub(crate) fn is_success(self) -> bool {
        matches!(self, Status::Success | Status::UpToDate)
    }

    /// Whether the job ran and did not succeed.
    pub(crate) fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::TimedOut | Status::Interrupted
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
