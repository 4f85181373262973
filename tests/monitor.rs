//! Monitor pings (`monitor:`): against a real HTTP(S) server on loopback that records
//! what it is sent (tests/util/recorder.rs), a closed port, a server that never answers,
//! one that answers 500, a redirect, and https with a CA of the test's own.

use std::time::Duration;

use serde_json::Value;

use crate::util::Prun;
use crate::util::recorder::{Recorder, Request};

/// A loopback port nothing listens on right now.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn report(p: &Prun) -> Value {
    serde_json::from_str(&p.read("report.json")).expect("report.json")
}

fn paths(reqs: &[Request]) -> Vec<String> {
    reqs.iter().map(|r| r.path.clone()).collect()
}

/// The `rid` of a healthchecks ping path.
fn rid(path: &str) -> &str {
    path.split_once("rid=").map_or("", |(_, r)| r)
}

fn healthchecks_gets_start_then_success_paired_by_one_run_id_and_the_summary() {
    let hc = Recorder::http();
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  healthchecks: {}\njobs:\n  - name: dump\n    run: echo dumped\n",
        hc.url("/ping/abc-123")
    ));
    let r = p.run();
    r.code(0);
    let got = hc.requests();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|q| q.method == "POST"), "{got:?}");
    assert!(
        got[0].path.starts_with("/ping/abc-123/start?rid="),
        "{got:?}"
    );
    assert!(got[1].path.starts_with("/ping/abc-123/0?rid="), "{got:?}");
    let id = rid(&got[0].path);
    assert_eq!(id.len(), 36, "a uuid: {id}");
    assert_eq!(id, rid(&got[1].path), "start and end paired");
    assert!(got[0].body.is_empty(), "{got:?}");
    assert!(got[1].body.contains("dump"), "the summary: {}", got[1].body);
    assert!(got[1].body.contains("1 succeeded"), "{}", got[1].body);
    assert!(got[1].agent.starts_with("prun/"), "{got:?}");
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

fn a_failed_run_pings_fail_with_the_failed_jobs_last_lines_and_a_new_run_id() {
    let hc = Recorder::http();
    let yaml = format!(
        "monitor:\n  healthchecks: {}/\njobs:\n  - name: ok\n    run: echo fine\n  - name: db\n    run: 'seq 1 100; echo pg_dump: connection refused >&2; exit 3'\n",
        hc.url("/u")
    );
    let p = Prun::new().jobfile(&yaml);
    p.run().code(1);
    let got = hc.requests();
    assert_eq!(paths(&got).len(), 2, "{got:?}");
    assert!(
        got[1].path.starts_with("/u/1?rid="),
        "prun's exit code: {got:?}"
    );
    let body = &got[1].body;
    assert!(
        body.lines()
            .any(|l| l.starts_with("db ") && l.contains("failed") && l.contains(" 3 ")),
        "the summary row: {body}"
    );
    assert!(body.contains("pg_dump: connection refused"), "{body}");
    assert!(body.contains("\n100\n"), "its last lines: {body}");
    assert!(!body.contains("\n40\n"), "only its last 50 lines: {body}");
    assert!(
        !body.contains("fine"),
        "a job that succeeded shows no output: {body}"
    );
    // The next run is another run id.
    p.run().code(1);
    let again = hc.requests();
    assert_eq!(again.len(), 4);
    assert_ne!(rid(&again[2].path), rid(&got[0].path));
    assert_eq!(rid(&again[2].path), rid(&again[3].path));
}

fn generic_urls_get_start_success_and_failure_as_given_without_a_run_id() {
    let m = Recorder::http();
    let yaml = |run: &str| {
        format!(
            "monitor:\n  start: {}\n  success: {}\n  failure: {}\njobs:\n  - {run}\n",
            m.url("/kuma/start"),
            m.url("/kuma/up?status=up&msg=OK"),
            m.url("/kuma/down?status=down")
        )
    };
    Prun::new().jobfile(&yaml("true")).run().code(0);
    Prun::new().jobfile(&yaml("exit 4")).run().code(1);
    assert_eq!(
        paths(&m.requests()),
        [
            "/kuma/start",
            "/kuma/up?status=up&msg=OK",
            "/kuma/start",
            "/kuma/down?status=down"
        ]
    );
}

fn only_the_pings_given_are_sent() {
    let m = Recorder::http();
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  failure: {}\njobs:\n  - 'true'\n",
        m.url("/down")
    ));
    p.run().code(0);
    assert!(m.requests().is_empty(), "{:?}", m.requests());
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  failure: {}\njobs:\n  - 'false'\n",
        m.url("/down")
    ));
    p.run().code(1);
    assert_eq!(paths(&m.requests()), ["/down"]);
}

/// An allowed failure is a successful run: the success ping, never the failure one (and
/// a failed run never pings success, ofelia #692).
fn the_end_ping_follows_the_exit_code() {
    let m = Recorder::http();
    let yaml = |jobs: &str| {
        format!(
            "monitor:\n  success: {}\n  failure: {}\njobs:\n{jobs}",
            m.url("/ok"),
            m.url("/fail")
        )
    };
    Prun::new()
        .jobfile(&yaml("  - run: exit 3\n    allow_failure: [3]\n"))
        .run()
        .code(0);
    Prun::new()
        .jobfile(&yaml("  - run: sleep 5\n    timeout: 100ms\n"))
        .run()
        .code(1);
    Prun::new()
        .jobfile(&yaml("  - name: a\n    run: 'true'\n  - name: b\n    needs: [c]\n    run: 'true'\n  - name: c\n    run: exit 1\n"))
        .run()
        .code(1);
    assert_eq!(paths(&m.requests()), ["/ok", "/fail", "/fail"]);
}

fn check_dry_run_and_no_monitor_send_nothing() {
    let m = Recorder::http();
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  healthchecks: {}\njobs:\n  - touch ran\n",
        m.url("/x")
    ));
    p.run_with(&["--check"]).code(0);
    p.run_with(&["--dry-run"]).code(0);
    assert!(!p.path("ran").exists());
    p.run_with(&["--no-monitor"]).code(0);
    assert!(p.path("ran").exists());
    assert!(m.requests().is_empty(), "{:?}", m.requests());
}

fn a_closed_port_is_a_warning_in_stderr_and_the_report_never_a_failure() {
    let port = closed_port();
    let p = Prun::new()
        .jobfile(&format!(
            "monitor:\n  healthchecks: http://127.0.0.1:{port}/secret-uuid\njobs:\n  - touch ran\n"
        ))
        .args(&["--report", "report.json"]);
    let r = p.run();
    r.code(0);
    assert!(p.path("ran").exists());
    assert!(
        r.stderr
            .contains("prun: warning: monitor: the start ping to http://127.0.0.1:"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("the success ping") && r.stderr.contains("3 tries"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("secret-uuid"),
        "the ping URL's path is its secret: {}",
        r.stderr
    );
    // Three tries, 0.5 s and 1 s apart, at each end.
    assert!(r.elapsed < Duration::from_secs(8), "{:?}", r.elapsed);
    let errors = report(&p)["monitor_errors"].clone();
    assert_eq!(errors.as_array().map(Vec::len), Some(2), "{errors}");
    assert!(errors[1].as_str().unwrap().contains("success ping"));
}

fn a_server_that_never_answers_delays_the_run_by_at_most_the_timeout_at_each_end() {
    let m = Recorder::http();
    let p = Prun::new()
        .jobfile(&format!(
            "monitor:\n  healthchecks: {}\n  timeout: 1s\njobs:\n  - touch ran\n",
            m.url("/hang")
        ))
        .args(&["--report", "report.json"]);
    let r = p.run();
    r.code(0);
    assert!(
        p.path("ran").exists(),
        "the run went on after the start ping"
    );
    assert!(r.stderr.contains("no answer in time"), "{}", r.stderr);
    assert!(r.stderr.contains("1 try, within 1s"), "{}", r.stderr);
    assert!(
        r.elapsed >= Duration::from_secs(2) && r.elapsed < Duration::from_secs(6),
        "two pings of at most 1 s: {:?}",
        r.elapsed
    );
    assert_eq!(
        m.requests().len(),
        2,
        "one try each: the timeout had passed"
    );
    assert_eq!(report(&p)["monitor_errors"].as_array().unwrap().len(), 2);
}

fn a_server_error_is_tried_three_times_then_a_warning() {
    let m = Recorder::http();
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  success: {}\njobs:\n  - 'true'\n",
        m.url("/error")
    ));
    let r = p.run();
    r.code(0);
    assert_eq!(paths(&m.requests()), ["/error", "/error", "/error"]);
    assert!(
        r.stderr.contains("3 tries") && r.stderr.contains("it answered 500"),
        "{}",
        r.stderr
    );
}

fn a_redirect_is_followed_with_the_body() {
    let m = Recorder::http();
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  failure: {}\njobs:\n  - name: broken\n    run: echo BROKEN-DISK; exit 1\n",
        m.url("/redirect/x")
    ));
    let r = p.run();
    r.code(1);
    let got = m.requests();
    assert_eq!(paths(&got), ["/redirect/x", "/landed/x"], "{}", r.stderr);
    assert_eq!(got[1].method, "POST");
    assert!(got[1].body.contains("BROKEN-DISK"), "{got:?}");
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    // 303 See Other: a GET, as browsers do.
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  success: {}\njobs:\n  - 'true'\n",
        m.url("/seeother/y")
    ));
    p.run().code(0);
    let got = m.requests();
    assert_eq!(paths(&got[2..]), ["/seeother/y", "/landed/y"]);
    assert_eq!(got[3].method, "GET");
}

fn the_end_body_is_cut_to_the_body_limit() {
    let m = Recorder::http();
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  failure: {}\n  body_limit: 1KB\njobs:\n  - name: loud\n    run: 'for i in $(seq 1 40); do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; exit 1'\n",
        m.url("/f")
    ));
    p.run().code(1);
    let got = m.requests();
    assert_eq!(got.len(), 1);
    let body = &got[0].body;
    assert!(body.len() <= 1000, "{}", body.len());
    assert!(body.contains("── loud: failed"), "{body}");
    assert!(body.contains("line-40-"), "its last line kept: {body}");
    assert!(
        body.contains("of its output left out"),
        "says what it cut: {body}"
    );
}

fn https_is_checked_against_the_systems_ca_certificates() {
    let m = Recorder::https();
    let yaml = format!(
        "monitor:\n  healthchecks: {}\njobs:\n  - 'true'\n",
        m.url("/tls")
    );
    let trusted = Prun::new()
        .jobfile(&yaml)
        .env("SSL_CERT_FILE", m.ca().to_str().unwrap());
    let r = trusted.run();
    r.code(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(m.requests().len(), 2);
    // Without the test's CA, the certificate is refused: a warning, nothing sent.
    let r = Prun::new()
        .jobfile(&yaml)
        .env("SSL_CERT_FILE", "/nonexistent")
        .run();
    r.code(0);
    assert!(
        r.stderr.contains("monitor: the start ping") && r.stderr.contains("certificate"),
        "{}",
        r.stderr
    );
    assert_eq!(m.requests().len(), 2, "nothing sent over an untrusted line");
}

fn a_bad_monitor_is_a_located_error_before_anything_runs() {
    for (monitor, want) in [
        (
            "  healthchecks: https://hc-ping.com/x\n  success: https://example.com/ok\n",
            "both `healthchecks:` and its own URLs",
        ),
        ("  timeout: 5s\n", "names no URL"),
        (
            "  success: ftp://example.com/x\n",
            "must start with https:// or http://",
        ),
        ("  success: 'https:///x'\n", "'https:///x' is not a URL"),
        ("  success: https://a/x\n  timeout: 0s\n", "timeout` of 0"),
        (
            "  success: https://a/x\n  body_limit: lots\n",
            "'lots' is not a size",
        ),
        ("  success: https://a/x\n  retries: 3\n", "retries"),
        (
            "  healthchecks: https://hc-ping.com/0d2f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b/start\n",
            "already ends in `/start`",
        ),
        (
            "  healthchecks: https://hc-ping.com/0d2f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b/1\n",
            "already ends in `/1`",
        ),
        ("  healthchecks: https://hc-ping.com/\n", "names no check"),
        (
            "  healthchecks: 'https://hc-ping.com/k/s#x'\n",
            "has a fragment",
        ),
        (
            "  healthchecks: 'https://hc-ping.com/k/s?rid=1'\n",
            "has its own `rid`",
        ),
        (
            "  healthchecks: mailto:ops@example.com\n",
            "must start with https:// or http://",
        ),
    ] {
        let p = Prun::new().jobfile(&format!("monitor:\n{monitor}jobs:\n  - touch ran\n"));
        let r = p.run();
        r.code(2);
        assert!(r.stderr.contains(want), "{monitor}: {}", r.stderr);
        assert!(r.stderr.contains("jobs.yaml:"), "located: {}", r.stderr);
        assert!(!p.path("ran").exists());
    }
}

crate::tests!(
    healthchecks_gets_start_then_success_paired_by_one_run_id_and_the_summary,
    a_failed_run_pings_fail_with_the_failed_jobs_last_lines_and_a_new_run_id,
    generic_urls_get_start_success_and_failure_as_given_without_a_run_id,
    only_the_pings_given_are_sent,
    the_end_ping_follows_the_exit_code,
    check_dry_run_and_no_monitor_send_nothing,
    a_closed_port_is_a_warning_in_stderr_and_the_report_never_a_failure,
    a_server_that_never_answers_delays_the_run_by_at_most_the_timeout_at_each_end,
    a_server_error_is_tried_three_times_then_a_warning,
    a_redirect_is_followed_with_the_body,
    the_end_body_is_cut_to_the_body_limit,
    https_is_checked_against_the_systems_ca_certificates,
    a_bad_monitor_is_a_located_error_before_anything_runs,
);
