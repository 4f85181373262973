//! The jobfile as written: serde structs that mirror the YAML (docs/jobfile.md), and
//! `from_yaml`, which reads them with serde-saphyr. Nothing here decides anything;
//! `plan` turns this raw form into a validated `Plan`. Every value that a later check
//! may complain about keeps its source location (`Sp`), so every error can point at the
//! offending line.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::input::diagnostic::Pos;
use crate::input::settings::Mode;

/// A value with the place in the jobfile it came from. serde-saphyr's `Spanned` keeps two
/// full locations (about 70 bytes per value); a jobfile of 100,000 jobs holds a few
/// values per job until the plan is built, so only the line and column are kept.
#[derive(Debug, Clone)]
pub(crate) struct Sp<T> {
    pub(crate) value: T,
    pub(crate) referenced: Pos,
}

impl<T> Sp<T> {
    pub(crate) fn new(value: T, at: Pos) -> Self {
        Sp {
            value,
            referenced: at,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<T>::deserialize(d)?;
        Ok(Sp::new(s.value, s.referenced.into()))
    }
}

/// The whole jobfile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Jobfile {
    pub(crate) version: Option<Sp<u64>>,
    pub(crate) mode: Option<Sp<Mode>>,
    pub(crate) concurrency: Option<Sp<u64>>,
    pub(crate) shell: Option<Sp<ShellWords>>,
    #[serde(default)]
    pub(crate) env: Option<Sp<Env>>,
    pub(crate) env_file: Option<Sp<Paths>>,
    pub(crate) workdir: Option<Sp<String>>,
    pub(crate) defaults: Option<Sp<JobKeys>>,
    pub(crate) on_success: Option<Sp<Scalar>>,
    pub(crate) on_failure: Option<Sp<Scalar>>,
    pub(crate) on_complete: Option<Sp<Scalar>>,
    pub(crate) hook_timeout: Option<Sp<HumanDuration>>,
    pub(crate) grace: Option<Sp<HumanDuration>>,
    pub(crate) lock: Option<Sp<String>>,
    pub(crate) executor: Option<Sp<String>>,
    pub(crate) containment: Option<Sp<crate::input::settings::Containment>>,
    /// `resources: {name: capacity}`: named counting semaphores (`Lock`).
    pub(crate) resources: Option<Sp<BTreeMap<String, Sp<i64>>>>,
    /// Where up-to-date jobs keep their fingerprints (default `.prun` beside the jobfile).
    pub(crate) state_dir: Option<Sp<String>>,
    pub(crate) jobs: Sp<Vec<Sp<JobEntry>>>,
}

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
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|e| de::Error::custom(format!("invalid duration '{text}' ({e})")))
    }
}

/// Keys a job may have, also accepted under `defaults:` (except `name`, `run`, `needs`,
/// `matrix`, which make no sense as defaults and are refused there by `plan.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobKeys {
    pub(crate) name: Option<Sp<String>>,
    /// `run:` with nothing after it is an empty command, not a missing key.
    #[serde(default, deserialize_with = "present")]
    pub(crate) run: Option<Sp<Scalar>>,
    pub(crate) env: Option<Sp<Env>>,
    pub(crate) env_file: Option<Sp<Paths>>,
    pub(crate) workdir: Option<Sp<String>>,
    pub(crate) on_success: Option<Sp<Scalar>>,
    pub(crate) on_failure: Option<Sp<Scalar>>,
    pub(crate) on_complete: Option<Sp<Scalar>>,
    pub(crate) hook_timeout: Option<Sp<HumanDuration>>,
    pub(crate) timeout: Option<Sp<HumanDuration>>,
    pub(crate) retries: Option<Sp<i64>>,
    pub(crate) retry_delay: Option<Sp<HumanDuration>>,
    pub(crate) retry_delay_max: Option<Sp<HumanDuration>>,
    pub(crate) backoff: Option<Sp<String>>,
    pub(crate) retry_on_exit: Option<Sp<Vec<i64>>>,
    pub(crate) needs: Option<Sp<Vec<Sp<String>>>>,
    pub(crate) matrix: Option<Sp<Matrix>>,
    pub(crate) tags: Option<Sp<Vec<String>>>,
    pub(crate) executor: Option<Sp<String>>,
    pub(crate) slurm: Option<Sp<Box<SlurmOptions>>>,
    pub(crate) uses: Option<Sp<Uses>>,
    pub(crate) when: Option<Sp<When>>,
    pub(crate) service: Option<Sp<bool>>,
    pub(crate) ready: Option<Sp<ReadyKeys>>,
    pub(crate) stop_grace: Option<Sp<HumanDuration>>,
    pub(crate) sources: Option<Sp<Globs>>,
    pub(crate) generates: Option<Sp<Globs>>,
    pub(crate) status: Option<Sp<Commands>>,
    /// `if:`: a command the parent runs just before the job would start.
    #[serde(rename = "if")]
    pub(crate) condition: Option<Sp<Scalar>>,
    pub(crate) allow_failure: Option<Sp<AllowFailure>>,
}

/// `ready:` of a service: one probe kind, and how often and how long to poll it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadyKeys {
    pub(crate) exec: Option<Sp<Scalar>>,
    pub(crate) http: Option<Sp<String>>,
    pub(crate) tcp: Option<Sp<String>>,
    pub(crate) log: Option<Sp<String>>,
    pub(crate) interval: Option<Sp<HumanDuration>>,
    pub(crate) timeout: Option<Sp<HumanDuration>>,
}

/// A key that is there, even with an empty (null) value.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Declares `JobField`, one variant per key of `JobKeys`, and the conversions between a
/// `JobKeys` and the list of the keys it has.
macro_rules! job_fields {
    ($($key:ident: $ty:ty => $variant:ident),* $(,)?) => {
        /// One key a job has, with its value.
        #[derive(Debug)]
        pub(crate) enum JobField {
            $($variant(Sp<$ty>),)*
        }

        impl JobKeys {
            /// The keys present, in a list sized to them.
            pub(crate) fn into_fields(self) -> Box<[JobField]> {
                let mut fields = Vec::new();
                $(if let Some(v) = self.$key {
                    fields.push(JobField::$variant(v));
                })*
                fields.into_boxed_slice()
            }

            /// The keys back from `into_fields`.
            pub(crate) fn from_fields(fields: Box<[JobField]>) -> JobKeys {
                let mut keys = JobKeys::default();
                for f in fields {
                    match f {
                        $(JobField::$variant(v) => keys.$key = Some(v),)*
                    }
                }
                keys
            }
        }
    };
}

job_fields! {
    name: String => Name,
    run: Scalar => Run,
    env: Env => Env,
    env_file: Paths => EnvFile,
    workdir: String => Workdir,
    on_success: Scalar => OnSuccess,
    on_failure: Scalar => OnFailure,
    on_complete: Scalar => OnComplete,
    hook_timeout: HumanDuration => HookTimeout,
    timeout: HumanDuration => Timeout,
    retries: i64 => Retries,
    retry_delay: HumanDuration => RetryDelay,
    retry_delay_max: HumanDuration => RetryDelayMax,
    backoff: String => Backoff,
    retry_on_exit: Vec<i64> => RetryOnExit,
    needs: Vec<Sp<String>> => Needs,
    matrix: Matrix => Matrix,
    tags: Vec<String> => Tags,
    executor: String => Executor,
    slurm: Box<SlurmOptions> => Slurm,
    uses: Uses => Uses,
    when: When => When,
    service: bool => Service,
    ready: ReadyKeys => Ready,
    stop_grace: HumanDuration => StopGrace,
    sources: Globs => Sources,
    generates: Globs => Generates,
    status: Commands => Status,
    condition: Scalar => Condition,
    allow_failure: AllowFailure => AllowFailure,
}

/// One entry of `jobs:`: a bare string is a job whose command is that string. A mapping
/// keeps only the keys it has (a whole `JobKeys` is 660 bytes, and a generated jobfile
/// may have 100,000 entries waiting for the plan).
#[derive(Debug)]
pub(crate) enum JobEntry {
    Bare(smol_str::SmolStr),
    Full(Box<[JobField]>),
}

impl<'de> Deserialize<'de> for JobEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JobEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a job: a command string, or a mapping with at least `run:`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JobEntry, E> {
                Ok(JobEntry::Bare(v.into()))
            }
            // `- true` is the command `true`, not a boolean.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<JobEntry, E> {
                Ok(JobEntry::Bare(smol_str::ToSmolStr::to_smolstr(&v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JobEntry, E> {
                Ok(JobEntry::Bare(smol_str::ToSmolStr::to_smolstr(&v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JobEntry, E> {
                Ok(JobEntry::Bare(smol_str::ToSmolStr::to_smolstr(&v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<JobEntry, A::Error> {
                let keys = JobKeys::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(JobEntry::Full(keys.into_fields()))
            }
        }
        d.deserialize_any(V)
    }
}

/// serde-saphyr on `text`, with budgets for a jobfile of `n` bytes.
pub(crate) fn from_yaml(text: &str, n: usize) -> Result<Jobfile, serde_saphyr::Error> {
    // serde-saphyr's default budget (250,000 nodes, 1,000,000 events) guards against
    // hostile YAML; a jobfile is trusted (it holds shell commands), and a generated one of
    // 100,000 mapping jobs has more nodes than that. The node and event caps grow with the
    // file (a node takes at least a byte or two of text); the caps on aliases and anchors,
    // which guard against expansion bombs, stay.
    // Scalars are text as written (see `Scalar`); where a type is still inferred (a bare
    // job), only `true`/`false` are booleans and `010` stays text.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: n.max(250_000),
            max_events: n.saturating_mul(2).max(1_000_000),
        },
        null_as_string: true,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
    };
    serde_saphyr::from_str_with_options::<Jobfile>(text, options)
}

/// `slurm:` in a job or in `defaults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlurmOptions {
    pub(crate) partition: Option<String>,
    pub(crate) cpus_per_task: Option<u32>,
    /// As Slurm writes it: `500M`, `2G`.
    pub(crate) mem: Option<String>,
    /// As Slurm writes it: `30`, `1:30:00`, `2-00:00:00`.
    pub(crate) time: Option<String>,
    pub(crate) nodes: Option<u32>,
    /// Passed to srun as they are, before the command.
    pub(crate) extra_args: Option<Vec<String>>,
}

impl SlurmOptions {
    /// `self`'s fields, falling back to `defaults`' field by field.
    pub(crate) fn or(self, defaults: &SlurmOptions) -> SlurmOptions {
        let d = defaults.clone();
        SlurmOptions {
            partition: self.partition.or(d.partition),
            cpus_per_task: self.cpus_per_task.or(d.cpus_per_task),
            mem: self.mem.or(d.mem),
            time: self.time.or(d.time),
            nodes: self.nodes.or(d.nodes),
            extra_args: self.extra_args.or(d.extra_args),
        }
    }
}
