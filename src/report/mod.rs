//! What a run produced, and the ways it is shown: the live terminal output
//! (`terminal`), the summary table (`summary`) and the JSON summary (`json`). The
//! scheduler owns the `RunSummary`; these modules only read it.

pub(crate) mod console;
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

/// One ended attempt of a job: a joblog line, a bar in the timeline.
#[derive(Debug, Clone)]
pub(crate) struct AttemptRecord {
    pub(crate) name: std::sync::Arc<str>,
    pub(crate) attempt: u32,
    pub(crate) slot: usize,
    pub(crate) start: SystemTime,
    pub(crate) duration: Duration,
    pub(crate) exit_code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) status: Status,
}

impl AttemptRecord {
    /// The record of attempt `attempt` of `spec`, run in `slot`, that ended as `f`.
    pub(crate) fn new(
        spec: &crate::plan::JobSpec,
        attempt: u32,
        slot: usize,
        f: &Finished,
        status: Status,
    ) -> Self {
        let exit = f.exit.unwrap_or_default();
        AttemptRecord {
            name: std::sync::Arc::clone(&spec.name),
            attempt,
            slot,
            start: f.started,
            duration: f.duration,
            exit_code: exit.code,
            signal: exit.signal,
            status,
        }
    }
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
    /// The attempts before the last one, oldest first (empty unless it was retried).
    pub(crate) earlier: Vec<EarlierAttempt>,
    /// Why it was skipped, not run, or could not start.
    pub(crate) reason: Option<String>,
    /// Its output file, with `--log-dir`.
    pub(crate) log: Option<std::path::PathBuf>,
    /// Writing its log file failed (the file is incomplete): why.
    pub(crate) log_error: Option<String>,
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
            earlier: Vec::new(),
            reason: None,
            log: None,
            log_error: None,
        }
    }

    pub(crate) fn not_run(reason: &str) -> Self {
        JobResult {
            reason: Some(reason.to_owned()),
            ..JobResult::new(Status::NotRun)
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

    /// From the start of its first attempt to the end of its last (retry delays
    /// included).
    pub(crate) fn duration(&self) -> Duration {
        let Some(last) = &self.finished else {
            return Duration::ZERO;
        };
        match self.earlier.first() {
            Some(first) => (last.started + last.duration)
                .duration_since(first.finished.started)
                .unwrap_or(last.duration),
            None => last.duration,
        }
    }

    /// When its first attempt started.
    pub(crate) fn started(&self) -> Option<SystemTime> {
        self.earlier
            .first()
            .map(|e| &e.finished)
            .or(self.finished.as_ref())
            .map(|f| f.started)
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
    /// Output prun could not deliver or record (stdout, log files, the joblog): each
    /// makes the exit code 1.
    pub(crate) output_errors: Vec<String>,
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
        if t.succeeded == t.total && self.hook_failures.is_empty() && self.output_errors.is_empty()
        {
            exit::SUCCESS
        } else {
            exit::FAILURE
        }
    }
}

/// Writes the reports asked for (`--report`, `--junit`, `--timeline`) after a run. Every
/// one is attempted; returns what went wrong, one message per report that could not be
/// written (the caller prints them, once).
pub(crate) fn write_files(
    plan: &crate::plan::Plan,
    jobfile: &str,
    run: &RunSummary,
) -> Vec<String> {
    let mut failed = Vec::new();
    let mut write = |path: &Option<std::path::PathBuf>, render: &dyn Fn() -> String| {
        if let Some(path) = path
            && let Err(e) = crate::files::write_atomically(path, render().as_bytes())
        {
            failed.push(format!("cannot write {}: {e}", path.display()));
        }
    };
    write(&plan.report, &|| {
        format!("{:#}\n", json::run(run, &plan.jobs))
    });
    write(&plan.junit, &|| {
        junit::render(run, &plan.jobs, &run.tails, jobfile)
    });
    write(&plan.timeline, &|| {
        let title = format!("prun {jobfile} — run {}", run.run_id);
        timeline::render(
            &title,
            &run.attempts,
            plan.slots(),
            run.started,
            run.duration,
        )
    });
    failed
}

/// Seconds with two decimals, as shown to people (`1.25s`).
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}
