//! The rules [`plan`](crate::plan) adds to the jobfile's types, as JSON Schema (test builds only):
//! each is named by a field of `keys` (`schemars(schema_with = …)`) and mirrors the check
//! in [`plan`](crate::plan) that refuses what it refuses; tests/schema.rs holds the two to one verdict.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::json;

use super::values::HumanDuration;

/// A duration that is all zeros.
const ZERO: &str = r"^\s*(0+\s*[A-Za-z]+\s*)+$";
/// [`sizes::parse`](crate::sizes::parse): bytes, or a number with K, M, G or T (KB, KiB the same).
const SIZE: &str = r"^\s*([0-9]+|[0-9]+(\.[0-9]*)?\s*([KkMmGgTt]([Bb]|[Ii][Bb])?))\s*$";

/// A duration [`plan`](crate::plan) refuses as 0 (a timeout that would stop at once).
pub(super) fn positive_duration(g: &mut SchemaGenerator) -> Schema {
    let mut s = HumanDuration::json_schema(g);
    s.insert("not".into(), json!({"pattern": ZERO}));
    s
}

/// A size in bytes ([`sizes::parse`](crate::sizes::parse)).
pub(super) fn size(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "a size: bytes, or with K, M, G or T (powers of 1024), e.g. 512M, 2G, 1.5G",
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": SIZE}]
    })
}

/// `monitor.body_limit`: bytes, or with kB, KiB, MB, MiB.
pub(super) fn body_limit(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "bytes, or a size: 10KB, 64KiB, 1MB",
        "anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": r"^\s*[0-9]+\s*([Bb]|[Kk][Bb]|[Kk][Ii][Bb]|[Mm][Bb]|[Mm][Ii][Bb])?\s*$"}
        ]
    })
}

/// `limits.cpus`: 0.01 to 4096 CPUs' worth of time.
pub(super) fn cpus(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "CPUs' worth of time, 0.01 to 4096: `1.5`",
        "anyOf": [
            {"type": "number", "minimum": 0.01, "maximum": 4096},
            {"type": "string", "pattern": r"^\s*[0-9]*\.?[0-9]+\s*$"}
        ]
    })
}

/// `max_load`: a load average above 0.
pub(super) fn load(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "the 1-minute load average jobs start below",
        "anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": r"^\s*[0-9]*\.?[0-9]+\s*$"}]
    })
}

/// A command (`run`, hooks, `if`): not empty.
pub(super) fn command(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "a shell command",
        "anyOf": [{"type": "string", "minLength": 1}, {"type": ["number", "boolean"]}]
    })
}

/// `env:`: names a process can have, values as text.
pub(super) fn env(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "environment variables: NAME: value",
        "type": "object",
        "propertyNames": {"pattern": "^[^=\\u0000]+$"},
        "additionalProperties": {"type": ["string", "number", "boolean"]}
    })
}

/// `resources:`: names and their capacities.
pub(super) fn resources(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "named counting semaphores and how many units each has",
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 1}
    })
}

/// `retry_on_exit`: the exit codes that are retried.
pub(super) fn exit_codes(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "retry only attempts that exited with one of these codes (1 to 255)",
        "type": "array",
        "minItems": 1,
        "items": {"type": "integer", "minimum": 1, "maximum": 255}
    })
}
