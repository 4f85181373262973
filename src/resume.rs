//! `--resume` and `--resume-failed` (the same thing under GNU parallel's two names): what
//! an earlier run's joblog says is already done. A job counts as done only if its last
//! record is a success *of the command it has now*; everything else runs: jobs that
//! failed, timed out or were interrupted, jobs the earlier run skipped or never started
//! (they have no record), and jobs whose command changed. A job not run for this reason
//! is reported as `success` with the reason, and is the only kind of job prun reports as
//! a success without running it.
//!
//! The guarantee is at-least-once: a job that ended after its last record was written,
//! but before prun could write its own (prun killed in between), runs again. The record is
//! written by the worker right after it reaps the job, so that window is the time between
//! the job's exit and one `write(2)`.

use crate::error::Error;
use crate::plan::Plan;
use crate::report::{JobResult, Status, joblog};

/// For each job of the plan, its result if this run should not run it.
pub(crate) fn prior_results(plan: &Plan) -> Result<Vec<Option<JobResult>>, Error> {
    let n = plan.jobs.len();
    let Some(path) = plan.joblog.as_deref().filter(|_| plan.resume) else {
        return Ok(vec![None; n]);
    };
    let last = joblog::read(path)?;
    Ok(plan
        .jobs
        .iter()
        .map(|j| match last.get(&*j.name) {
            Some(r) if r.status == Status::Success && *r.command == *j.run => Some(done()),
            _ => None,
        })
        .collect())
}

fn done() -> JobResult {
    JobResult {
        reason: Some("already succeeded in an earlier run (--resume)".to_owned()),
        ..JobResult::new(Status::Success)
    }
}
