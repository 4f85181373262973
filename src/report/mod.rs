//! What a run produced, and the ways it is shown: the live terminal output
//! (`terminal`), the summary table (`summary`) and the JSON summary (`json`). The
//! scheduler owns the `RunSummary`; these modules only read it.

pub(crate) mod joblog;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod progress;
pub(crate) mod spool;
pub(crate) mod summary;
pub(crate) mod terminal;
pub(crate) mod timeline;

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::error::exit;
use crate::executor::Finished;

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
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One ended attempt of a job: a joblog line, a bar in the timeline.
#[derive(Debug, Clone)]
pub(crate) struct AttemptRecord {
    pub(crate) name: String,
    pub(crate) command: String,
    pub(crate) attempt: u32,
    pub(crate) slot: usize,
    pub(crate) start: SystemTime,
    pub(crate) duration: Duration,
    pub(crate) exit_code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) status: Status,
}

/// A hook that did not succeed.
#[derive(Debug, Clone)]
pub(crate) struct HookFailure {
    /// The job it belongs to, or `None` for a run-level hook.
    pub(crate) job: Option<usize>,
    pub(crate) hook: &'static str,
    pub(crate) reason: String,
}

/// One job's record in the run.
#[derive(Debug, Clone)]
pub(crate) struct JobResult {
    pub(crate) status: Status,
    pub(crate) attempts: u32,
    pub(crate) slot: Option<usize>,
    /// The last attempt, when there was one.
    pub(crate) finished: Option<Finished>,
    /// Why it was skipped, not run, or could not start.
    pub(crate) reason: Option<String>,
    /// Its output file, with `--log-dir`.
    pub(crate) log: Option<std::path::PathBuf>,
}

impl JobResult {
    pub(crate) fn not_run(reason: &str) -> Self {
        JobResult {
            status: Status::NotRun,
            attempts: 0,
            slot: None,
            finished: None,
            reason: Some(reason.to_owned()),
            log: None,
        }
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

    pub(crate) fn duration(&self) -> Duration {
        self.finished
            .as_ref()
            .map_or(Duration::ZERO, |f| f.duration)
    }
}

/// The whole run, as the scheduler recorded it.
#[derive(Debug)]
pub(crate) struct RunSummary {
    pub(crate) run_id: String,
    pub(crate) started: SystemTime,
    pub(crate) duration: Duration,
    /// In jobfile order, one per job.
    /// Shared with the terminal.
    pub(crate) names: std::sync::Arc<[std::sync::Arc<str>]>,
    pub(crate) results: Vec<JobResult>,
    pub(crate) hook_failures: Vec<HookFailure>,
    /// The signal that interrupted the run, if one did.
    pub(crate) signal: Option<i32>,
    /// Every ended attempt (kept only for `--timeline`).
    pub(crate) attempts: Vec<AttemptRecord>,
    /// The end of each job's output (kept only for `--junit`).
    pub(crate) tails: Vec<Vec<u8>>,
}

/// Counts of job outcomes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) total: usize,
    pub(crate) succeeded: usize,
    /// Failed, timed out or interrupted.
    pub(crate) failed: usize,
    /// Skipped or never started.
    pub(crate) skipped: usize,
}

impl RunSummary {
    pub(crate) fn totals(&self) -> Totals {
        let mut t = Totals {
            total: self.results.len(),
            ..Totals::default()
        };
        for r in &self.results {
            match r.status {
                Status::Success => t.succeeded += 1,
                s if s.is_failure() => t.failed += 1,
                _ => t.skipped += 1,
            }
        }
        t
    }

    /// The run's exit code (DESIGN.md §4): one place decides it.
    pub(crate) fn exit_code(&self) -> u8 {
        if let Some(sig) = self.signal {
            return exit::SIGNAL_BASE.saturating_add(sig as u8);
        }
        let t = self.totals();
        if t.succeeded == t.total && self.hook_failures.is_empty() {
            exit::SUCCESS
        } else {
            exit::FAILURE
        }
    }
}

/// Writes the reports asked for (`--report`, `--junit`, `--timeline`) after a run. Every
/// one is attempted; the first failure is returned.
pub(crate) fn write_files(
    plan: &crate::plan::Plan,
    jobfile: &str,
    run: &RunSummary,
) -> Result<(), crate::error::Error> {
    let mut first_err = None;
    let mut keep = |r: Result<(), crate::error::Error>| {
        if let Err(e) = r {
            eprintln!("prun: {e}");
            first_err.get_or_insert(e);
        }
    };
    if let Some(path) = &plan.report {
        let text = format!("{:#}\n", json::run(run, &plan.jobs));
        keep(json::write_atomically(path, text.as_bytes()));
    }
    if let Some(path) = &plan.junit {
        keep(junit::write(path, run, &plan.jobs, &run.tails, jobfile));
    }
    if let Some(path) = &plan.timeline {
        let slots = if plan.mode == crate::jobfile::Mode::Sync {
            1
        } else {
            plan.concurrency
        };
        let title = format!("prun {jobfile} — run {}", run.run_id);
        keep(timeline::write(
            path,
            &title,
            &run.attempts,
            slots,
            run.started,
            run.duration,
        ));
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Seconds with two decimals, as shown to people (`1.25s`).
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}
