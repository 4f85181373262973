//! `history:` (or `--history DIR --keep N --keep-days D`): where each run is kept and how
//! many are. Making the run's directory, `latest` and removing old runs is
//! [`state::history`](crate::state::history).

use std::path::{Path, PathBuf};

use crate::input::cli::Cli;
use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::{HistoryKeys, Sp};

/// Where the runs are kept, and which are removed after a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct History {
    pub(crate) dir: PathBuf,
    /// Keep the newest N runs (this one included); `None`: all.
    pub(crate) keep: Option<usize>,
    /// Remove runs that started more than D days ago; `None`: none for their age.
    pub(crate) keep_days: Option<usize>,
}

/// The history asked for: `--history` over the jobfile's `history.dir` (a relative
/// `--history` is from the current directory, a relative `history.dir` from the
/// jobfile's), `--keep`/`--keep-days` over `history.keep`/`keep_days`.
pub(crate) fn resolve(
    src: &Source,
    keys: Option<&Sp<HistoryKeys>>,
    cli: &Cli,
    base_dir: &Path,
    cwd: &Path,
) -> Result<Option<History>, Diagnostic> {
    let dir = match (&cli.history, keys) {
        (Some(d), _) => cwd.join(d),
        (None, Some(k)) => {
            let d = &k.value.dir;
            if d.value.trim().is_empty() {
                return Err(
                    Diagnostic::at(src, d.referenced, "`history.dir` is empty").help(
                        "give the directory to keep the runs in, e.g. `dir: /var/log/prun/backup`",
                    ),
                );
            }
            base_dir.join(&d.value)
        }
        (None, None) => return Ok(None),
    };
    let count = |v: Option<&Sp<i64>>, key: &str| -> Result<Option<usize>, Diagnostic> {
        match v {
            None => Ok(None),
            Some(n) if n.value >= 1 => Ok(usize::try_from(n.value).ok()),
            Some(n) => Err(Diagnostic::at(
                src,
                n.referenced,
                format!("`history.{key}` must be 1 or more, not {}", n.value),
            )
            .help("leave it out to keep every run; 1 keeps only the newest")),
        }
    };
    let k = keys.map(|k| &k.value);
    let keep = match cli.keep {
        Some(n) => Some(n),
        None => count(k.and_then(|k| k.keep.as_ref()), "keep")?,
    };
    let keep_days = match cli.keep_days {
        Some(n) => Some(n),
        None => count(k.and_then(|k| k.keep_days.as_ref()), "keep_days")?,
    };
    Ok(Some(History {
        dir,
        keep,
        keep_days,
    }))
}
