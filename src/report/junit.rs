//! `--junit FILE`: the run as JUnit XML (quick-junit, nextest's own writer), valid
//! against the Jenkins xUnit schema (`junit-10.xsd`) that CI readers follow. One test
//! case per job: a failure carries its reason and the last lines of its output (and
//! `system-out` the last 64 KiB), earlier attempts of a retried job are `flakyFailure`
//! (it passed in the end) or `rerunFailure` (it did not), skipped and never-started
//! jobs are `skipped`, and every hook that failed is a failing test case of its own
//! (`dump:on_success`), so a run that exits 1 always has a failure in its JUnit file.
//! Per-job figures (cost, outputs) are suite properties named `<job>/<property>`: the
//! schema allows properties only on a suite. Text from jobs goes through
//! [`report::visible`](crate::report::visible) (colours removed, characters XML forbids shown, never dropped).
//! docs/reports.md has the mapping and how Jenkins and GitLab show each status.

use quick_junit::{
    FlakyOrRerun, NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::visible;
use crate::outcome::summary::RunSummary;
use crate::outcome::{JobResult, Status};
use crate::plan::JobSpec;

/// Lines of a failed job's output in its `<failure>` (all of the tail is in system-out).
const FAILURE_LINES: usize = 20;

/// The report as XML; `tails[i]` is the end of job i's output.
pub(crate) fn render(
    run: &RunSummary,
    specs: &[&JobSpec],
    tails: &std::collections::HashMap<usize, Vec<u8>>,
    suite: &str,
) -> String {
    let suite = visible::text(suite);
    let mut ts = TestSuite::new(&*suite);
    ts.set_time(run.duration);
    ts.extra.insert(
        "timestamp".into(),
        crate::times::timestamp(run.started).into(),
    );
    ts.extra
        .insert("hostname".into(), visible::text(&hostname()).into());
    for (i, (spec, r)) in specs.iter().zip(&run.results).enumerate() {
        let name = visible::text(&spec.name);
        let tail = tails.get(&i).filter(|t| !t.is_empty());
        let mut tc = TestCase::new(&*name, status(r, tail.map(Vec::as_slice)));
        tc.set_classname(&*suite);
        tc.set_time(r.duration());
        // Like nextest's default: output is kept for the jobs that did not succeed.
        if r.status.is_failure()
            && let Some(tail) = tail
        {
            tc.set_system_out(visible::text(&String::from_utf8_lossy(tail)));
        }
        ts.add_test_case(tc);
        properties(&mut ts, &name, r);
    }
    for h in &run.hook_failures {
        let owner = h.job.as_deref().unwrap_or("prun");
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_type("hook");
        s.set_message(visible::text(&format!(
            "hook {} of {owner} failed: {}",
            h.hook, h.reason
        )));
        let mut tc = TestCase::new(visible::text(&format!("{owner}:{}", h.hook)), s);
        tc.set_classname(&*suite);
        ts.add_test_case(tc);
    }
    let mut report = Report::new("prun");
    report.set_time(run.duration);
    report.add_test_suite(ts);
    // Rendering into a String fails only on a formatter bug in quick-junit.
    let xml = report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- prun could not render the JUnit report: {e} -->\n"));
    without_root_skipped(xml)
}

/// How job `r` shows as a test case.
fn status(r: &JobResult, tail: Option<&[u8]>) -> TestCaseStatus {
    let mut s = match r.status {
        Status::Success => TestCaseStatus::success(),
        // Not run in this run: skipped, with why ("up to date: …"), not a pass of a
        // test that did not run.
        Status::Skipped | Status::NotRun | Status::UpToDate => {
            let mut s = TestCaseStatus::skipped();
            if let Some(why) = r.reason() {
                s.set_message(visible::text(&why.to_string()));
            }
            return s;
        }
        // An allowed failure: `skipped` with why, which CI viewers (GitLab, Jenkins,
        // GitHub's test reporters) show as a neutral or yellow test, never a red one
        // (JUnit has no warning status); the property and the output say the rest.
        Status::Failed | Status::TimedOut if r.allowed => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(visible::text(&format!(
                "allowed failure: {}",
                failure_message(r)
            )));
            return s;
        }
        Status::Failed | Status::TimedOut | Status::Interrupted => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type(r.status.as_str());
            let message = failure_message(r);
            s.set_description(visible::text(&failure_body(&message, tail)));
            s.set_message(visible::text(&message));
            s.set_rerun_kind(FlakyOrRerun::Rerun);
            s
        }
    };
    // Earlier attempts: flakyFailure under a success, rerunFailure under a failure.
    let n = r.earlier().len();
    for (k, a) in r.earlier().iter().enumerate() {
        let mut rerun = TestRerun::new(NonSuccessKind::Failure);
        rerun.set_type(a.status.as_str());
        // No `time`: the schema has none on a rerun; the message says it.
        rerun.set_message(format!(
            "attempt {} of {}: {} ({}) after {}",
            k + 1,
            n + 1,
            a.status,
            a.finished.ending.words(),
            crate::times::secs(a.finished.duration)
        ));
        s.add_rerun(rerun);
    }
    s
}

/// The reason, then the last lines of the output, as a `<failure>`'s text.
fn failure_body(message: &str, tail: Option<&[u8]>) -> String {
    let mut body = message.to_owned();
    if let Some(tail) = tail {
        let text = String::from_utf8_lossy(tail);
        let lines: Vec<&str> = text.lines().collect();
        body.push_str("\n\nthe last lines of its output:\n");
        for l in &lines[lines.len().saturating_sub(FAILURE_LINES)..] {
            body.push_str(l);
            body.push('\n');
        }
    }
    body
}

/// Job `name`'s figures, as suite properties named `<name>/<property>` (`/` is in no
/// job name).
fn properties(ts: &mut TestSuite, name: &str, r: &JobResult) {
    let mut add = |key: &str, value: &str| {
        ts.add_property(Property::new(format!("{name}/{key}"), visible::text(value)));
    };
    if r.allowed {
        add("prun.allowed_failure", "true");
    }
    // What it cost (nextest's kind of property: a name and a plain value).
    if let Some(c) = r.cost() {
        add("prun.cpu_seconds", &format!("{:.3}", c.cpu.as_secs_f64()));
        add("prun.max_rss_bytes", &c.max_rss.to_string());
    }
    for (k, v) in r.outputs() {
        add(&format!("output.{k}"), v);
    }
}

fn failure_message(r: &JobResult) -> String {
    let how = r.ending().words();
    match r.reason() {
        Some(why) => format!("{} ({how}): {why}", r.status),
        None => format!("{} ({how}) after {} attempt(s)", r.status, r.attempts),
    }
}

/// quick-junit always writes a `skipped` count on `<testsuites>`, an attribute the
/// schema does not have there (it is on each `<testsuite>`); the first tag loses it.
fn without_root_skipped(xml: String) -> String {
    let Some(start) = xml.find("<testsuites") else {
        return xml;
    };
    let end = xml[start..].find('>').map_or(xml.len(), |e| start + e);
    let Some(at) = xml[start..end].find(" skipped=\"").map(|a| start + a) else {
        return xml;
    };
    let close = xml[at + 10..].find('"').map_or(end, |c| at + 10 + c + 1);
    format!("{}{}", &xml[..at], &xml[close..])
}

/// This machine's name (the suite's `hostname`).
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; gethostname NUL-terminates within it
    // (or truncates, which the search for NUL below tolerates).
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..len]).into_owned()
    } else {
        "localhost".into()
    }
}

#[cfg(test)]
mod tests {
    use super::without_root_skipped;

    #[test]
    fn the_root_loses_its_skipped_count_and_nothing_else() {
        let xml = "<?xml?>\n<testsuites name=\"prun\" tests=\"2\" skipped=\"1\" failures=\"0\">\n<testsuite skipped=\"1\">".to_owned();
        assert_eq!(
            without_root_skipped(xml),
            "<?xml?>\n<testsuites name=\"prun\" tests=\"2\" failures=\"0\">\n<testsuite skipped=\"1\">"
        );
    }
}
