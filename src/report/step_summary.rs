//! Under GitHub Actions, the run as Markdown appended to `$GITHUB_STEP_SUMMARY`: the counts,
//! the jobs that did not succeed with the last lines of their output, and the slowest jobs.
//! GitHub shows it on the run's page; GitLab and others read the JUnit report instead.

use std::fmt::Write as _;

use crate::outcome::Status;
use crate::outcome::summary::RunSummary;
use crate::times::secs;

/// How many lines of a failed job's output are shown.
const LAST_LINES: usize = 20;
/// How many failed jobs are shown with their output (the rest are listed).
const MAX_FAILED: usize = 30;
/// How many of the slowest jobs are listed.
const SLOWEST: usize = 5;

/// The Markdown for `run` of `jobfile`; `tails[i]` is the end of job i's output.
pub(crate) fn render(
    run: &RunSummary,
    tails: &std::collections::HashMap<usize, Vec<u8>>,
    jobfile: &str,
) -> String {
    let mut md = String::new();
    let t = run.totals();
    let ok = run.prun_exit() == crate::exit::SUCCESS;
    let _ = writeln!(
        md,
        "### {} prun `{}`: {} of {} job{} succeeded in {}\n",
        if ok { "✅" } else { "❌" },
        code(jobfile),
        t.succeeded,
        t.total,
        if t.total == 1 { "" } else { "s" },
        secs(run.duration)
    );
    md.push_str("| status | jobs |\n| --- | ---: |\n");
    for s in [
        Status::Success,
        Status::UpToDate,
        Status::Failed,
        Status::TimedOut,
        Status::Interrupted,
        Status::Skipped,
        Status::NotRun,
    ] {
        let n = run.results.iter().filter(|r| r.status == s).count();
        let allowed = (run.results.iter())
            .filter(|r| r.status == s && r.allowed)
            .count();
        match (n, allowed) {
            (0, _) => {}
            (n, 0) => {
                let _ = writeln!(md, "| {} | {n} |", s.as_str());
            }
            (n, a) => {
                let _ = writeln!(md, "| {} | {n} ({a} allowed) |", s.as_str());
            }
        }
    }
    if let Some(sig) = run.signal {
        let _ = writeln!(
            md,
            "\nInterrupted by {}.",
            crate::executor::finished::signal_name(sig)
        );
    }
    for h in &run.hook_failures {
        let owner = h.job.as_deref().unwrap_or("run");
        let _ = writeln!(
            md,
            "\nHook `{}` of `{}` failed: {}",
            h.hook,
            code(owner),
            cell(&h.reason.to_string())
        );
    }
    let failed: Vec<usize> = (0..run.results.len())
        .filter(|&i| run.results[i].status.is_failure())
        .collect();
    if !failed.is_empty() {
        md.push_str("\n#### Jobs that failed\n\n");
        md.push_str("| job | status | exit | attempts | duration | reason |\n");
        md.push_str("| --- | --- | ---: | ---: | ---: | --- |\n");
        for &i in &failed {
            let r = &run.results[i];
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} | {} |",
                code(run.name(i)),
                r.status.as_str(),
                r.ending().column(),
                r.attempts,
                secs(r.duration()),
                cell(&r.reason_shown().unwrap_or_default())
            );
        }
        for &i in failed.iter().take(MAX_FAILED) {
            let Some(tail) = tails.get(&i).filter(|t| !t.is_empty()) else {
                continue;
            };
            let text = last_lines(&String::from_utf8_lossy(tail), LAST_LINES);
            let fence = "`".repeat(3.max(longest_backtick_run(&text) + 1));
            let _ = writeln!(
                md,
                "\n<details><summary><code>{}</code>: the last lines of its output</summary>\n\n{fence}text\n{text}\n{fence}\n\n</details>",
                html(run.name(i))
            );
        }
        if failed.len() > MAX_FAILED {
            let _ = writeln!(
                md,
                "\n(output shown for the first {MAX_FAILED} of {} failed jobs)",
                failed.len()
            );
        }
    }
    let mut by_time: Vec<usize> = (0..run.results.len())
        .filter(|&i| run.results[i].ran())
        .collect();
    by_time.sort_by_key(|&i| std::cmp::Reverse(run.results[i].duration()));
    if by_time.len() > 1 {
        md.push_str("\n#### Slowest jobs\n\n| job | status | duration |\n| --- | --- | ---: |\n");
        for &i in by_time.iter().take(SLOWEST) {
            let r = &run.results[i];
            let _ = writeln!(
                md,
                "| `{}` | {} | {} |",
                code(run.name(i)),
                r.status.as_str(),
                secs(r.duration())
            );
        }
    }
    md.push('\n');
    md
}

/// The last `n` lines of `text`, colour codes removed, other control characters (but
/// newlines and tabs) escaped.
fn last_lines(text: &str, n: usize) -> String {
    let text = text.trim_end_matches('\n');
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..]
        .iter()
        .map(|l| shown(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text as the summary shows it: colour codes gone (raw or spelled out as `\x1b[31m`),
/// other control characters escaped.
fn shown(s: &str) -> String {
    use super::visible::{uncoloured, unspelled};
    unspelled(&crate::names::printable(&uncoloured(s))).into_owned()
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Text for a table cell: one line, `|` escaped, control characters shown escaped.
fn cell(s: &str) -> String {
    shown(s).replace('|', "\\|").replace('\n', " ")
}

/// Text inside a code span in a table cell (backticks would end it).
fn code(s: &str) -> String {
    cell(s).replace('`', "'")
}

fn html(s: &str) -> String {
    shown(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
