//! The whole run, as the core recorded it: every job's result in the order they are
//! shown, the hooks that failed, what could not be delivered, and prun's exit code for
//! the run, decided in one place (`RunSummary::prun_exit`).

use std::time::{Duration, SystemTime};

use super::attempt::AttemptRecord;
use super::{HookFailure, JobResult, Status};
use crate::exit;

/// The whole run, as the core recorded it.
#[derive(Debug)]
pub(crate) struct RunSummary {
    pub(crate) run_id: String,
    pub(crate) started: SystemTime,
    pub(crate) duration: Duration,
    /// The jobs in the order they are shown (the jobfile's, with each dynamic matrix
    /// replaced by the jobs it became): `order[i]` is the job whose name is `name(i)`
    /// and whose result is `results[i]`.
    pub(crate) order: Vec<usize>,
    /// The plan, for the names of its jobs.
    pub(crate) plan: std::sync::Arc<crate::plan::Plan>,
    /// The plan's resources (`JobResult::units` indexes them).
    pub(crate) resources: Vec<crate::plan::resources::Resource>,
    /// Moved out of the core and put in order in place, not copied.
    pub(crate) results: Vec<JobResult>,
    /// The jobs dynamic matrices made (ids from the plan's job count on).
    pub(crate) extra: Vec<std::sync::Arc<crate::plan::JobSpec>>,
    pub(crate) hook_failures: Vec<HookFailure>,
    /// The signal that interrupted the run, if one did.
    pub(crate) signal: Option<i32>,
    /// A bug in prun (a panic), as said when it happened: the exit code is 70.
    pub(crate) internal_error: Option<String>,
    /// Every ended attempt (kept only for `--timeline`).
    pub(crate) attempts: Vec<AttemptRecord>,
    /// The end of each job's output, in `order` (kept only for `--junit`).
    pub(crate) tails: std::collections::HashMap<usize, Vec<u8>>,
    /// Output prun could not deliver or record (stdout, log files, the joblog): each
    /// makes the exit code 1.
    pub(crate) output_errors: Vec<String>,
    /// Monitor pings that could not be sent: warnings, never a change of the exit code.
    pub(crate) monitor_errors: Vec<String>,
    /// How long the throttles (`--memfree`, `--load`) held jobs back in all, and why
    /// they last did; `None` when they never did.
    pub(crate) throttled: Option<(std::time::Duration, String)>,
}

/// Counts of job outcomes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) total: usize,
    pub(crate) succeeded: usize,
    /// Failed, timed out or interrupted.
    pub(crate) failed: usize,
    /// Of those, the failures their `allow_failure:` allows.
    pub(crate) allowed: usize,
    /// Skipped or never started.
    pub(crate) skipped: usize,
    /// Not run: up to date.
    pub(crate) up_to_date: usize,
}

impl RunSummary {
    /// The name of the job shown `i`-th.
    pub(crate) fn name(&self, i: usize) -> &str {
        &self.plan.job(self.order[i], &self.extra).name
    }

    /// The spec of each job shown, in `order`.
    pub(crate) fn specs(&self) -> Vec<&crate::plan::JobSpec> {
        self.order
            .iter()
            .map(|&j| self.plan.job(j, &self.extra))
            .collect()
    }

    pub(crate) fn totals(&self) -> Totals {
        let mut t = Totals {
            total: self.results.len(),
            ..Totals::default()
        };
        for r in &self.results {
            match r.status {
                Status::Success => t.succeeded += 1,
                Status::UpToDate => t.up_to_date += 1,
                s if s.is_failure() => {
                    t.failed += 1;
                    t.allowed += usize::from(r.allowed);
                }
                _ => t.skipped += 1,
            }
        }
        t
    }

    /// The run's exit code (README, "Exit codes"): one place decides it.
    pub(crate) fn prun_exit(&self) -> u8 {
        if self.internal_error.is_some() {
            return exit::INTERNAL;
        }
        if let Some(sig) = self.signal {
            return exit::SIGNAL_BASE.saturating_add(sig as u8);
        }
        // A job skipped only because a `when:` or `if:` condition did not hold is no
        // failure, nor is a failure its `allow_failure:` allows.
        let all_well = self.results.iter().all(|r| {
            r.status.is_success() || r.allowed || (r.status == Status::Skipped && r.by_condition)
        });
        if all_well && self.hook_failures.is_empty() && self.output_errors.is_empty() {
            exit::SUCCESS
        } else {
            exit::FAILURE
        }
    }
}
