//! The jobfile's values that are more than a plain string or number, each read as it
//! may be written (a string or a list, `true` or a list of codes, a humantime duration,
//! a scalar kept as written): the types the structs of `keys` are made of.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// One path or a list of them (`env_file:`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Paths(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Paths {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_or_list(
            d,
            "a path or a list of paths, e.g. `env_file: secrets.env`",
            |v| vec![v.to_owned()],
        )
        .map(Paths)
    }
}

/// A string (made into its words by `one`) or a list of strings.
fn one_or_list<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
    one: fn(&str) -> Vec<String>,
) -> Result<Vec<String>, D::Error> {
    struct V {
        expecting: &'static str,
        one: fn(&str) -> Vec<String>,
    }
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok((self.one)(v))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(w) = seq.next_element::<Scalar>()? {
                out.push(w.0);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V { expecting, one })
}

/// `sources:` or `generates:`: a glob or a list of globs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Globs(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Globs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_or_list(
            d,
            "a glob or a list of globs, e.g. `sources: [\"src/**/*.rs\", Cargo.lock]`",
            |v| vec![v.to_owned()],
        )
        .map(Globs)
    }
}

/// `status:`: a command or a list of commands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Commands(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_or_list(
            d,
            "a command or a list of commands, e.g. `status: test -f target/app`",
            |v| vec![v.to_owned()],
        )
        .map(Commands)
    }
}

/// `allow_failure:` as written: `true`/`false`, or a list of exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AllowFailure {
    All(bool),
    Codes(Vec<i64>),
}

impl<'de> Deserialize<'de> for AllowFailure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AllowFailure;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`true`, or a list of exit codes, e.g. `allow_failure: [1, 3]`")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AllowFailure, E> {
                Ok(AllowFailure::All(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AllowFailure, A::Error> {
                let mut codes = Vec::new();
                while let Some(c) = seq.next_element::<i64>()? {
                    codes.push(c);
                }
                Ok(AllowFailure::Codes(codes))
            }
        }
        d.deserialize_any(V)
    }
}

/// `shell:` as written: `bash -eo pipefail` (split on whitespace) or `[bash, -eo, pipefail]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShellWords(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for ShellWords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_or_list(
            d,
            "a shell and its arguments, e.g. `shell: bash -eo pipefail` or `shell: [bash, -eo, pipefail]`",
            |v| v.split_whitespace().map(str::to_owned).collect(),
        )
        .map(ShellWords)
    }
}

/// `uses:` as written: `db`, `[db, nas]` or `{gpu: 2}` (resource and units).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Uses(pub(crate) Vec<(String, i64)>);

impl<'de> Deserialize<'de> for Uses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Uses;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a resource name, a list of names, or a map of names to units, e.g. `uses: db`, `uses: [db, nas]`, `uses: {gpu: 2}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Uses, E> {
                Ok(Uses(vec![(v.to_owned(), 1)]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Uses, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    out.push((name, 1));
                }
                Ok(Uses(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Uses, A::Error> {
                let mut out = Vec::new();
                while let Some((name, units)) = map.next_entry::<String, i64>()? {
                    out.push((name, units));
                }
                Ok(Uses(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `when:`: the condition on a job's needs under which it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub(crate) enum When {
    /// Every need succeeded (the default).
    #[default]
    Success,
    /// Every need ended and at least one failed, timed out or was interrupted.
    Failure,
    /// Every need ended, whatever happened.
    Always,
}

impl When {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            When::Success => "success",
            When::Failure => "failure",
            When::Always => "always",
        }
    }

    /// A cleanup job: it still runs after `--fail-fast` or a first signal stopped the run.
    pub(crate) fn is_cleanup(self) -> bool {
        self != When::Success
    }
}

/// An environment map. Values are passed to the job exactly as written (see `Scalar`).
pub(crate) type Env = BTreeMap<String, Scalar>;

/// A YAML scalar read as the text that was written, quotes removed: `VER: 1.10` gives
/// "1.10", `ON: yes` gives "yes", `OCT: 010` gives "010", `~` gives "~" and an empty
/// value "". Nothing is re-printed from a parsed number, boolean or date, so what reaches
/// a process is what the file says (the "Python 3.10 became 3.1" trap).
#[derive(Debug, Clone)]
pub(crate) struct Scalar(pub(crate) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
        }
        // A string target makes serde-saphyr hand over the scalar's text instead of
        // inferring a type from it (with `null_as_string`, also for `~` and empty).
        d.deserialize_string(V)
    }
}

/// A matrix as written, keys in their written order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matrix(pub(crate) Vec<(String, MatrixValues)>);

/// One matrix key's values: listed, or found when the job is about to run.
#[derive(Debug, Clone)]
pub(crate) enum MatrixValues {
    List(Vec<Scalar>),
    /// `{glob: "photos/**/*.jpg"}`: the matching paths, relative to the job's workdir.
    Glob(String),
    /// `{lines: FILE}`: the file's non-empty lines.
    Lines(String),
    /// `"${{ needs.J.outputs.K }}"`: a list written by a job it needs.
    Output(String),
}

impl<'de> Deserialize<'de> for Matrix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Matrix;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of lists, e.g. `matrix: {os: [linux, mac], version: [1, 2]}`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Matrix, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, MatrixValues>()? {
                    entries.push((k, v));
                }
                Ok(Matrix(entries))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for MatrixValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MatrixValues;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a list of values, {glob: PATTERN}, {lines: FILE} or \"${{ needs.JOB.outputs.KEY }}\"",
                )
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<MatrixValues, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = seq.next_element::<Scalar>()? {
                    values.push(v);
                }
                Ok(MatrixValues::List(values))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MatrixValues, A::Error> {
                let Some((kind, value)) = map.next_entry::<String, Scalar>()? else {
                    return Err(de::Error::custom(
                        "an empty mapping: write {glob: PATTERN} or {lines: FILE}",
                    ));
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "one source of values: {glob: PATTERN} or {lines: FILE}, not both",
                    ));
                }
                match kind.as_str() {
                    "glob" => Ok(MatrixValues::Glob(value.0)),
                    "lines" => Ok(MatrixValues::Lines(value.0)),
                    other => Err(de::Error::custom(format!(
                        "unknown source '{other}': write {{glob: PATTERN}} or {{lines: FILE}}"
                    ))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MatrixValues, E> {
                Ok(MatrixValues::Output(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MatrixValues, E> {
                Ok(MatrixValues::Output(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A humantime duration (`90s`, `1h 30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HumanDuration(pub(crate) Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Scalar::deserialize(d)?.0;
        crate::times::parse_duration(&text)
            .map(HumanDuration)
            .map_err(|e| de::Error::custom(format!("invalid duration '{text}' ({e})")))
    }
}
