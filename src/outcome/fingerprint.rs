//! An up-to-date job's fingerprint, as data: what it was made from (each source path
//! with a hash of its bytes) and how (its run text, shell, env, matrix values, workdir);
//! the one saved after its last success (`Saved`); and why a job is, or is not, up to
//! date (`Verdict`, `Stale`), in words. Found by [`state::fingerprint`](crate::state::fingerprint), judged by
//! [`schedule::uptodate`](crate::schedule::uptodate).

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::outputs::Outputs;

/// What a job's work is made of. Hashes are BLAKE3, in hex; env values are kept only as
/// hashes (a state file never holds a secret in clear), matrix values as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    pub(crate) run: String,
    pub(crate) shell: String,
    pub(crate) workdir: String,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) matrix: BTreeMap<String, String>,
    /// Every source file (relative to the workdir, as its glob matched it), and its hash.
    pub(crate) sources: BTreeMap<String, String>,
}

/// The fingerprint saved after a job's last success, with when and what it handed back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Saved {
    /// Always `STATE_FORMAT`: a file without it is not prun's.
    pub(crate) prun_state: u32,
    pub(crate) job: String,
    /// When it was saved (seconds since the epoch).
    pub(crate) saved: f64,
    pub(crate) fingerprint: Fingerprint,
    /// Its outputs then: what its dependents see when it is up to date.
    pub(crate) outputs: Outputs,
}

/// The format of a state file.
pub(crate) const STATE_FORMAT: u32 = 1;

impl Saved {
    pub(crate) fn saved_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs_f64(self.saved.max(0.0))
    }
}

/// Whether a job is up to date, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Not run: nothing it is made of changed since `since`.
    UpToDate {
        sources: usize,
        since: SystemTime,
        /// Only `status:` said so (no `sources`).
        by_status: bool,
    },
    /// It runs, for this reason.
    Stale(Stale),
}

/// Why a job with `sources`/`status` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stale {
    /// `--force`.
    Forced,
    NoFingerprint,
    /// The saved fingerprint cannot be read (or is not prun's): ignored.
    Unreadable(String),
    RunChanged,
    ShellChanged,
    WorkdirChanged,
    /// These variables changed, came or went (names only).
    EnvChanged(Vec<String>),
    MatrixChanged,
    /// Sources changed, added, removed: how many of each, and the first of each.
    Sources {
        changed: Vec<String>,
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// A `sources` glob matched nothing (the job runs; nothing is saved).
    NoSources(String),
    /// A `generates` glob matches no path.
    Missing(String),
    /// A `status` command did not exit 0 (how it ended, in words).
    Status {
        command: String,
        ended: String,
    },
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::Forced => f.write_str("--force"),
            Stale::NoFingerprint => f.write_str("no fingerprint yet"),
            Stale::Unreadable(why) => write!(f, "its saved fingerprint is unreadable ({why})"),
            Stale::RunChanged => f.write_str("run text changed"),
            Stale::ShellChanged => f.write_str("shell changed"),
            Stale::WorkdirChanged => f.write_str("workdir changed"),
            Stale::EnvChanged(vars) => match vars.as_slice() {
                [one] => write!(f, "env {one} changed"),
                more => write!(f, "env changed: {}", more.join(", ")),
            },
            Stale::MatrixChanged => f.write_str("matrix values changed"),
            Stale::Sources {
                changed,
                added,
                removed,
            } => {
                let mut parts = Vec::new();
                for (list, verb) in [(changed, "changed"), (added, "added"), (removed, "removed")] {
                    match list.as_slice() {
                        [] => {}
                        [one] => parts.push(format!("{one} {verb}")),
                        [first, rest @ ..] => parts.push(format!(
                            "{} sources {verb} ({first} and {} more)",
                            rest.len() + 1,
                            rest.len()
                        )),
                    }
                }
                f.write_str(&parts.join(", "))
            }
            Stale::NoSources(glob) => write!(f, "no file matches its sources glob '{glob}'"),
            Stale::Missing(glob) => write!(f, "{glob} missing"),
            Stale::Status { command, ended } => write!(f, "status `{command}` {ended}"),
        }
    }
}

impl Verdict {
    /// Why it was not run, in words: "up to date: 14 sources unchanged since …".
    pub(crate) fn words(&self) -> String {
        match self {
            Verdict::UpToDate {
                sources,
                since,
                by_status,
            } => {
                let when = crate::times::timestamp(*since);
                match (*sources, *by_status) {
                    (_, true) => "up to date: its status commands exited 0".to_owned(),
                    (1, _) => format!("up to date: 1 source unchanged since {when}"),
                    (n, _) => format!("up to date: {n} sources unchanged since {when}"),
                }
            }
            Verdict::Stale(why) => why.to_string(),
        }
    }
}
