//! The JSON forms of results: one job's result (a hook's stdin) and the run summary
//! (the file `PRUN_REPORT` names for run-level hooks). Schema version 1; documented in
//! the README. Fields are only ever added within a version.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{JobResult, RunSummary};
use crate::plan::JobSpec;

/// The version of the JSON schemas below.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// RFC 3339 UTC time with milliseconds.
pub(crate) fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename,
/// so readers never see half a report.
pub(crate) fn write_atomically(
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<(), crate::error::Error> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        crate::error::Error::io(format!("writing {}", path.display()), e)
    })
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
        "start": f.map(|f| timestamp(f.started)),
        "duration": r.duration().as_secs_f64(),
        "reason": r.reason,
    });
    if let Some(log) = &r.log {
        v["log"] = json!(log.display().to_string());
    }
    v
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
    })
}
