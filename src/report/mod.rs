//! What prun writes about a run once it has ended, and about a plan it will not run:
//! the summary table on stderr (`summary`), `--report` (`json`), `--junit`, `--timeline`,
//! `--metrics` (`metrics`),
//! the GitHub step summary, and `--dry-run` (`dry_run`). These only read the
//! `RunSummary` ([`outcome::summary`](crate::outcome::summary)) or the `Plan`; `write_files` writes the files.

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

use crate::outcome::summary::RunSummary;

/// Writes the reports asked for (`--report`, `--junit`, `--timeline`, `--metrics`, and
/// the GitHub step summary) after a run, secrets masked. Every one is attempted; returns what went wrong, one message per report that could not be
/// written (the caller prints them, once).
pub(crate) fn write_files(
    plan: &crate::plan::Plan,
    jobfile: &str,
    run: &RunSummary,
    kept_report: Option<&std::path::Path>,
) -> Vec<String> {
    let mut failed = Vec::new();
    let mut write =
        |path: &Option<std::path::PathBuf>,
         fill: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>| {
            // Secrets masked as each report is written.
            let mut masked = |f: &mut std::fs::File| {
                let mut w = crate::mask::Writer::new(f);
                fill(&mut w)?;
                w.finish().map(drop)
            };
            if let Some(path) = path
                && let Err(e) = crate::files::write_atomically(path, &mut masked)
            {
                failed.push(format!("cannot write {}: {e}", path.display()));
            }
        };
    let specs = run.specs();
    // `--report`, and the history's copy.
    for path in [
        plan.report.clone(),
        kept_report.map(std::path::Path::to_path_buf),
    ] {
        write(&path, &mut |f| {
            let doc = json::RunDoc {
                run,
                specs: &specs,
                resources: &plan.resources,
            };
            json::write(f, &doc, true)
        });
    }
    write(&plan.junit, &mut |f| {
        let suite = plan.name.as_deref().unwrap_or(jobfile);
        f.write_all(junit::render(run, &specs, &run.tails, suite).as_bytes())
    });
    write(&plan.timeline, &mut |f| {
        let title = format!("prun {jobfile} — run {}", run.run_id);
        let page = timeline::render(
            &title,
            &run.attempts,
            plan.slots(),
            run.started,
            run.duration,
        );
        f.write_all(page.as_bytes())
    });
    if let Some(path) = &plan.metrics {
        let previous = read_previous(path);
        // The run's identity: `name:`, else the jobfile's canonical path (asked only
        // here, when metrics are written).
        let identity = (plan.name.clone()).unwrap_or_else(|| {
            std::fs::canonicalize(jobfile)
                .map_or_else(|_| jobfile.to_owned(), |p| p.display().to_string())
        });
        let text = metrics::render(run, &identity, &previous);
        write(&plan.metrics, &mut |f| f.write_all(text.as_bytes()));
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
fn read_previous(path: &std::path::Path) -> String {
    crate::files::read_capped(path, 16 << 20)
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .unwrap_or_default()
}
