//! `--metrics FILE.prom` (`metrics:`): the run in node_exporter's textfile-collector
//! format, written at the end (a temporary file in the same directory, then a rename, by
//! [`report::write_files`](crate::report::write_files)). Every sample is labelled `jobfile` with the run's identity
//! (`name:`, else the jobfile's canonical path: `write_files` says which), so two `backup.yaml`
//! in different directories can share a collector directory without giving the same
//! series twice; a job is labelled `prun_job`, never `job` or `instance`, which a
//! Prometheus scrape sets itself (and would rename ours `exported_job`); no sample has a
//! timestamp (the collector refuses them, node_exporter #329).
//!
//! `prun_job_success` is what an alert on `== 0` should read: 1 for a job that succeeded
//! or was up to date, 0 for one that failed (timed out, was interrupted, or was skipped
//! or not run because of a failure), with `allowed="true"` on a failure its
//! `allow_failure:` allows; a job its `if:` or `when:` skipped has no sample at all.
//!
//! `prun_job_last_success_timestamp_seconds` of a job that did not succeed this time is
//! carried over from the file as the last run left it, so "no success for 2 days" can be
//! alerted on across failed nights.

use crate::executor::finished::Cost;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::outcome::Status;
use crate::outcome::summary::RunSummary;

/// Every status a job can end with, for the counts (a status no job had is 0).
const STATUSES: [Status; 7] = [
    Status::Success,
    Status::Failed,
    Status::TimedOut,
    Status::Interrupted,
    Status::Skipped,
    Status::NotRun,
    Status::UpToDate,
];

/// The file's text for `run` of `jobfile`, with `previous` the text the file held
/// before (for the last successes of jobs that did not succeed now).
pub(crate) fn render(run: &RunSummary, jobfile: &str, previous: &str) -> String {
    // The run's identity, not the path as typed: `jobfile` below is that.
    let carried = last_successes(previous, jobfile);
    let file = escape(jobfile);
    let end = secs(run.started + run.duration);
    let success = run.prun_exit() == crate::exit::SUCCESS;
    let mut out = String::new();
    family(
        &mut out,
        "prun_run_success",
        "1 when prun's exit code was 0.",
    );
    let _ = writeln!(
        out,
        "prun_run_success{{jobfile=\"{file}\"}} {}",
        u8::from(success)
    );
    family(
        &mut out,
        "prun_run_duration_seconds",
        "How long the run took.",
    );
    let _ = writeln!(
        out,
        "prun_run_duration_seconds{{jobfile=\"{file}\"}} {:.3}",
        run.duration.as_secs_f64()
    );
    family(
        &mut out,
        "prun_run_start_timestamp_seconds",
        "When the run started (Unix time).",
    );
    let _ = writeln!(
        out,
        "prun_run_start_timestamp_seconds{{jobfile=\"{file}\"}} {:.3}",
        secs(run.started)
    );
    let run_last = if success {
        Some(end)
    } else {
        carried.get("").copied()
    };
    if let Some(t) = run_last {
        family(
            &mut out,
            "prun_run_last_success_timestamp_seconds",
            "When a run last ended with exit code 0 (Unix time).",
        );
        let _ = writeln!(
            out,
            "prun_run_last_success_timestamp_seconds{{jobfile=\"{file}\"}} {t:.3}"
        );
    }
    family(&mut out, "prun_jobs", "The run's jobs by how they ended.");
    for s in STATUSES {
        let n = run.results.iter().filter(|r| r.status == s).count();
        let _ = writeln!(
            out,
            "prun_jobs{{jobfile=\"{file}\",status=\"{}\"}} {n}",
            s.as_str()
        );
    }
    let jobs: Vec<(String, &crate::outcome::JobResult)> = (0..run.results.len())
        .map(|i| (escape(run.name(i)), &run.results[i]))
        .collect();
    family(
        &mut out,
        "prun_job_success",
        "1 when the job succeeded or was up to date, 0 when it failed (allowed=\"true\": a failure allow_failure allows); no sample when its if: or when: skipped it.",
    );
    for (name, r) in &jobs {
        if r.status == Status::Skipped && r.by_condition {
            continue;
        }
        let allowed = if r.allowed { ",allowed=\"true\"" } else { "" };
        let _ = writeln!(
            out,
            "prun_job_success{{jobfile=\"{file}\",prun_job=\"{name}\"{allowed}}} {}",
            u8::from(r.status.is_success())
        );
    }
    family(
        &mut out,
        "prun_job_duration_seconds",
        "How long the job took, its retries included (0 when it did not run).",
    );
    for (name, r) in &jobs {
        let _ = writeln!(
            out,
            "prun_job_duration_seconds{{jobfile=\"{file}\",prun_job=\"{name}\"}} {:.3}",
            r.duration().as_secs_f64()
        );
    }
    // What each job cost, for the jobs prun measured (not those its executor runs elsewhere).
    let cost_families: [CostFamily; 2] = [
        (
            "prun_job_cpu_seconds",
            "CPU time (user + system) of the job's processes, its retries included.",
            |c| format!("{:.3}", c.cpu.as_secs_f64()),
        ),
        (
            "prun_job_max_rss_bytes",
            "The peak resident set of the largest of the job's processes (an upper bound for small jobs: see prun's docs).",
            |c| c.max_rss.to_string(),
        ),
    ];
    for (metric, help, value) in cost_families {
        family(&mut out, metric, help);
        for (name, r) in &jobs {
            if let Some(c) = r.cost() {
                let v = value(&c);
                let _ = writeln!(
                    out,
                    "{metric}{{jobfile=\"{file}\",prun_job=\"{name}\"}} {v}"
                );
            }
        }
    }
    family(
        &mut out,
        "prun_job_last_success_timestamp_seconds",
        "When the job last succeeded or was up to date (Unix time; kept from earlier runs).",
    );
    for (name, r) in &jobs {
        // A job `--resume` skipped succeeded in an earlier run, not at this one's end:
        // its time is the one the file held (none if it held none).
        let resumed = matches!(r.reason(), Some(crate::outcome::Reason::Resumed));
        let last = if r.status.is_success() && !resumed {
            Some(r.started().map_or(end, |s| secs(s + r.duration())))
        } else {
            carried.get(name.as_str()).copied()
        };
        if let Some(t) = last {
            let _ = writeln!(
                out,
                "prun_job_last_success_timestamp_seconds{{jobfile=\"{file}\",prun_job=\"{name}\"}} {t:.3}"
            );
        }
    }
    out
}

/// A metric's HELP and TYPE lines.
/// A per-job cost metric: its name, its HELP, and its value from a cost.
type CostFamily = (&'static str, &'static str, fn(&Cost) -> String);

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A label value as the text format wants it: `\`, `"` and newline escaped.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// The last successes in a file prun wrote for `jobfile`: by job (its label value as
/// written, escaped), and the run's under "".
fn last_successes(text: &str, jobfile: &str) -> HashMap<String, f64> {
    let file = escape(jobfile);
    let mut out = HashMap::new();
    for line in text.lines() {
        let (key, rest) =
            if let Some(r) = line.strip_prefix("prun_job_last_success_timestamp_seconds{") {
                (true, r)
            } else if let Some(r) = line.strip_prefix("prun_run_last_success_timestamp_seconds{") {
                (false, r)
            } else {
                continue;
            };
        let Some((labels, value)) = split_labels(rest) else {
            continue;
        };
        let Ok(v) = value.trim().parse::<f64>() else {
            continue;
        };
        if labels.get("jobfile").map(String::as_str) != Some(file.as_str()) {
            continue;
        }
        let name = if key {
            match labels.get("prun_job") {
                Some(j) => j.clone(),
                None => continue,
            }
        } else {
            String::new()
        };
        out.insert(name, v);
    }
    out
}

/// `jobfile="a",prun_job="b\"c"} 12.5` → the labels (values kept escaped) and ` 12.5`.
fn split_labels(s: &str) -> Option<(HashMap<String, String>, &str)> {
    let mut labels = HashMap::new();
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'}') {
            return Some((labels, &s[i + 1..]));
        }
        let eq = s[i..].find("=\"")? + i;
        let name = s[i..eq].trim_start_matches(',').to_owned();
        let mut j = eq + 2;
        while *b.get(j)? != b'"' {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        labels.insert(name, s[eq + 2..j].to_owned());
        i = j + 1;
        if b.get(i) == Some(&b',') {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_read_back_as_written() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let text = "# HELP x\nprun_job_last_success_timestamp_seconds{jobfile=\"j.yaml\",prun_job=\"a\\\"b}\"} 17.5\n\
                    prun_job_last_success_timestamp_seconds{jobfile=\"other.yaml\",prun_job=\"z\"} 1\n\
                    prun_run_last_success_timestamp_seconds{jobfile=\"j.yaml\"} 9\n\
                    prun_job_last_success_timestamp_seconds{jobfile=\"j.yaml\",prun_job=\"broken\n";
        let got = last_successes(text, "j.yaml");
        assert_eq!(got.get("a\\\"b}"), Some(&17.5));
        assert_eq!(got.get(""), Some(&9.0));
        assert_eq!(got.len(), 2, "{got:?}");
    }
}
