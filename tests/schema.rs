//! `schemas/jobfile-v1.schema.json`: every example jobfile is valid against it, and it
//! names exactly the keys the parser accepts (asked of the real binary), so the schema
//! editors use cannot drift from prun.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::{Prun, repo};

fn schema() -> Value {
    let text = std::fs::read_to_string(repo().join("schemas/jobfile-v1.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `v` against the part of JSON Schema the jobfile schema uses; `Err` says where and why.
fn check(v: &Value, s: &Value, root: &Value, path: &str) -> Result<(), String> {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return check(v, &root["$defs"][name], root, path);
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(|alt| check(v, alt, root, path).is_ok())
    {
        return Err(format!("{path}: {v} matches none of the forms"));
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            return Err(format!("{path}: {v} is not {types:?}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        return Err(format!("{path}: {v} is not one of {e:?}"));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        return Err(format!("{path}: {v} is not {c}"));
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        return Err(format!("{path}: {n} < {min}"));
    }
    if let (Some(max), Some(n)) = (s.get("maximum").and_then(Value::as_f64), v.as_f64())
        && n > max
    {
        return Err(format!("{path}: {n} > {max}"));
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for k in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(k.as_str().unwrap()) {
                return Err(format!("{path}: missing {k}"));
            }
        }
        for (k, val) in obj {
            let sub = props.and_then(|p| p.get(k));
            match (sub, s.get("additionalProperties")) {
                (Some(sub), _) => check(val, sub, root, &format!("{path}.{k}"))?,
                (None, Some(Value::Bool(false))) => {
                    return Err(format!("{path}: unknown key {k}"));
                }
                (None, Some(extra)) if extra.is_object() => {
                    check(val, extra, root, &format!("{path}.{k}"))?;
                }
                _ => {}
            }
        }
    }
    if let (Some(min), Some(arr)) = (s.get("minItems").and_then(Value::as_u64), v.as_array())
        && (arr.len() as u64) < min
    {
        return Err(format!("{path}: fewer than {min} items"));
    }
    if let (Some(min), Some(text)) = (s.get("minLength").and_then(Value::as_u64), v.as_str())
        && (text.chars().count() as u64) < min
    {
        return Err(format!("{path}: shorter than {min}"));
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(item, items, root, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
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
        check(&v, &s, &s, "$").unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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
        assert!(check(&yaml(bad), &s, &s, "$").is_err(), "accepted: {bad}");
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
    defaults.extend(["name", "run", "needs", "matrix", "when"].map(String::from));
    assert_eq!(defaults, job);
    let slurm = keys_in(&s["$defs"]["job"]["properties"]["slurm"]);
    assert_eq!(
        slurm,
        keys_prun_accepts("jobs:\n  - run: x\n    slurm: {no_such_key: 1}\n")
    );
}
