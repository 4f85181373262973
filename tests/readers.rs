//! Every file prun writes for another program, read by that program (DESIGN §12;
//! `../shared/consumers/README.md`): JUnit by `xmlschema` and `xmllint` against the
//! Jenkins xUnit schema `junit-10.xsd`, the SVG timeline by `xmllint`, the step summary by
//! `cmark-gfm`. A parser of our own proves only what we meant to write.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::facility::{Facility, need};
use crate::util::{Prun, repo};

/// The Jenkins xUnit schema, as shipped in pytest's own tests.
fn junit_xsd() -> PathBuf {
    repo().join("../shared/consumers/junit-10.xsd")
}

/// Runs a reader; panics with what it said unless it accepts the file.
#[track_caller]
fn accepts(program: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{program} refused {}:\n{said}\n--- the file:\n{}",
        file.display(),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    said
}

/// A run with every kind of test case: success, a flaky retry, a failure after a
/// retry, a timeout, a need failed, an `if:` that skipped, an allowed failure, a hook
/// that failed, colours and characters XML forbids in a matrix value and in output.
const VARIED: &str = r#"jobs:
  - name: ok
    run: echo fine
  - name: flaky
    run: 'if [ -e once ]; then echo second time; else touch once; echo first >&2; exit 1; fi'
    retries: 1
  - name: broken
    run: 'printf "\033[31merror:\033[0m disk full\n"; exit 3'
    retries: 1
  - name: slow
    run: sleep 5
    timeout: 200ms
  - name: after-broken
    needs: [broken]
    run: echo never
  - name: unwanted
    if: 'false'
    run: echo never
  - name: vanished
    run: 'echo some files vanished; exit 24'
    allow_failure: [24]
  - name: hooked
    run: 'true'
    on_success: exit 9
  - name: odd
    matrix: { v: ["a\ufffeb\x01c"] }
    run: 'printf "bell\a nul-free \357\277\276 end\n"; exit 1'
"#;

fn junit_is_valid_against_junit_10_xsd_by_xmlschema_and_xmllint() {
    need(&[
        Facility::Reader("xmlschema-validate"),
        Facility::Reader("xmllint"),
    ]);
    let p = Prun::new()
        .jobfile(VARIED)
        .args(&["--junit", "junit.xml", "-j", "4"]);
    p.run().code(1);
    let xsd = junit_xsd();
    let xsd = xsd.to_str().unwrap();
    accepts(
        "xmlschema-validate",
        &["--schema", xsd],
        &p.path("junit.xml"),
    );
    accepts(
        "xmllint",
        &["--noout", "--schema", xsd],
        &p.path("junit.xml"),
    );
}

fn junit_says_what_happened_failures_retries_hooks_and_forbidden_characters() {
    let p = Prun::new()
        .jobfile(VARIED)
        .args(&["--junit", "junit.xml", "-j", "4"]);
    p.run().code(1);
    let xml = p.read("junit.xml");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let case = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no test case {name}: {xml}"))
    };
    let child = |name: &str, tag: &str| {
        case(name)
            .children()
            .filter(|c| c.has_tag_name(tag))
            .collect::<Vec<_>>()
    };
    // A retried job that passed: its failed attempt is a flakyFailure; one that did
    // not: a rerunFailure beside its failure.
    assert_eq!(child("flaky", "flakyFailure").len(), 1, "{xml}");
    assert!(child("flaky", "failure").is_empty());
    assert_eq!(child("broken", "rerunFailure").len(), 1, "{xml}");
    // The failure says why and shows the output's end, colours gone.
    let failure = &child("broken", "failure")[0];
    let body = failure.text().unwrap_or_default();
    assert!(body.contains("exit 3"), "{body}");
    assert!(body.contains("error: disk full"), "{body}");
    assert!(!xml.contains("[31m"), "no colour codes: {xml}");
    // The hook that failed is a failing test case of its own.
    let hook = &child("hooked:on_success", "failure")[0];
    assert!(
        hook.attribute("message").unwrap().contains("exit 9"),
        "{xml}"
    );
    assert!(child("hooked", "failure").is_empty(), "its job succeeded");
    // Skipped: by a failed need, by `if:`, and the allowed failure (never red).
    for name in ["after-broken", "unwanted", "vanished"] {
        assert_eq!(child(name, "skipped").len(), 1, "{name}: {xml}");
    }
    // The exit code and the file agree.
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let failures: u32 = suite.attribute("failures").unwrap().parse().unwrap();
    assert!(failures >= 1);
    assert!(
        suite
            .attribute("timestamp")
            .is_some_and(|t| t.contains('T')),
        "{xml}"
    );
    assert!(
        suite.attribute("hostname").is_some_and(|h| !h.is_empty()),
        "{xml}"
    );
    // U+FFFE and control characters shown, never raw, never dropped.
    assert!(!xml.contains('\u{fffe}'), "no raw U+FFFE");
    assert!(xml.contains("a\\u{fffe}b"), "the name, visibly: {xml}");
    assert!(
        xml.contains("bell\\x07"),
        "the output's BEL, visibly: {xml}"
    );
}

/// A job whose hook fails makes prun exit 1: the JUnit file must not say all passed.
fn a_failed_hook_makes_junit_fail_as_prun_exits_1() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: backup\n    run: 'true'\n    on_success: exit 9\n")
        .args(&["--junit", "junit.xml"]);
    p.run().code(1);
    let xml = p.read("junit.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("tests"), Some("2"), "{xml}");
    assert_eq!(suite.attribute("failures"), Some("1"), "{xml}");
    assert!(xml.contains(r#"name="backup:on_success""#), "{xml}");
}

fn the_timeline_is_well_formed_svg_whatever_a_value_holds_with_services_on_their_own_row() {
    need(&[Facility::Reader("xmllint")]);
    let p = Prun::new()
        .jobfile(
            r#"jobs:
  - name: svc
    service: true
    run: sleep 30
  - name: odd
    needs: [svc]
    matrix: { v: ["a\ufffeb\x01c"] }
    run: 'true'
  - name: unwanted
    if: 'false'
    run: 'true'
"#,
        )
        .args(&["--timeline", "run.svg", "-j", "1"]);
    p.run().code(0);
    accepts("xmllint", &["--noout"], &p.path("run.svg"));
    let svg = p.read("run.svg");
    assert!(svg.contains("a\\u{fffe}b\\x01c"), "{svg}");
    assert!(svg.contains(">service</text>"), "the service's row: {svg}");
    // Two attempts ran (svc, odd); the job `if:` skipped is no bar.
    assert!(svg.contains("2 attempts on 1 slots"), "{svg}");
    assert!(!svg.contains("unwanted"), "{svg}");
}

fn the_step_summary_is_gfm_without_colour_codes_and_an_allowed_failure_is_a_warning() {
    need(&[Facility::Reader("cmark-gfm")]);
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let p = Prun::new()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .jobfile(
            r#"jobs:
  - name: vanished
    run: 'printf "\033[33msome files vanished\033[0m\n"; exit 24'
    allow_failure: [24]
  - name: broken
    matrix: { v: ["\e[31mred"] }
    run: 'printf "\033[31merror\033[0m\n"; exit 1'
"#,
        );
    let r = p.run();
    r.code(1);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(!md.contains('\x1b'), "no ESC byte: {md}");
    assert!(!md.contains("\\x1b["), "no spelled-out colour code: {md}");
    assert!(md.contains("error"), "{md}");
    let html = accepts("cmark-gfm", &["-e", "table"], &summary);
    assert!(html.contains("<table>"), "{html}");
    // GitHub: the allowed failure is a warning, the real one an error.
    assert!(
        r.stdout
            .contains("::warning title=prun%3A job vanished failed (allowed)::"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("::error title=prun%3A job vanished"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("::error title=prun%3A job broken"),
        "{}",
        r.stdout
    );
}

crate::tests!(
    junit_is_valid_against_junit_10_xsd_by_xmlschema_and_xmllint,
    junit_says_what_happened_failures_retries_hooks_and_forbidden_characters,
    a_failed_hook_makes_junit_fail_as_prun_exits_1,
    the_timeline_is_well_formed_svg_whatever_a_value_holds_with_services_on_their_own_row,
    the_step_summary_is_gfm_without_colour_codes_and_an_allowed_failure_is_a_warning,
);
