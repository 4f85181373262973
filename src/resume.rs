//! `--resume` and `--resume-failed`: what an earlier run's joblog says is already done.
//! Keyed on job name and command, so a job whose command changed runs again.

use crate::error::Error;
use crate::plan::{Plan, Resume};
use crate::report::{JobResult, Status, joblog};

/// For each job of the plan, its result if this run should not run it.
pub(crate) fn prior_results(plan: &Plan) -> Result<Vec<Option<JobResult>>, Error> {
    let n = plan.jobs.len();
    let (Some(path), mode) = (&plan.joblog, plan.resume) else {
        return Ok(vec![None; n]);
    };
    if mode == Resume::No {
        return Ok(vec![None; n]);
    }
    let last = joblog::read(path)?;
    Ok(plan
        .jobs
        .iter()
        .map(|j| {
            let seen = last.get(&(j.name.to_string(), j.run.to_string())).copied();
            match (mode, seen) {
                (Resume::Succeeded, Some(Status::Success)) => {
                    Some(done("already succeeded (--resume)"))
                }
                (Resume::Failed, Some(s)) if s.is_failure() => None,
                (Resume::Failed, _) => Some(done(
                    "not rerun: it did not fail last time (--resume-failed)",
                )),
                _ => None,
            }
        })
        .collect())
}

fn done(why: &str) -> JobResult {
    JobResult {
        status: Status::Success,
        attempts: 0,
        slot: None,
        finished: None,
        reason: Some(why.to_owned()),
        log: None,
    }
}
