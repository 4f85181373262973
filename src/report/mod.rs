//! What prun writes about a run once it has ended, and about a plan it will not run:
//! the summary table on stderr (`summary`), `--report` (`json`), `--junit`, `--timeline`,
//! `--metrics` (`metrics`),
//! the GitHub step summary, and `--dry-run` (`dry_run`). These only read the
//! `RunSummary` ([`outcome::summary`](crate::outcome::summary)) or the `Plan`; `FILES`
//! lists the report files (one place: a new one is one entry), `write_files` writes them.

pub(crate) mod dry_run;
pub(crate) mod history;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod metrics;
pub(crate) mod monitor;
pub(crate) mod ping_body;
pub(crate) mod step_summary;
pub(crate) mod summary;
pub(crate) mod timeline;
pub(crate) mod visible;

use std::io::Write;
use std::path::Path;

use crate::outcome::summary::RunSummary;
use crate::plan::Plan;

/// A file prun writes about a run, asked for by a flag: the one list of them (the
/// checks before the run, what the workers keep for them, the writing after it all read
/// it). The GitHub step summary, appended to a file GitHub owns, is written beside them.
pub(crate) struct ReportFile {
    /// The option that asks for it (`--junit`).
    pub(crate) flag: &'static str,
    /// Where the plan says it goes, if it was asked for.
    pub(crate) path: fn(&Plan) -> Option<&Path>,
    /// It shows the end of failed jobs' output (`RunSummary::tails`).
    pub(crate) needs_tails: bool,
    /// Its text.
    render: fn(&Writing<'_>, &mut dyn Write) -> std::io::Result<()>,
}

/// What a report is made from.
struct Writing<'a> {
    plan: &'a Plan,
    jobfile: &'a str,
    run: &'a RunSummary,
    specs: &'a [&'a crate::plan::JobSpec],
}

/// Every report file, in the order they are written.
pub(crate) const FILES: &[ReportFile] = &[
    ReportFile {
        flag: "--report",
        path: |p| p.report.as_deref(),
        needs_tails: false,
        render: |w, f| json::write(f, &run_doc(w), true),
    },
    ReportFile {
        flag: "--junit",
        path: |p| p.junit.as_deref(),
        needs_tails: true,
        render: |w, f| {
            let suite = w.plan.name.as_deref().unwrap_or(w.jobfile);
            f.write_all(junit::render(w.run, w.specs, &w.run.tails, suite).as_bytes())
        },
    },
    ReportFile {
        flag: "--timeline",
        path: |p| p.timeline.as_deref(),
        needs_tails: false,
        render: |w, f| {
            let (run, title) = (w.run, format!("prun {} — run {}", w.jobfile, w.run.run_id));
            let slots = w.plan.slots();
            let page = timeline::render(&title, &run.attempts, slots, run.started, run.duration);
            f.write_all(page.as_bytes())
        },
    },
    ReportFile {
        flag: "--metrics",
        path: |p| p.metrics.as_deref(),
        needs_tails: false,
        render: |w, f| {
            let previous = (w.plan.metrics.as_deref())
                .map(read_previous)
                .unwrap_or_default();
            // The run's identity: `name:`, else the jobfile's canonical path (asked
            // only here, when metrics are written).
            let identity = (w.plan.name.clone()).unwrap_or_else(|| {
                std::fs::canonicalize(w.jobfile)
                    .map_or_else(|_| w.jobfile.to_owned(), |p| p.display().to_string())
            });
            f.write_all(metrics::render(w.run, &identity, &previous).as_bytes())
        },
    },
];

/// Whether the workers keep the end of each failed job's output: a report, the step
/// summary or the end ping shows it.
pub(crate) fn needs_tails(plan: &Plan) -> bool {
    FILES
        .iter()
        .any(|r| r.needs_tails && (r.path)(plan).is_some())
        || plan.step_summary.is_some()
        || plan.monitor.is_some()
}

fn run_doc<'a>(w: &'a Writing<'a>) -> json::RunDoc<'a> {
    json::RunDoc {
        run: w.run,
        specs: w.specs,
        resources: &w.plan.resources,
    }
}

/// Writes the reports asked for (`FILES`, the history's copy of the JSON report, the
/// GitHub step summary) after a run, secrets masked. Every one is attempted; returns
/// what went wrong, one message per report that could not be written (the caller prints
/// them, once).
pub(crate) fn write_files(
    plan: &Plan,
    jobfile: &str,
    run: &RunSummary,
    kept_report: Option<&Path>,
) -> Vec<String> {
    let mut failed = Vec::new();
    let specs = run.specs();
    let w = Writing {
        plan,
        jobfile,
        run,
        specs: &specs,
    };
    let mut write =
        |path: &Path, render: fn(&Writing<'_>, &mut dyn Write) -> std::io::Result<()>| {
            // Secrets masked as each report is written.
            let mut masked = |f: &mut std::fs::File| {
                let mut m = crate::mask::Writer::new(f);
                render(&w, &mut m)?;
                m.finish().map(drop)
            };
            if let Err(e) = crate::files::write_atomically(path, &mut masked) {
                failed.push(format!("cannot write {}: {e}", path.display()));
            }
        };
    for r in FILES {
        if let Some(path) = (r.path)(plan) {
            write(path, r.render);
        }
    }
    // The history keeps a copy of the JSON report.
    if let Some(path) = kept_report {
        write(path, |w, f| json::write(f, &run_doc(w), true));
    }
    // Appended to: the job's steps share the file (GitHub creates it, one per step).
    if let Some(path) = &plan.step_summary {
        let md = step_summary::render(run, &run.tails, jobfile);
        let md = crate::mask::current().text(&md);
        let appended = crate::files::open_in_place(path, crate::files::InPlace::Append)
            .and_then(|mut f| f.write_all(md.as_bytes()));
        if let Err(e) = appended {
            failed.push(format!(
                "cannot append the run's summary to $GITHUB_STEP_SUMMARY ({}): {e}",
                path.display()
            ));
        }
    }
    failed
}

/// What a file prun rewrites held before: "" when there is none, or it is a link, not a
/// regular file, or past 16 MiB (prun's own metrics are far smaller).
fn read_previous(path: &Path) -> String {
    crate::files::read_capped(path, 16 << 20)
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .unwrap_or_default()
}
