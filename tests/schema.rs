//! `schemas/jobfile-v1.schema.json` (generated from the parsing types:
//! src/input/jobfile/schema.rs) and prun agree: every example jobfile is valid, and on a
//! corpus of fragments `prun --check` and `check-jsonschema` (the reader editors'
//! language servers follow) give the same verdict, but for the rules a schema cannot
//! say, listed below with why. It names exactly the keys the parser accepts (asked of the
//! real binary).

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::util::facility::{Facility, need};
use crate::util::{Prun, repo};

fn schema_path() -> String {
    repo()
        .join("schemas/jobfile-v1.schema.json")
        .display()
        .to_string()
}

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(schema_path()).unwrap()).unwrap()
}

/// The files `check-jsonschema` refuses, of `files` (one call for all).
fn refused_by_check_jsonschema(files: &[std::path::PathBuf]) -> BTreeSet<String> {
    let out = Command::new("check-jsonschema")
        .args(["--schemafile", &schema_path(), "-o", "json"])
        .args(files)
        .output()
        .expect("run check-jsonschema");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check-jsonschema said no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let parse_errors = report.get("parse_errors").and_then(Value::as_array);
    assert!(parse_errors.is_none_or(Vec::is_empty), "{report}");
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["filename"].as_str().unwrap().to_owned())
        .collect()
}

fn every_example_jobfile_is_valid_by_check_jsonschema() {
    need(&[Facility::Reader("check-jsonschema")]);
    let files: Vec<_> = std::fs::read_dir(repo().join("jobfiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 5);
    let refused = refused_by_check_jsonschema(&files);
    assert!(refused.is_empty(), "{refused:?}");
}

/// Fragments, and whether prun accepts them (`--check`). The schema must say the same.
const CORPUS: &[(&str, bool)] = &[
    ("jobs: [echo hi]\n", true),
    ("jobs:\n  - name: a\n    run: x\n    timeout: 90s\n", true),
    (
        "jobs:\n  - name: a\n    run: x\n    timeout: 1h 30m\n",
        true,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    timeout: \"90\"\n",
        false,
    ),
    ("jobs:\n  - name: a\n    run: x\n    timeout: 90\n", false),
    ("jobs:\n  - name: a\n    run: x\n    timeout: 0s\n", false),
    ("jobs:\n  - name: a\n    run: x\n    timout: 5s\n", false),
    (
        "jobs:\n  - name: a\n    run: x\n    retry_delay: 0s\n",
        true,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    limits: {memory: 512M}\n",
        true,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    limits: {memory: 1.5G}\n",
        true,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    limits: {memory: 512Mi}\n",
        false,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    limits: {memory: lots}\n",
        false,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    limits: {cpus: 1.5}\n",
        true,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    limits: {cpus: 0}\n",
        false,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    limits: {pids: 0}\n",
        false,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    retry_on_exit: [75]\n",
        true,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    retry_on_exit: [256]\n",
        false,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    retry_on_exit: [0]\n",
        false,
    ),
    ("jobs:\n  - name: a\n    run: x\n    if: 1\n", true),
    (
        "jobs:\n  - name: a\n    run: x\n    if: test -d /tmp\n",
        true,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    allow_failure: [1, 3]\n",
        true,
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    allow_failure: [300]\n",
        false,
    ),
    ("jobs:\n  - name: a\n    run: x\n    retries: -1\n", false),
    ("jobs:\n  - name: a\n    run: x\n    nice: 20\n", false),
    (
        "jobs:\n  - name: a\n    run: x\n    io: best-effort:3\n",
        true,
    ),
    ("jobs:\n  - name: a\n    run: x\n    io: realtime\n", false),
    (
        "jobs:\n  - name: a\n    run: x\n    when: sometimes\n",
        false,
    ),
    ("jobs:\n  - name: 'a b'\n    run: x\n", false),
    ("jobs:\n  - name: a\n    run: ''\n", false),
    (
        "jobs:\n  - name: a\n    matrix: {f: {glob: x, lines: y}}\n    run: x\n",
        false,
    ),
    (
        "jobs:\n  - name: a\n    matrix: {os: [linux, mac]}\n    run: x\n",
        true,
    ),
    (
        "jobs:\n  - name: db\n    service: true\n    run: x\n    ready: {tcp: '127.0.0.1:5432', http: 'http://x'}\n  - name: b\n    needs: [db]\n    run: y\n",
        false,
    ),
    ("jobs: []\n", false),
    ("mode: paralel\njobs: [x]\n", false),
    ("concurrency: 0\njobs: [x]\n", false),
    ("concurrency: 100000\njobs: [x]\n", false),
    ("version: 2\njobs: [x]\n", false),
    ("name: 'nightly backup'\njobs: [x]\n", false),
    ("name: backup-db01\njobs: [x]\n", true),
    ("resources: {nas: 0}\njobs: [x]\n", false),
    (
        "resources: {nas: 2}\njobs:\n  - name: a\n    uses: {nas: 2}\n    run: x\n",
        true,
    ),
    ("defaults: {run: x}\njobs: [x]\n", false),
    ("defaults: {timeout: 5m}\njobs: [x]\n", true),
    ("hook_timeout: 0s\njobs: [x]\n", false),
    ("memfree: 2G\njobs: [x]\n", true),
    ("monitor: {healthchecks: 'ftp://x/y'}\njobs: [x]\n", false),
    (
        "monitor: {healthchecks: 'https://hc-ping.com/k/s?create=1', timeout: 0s}\njobs: [x]\n",
        false,
    ),
    (
        "monitor: {success: 'https://example.com/ok', body_limit: 10KB}\njobs: [x]\n",
        true,
    ),
    ("history: {dir: h, keep: 0}\njobs: [x]\n", false),
    ("executor: cloud\njobs: [x]\n", false),
    (
        "jobs:\n  - name: a\n    run: x\n    env: {A: 1, B: two}\n",
        true,
    ),
];

/// Refused by prun, allowed by the schema: rules across keys or jobs, and facts about
/// the machine, that JSON Schema has no words for.
const ONLY_PRUN: &[(&str, &str)] = &[
    (
        "jobs:\n  - name: a\n    needs: [b]\n    run: x\n",
        "a need names another job",
    ),
    (
        "jobs:\n  - name: a\n    run: x\n  - name: a\n    run: y\n",
        "names are unique across jobs",
    ),
    (
        "jobs:\n  - name: a\n    needs: [a]\n    run: x\n",
        "needs form no cycle",
    ),
    ("workdir: /no/such/dir\njobs: [x]\n", "the workdir exists"),
    (
        "jobs:\n  - name: db\n    service: true\n    run: x\n",
        "a service some job needs",
    ),
    (
        "jobs:\n  - name: a\n    uses: gpu\n    run: x\n",
        "a resource `resources:` declares",
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    retry_delay_max: 1m\n",
        "retry_delay_max only with backoff: exponential",
    ),
    (
        "jobs:\n  - name: a\n    run: x\n    timeout: 11y\n",
        "a duration of at most 10 years",
    ),
];

fn write_all(p: &Prun, fragments: &[&str]) -> Vec<std::path::PathBuf> {
    fragments
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = p.path(&format!("f{i:02}.yaml"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

fn prun_accepts(p: &Prun, file: &std::path::Path) -> bool {
    let r = p.run_with(&[file.to_str().unwrap(), "--check"]);
    assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
    r.code == 0
}

fn prun_and_the_schema_agree_on_the_corpus() {
    need(&[Facility::Reader("check-jsonschema")]);
    let p = Prun::new();
    let texts: Vec<&str> = CORPUS.iter().map(|c| c.0).collect();
    let files = write_all(&p, &texts);
    let refused = refused_by_check_jsonschema(&files);
    let mut disagree = Vec::new();
    for ((text, want), file) in CORPUS.iter().zip(&files) {
        let prun = prun_accepts(&p, file);
        assert_eq!(prun, *want, "prun's verdict on:\n{text}");
        let schema = !refused.contains(file.to_str().unwrap());
        if schema != prun {
            disagree.push(format!("prun {prun}, schema {schema}:\n{text}"));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n---\n"));
}

fn what_only_prun_can_check_is_listed_and_is_so() {
    need(&[Facility::Reader("check-jsonschema")]);
    let p = Prun::new();
    let texts: Vec<&str> = ONLY_PRUN.iter().map(|c| c.0).collect();
    let files = write_all(&p, &texts);
    let refused = refused_by_check_jsonschema(&files);
    for ((text, rule), file) in ONLY_PRUN.iter().zip(&files) {
        assert!(!prun_accepts(&p, file), "prun refuses ({rule}):\n{text}");
        assert!(
            !refused.contains(file.to_str().unwrap()),
            "the schema now says it too ({rule}): move it to CORPUS\n{text}"
        );
    }
}

/// The keys prun lists in its "unknown key" error for `yaml`.
fn keys_prun_accepts(yaml: &str) -> BTreeSet<String> {
    let r = Prun::new().jobfile(yaml).arg("--check").run();
    r.code(2);
    let line = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("help: the keys allowed here are: "))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    line.split(", ").map(str::to_owned).collect()
}

fn keys_in(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no properties: {schema}"))
        .keys()
        .cloned()
        .collect()
}

fn the_schema_names_exactly_the_keys_the_parser_accepts() {
    let s = schema();
    assert_eq!(
        keys_in(&s),
        keys_prun_accepts("no_such_key: 1\njobs: [x]\n")
    );
    let defs = &s["$defs"];
    let job = keys_in(&defs["JobKeys"]);
    assert_eq!(
        job,
        keys_prun_accepts("jobs:\n  - run: x\n    no_such_key: 1\n")
    );
    // Defaults: every job key but those that must differ per job.
    let mut defaults = keys_in(&s["properties"]["defaults"]);
    defaults
        .extend(["name", "run", "needs", "matrix", "when", "service", "ready"].map(String::from));
    assert_eq!(defaults, job);
    assert_eq!(
        keys_in(&defs["SlurmOptions"]),
        keys_prun_accepts("jobs:\n  - run: x\n    slurm: {no_such_key: 1}\n")
    );
}

crate::tests!(
    every_example_jobfile_is_valid_by_check_jsonschema,
    prun_and_the_schema_agree_on_the_corpus,
    what_only_prun_can_check_is_listed_and_is_so,
    the_schema_names_exactly_the_keys_the_parser_accepts,
);
