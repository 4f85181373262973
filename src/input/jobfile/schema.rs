//! The jobfile's JSON Schema, generated from the types that parse it (`keys`, `values`;
//! schemars, in test builds only) and the rules [`plan`](crate::plan) adds to them (`rules`, named by
//! the fields they constrain). `schemas/jobfile-v1.schema.json` is this schema: the test
//! below fails when the file differs and rewrites it with `PRUN_BLESS=1`
//! (`PRUN_BLESS=1 cargo test --lib schema`). tests/schema.rs holds prun and the schema to
//! the same verdict on a corpus, through `check-jsonschema`; what a schema cannot say (a
//! rule across jobs, a file that must exist) is listed there.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

use super::keys::{JobEntry, JobKeys, Jobfile, Sp};
use super::values::{
    AllowFailure, Commands, Globs, HumanDuration, Matrix, Paths, Scalar, ShellWords, Uses,
};

/// A value with its place is the value.
impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

/// Inlined value schemas: `$name` and the JSON of the schema.
macro_rules! inline_schema {
    ($($ty:ty => $name:literal $body:tt),* $(,)?) => {$(
        impl JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($body)
            }
        }
    )*};
}

/// humantime's units, as `HumanDuration` reads them.
const DURATION: &str = r"^\s*([0-9]+\s*(nsec|ns|usec|us|msec|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)\s*)+$";

inline_schema! {
    Scalar => "Scalar" {
        "description": "text, a number or a boolean: taken as the text written",
        "type": ["string", "number", "boolean"]
    },
    HumanDuration => "Duration" {
        "description": "a duration: `90s`, `5m`, `1h 30m`",
        "type": "string",
        "pattern": DURATION
    },
    Paths => "Paths" {
        "description": "a path or a list of paths",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
    Globs => "Globs" {
        "description": "a glob or a list of globs, from the job's workdir: `src/**/*.rs`",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
    Commands => "Commands" {
        "description": "a command or a list of commands",
        "anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string", "minLength": 1}}]
    },
    ShellWords => "Shell" {
        "description": "a shell and its arguments: `bash -euo pipefail` or `[bash, -euo, pipefail]`",
        "anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]
    },
    AllowFailure => "AllowFailure" {
        "description": "`true` (any failure), or the exit codes that do not fail the run",
        "anyOf": [{"type": "boolean"}, {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1, "maximum": 255}}]
    },
    Uses => "Uses" {
        "description": "resource units the job takes: `db`, `[db, nas]`, `{gpu: 2}`",
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}
        ]
    },
    Matrix => "Matrix" {
        "description": "one job per combination of these values, passed as environment variables",
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "minItems": 1, "items": {"type": ["string", "number", "boolean"]}},
                {"type": "object", "additionalProperties": false, "required": ["glob"], "properties": {"glob": {"type": "string"}}},
                {"type": "object", "additionalProperties": false, "required": ["lines"], "properties": {"lines": {"type": "string"}}},
                {"type": "string", "pattern": r"^\s*\$\{\{.*\}\}\s*$"}
            ]
        }
    },
}

/// A job: a command string (a job named after its index), or a mapping with `run:`.
impl JsonSchema for JobEntry {
    fn schema_name() -> Cow<'static, str> {
        "Job".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let keys = g.subschema_for::<JobKeys>();
        json_schema!({
            "anyOf": [
                {"type": ["string", "number", "boolean"], "description": "a command: a job named after its index"},
                {"allOf": [keys], "required": ["run"]}
            ]
        })
    }
}

/// The schema as `schemas/jobfile-v1.schema.json` holds it.
fn generate() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let schema = settings.into_generator().into_root_schema_for::<Jobfile>();
    let mut v = schema.to_value();
    no_null(&mut v);
    defaults(&mut v);
    if let Value::Object(o) = &mut v {
        o.insert("title".into(), json!("prun jobfile, version 1"));
    }
    v
}

/// `defaults:`: every job key but those that must differ per job ([`plan`](crate::plan) refuses them).
fn defaults(root: &mut Value) {
    let mut keys = root["$defs"]["JobKeys"].clone();
    if let Some(Value::Object(props)) = keys.get_mut("properties") {
        for per_job in ["name", "run", "needs", "matrix", "when", "service", "ready"] {
            props.remove(per_job);
        }
    }
    keys["description"] = json!("job keys every job gets unless it sets its own");
    root["properties"]["defaults"] = keys;
}

/// An optional key is one that may be left out: YAML's `~` is no value prun reads, so
/// the `null` schemars allows for an `Option` goes.
fn no_null(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(types)) = o.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    o.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = o.get_mut("anyOf") {
                any.retain(|s| s.get("type") != Some(&json!("null")));
            }
            o.values_mut().for_each(no_null);
        }
        Value::Array(a) => a.iter_mut().for_each(no_null),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_schema_is_the_generated_one() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/jobfile-v1.schema.json"
        );
        let want = serde_json::to_string_pretty(&super::generate()).unwrap() + "\n";
        if std::env::var_os("PRUN_BLESS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "schemas/jobfile-v1.schema.json is not the schema the types make: PRUN_BLESS=1 cargo test --lib schema"
        );
    }
}
