//! `--junit FILE`: the run as JUnit XML (quick-junit, nextest's own writer), one testcase
//! per job: failures and timeouts carry the last 64 KiB of their output, skipped and never-started
//! jobs are `skipped`. CI systems read it as a test report.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::outcome::summary::RunSummary;
use crate::outcome::{JobResult, Status};
use crate::plan::JobSpec;

/// The report as XML; `tails[i]` is the end of job i's output.
pub(crate) fn render(
    run: &RunSummary,
    specs: &[&JobSpec],
    tails: &std::collections::HashMap<usize, Vec<u8>>,
    suite: &str,
) -> String {
    let mut ts = TestSuite::new(suite);
    ts.set_time(run.duration);
    for (i, (spec, r)) in specs.iter().zip(&run.results).enumerate() {
        let status = match r.status {
            Status::Success => TestCaseStatus::success(),
            // Not run in this run: skipped, with why ("up to date: …"), not a pass
            // of a test that did not run.
            Status::Skipped | Status::NotRun | Status::UpToDate => {
                let mut s = TestCaseStatus::skipped();
                if let Some(why) = r.reason() {
                    s.set_message(why.to_string());
                }
                s
            }
            // An allowed failure: `skipped` with why, which CI viewers (GitLab, Jenkins,
            // GitHub's test reporters) show as a neutral or yellow test, never a red one
            // (JUnit has no warning status); the property and the output say the rest.
            Status::Failed | Status::TimedOut if r.allowed => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("allowed failure: {}", failure_message(r)));
                s
            }
            Status::Failed | Status::TimedOut | Status::Interrupted => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_type(r.status.as_str());
                s.set_message(failure_message(r));
                s
            }
        };
        let mut tc = TestCase::new(&*spec.name, status);
        tc.set_classname(suite);
        tc.set_time(r.duration());
        if r.allowed {
            tc.add_property(quick_junit::Property::new("prun.allowed_failure", "true"));
        }
        // What it cost (nextest's kind of property: a name and a plain value).
        if let Some(c) = r.cost() {
            let cpu = format!("{:.3}", c.cpu.as_secs_f64());
            tc.add_property(quick_junit::Property::new("prun.cpu_seconds", cpu));
            let rss = c.max_rss.to_string();
            tc.add_property(quick_junit::Property::new("prun.max_rss_bytes", rss));
        }
        for (k, v) in r.outputs() {
            tc.add_property(quick_junit::Property::new(
                format!("output.{k}"),
                v.as_str(),
            ));
        }
        // Like nextest's default: output is kept for the jobs that did not succeed.
        if r.status.is_failure()
            && let Some(tail) = tails.get(&i).filter(|t| !t.is_empty())
        {
            tc.set_system_out_lossy(tail);
        }
        ts.add_test_case(tc);
    }
    let mut report = Report::new("prun");
    report.set_time(run.duration);
    report.add_test_suite(ts);
    // Rendering into a String fails only on a formatter bug in quick-junit.
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- prun could not render the JUnit report: {e} -->\n"))
}

fn failure_message(r: &JobResult) -> String {
    let how = r.ending().words();
    match r.reason() {
        Some(why) => format!("{} ({how}): {why}", r.status),
        None => format!("{} ({how}) after {} attempt(s)", r.status, r.attempts),
    }
}
