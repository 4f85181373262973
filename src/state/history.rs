//! `history:`: each run kept in a directory of its own, `DIR/<UTC start>-<id>/`
//! (`20261204T020000Z-4242`), holding its job logs (`logs/`), `report.json` and
//! `joblog`; `DIR/latest` a symbolic link to the newest ended run; runs beyond
//! `keep`/`keep_days` removed after the run.
//!
//! Safe with runs at once (with or without `--lock`) and with what else is in DIR:
//!
//! - a run's directory is made with `mkdir` (never an existing one), then held with a
//!   `flock` on it for the whole run, and only then marked as prun's (`.prun-run`): a run
//!   in progress is never removed, and never read as ended; one killed is seen as
//!   ended without a report (`incomplete`), its lock gone with it;
//! - only directories that are prun's (the name's form, a real directory, not a link,
//!   with the marker) are ever counted or removed; `remove_dir_all` follows no link;
//! - `latest` is a new link renamed over the old (never followed, never half there),
//!   and it and the removal are done under `DIR/.prun-history.lock`, so two runs ending
//!   at once do not interleave them.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::files;
use crate::plan::history::History;

/// What marks a directory in DIR as a run prun made.
const MARKER: &str = ".prun-run";
/// Held while `latest` is replaced and old runs removed.
const LOCK: &str = ".prun-history.lock";
/// The link to the newest ended run.
const LATEST: &str = "latest";
/// The run's report, in its directory.
pub(crate) const REPORT: &str = "report.json";

/// A history that cannot be used: nothing ran.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot keep the run in the history {dir}: {source}; give `history.dir` (or --history) a directory prun may write to"
)]
pub struct HistoryError {
    dir: String,
    #[source]
    source: io::Error,
}

impl HistoryError {
    pub(crate) fn prun_exit(&self) -> u8 {
        crate::exit::for_io(&self.source)
    }
}

/// This run's directory in the history, held (flocked) until it is dropped.
pub(crate) struct Current {
    history: History,
    name: String,
    path: PathBuf,
    _held: File,
    /// How the run before this one ended (`Some(true)`: success); `None` if none.
    pub(crate) previous_success: Option<bool>,
}

impl Current {
    /// Makes this run's directory, `DIR/<run_id>` (`-2`, `-3`, … when a run of the same
    /// second and pid was kept already), and reads how the run before it ended.
    pub(crate) fn begin(history: &History, run_id: &str) -> Result<Current, HistoryError> {
        let err = |source| HistoryError {
            dir: history.dir.display().to_string(),
            source,
        };
        // Another user who could write here could forge runs: refused first.
        files::check_own_dir(&history.dir).map_err(err)?;
        files::create_dir(&history.dir).map_err(err)?;
        let mut n = 1;
        let (name, path) = loop {
            let name = if n == 1 {
                run_id.to_owned()
            } else {
                format!("{run_id}-{n}")
            };
            let path = history.dir.join(&name);
            match std::fs::DirBuilder::new()
                .mode(files::DIR_MODE)
                .create(&path)
            {
                Ok(()) => break (name, path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(err(e)),
            }
        };
        let held = open_dir(&path).map_err(err)?;
        held.try_lock()
            .map_err(|e| err(io::Error::other(e.to_string())))?;
        let mut marker = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(files::FILE_MODE)
            .open(path.join(MARKER))
            .map_err(err)?;
        writeln!(marker, "{run_id}").map_err(err)?;
        let previous_success = runs(&history.dir)
            .map_err(err)?
            .into_iter()
            .filter(|r| r.name < name && r.state != State::Running)
            .max_by(|a, b| a.name.cmp(&b.name))
            .map(|r| matches!(r.state, State::Ended(ref e) if e.exit_code == 0));
        Ok(Current {
            history: history.clone(),
            name,
            path,
            _held: held,
            previous_success,
        })
    }

    /// This run's name in the history, its run id: `20261204T020000Z-4242`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// This run's directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// After the run, its report written: copies in what was written elsewhere (the
    /// job logs of a `--log-dir` of the user's, a `--joblog` of the user's), points
    /// `latest` at the newest ended run and removes the runs beyond `keep`/`keep_days`.
    /// Returns what could not be done (warnings: the run itself is kept).
    pub(crate) fn finish(self, logs: &[PathBuf], joblog: Option<&Path>) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut warn = |what: String, e: io::Error| {
            warnings.push(format!(
                "history {}: {what}: {e}",
                self.history.dir.display()
            ))
        };
        let own_logs = self.path.join("logs");
        for log in logs.iter().filter(|l| !l.starts_with(&own_logs)) {
            let Some(name) = log.file_name() else {
                continue;
            };
            let copied =
                files::create_dir(&own_logs).and_then(|()| link_or_copy(log, &own_logs.join(name)));
            if let Err(e) = copied {
                warn(format!("cannot keep the log {}", log.display()), e);
            }
        }
        if let Some(j) = joblog.filter(|j| !j.starts_with(&self.path))
            && let Err(e) = std::fs::copy(j, self.path.join("joblog"))
        {
            warn(format!("cannot keep the joblog {}", j.display()), e);
        }
        let dir = &self.history.dir;
        let lock = files::open_lock(&dir.join(LOCK)).and_then(|f| lock_within(f, LOCK_WAIT));
        let _lock = match lock {
            Ok(f) => f,
            Err(e) => {
                warn(
                    "cannot take its lock; `latest` and old runs left as they are".into(),
                    e,
                );
                return warnings;
            }
        };
        let mut all = match runs(dir) {
            Ok(all) => all,
            Err(e) => {
                warn("cannot list its runs".into(), e);
                return warnings;
            }
        };
        all.sort_by(|a, b| b.name.cmp(&a.name));
        let newest_ended = all
            .iter()
            .find(|r| matches!(r.state, State::Ended(_)) || r.name == self.name);
        if let Some(r) = newest_ended
            && let Err(e) = point_latest(dir, &r.name)
        {
            warn(format!("cannot point {LATEST} at {}", r.name), e);
        }
        let now = crate::times::run_clock();
        for (i, r) in all.iter().enumerate() {
            if r.name == self.name || r.state == State::Running {
                continue;
            }
            let beyond_keep = self.history.keep.is_some_and(|k| i >= k);
            let too_old = self.history.keep_days.is_some_and(|d| {
                let age =
                    Duration::from_secs(u64::try_from(d).unwrap_or(u64::MAX / 86_400) * 86_400);
                started(&r.name).is_some_and(|t| now.duration_since(t).is_ok_and(|a| a > age))
            });
            if (beyond_keep || too_old)
                && let Err(e) = remove(&r.path)
            {
                warn(format!("cannot remove the old run {}", r.name), e);
            }
        }
        warnings
    }
}

/// How a kept run is now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum State {
    /// Its directory is held: a run in progress.
    Running,
    /// Ended without a report: killed, or its report could not be written.
    Incomplete,
    Ended(Box<Ended>),
}

/// A kept run, as `prun history` and the next run see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) state: State,
}

/// What an ended run's report says (the part of `report.json` read back).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub(crate) struct Ended {
    pub(crate) start: String,
    pub(crate) duration: f64,
    pub(crate) exit_code: u8,
    #[serde(default)]
    pub(crate) signal: Option<String>,
    pub(crate) jobs: Vec<EndedJob>,
}

/// One job of an ended run.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub(crate) struct EndedJob {
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) duration: f64,
    #[serde(default)]
    pub(crate) allowed: bool,
    #[serde(default)]
    pub(crate) attempts: u32,
    #[serde(default)]
    pub(crate) exit_code: Option<i64>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

/// The runs kept in `dir`, newest first. A report that cannot be read makes its run
/// `Incomplete`, never an error: one bad file must not hide the others.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<Run>> {
    let mut all = runs(dir)?;
    all.sort_by(|a, b| b.name.cmp(&a.name));
    Ok(all)
}

/// Every run of prun's in `dir`, in no order.
fn runs(dir: &Path) -> io::Result<Vec<Run>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let path = entry.path();
        if !is_run_name(&name) || !is_prun_run(&path) {
            continue;
        }
        let state = match open_dir(&path).map(|d| d.try_lock_shared()) {
            Ok(Err(std::fs::TryLockError::WouldBlock)) => State::Running,
            _ => match read_report(&path.join(REPORT)) {
                Some(e) => State::Ended(Box::new(e)),
                None => State::Incomplete,
            },
        };
        out.push(Run { name, path, state });
    }
    Ok(out)
}

fn read_report(path: &Path) -> Option<Ended> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    serde_json::from_reader(io::BufReader::new(f)).ok()
}

/// `20261204T020000Z-4242`, `20261204T020000Z-4242-2`: the names prun gives runs.
pub(crate) fn is_run_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 17
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// When a run of this name started (to the second).
pub(crate) fn started(name: &str) -> Option<SystemTime> {
    let d = name.get(..15)?;
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15]
    );
    humantime::parse_rfc3339(&text).ok()
}

/// A real directory (not a link to one) holding prun's marker (a regular file).
fn is_prun_run(path: &Path) -> bool {
    let real_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    real_dir && std::fs::symlink_metadata(path.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// Removes a run's directory, unless a run holds it (it began since it was listed).
fn remove(path: &Path) -> io::Result<()> {
    let d = open_dir(path)?;
    match d.try_lock() {
        Ok(()) => std::fs::remove_dir_all(path),
        Err(std::fs::TryLockError::WouldBlock) => Ok(()),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// `DIR/latest` → `name`: a new link, renamed over the old one. A `latest` that is a
/// directory of the user's is not replaced (rename refuses to).
fn point_latest(dir: &Path, name: &str) -> io::Result<()> {
    let latest = dir.join(LATEST);
    if std::fs::read_link(&latest).is_ok_and(|t| t == Path::new(name)) {
        return Ok(());
    }
    let tmp = dir.join(format!(".{LATEST}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp)?;
    std::fs::rename(&tmp, &latest).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// A hard link when `from` is on the same file system, else a copy.
fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => std::fs::copy(from, to).map(drop),
    }
}

/// The most a run waits for the history's lock after its jobs (another run tidying the
/// same history takes milliseconds): past it, the history is left as it is, said.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// `file` flocked, trying for at most `wait`.
fn lock_within(file: File, wait: std::time::Duration) -> io::Result<File> {
    let until = crate::times::after(std::time::Instant::now(), wait);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("another process held it for {}s", wait.as_secs()),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
}

fn open_dir(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_prun_s_form_are_runs() {
        assert!(is_run_name("20261204T020000Z-4242"));
        assert!(is_run_name("20261204T020000Z-4242-2"));
        assert!(!is_run_name("20261204T020000Z-"));
        assert!(!is_run_name("latest"));
        assert!(!is_run_name("20261204T020000Z-42/x"));
        assert!(!is_run_name("2026120xT020000Z-4242"));
        assert_eq!(
            started("20261204T020000Z-4242"),
            humantime::parse_rfc3339("2026-12-04T02:00:00Z").ok()
        );
    }
}
