//! `prun history DIR`: the runs a history keeps, newest first, as a table or JSON; with
//! `--job NAME`, one job's result and duration in each of them. Reading the runs is
//! [`state::history`](crate::state::history).

use std::fmt::Write as _;

use serde_json::json;
use unicode_width::UnicodeWidthStr;

use crate::names::printable;
use crate::state::history::{Ended, EndedJob, Run, State};

/// At most this many failed jobs are named in a run's row; the rest are counted.
const NAMED_FAILURES: usize = 5;

/// The runs as a table (or JSON with `json`), newest first.
pub(crate) fn render_runs(runs: &[Run], json: bool) -> String {
    if json {
        let rows: Vec<_> = runs.iter().map(run_json).collect();
        return format!("{}\n", serde_json::Value::Array(rows));
    }
    let rows: Vec<[String; 5]> = runs
        .iter()
        .map(|r| {
            let (duration, failed) = match &r.state {
                State::Ended(e) => (
                    crate::times::secs(std::time::Duration::from_secs_f64(e.duration.max(0.0))),
                    failed_list(e),
                ),
                _ => ("-".into(), String::new()),
            };
            [r.name.clone(), start(r), duration, result(r), failed]
        })
        .collect();
    table(&["RUN", "START", "DURATION", "RESULT", "FAILED"], &rows)
}

/// Job `name` (or, for a matrix job's base name, each of its jobs) in each run that has
/// it, newest first; `None` when no ended run has it.
pub(crate) fn render_job(runs: &[Run], name: &str, json: bool) -> Option<String> {
    let found: Vec<(&Run, &Ended, &EndedJob)> = runs
        .iter()
        .filter_map(|r| match &r.state {
            State::Ended(e) => Some((r, &**e)),
            _ => None,
        })
        .flat_map(|(r, e)| {
            e.jobs
                .iter()
                .filter(|j| is_named(&j.name, name))
                .map(move |j| (r, e, j))
        })
        .collect();
    if found.is_empty() {
        return None;
    }
    if json {
        let rows: Vec<_> = found
            .iter()
            .map(|(r, _, j)| {
                json!({
                    "run": r.name,
                    "start": start(r),
                    "name": j.name,
                    "status": j.status,
                    "allowed": j.allowed,
                    "attempts": j.attempts,
                    "exit_code": j.exit_code,
                    "duration": j.duration,
                    "reason": j.reason,
                })
            })
            .collect();
        return Some(format!("{}\n", serde_json::Value::Array(rows)));
    }
    let rows: Vec<[String; 7]> = found
        .iter()
        .map(|(r, _, j)| {
            let status = if j.allowed {
                format!("{} (allowed)", j.status)
            } else {
                j.status.clone()
            };
            [
                r.name.clone(),
                start(r),
                printable(&j.name).into_owned(),
                status,
                j.attempts.to_string(),
                j.exit_code.map_or("-".into(), |c| c.to_string()),
                crate::times::secs(std::time::Duration::from_secs_f64(j.duration.max(0.0))),
            ]
        })
        .collect();
    Some(table(
        &[
            "RUN", "START", "JOB", "STATUS", "ATTEMPTS", "EXIT", "DURATION",
        ],
        &rows,
    ))
}

/// `name` itself, or a job of the matrix job `name` (`name[x=1]`).
fn is_named(job: &str, name: &str) -> bool {
    job == name
        || job
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('['))
}

fn run_json(r: &Run) -> serde_json::Value {
    let mut v = json!({
        "run": r.name,
        "path": r.path.display().to_string(),
        "start": start(r),
        "result": result_word(r),
    });
    if let State::Ended(e) = &r.state {
        v["duration"] = json!(e.duration);
        v["exit_code"] = json!(e.exit_code);
        v["signal"] = json!(e.signal);
        v["failed"] = json!(failed_jobs(e).map(|j| &j.name).collect::<Vec<_>>());
        v["jobs"] = json!(e.jobs.len());
    }
    v
}

/// `success`, `failure`, `interrupted`, `running` or `incomplete` (ended without a
/// report: killed).
fn result_word(r: &Run) -> &'static str {
    match &r.state {
        State::Running => "running",
        State::Incomplete => "incomplete",
        State::Ended(e) if e.exit_code == 0 => "success",
        State::Ended(e) if e.signal.is_some() => "interrupted",
        State::Ended(_) => "failure",
    }
}

fn result(r: &Run) -> String {
    match &r.state {
        State::Ended(e) if e.signal.is_some() => {
            format!("interrupted ({})", e.signal.as_deref().unwrap_or_default())
        }
        State::Ended(e) if e.exit_code != 0 => format!("failure ({})", e.exit_code),
        _ => result_word(r).into(),
    }
}

/// The run's start as people read it: `2026-12-04 02:00:00Z` (from its name when it has
/// no report).
fn start(r: &Run) -> String {
    let rfc = match &r.state {
        State::Ended(e) => e.start.clone(),
        _ => crate::state::history::started(&r.name)
            .map(|t| humantime::format_rfc3339_seconds(t).to_string())
            .unwrap_or_default(),
    };
    match rfc.get(..19) {
        Some(s) => format!("{}Z", s.replacen('T', " ", 1)),
        None => rfc,
    }
}

/// The jobs that failed, not allowed to.
fn failed_jobs(e: &Ended) -> impl Iterator<Item = &EndedJob> {
    e.jobs.iter().filter(|j| {
        !j.allowed && matches!(j.status.as_str(), "failed" | "timed-out" | "interrupted")
    })
}

/// `db, files (+3 more)`.
fn failed_list(e: &Ended) -> String {
    let all: Vec<&EndedJob> = failed_jobs(e).collect();
    let mut s: Vec<String> = (all.iter().take(NAMED_FAILURES))
        .map(|j| printable(&j.name).into_owned())
        .collect();
    if all.len() > NAMED_FAILURES {
        s.push(format!("(+{} more)", all.len() - NAMED_FAILURES));
    }
    s.join(", ")
}

/// Columns padded to their widest cell; the last one is not padded.
fn table<const N: usize>(head: &[&str; N], rows: &[[String; N]]) -> String {
    let mut width = head.map(UnicodeWidthStr::width);
    for row in rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(UnicodeWidthStr::width(cell.as_str()));
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 < N {
                let pad = width[i].saturating_sub(UnicodeWidthStr::width(cell));
                let _ = write!(l, "{cell}{}  ", " ".repeat(pad));
            } else {
                l.push_str(cell);
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(&mut head.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_job_is_found_by_its_base_name() {
        assert!(is_named("db", "db"));
        assert!(is_named("db[x=1]", "db"));
        assert!(!is_named("dbx", "db"));
        assert!(!is_named("d", "db"));
    }
}
