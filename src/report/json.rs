//! The JSON forms of results: one job's result (a hook's stdin) and the run summary
//! (the file `PRUN_REPORT` names for run-level hooks). Schema version 1; documented in
//! the README. Fields are only ever added within a version.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{JobResult, RunSummary, Status};
use crate::executor::Finished;
use crate::plan::JobSpec;

/// The version of the JSON schemas below.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// RFC 3339 UTC time with milliseconds.
pub(crate) fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// One job's result, as a hook reads it on stdin.
pub(crate) fn job(spec: &JobSpec, r: &JobResult) -> Value {
    let f = r.finished.as_ref();
    let mut v = json!({
        "name": &*spec.name,
        "index": spec.index,
        "command": &*spec.run,
        "status": r.status.as_str(),
        "exit_code": r.exit_code(),
        "signal": r.signal().map(crate::executor::signal_name),
        "attempts": r.attempts,
        "slot": r.slot,
        "start": r.started().map(timestamp),
        "duration": r.duration().as_secs_f64(),
        "reason": r.reason,
    });
    if f.is_some() {
        let earlier = r.earlier.iter().map(|e| (e.status, &e.finished));
        let all = earlier.chain(f.map(|f| (r.status, f)));
        v["attempt_details"] = all
            .enumerate()
            .map(|(i, (status, f))| attempt(i + 1, status, f))
            .collect();
    }
    if let Some(log) = &r.log {
        v["log"] = json!(log.display().to_string());
        v["log_complete"] = json!(r.log_error.is_none());
        if let Some(e) = &r.log_error {
            v["log_error"] = json!(e);
        }
    }
    v
}

/// One attempt of a job, for `attempt_details`.
fn attempt(n: usize, status: Status, f: &Finished) -> Value {
    let exit = f.exit.unwrap_or_default();
    json!({
        "attempt": n,
        "status": status.as_str(),
        "exit_code": exit.code,
        "signal": exit.signal.map(crate::executor::signal_name),
        "start": timestamp(f.started),
        "duration": f.duration.as_secs_f64(),
    })
}

/// The whole run.
pub(crate) fn run(run: &RunSummary, specs: &[JobSpec]) -> Value {
    let t = run.totals();
    let end = run.started + run.duration;
    json!({
        "schema_version": SCHEMA_VERSION,
        "prun_version": env!("CARGO_PKG_VERSION"),
        "run_id": run.run_id,
        "start": timestamp(run.started),
        "end": timestamp(end),
        "duration": run.duration.as_secs_f64(),
        "exit_code": run.exit_code(),
        "signal": run.signal.map(crate::executor::signal_name),
        "totals": {
            "total": t.total,
            "succeeded": t.succeeded,
            "failed": t.failed,
            "skipped": t.skipped,
            "hook_failures": run.hook_failures.len(),
        },
        "jobs": specs.iter().zip(&run.results).map(|(s, r)| job(s, r)).collect::<Vec<_>>(),
        "hook_failures": run.hook_failures.iter().map(|h| json!({
            "job": h.job.map(|j| &*specs[j].name),
            "hook": h.hook,
            "reason": h.reason,
        })).collect::<Vec<_>>(),
        "output_errors": run.output_errors,
    })
}
