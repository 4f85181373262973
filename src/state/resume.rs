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

use std::collections::HashMap;

use crate::outcome::More;
use crate::outcome::{JobResult, Reason, Status};
use crate::plan::{JobSpec, Plan};
use crate::state::joblog::{self, JoblogError, LastRecord};

/// What an earlier run's joblog says, with `--resume`.
pub(crate) struct Earlier(HashMap<String, LastRecord>);

impl Earlier {
    /// Reads the joblog when the run resumes one; `None` otherwise.
    pub(crate) fn read(plan: &Plan) -> Result<Option<Earlier>, JoblogError> {
        let Some(path) = plan.joblog.as_deref().filter(|_| plan.resume) else {
            return Ok(None);
        };
        Ok(Some(Earlier(joblog::read(path)?)))
    }

    /// `job`'s result if this run should not run it (also for the jobs a dynamic matrix
    /// makes: by name, as they are made).
    pub(crate) fn result(&self, job: &JobSpec) -> Option<JobResult> {
        match self.0.get(&*job.name) {
            // Outputs that held a secret were not kept: it runs again to have them.
            Some(r)
                if r.status == Status::Success && *r.command == *job.run && !r.outputs_masked =>
            {
                Some(done(r.outputs.clone()))
            }
            _ => None,
        }
    }
}

/// A job done in an earlier run, with the outputs it wrote then (its dependents see the
/// same values).
fn done(outputs: crate::outcome::outputs::Outputs) -> JobResult {
    JobResult::new(Status::Success)
        .with_reason(Reason::Resumed)
        .with_more(More {
            outputs,
            ..More::default()
        })
}
