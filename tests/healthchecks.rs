//! Monitor pings as Healthchecks itself reads them: a real Healthchecks server
//! (healthchecks.io's own code, `../shared/healthchecks/hc`) on loopback, and what it
//! recorded — kind, exit status, run id, body — read back from its database. A recorder
//! of requests (tests/monitor.rs) proves what prun meant to send; these prove what the
//! program on the other end understood.

use serde_json::Value;

use crate::util::Prun;
use crate::util::facility::{Facility, need};
use crate::util::healthchecks::{Healthchecks, server};

fn hc() -> &'static Healthchecks {
    need(&[Facility::Healthchecks]);
    server().expect("the server is up")
}

/// A slug no other test (or earlier run) uses.
fn slug(what: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{what}-{}-{n}", std::process::id())
}

fn pings(v: &Value) -> &Vec<Value> {
    v["pings"]
        .as_array()
        .unwrap_or_else(|| panic!("no pings: {v}"))
}

fn a_slug_url_with_create_makes_its_check_and_records_start_and_success_paired() {
    let hc = hc();
    let s = slug("backup-db");
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  healthchecks: '{}?create=1'\njobs:\n  - name: dump\n    run: echo dumped\n",
        hc.slug_url(&s)
    ));
    let r = p.run();
    r.code(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let got = hc.pings(&s);
    let list = pings(&got);
    assert_eq!(list.len(), 2, "{got}");
    assert_eq!(list[0]["kind"], "start", "{got}");
    assert_eq!(list[1]["kind"], "success", "{got}");
    assert_eq!(list[1]["exit_status"], 0, "{got}");
    assert!(list[0]["rid"].is_string(), "{got}");
    assert_eq!(
        list[0]["rid"], list[1]["rid"],
        "start and end paired: {got}"
    );
    assert!(list[1]["body"].as_str().unwrap().contains("dump"), "{got}");
    assert_eq!(got["status"], "up", "{got}");
    // prun read every answer to its end: the server never wrote to a closed connection.
    let log = hc.server_log();
    assert!(!log.contains("Broken pipe"), "{log}");
}

fn a_failed_run_is_recorded_as_a_failure_with_prun_s_exit_code_also_on_a_slug_url() {
    let hc = hc();
    let s = slug("nightly");
    let url = hc.check(&s);
    for (base, id) in [(url.clone(), s.clone()), (hc.slug_url(&s), s.clone())] {
        let p = Prun::new().jobfile(&format!(
            "monitor:\n  healthchecks: {base}\njobs:\n  - name: ok\n    run: 'true'\n  - name: db\n    run: 'echo pg_dump: connection refused >&2; exit 3'\n"
        ));
        p.run().code(1);
        let got = hc.pings(&id);
        let last = pings(&got).last().unwrap().clone();
        assert_eq!(last["kind"], "fail", "{got}");
        assert_eq!(last["exit_status"], 1, "prun's exit code: {got}");
        let body = last["body"].as_str().unwrap();
        assert!(body.contains("── db: failed"), "{body}");
        assert!(body.contains("pg_dump: connection refused"), "{body}");
        assert_eq!(got["status"], "down", "{got}");
    }
    assert_eq!(pings(&hc.pings(&s)).len(), 4);
}

/// Healthchecks keeps `Ping-Body-Limit` bytes of a body (10 000 on this server, as
/// self-hosted): prun reads it from the start ping's answer and shares it fairly among
/// the failed jobs, so every one of them is named, with its last line, and nothing is
/// cut by the server.
fn eight_failed_jobs_of_60_kb_each_are_all_in_the_body_within_the_server_s_limit() {
    let hc = hc();
    let s = slug("eight");
    let url = hc.check(&s);
    let mut jobs = String::new();
    for n in 1..=8 {
        jobs.push_str(&format!(
            "  - name: job{n}\n    run: 'for i in $(seq 1 1000); do echo job{n}-line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; echo last-words-of-{n}; exit {n}'\n"
        ));
    }
    let p = Prun::new().jobfile(&format!("monitor:\n  healthchecks: {url}\njobs:\n{jobs}"));
    p.run().code(1);
    let got = hc.pings(&s);
    let end = pings(&got).last().unwrap();
    let body = end["body"].as_str().unwrap();
    let bytes = end["body_bytes"].as_u64().unwrap();
    assert!(
        bytes < 10_000,
        "within the server's limit, not cut by it: {bytes}"
    );
    assert!(bytes > 5_000, "the room is used: {bytes}");
    for n in 1..=8 {
        assert!(
            body.contains(&format!("── job{n}: failed")),
            "job{n}: {body}"
        );
        assert!(
            body.contains(&format!("last-words-of-{n}")),
            "job{n}'s end: {body}"
        );
    }
}

fn an_unknown_check_is_a_warning_even_under_quiet_and_in_the_report_never_the_exit_code() {
    let hc = hc();
    let p = Prun::new()
        .jobfile(&format!(
            "monitor:\n  healthchecks: {}00000000-0000-4000-8000-000000000000\njobs:\n  - touch ran\n",
            hc.ping_url
        ))
        .args(&["--quiet", "--report", "report.json"]);
    let r = p.run();
    r.code(0);
    assert!(p.path("ran").exists());
    assert!(
        r.stderr.contains("the start ping") && r.stderr.contains("404"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("no such check"), "{}", r.stderr);
    assert!(
        r.stderr.contains("1 try"),
        "a 404 is not tried again: {}",
        r.stderr
    );
    let report: Value = serde_json::from_str(&p.read("report.json")).unwrap();
    let errors = report["monitor_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[1].as_str().unwrap().contains("404"), "{errors:?}");
}

/// Without `?create=1` a slug URL for a check that does not exist is a 404: said, not
/// silently lost (and with it prun says how to have the check made).
fn a_slug_url_without_create_for_a_new_check_is_a_warning_that_says_create() {
    let hc = hc();
    let s = slug("nocreate");
    let p = Prun::new().jobfile(&format!(
        "monitor:\n  healthchecks: {}\njobs:\n  - 'true'\n",
        hc.slug_url(&s)
    ));
    let r = p.run();
    r.code(0);
    assert!(r.stderr.contains("?create=1"), "{}", r.stderr);
    assert!(hc.pings(&s)["error"].is_string(), "no check was made");
}

crate::tests!(
    a_slug_url_with_create_makes_its_check_and_records_start_and_success_paired,
    a_failed_run_is_recorded_as_a_failure_with_prun_s_exit_code_also_on_a_slug_url,
    eight_failed_jobs_of_60_kb_each_are_all_in_the_body_within_the_server_s_limit,
    an_unknown_check_is_a_warning_even_under_quiet_and_in_the_report_never_the_exit_code,
    a_slug_url_without_create_for_a_new_check_is_a_warning_that_says_create,
);
