//! The table printed on stderr at the end of a run: job, status, exit code, attempts,
//! duration, then hook failures, output prun could not deliver, and one line of totals.
//! Long runs list only the jobs that failed, timed out or were interrupted, so 10,000
//! green jobs stay one line and a Ctrl-C in a 2,000-job run does not mail 2,000 `not-run`
//! rows.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use crate::outcome::Status;
use crate::outcome::summary::RunSummary;
use crate::output::terminal::{DIM, GREEN, RED, YELLOW, paint};
use crate::times::secs;

/// Above this many jobs the table lists only the ones that did not succeed.
const FULL_TABLE_MAX: usize = 30;

/// Renders the summary as text (ends with a newline).
/// `color`: failed rows red, skipped and not-run rows dim, success green (a terminal).
/// `wide` (`--summary wide`): every job, with its CPU seconds and peak memory.
pub(crate) fn render(run: &RunSummary, color: bool, wide: bool) -> String {
    let mut out = String::new();
    let full = wide || run.results.len() <= FULL_TABLE_MAX;
    let rows: Vec<usize> = (0..run.results.len())
        .filter(|&i| full || run.results[i].status.is_failure())
        .collect();
    if !rows.is_empty() {
        table(&mut out, run, &rows, color, wide);
    }
    if !full {
        not_listed(&mut out, run, rows.is_empty());
    }
    for h in &run.hook_failures {
        let owner = h.job.as_deref().unwrap_or("run");
        let _ = writeln!(out, "hook failed: {owner} {}: {}", h.hook, h.reason);
    }
    if let Some((waited, why)) = &run.throttled {
        let _ = writeln!(
            out,
            "throttled: jobs waited {} in all to start (last: waiting: {why})",
            secs(*waited)
        );
    }
    for e in &run.output_errors {
        let _ = writeln!(out, "output lost: {e}");
    }
    if let Some(e) = &run.internal_error {
        let _ = writeln!(out, "internal error (a bug in prun; please report it) {e}");
    }
    totals(&mut out, run, wide);
    out
}

/// `text` and spaces after it, to fill `width` columns of a terminal (a character may
/// take none, one or two).
fn pad(text: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(text);
    let mut s = String::with_capacity(text.len() + width.saturating_sub(w));
    s.push_str(text);
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    s
}

/// The table of `rows` (indices into the run's results).
fn table(out: &mut String, run: &RunSummary, rows: &[usize], color: bool, wide: bool) {
    let width = rows
        .iter()
        .map(|&i| UnicodeWidthStr::width(run.name(i)))
        .max()
        .unwrap_or(0)
        .max(3);
    // Which resource units each job held, when any did.
    let held: Vec<String> = rows
        .iter()
        .map(|&i| crate::plan::resources::describe(&run.resources, run.results[i].units()))
        .collect();
    let held_w = held.iter().map(String::len).max().unwrap_or(0);
    let held_w = if held_w > 0 { held_w.max(9) } else { 0 };
    let _ = write!(
        out,
        "{}  {:<11}  {:>7}  {:>8}  {:>9}",
        pad("JOB", width),
        "STATUS",
        "EXIT",
        "ATTEMPTS",
        "DURATION"
    );
    if wide {
        let _ = write!(out, "  {:>8}  {:>7}", "CPU", "MAX RSS");
    }
    if held_w > 0 {
        let _ = write!(out, "  {:<held_w$}", "RESOURCES");
    }
    out.truncate(out.trim_end_matches(' ').len());
    out.push('\n');
    for (&i, held) in rows.iter().zip(&held) {
        let r = &run.results[i];
        let row_start = out.len();
        let status = format!("{:<11}", r.status);
        let status = match r.status {
            Status::Success | Status::UpToDate => paint(GREEN, &status, color),
            _ => status,
        };
        let _ = write!(
            out,
            "{}  {status}  {:>7}  {:>8}  {:>9}",
            pad(run.name(i), width),
            r.ending().column(),
            r.attempts,
            secs(r.duration())
        );
        if wide {
            let (cpu, rss) = cost_columns(r);
            let _ = write!(out, "  {cpu:>8}  {rss:>7}");
        }
        // A row that held nothing leaves the column out: its reason follows at once
        // (padding it pushed a skipped job's reason past the terminal's edge).
        if !held.is_empty() {
            let _ = write!(out, "  {held:<held_w$}");
        }
        if let Some(why) = r.reason_shown() {
            let _ = write!(out, "  {}", crate::names::printable(&why));
        }
        out.truncate(out.trim_end_matches(' ').len());
        let whole = match r.status {
            _ if r.allowed => Some(YELLOW),
            Status::Failed | Status::TimedOut | Status::Interrupted => Some(RED),
            Status::Skipped | Status::NotRun => Some(DIM),
            Status::Success | Status::UpToDate => None,
        };
        if let Some(code) = whole.filter(|_| color) {
            let row = out.split_off(row_start);
            out.push_str(&paint(code, &row, true));
        }
        out.push('\n');
    }
}

/// A job's CPU and peak memory as the wide table shows them (`-` where not measured;
/// `≤15M` where the peak is only known to be at most that).
fn cost_columns(r: &crate::outcome::JobResult) -> (String, String) {
    match r.cost() {
        Some(c) => {
            let at_most = if c.max_rss_exact { "" } else { "≤" };
            (
                secs(c.cpu),
                format!("{at_most}{}", crate::sizes::short(c.max_rss)),
            )
        }
        None => ("-".into(), "-".into()),
    }
}

/// A long run lists only the jobs that did not succeed: how many others there are.
fn not_listed(out: &mut String, run: &RunSummary, none_listed: bool) {
    let count = |s: Status| run.results.iter().filter(|r| r.status == s).count();
    let (ok, skipped, not_run) = (
        count(Status::Success),
        count(Status::Skipped),
        count(Status::NotRun),
    );
    // When every job succeeded, the totals line says it all.
    if none_listed && skipped + not_run == 0 {
        return;
    }
    let rest: Vec<String> = [
        (ok, "succeeded"),
        (skipped, "skipped"),
        (not_run, "not run"),
    ]
    .into_iter()
    .filter(|&(n, _)| n > 0)
    .map(|(n, word)| format!("{n} {word}"))
    .collect();
    let _ = writeln!(out, "(not listed: {})", rest.join(", "));
}

/// The last line: how many jobs, how long, how they ended.
fn totals(out: &mut String, run: &RunSummary, wide: bool) {
    let t = run.totals();
    let _ = write!(
        out,
        "prun: {} job{} in {}: ",
        t.total,
        if t.total == 1 { "" } else { "s" },
        secs(run.duration)
    );
    let count = |s: Status| run.results.iter().filter(|r| r.status == s).count();
    let parts: Vec<String> = [
        (Status::Success, "succeeded"),
        (Status::UpToDate, "up to date"),
        (Status::Failed, "failed"),
        (Status::TimedOut, "timed out"),
        (Status::Interrupted, "interrupted"),
        (Status::Skipped, "skipped"),
        (Status::NotRun, "not run"),
    ]
    .into_iter()
    .map(|(n, word)| (count(n), n, word))
    .filter(|&(n, s, _)| n > 0 || matches!(s, Status::Success | Status::Failed))
    .map(|(n, s, word)| {
        let allowed = (run.results.iter())
            .filter(|r| r.status == s && r.allowed)
            .count();
        match allowed {
            0 => format!("{n} {word}"),
            a => format!("{n} {word} ({a} allowed)"),
        }
    })
    .collect();
    out.push_str(&parts.join(", "));
    if wide {
        let cpu: std::time::Duration = (run.results.iter())
            .filter_map(|r| r.cost())
            .map(|c| c.cpu)
            .sum();
        let _ = write!(out, "; {} of CPU", secs(cpu));
    }
    if !run.hook_failures.is_empty() {
        let n = run.hook_failures.len();
        let _ = write!(out, "; {n} hook{} failed", if n == 1 { "" } else { "s" });
    }
    if let Some(sig) = run.signal {
        let _ = write!(
            out,
            "; interrupted by {}",
            crate::executor::finished::signal_name(sig)
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::pad;

    #[test]
    fn padding_counts_columns_on_a_terminal() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("été", 4), "été ");
        assert_eq!(pad("日本", 5), "日本 ");
        assert_eq!(pad("toolong", 3), "toolong");
    }
}
