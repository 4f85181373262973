//! `schemas/jobfile-v1.schema.json`: every example jobfile is valid against it, and it
//! names exactly the keys the parser accepts (asked of the real binary), so the schema
//! editors use cannot drift from prun.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::{Prun, check_schema, repo};

fn schema() -> Value {
    let text = std::fs::read_to_string(repo().join("schemas/jobfile-v1.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn every_example_jobfile_is_valid_and_mistakes_are_not() {
    let s = schema();
    let mut n = 0;
    for e in std::fs::read_dir(repo().join("jobfiles")).unwrap() {
        let path = e.unwrap().path();
        let v = yaml(&std::fs::read_to_string(&path).unwrap());
        check_schema(&v, &s, &s, "$").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        n += 1;
    }
    assert!(n >= 5);
    // The checker is not vacuous: each of these is refused.
    for bad in [
        "jobs:\n  - name: a\n    run: x\n    timout: 5s\n",
        "jobs: []\n",
        "mode: paralel\njobs: [x]\n",
        "jobs:\n  - name: a\n    needs: b\n    run: x\n",
        "resources: {nas: 0}\njobs: [x]\n",
        "defaults: {run: x}\njobs: [x]\n",
        "jobs:\n  - name: a\n    when: sometimes\n    run: x\n",
        "jobs:\n  - name: a\n    matrix: {f: {glob: x, lines: y}}\n    run: x\n",
    ] {
        assert!(
            check_schema(&yaml(bad), &s, &s, "$").is_err(),
            "accepted: {bad}"
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
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_schema_names_exactly_the_keys_the_parser_accepts() {
    let s = schema();
    assert_eq!(
        keys_in(&s),
        keys_prun_accepts("no_such_key: 1\njobs: [x]\n")
    );
    let job = keys_in(&s["$defs"]["job"]);
    assert_eq!(
        job,
        keys_prun_accepts("jobs:\n  - run: x\n    no_such_key: 1\n")
    );
    // Defaults: every job key but those that must differ per job.
    let mut defaults = keys_in(&s["$defs"]["defaults"]);
    defaults
        .extend(["name", "run", "needs", "matrix", "when", "service", "ready"].map(String::from));
    assert_eq!(defaults, job);
    let slurm = keys_in(&s["$defs"]["job"]["properties"]["slurm"]);
    assert_eq!(
        slurm,
        keys_prun_accepts("jobs:\n  - run: x\n    slurm: {no_such_key: 1}\n")
    );
}
