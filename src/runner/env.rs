//! Every `PRUN_*` variable a job or a hook sees, named here and nowhere else (the
//! README's table lists the same; tests/architecture.rs keeps it so).
//!
//! - a job: the jobfile's `env` and its matrix values, then `PRUN_JOB`,
//!   `PRUN_JOB_INDEX`, `PRUN_SLOT`, `PRUN_ATTEMPT`, `PRUN_RUN_ID` (`job`),
//!   `PRUN_OUTPUT` ([`output`](crate::output)), `PRUN_NEEDS` (`needs`), `PRUN_RESOURCE_<name>`
//!   (`ResourceVars`);
//! - a job's hook: the job's, plus `PRUN_JOB_STATUS`, `PRUN_JOB_EXIT_CODE`,
//!   `PRUN_JOB_SIGNAL`, `PRUN_JOB_DURATION`, `PRUN_JOB_ATTEMPTS`,
//!   `PRUN_JOB_CPU_SECONDS`, `PRUN_JOB_MAX_RSS`, `PRUN_JOB_ALLOWED`, `PRUN_JOB_LOG`
//!   (`result`);
//! - a run-level hook: the jobfile's `env`, plus `PRUN_RUN_ID`, `PRUN_TOTAL`,
//!   `PRUN_SUCCEEDED`, `PRUN_FAILED`, `PRUN_ALLOWED`, `PRUN_SKIPPED`,
//!   `PRUN_UP_TO_DATE`, `PRUN_HOOK_FAILURES`, `PRUN_REPORT`, `PRUN_PREVIOUS_RESULT`
//!   (`run_level`).

use crate::executor::finished::signal_name;
use crate::outcome::JobResult;
use crate::outcome::summary::Totals;
use crate::plan::job::JobSpec;
use crate::plan::resources::{self, Resource};

/// A list of variables to set over prun's own environment; later entries win.
pub(crate) type Vars = Vec<(String, String)>;

/// A job's environment: the jobfile's `env` merged into the job's, its matrix values,
/// then prun's variables for attempt `attempt` in pool slot `slot`.
pub(crate) fn job(spec: &JobSpec, slot: usize, attempt: u32, run_id: &str) -> Vars {
    // Room for what is added when it starts: PRUN_OUTPUT, PRUN_NEEDS.
    let mut env = Vec::with_capacity(spec.env.len() + spec.matrix.len() + 7);
    env.extend(spec.env.iter().cloned());
    env.extend(
        spec.matrix
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env.push(("PRUN_JOB".into(), spec.name.to_string()));
    env.push(("PRUN_JOB_INDEX".into(), spec.index.to_string()));
    env.push(("PRUN_SLOT".into(), slot.to_string()));
    env.push(("PRUN_ATTEMPT".into(), attempt.to_string()));
    env.push(("PRUN_RUN_ID".into(), run_id.to_owned()));
    env
}

/// The variables of `env` that are the job's own, not prun's (which differ from run to
/// run): what an up-to-date job's fingerprint holds.
pub(crate) fn own(env: &[(String, String)]) -> Vars {
    (env.iter())
        .filter(|(k, _)| !k.starts_with("PRUN_"))
        .cloned()
        .collect()
}

/// `PRUN_OUTPUT`: where the attempt writes its outputs.
pub(crate) fn output(path: String) -> (String, String) {
    ("PRUN_OUTPUT".into(), path)
}

/// `PRUN_NEEDS`: the file of the results of the jobs it needs.
pub(crate) fn needs(path: String) -> (String, String) {
    ("PRUN_NEEDS".into(), path)
}

/// The names of the `PRUN_RESOURCE_<name>` variables, made once per run.
pub(crate) struct ResourceVars(Vec<String>);

impl ResourceVars {
    pub(crate) fn new(resources: &[Resource]) -> Self {
        ResourceVars(
            resources
                .iter()
                .map(|r| format!("PRUN_RESOURCE_{}", r.name))
                .collect(),
        )
    }

    /// `PRUN_RESOURCE_<name>` for each resource in `units`: the units held, lowest
    /// first, as `0` or `0,1`.
    pub(crate) fn of(&self, units: &[(u32, u32)]) -> Vars {
        resources::by_resource(units)
            .map(|(r, us)| (self.0[r].clone(), resources::list(us)))
            .collect()
    }
}

/// What a job's hooks see on top of the job's environment: how it ended.
pub(crate) fn result(r: &JobResult) -> Vars {
    let cost = r.cost();
    vec![
        ("PRUN_JOB_STATUS".into(), r.status.as_str().into()),
        (
            "PRUN_JOB_EXIT_CODE".into(),
            r.exit_code().map(|c| c.to_string()).unwrap_or_default(),
        ),
        (
            "PRUN_JOB_SIGNAL".into(),
            r.signal().map(signal_name).unwrap_or_default().into(),
        ),
        (
            "PRUN_JOB_DURATION".into(),
            format!("{:.3}", r.duration().as_secs_f64()),
        ),
        ("PRUN_JOB_ATTEMPTS".into(), r.attempts.to_string()),
        // What all its attempts cost ("" where prun could not measure it).
        (
            "PRUN_JOB_CPU_SECONDS".into(),
            cost.map(|c| format!("{:.3}", c.cpu.as_secs_f64()))
                .unwrap_or_default(),
        ),
        (
            "PRUN_JOB_MAX_RSS".into(),
            cost.map(|c| c.max_rss.to_string()).unwrap_or_default(),
        ),
        ("PRUN_JOB_ALLOWED".into(), r.allowed.to_string()),
        (
            "PRUN_JOB_LOG".into(),
            r.log().map(|l| l.display().to_string()).unwrap_or_default(),
        ),
    ]
}

/// What the run-level hooks see on top of the jobfile's `env`: the run's counts, and
/// `PRUN_REPORT`, the path of the run's JSON summary ("" when it could not be written),
/// and `PRUN_PREVIOUS_RESULT`, how the history's run before this one ended ("" if none).
pub(crate) fn run_level(
    run_id: &str,
    t: Totals,
    hook_failures: usize,
    report: String,
    previous_success: Option<bool>,
) -> Vars {
    let previous = match previous_success {
        Some(true) => "success",
        Some(false) => "failure",
        None => "",
    };
    vec![
        ("PRUN_RUN_ID".into(), run_id.to_owned()),
        ("PRUN_TOTAL".into(), t.total.to_string()),
        ("PRUN_SUCCEEDED".into(), t.succeeded.to_string()),
        ("PRUN_FAILED".into(), t.failed.to_string()),
        ("PRUN_ALLOWED".into(), t.allowed.to_string()),
        ("PRUN_SKIPPED".into(), t.skipped.to_string()),
        ("PRUN_UP_TO_DATE".into(), t.up_to_date.to_string()),
        ("PRUN_HOOK_FAILURES".into(), hook_failures.to_string()),
        ("PRUN_REPORT".into(), report),
        ("PRUN_PREVIOUS_RESULT".into(), previous.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_sees_its_env_then_its_matrix_values_then_prun_s_variables() {
        let plan = crate::plan::test_plan(
            "env: {A: run}\njobs:\n  - name: m\n    env: {A: job, x: env}\n    matrix: {x: [v]}\n    run: x\n",
            &[],
        );
        let env = job(&plan.jobs[0], 2, 3, "rid");
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "A",
                "x",
                "x",
                "PRUN_JOB",
                "PRUN_JOB_INDEX",
                "PRUN_SLOT",
                "PRUN_ATTEMPT",
                "PRUN_RUN_ID"
            ]
        );
        // Later entries win: the matrix value over the job's env.
        let get = |k: &str| {
            env.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("A"), Some("job"));
        assert_eq!(get("x"), Some("v"));
        assert_eq!(get("PRUN_JOB"), Some("m[x=v]"));
        assert_eq!(
            (get("PRUN_SLOT"), get("PRUN_ATTEMPT")),
            (Some("2"), Some("3"))
        );
    }

    #[test]
    fn each_resource_held_is_a_variable_of_its_units() {
        let vars = ResourceVars::new(&[Resource::new("gpu", 3), Resource::new("nas", 12)]);
        assert_eq!(
            vars.of(&[(0, 0), (0, 2), (1, 10)]),
            [
                ("PRUN_RESOURCE_gpu".to_owned(), "0,2".to_owned()),
                ("PRUN_RESOURCE_nas".to_owned(), "10".to_owned())
            ]
        );
        assert!(vars.of(&[]).is_empty());
    }

    #[test]
    fn the_run_level_hooks_see_the_runs_counts() {
        let t = Totals {
            total: 5,
            succeeded: 3,
            failed: 1,
            allowed: 1,
            skipped: 1,
            up_to_date: 0,
        };
        let env = run_level("r1", t, 2, "/tmp/r.json".into(), Some(false));
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PRUN_TOTAL"), Some("5"));
        assert_eq!(get("PRUN_FAILED"), Some("1"));
        assert_eq!(get("PRUN_ALLOWED"), Some("1"));
        assert_eq!(get("PRUN_HOOK_FAILURES"), Some("2"));
        assert_eq!(get("PRUN_REPORT"), Some("/tmp/r.json"));
        assert_eq!(get("PRUN_RUN_ID"), Some("r1"));
        assert_eq!(get("PRUN_PREVIOUS_RESULT"), Some("failure"));
        let first = run_level("r1", t, 0, String::new(), None);
        assert!(
            first
                .iter()
                .any(|(k, v)| k == "PRUN_PREVIOUS_RESULT" && v.is_empty())
        );
    }
}
