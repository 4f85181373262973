//! The jobfile as written: serde structs that mirror the YAML (docs/jobfile.md), and
//! `from_yaml`, which reads them with serde-saphyr. Nothing here decides anything;
//! [`plan`](crate::plan) turns this raw form into a validated `Plan`. Every value that a later check
//! may complain about keeps its source location (`Sp`), so every error can point at the
//! offending line.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::input::diagnostic::Pos;
use crate::input::settings::Mode;

pub(crate) use super::values::*;

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
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct Jobfile {
    #[cfg_attr(test, schemars(extend("const" = 1)))]
    pub(crate) version: Option<Sp<u64>>,
    /// What the run is called where two jobfiles must not be confused (the metrics'
    /// `jobfile` label, the JUnit suite): default, the jobfile's canonical path.
    #[cfg_attr(test, schemars(regex(pattern = r"^[A-Za-z0-9._/@-]{1,128}$")))]
    pub(crate) name: Option<Sp<String>>,
    pub(crate) mode: Option<Sp<Mode>>,
    #[cfg_attr(test, schemars(range(min = 1, max = 4096)))]
    pub(crate) concurrency: Option<Sp<u64>>,
    pub(crate) shell: Option<Sp<ShellWords>>,
    #[serde(default)]
    #[cfg_attr(test, schemars(schema_with = "super::rules::env"))]
    pub(crate) env: Option<Sp<Env>>,
    pub(crate) env_file: Option<Sp<Paths>>,
    pub(crate) workdir: Option<Sp<String>>,
    pub(crate) defaults: Option<Sp<JobKeys>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) on_success: Option<Sp<Scalar>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) on_failure: Option<Sp<Scalar>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) on_complete: Option<Sp<Scalar>>,
    /// Run-level only: a run that succeeds after a failed one (needs `history:`).
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) on_recover: Option<Sp<Scalar>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::positive_duration"))]
    #[serde(default)]
    pub(crate) hook_timeout: Option<Sp<HumanDuration>>,
    pub(crate) grace: Option<Sp<HumanDuration>>,
    /// At least this long between two job starts (`--delay`).
    pub(crate) delay: Option<Sp<HumanDuration>>,
    /// Start a job only while this much memory is available (`--memfree`).
    #[cfg_attr(test, schemars(schema_with = "super::rules::size"))]
    #[serde(default)]
    pub(crate) memfree: Option<Sp<Scalar>>,
    /// Start a job only while the 1-minute load average is below this (`--load`).
    #[cfg_attr(test, schemars(schema_with = "super::rules::load"))]
    #[serde(default)]
    pub(crate) max_load: Option<Sp<Scalar>>,
    /// How long the throttles may hold jobs back before prun says so (`--throttle-warn`).
    pub(crate) throttle_warn: Option<Sp<HumanDuration>>,
    pub(crate) lock: Option<Sp<String>>,
    #[cfg_attr(test, schemars(extend("enum" = ["local", "slurm"])))]
    pub(crate) executor: Option<Sp<String>>,
    pub(crate) containment: Option<Sp<crate::input::settings::Containment>>,
    /// `resources: {name: capacity}`: named counting semaphores (`Lock`).
    #[cfg_attr(test, schemars(schema_with = "super::rules::resources"))]
    #[serde(default)]
    pub(crate) resources: Option<Sp<BTreeMap<String, Sp<i64>>>>,
    /// Where up-to-date jobs keep their fingerprints (default `.prun` beside the jobfile).
    pub(crate) state_dir: Option<Sp<String>>,
    /// Pings to a monitor (healthchecks.io, Cronitor, Uptime Kuma, a webhook).
    pub(crate) monitor: Option<Sp<MonitorKeys>>,
    /// Each run kept in a directory of its own, the oldest removed.
    pub(crate) history: Option<Sp<HistoryKeys>>,
    /// node_exporter textfile-collector metrics written at the end (`--metrics`).
    pub(crate) metrics: Option<Sp<String>>,
    /// Variables whose values are masked as `***` in everything prun writes.
    pub(crate) secrets: Option<Sp<Vec<Sp<String>>>>,
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub(crate) jobs: Sp<Vec<Sp<JobEntry>>>,
}

/// `monitor:` as written.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct MonitorKeys {
    #[cfg_attr(test, schemars(regex(pattern = r"^\s*https?://")))]
    pub(crate) healthchecks: Option<Sp<String>>,
    #[cfg_attr(test, schemars(regex(pattern = r"^\s*https?://")))]
    pub(crate) start: Option<Sp<String>>,
    #[cfg_attr(test, schemars(regex(pattern = r"^\s*https?://")))]
    pub(crate) success: Option<Sp<String>>,
    #[cfg_attr(test, schemars(regex(pattern = r"^\s*https?://")))]
    pub(crate) failure: Option<Sp<String>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::positive_duration"))]
    #[serde(default)]
    pub(crate) timeout: Option<Sp<HumanDuration>>,
    /// Bytes (`10240`) or a size (`10KB`, `100 KiB`, `1MB`).
    #[cfg_attr(test, schemars(schema_with = "super::rules::body_limit"))]
    #[serde(default)]
    pub(crate) body_limit: Option<Sp<Scalar>>,
}

/// `history:` as written.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryKeys {
    pub(crate) dir: Sp<String>,
    #[cfg_attr(test, schemars(range(min = 1)))]
    pub(crate) keep: Option<Sp<i64>>,
    #[cfg_attr(test, schemars(range(min = 1)))]
    pub(crate) keep_days: Option<Sp<i64>>,
}

/// Keys a job may have, also accepted under `defaults:` (except `name`, `run`, `needs`,
/// `matrix`, which make no sense as defaults and are refused there).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct JobKeys {
    #[cfg_attr(test, schemars(regex(pattern = r"^[A-Za-z0-9._-]+$")))]
    pub(crate) name: Option<Sp<String>>,
    /// `run:` with nothing after it is an empty command, not a missing key.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    pub(crate) run: Option<Sp<Scalar>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::env"))]
    #[serde(default)]
    pub(crate) env: Option<Sp<Env>>,
    pub(crate) env_file: Option<Sp<Paths>>,
    pub(crate) workdir: Option<Sp<String>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) on_success: Option<Sp<Scalar>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) on_failure: Option<Sp<Scalar>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) on_complete: Option<Sp<Scalar>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::positive_duration"))]
    #[serde(default)]
    pub(crate) hook_timeout: Option<Sp<HumanDuration>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::positive_duration"))]
    #[serde(default)]
    pub(crate) timeout: Option<Sp<HumanDuration>>,
    #[cfg_attr(test, schemars(range(min = 0)))]
    pub(crate) retries: Option<Sp<i64>>,
    pub(crate) retry_delay: Option<Sp<HumanDuration>>,
    pub(crate) retry_delay_max: Option<Sp<HumanDuration>>,
    #[cfg_attr(test, schemars(extend("enum" = ["fixed", "exponential"])))]
    pub(crate) backoff: Option<Sp<String>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::exit_codes"))]
    #[serde(default)]
    pub(crate) retry_on_exit: Option<Sp<Vec<i64>>>,
    pub(crate) needs: Option<Sp<Vec<Sp<String>>>>,
    /// Variables of this job whose values are masked (with the top-level ones).
    pub(crate) secrets: Option<Sp<Vec<Sp<String>>>>,
    pub(crate) matrix: Option<Sp<Matrix>>,
    pub(crate) tags: Option<Sp<Vec<String>>>,
    #[cfg_attr(test, schemars(extend("enum" = ["local", "slurm"])))]
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
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) condition: Option<Sp<Scalar>>,
    pub(crate) allow_failure: Option<Sp<AllowFailure>>,
    /// `limits: {memory, cpus, pids}`: what the job may take of the machine.
    pub(crate) limits: Option<Sp<LimitKeys>>,
    /// The job's niceness, -20 to 19 (absolute, as systemd's `Nice=`).
    #[cfg_attr(test, schemars(range(min = -20, max = 19)))]
    pub(crate) nice: Option<Sp<i64>>,
    /// Its I/O priority: `idle`, `best-effort` or `best-effort:N`.
    #[cfg_attr(
        test,
        schemars(regex(pattern = r"^\s*(idle|best-effort(:[0-7])?)\s*$"))
    )]
    pub(crate) io: Option<Sp<String>>,
    /// The niceness of its hooks (by default they run at prun's own).
    #[cfg_attr(test, schemars(range(min = -20, max = 19)))]
    pub(crate) hook_nice: Option<Sp<i64>>,
}

/// `ready:` of a service: one probe kind, and how often and how long to poll it.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(extend("oneOf" = [{"required": ["exec"]}, {"required": ["http"]}, {"required": ["tcp"]}, {"required": ["log"]}])))]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadyKeys {
    #[cfg_attr(test, schemars(schema_with = "super::rules::command"))]
    #[serde(default)]
    pub(crate) exec: Option<Sp<Scalar>>,
    pub(crate) http: Option<Sp<String>>,
    pub(crate) tcp: Option<Sp<String>>,
    pub(crate) log: Option<Sp<String>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::positive_duration"))]
    #[serde(default)]
    pub(crate) interval: Option<Sp<HumanDuration>>,
    #[cfg_attr(test, schemars(schema_with = "super::rules::positive_duration"))]
    #[serde(default)]
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
    secrets: Vec<Sp<String>> => Secrets,
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
    limits: LimitKeys => Limits,
    nice: i64 => Nice,
    io: String => Io,
    hook_nice: i64 => HookNice,
}

/// `limits:` in a job or in `defaults` (each key falls back to the defaults' own).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitKeys {
    /// A size: `2G`, `512M`.
    #[cfg_attr(test, schemars(schema_with = "super::rules::size"))]
    #[serde(default)]
    pub(crate) memory: Option<Sp<Scalar>>,
    /// CPUs, a fraction allowed: `1.5`.
    #[cfg_attr(test, schemars(schema_with = "super::rules::cpus"))]
    #[serde(default)]
    pub(crate) cpus: Option<Sp<Scalar>>,
    #[cfg_attr(test, schemars(range(min = 1)))]
    pub(crate) pids: Option<Sp<i64>>,
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
#[cfg_attr(test, derive(schemars::JsonSchema))]
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
