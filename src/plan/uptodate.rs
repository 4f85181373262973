//! Up-to-date jobs (`sources:`, `generates:`, `status:`): what a job's fingerprint is made
//! of and where fingerprints are kept (`state_dir`), validated here; `--force`. Whether a
//! job is up to date is decided when it would start ([`schedule::uptodate`](crate::schedule::uptodate)), from what
//! its worker finds ([`state::fingerprint`](crate::state::fingerprint)).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::input::diagnostic::{Diagnostic, Pos, Source, did_you_mean};
use crate::input::jobfile::{JobKeys, Sp};

/// How a job is known to have nothing new to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpToDate {
    /// Globs (relative to its workdir) of the files its work is made from; a directory
    /// stands for every file under it.
    pub(crate) sources: Vec<String>,
    /// Globs of what it makes: each must match an existing path.
    pub(crate) generates: Vec<String>,
    /// Commands run by prun, in the job's env and workdir: all exit 0 = up to date.
    pub(crate) status: Vec<String>,
}

impl UpToDate {
    /// The globs of `sources` and `generates` that leave the workdir (`..`), for
    /// `--dry-run` to show.
    pub(crate) fn escaping(&self) -> Vec<&str> {
        (self.sources.iter().chain(&self.generates))
            .filter(|g| {
                Path::new(g.as_str())
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
            })
            .map(String::as_str)
            .collect()
    }
}

/// The `sources`, `generates` and `status` of job `name`, its own or else the default's.
/// `None` when it has none of them.
pub(crate) fn resolve(
    src: &Source,
    keys: &JobKeys,
    defaults: &JobKeys,
    name: &str,
) -> Result<Option<Arc<UpToDate>>, Diagnostic> {
    let is_service = keys.service.as_ref().is_some_and(|s| s.value);
    if is_service {
        // Its own keys are an error; the defaults' do not apply to services.
        if let Some(at) = [
            keys.sources.as_ref().map(|s| s.referenced),
            keys.generates.as_ref().map(|s| s.referenced),
            keys.status.as_ref().map(|s| s.referenced),
        ]
        .into_iter()
        .flatten()
        .next()
        {
            return Err(Diagnostic::at(
                src,
                at,
                format!("service '{name}' has `sources`, `generates` or `status`: a service is never up to date"),
            )
            .help("put them on the jobs that build what the service serves (a default of them does not apply to services)"));
        }
        return Ok(None);
    }
    let sources = keys.sources.as_ref().or(defaults.sources.as_ref());
    let generates = keys.generates.as_ref().or(defaults.generates.as_ref());
    let status = keys.status.as_ref().or(defaults.status.as_ref());
    if sources.is_none() && status.is_none() {
        if let Some(g) = generates {
            return Err(Diagnostic::at(
                src,
                g.referenced,
                format!("job '{name}' has `generates:` but no `sources:` or `status:`"),
            )
            .help("add `sources:` (what it is made from) or `status:` (a command that exits 0 when it is up to date)"));
        }
        return Ok(None);
    }
    let globs = |g: Option<&Sp<crate::input::jobfile::Globs>>, key: &str| {
        let Some(g) = g else {
            return Ok(Vec::new());
        };
        if g.value.0.is_empty() {
            return Err(Diagnostic::at(
                src,
                g.referenced,
                format!("job '{name}': `{key}:` is empty"),
            )
            .help(format!(
                "give at least one glob, e.g. `{key}: [\"src/**/*.rs\"]`, or remove `{key}:`"
            )));
        }
        for pattern in &g.value.0 {
            check_glob(src, g.referenced, name, key, pattern)?;
        }
        Ok(g.value.0.clone())
    };
    let sources = globs(sources, "sources")?;
    let generates = globs(generates, "generates")?;
    let status = match status {
        Some(s) => {
            if s.value.0.is_empty() || s.value.0.iter().any(|c| c.trim().is_empty()) {
                return Err(Diagnostic::at(src, s.referenced, format!("job '{name}': `status:` has an empty command"))
                    .help("give a command that exits 0 when the job has nothing to do, e.g. `status: test -f target/app`"));
            }
            s.value.0.clone()
        }
        None => Vec::new(),
    };
    Ok(Some(Arc::new(UpToDate {
        sources,
        generates,
        status,
    })))
}

fn check_glob(
    src: &Source,
    at: Pos,
    name: &str,
    key: &str,
    pattern: &str,
) -> Result<(), Diagnostic> {
    let why = if pattern.is_empty() {
        Some("an empty glob".to_owned())
    } else if Path::new(pattern).is_absolute() {
        Some("an absolute path (globs are relative to the job's workdir)".to_owned())
    } else {
        ::glob::Pattern::new(pattern).err().map(|e| e.to_string())
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Diagnostic::at(
            src,
            at,
            format!("job '{name}': `{key}:` glob '{pattern}': {why}"),
        )
        .help(
            "write a glob relative to the job's workdir, e.g. `src/**/*.rs` (`**` is any depth)",
        )),
    }
}

/// `--force`: which jobs run even when up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Force {
    #[default]
    None,
    All,
    /// These names (a matrix job's base name covers all its expansions).
    Jobs(Vec<String>),
}

impl Force {
    /// From the command line: `--force` (all) and `--force=NAME`, each name checked
    /// against the jobs.
    /// `jobs` are the names and base names of the jobs.
    pub(crate) fn resolve(asked: &[String], jobs: &[(&str, &str)]) -> Result<Force, Diagnostic> {
        if asked.is_empty() {
            return Ok(Force::None);
        }
        if asked.iter().any(String::is_empty) {
            return Ok(Force::All);
        }
        for name in asked {
            if !jobs.iter().any(|&(n, b)| n == name || b == name) {
                let all: Vec<&str> = jobs.iter().map(|&(_, b)| b).collect();
                let mut msg = format!("no job is named '{name}'");
                if let Some(best) = did_you_mean(name, &all) {
                    msg.push_str(&format!(" (did you mean '{best}'?)"));
                }
                return Err(Diagnostic::file("--force", msg)
                    .help("give the name of a job in the jobfile (--dry-run lists them), or `--force` alone for every job"));
            }
        }
        Ok(Force::Jobs(asked.to_vec()))
    }

    /// Whether the job named `name` (of base name `base`) is forced to run.
    pub(crate) fn covers(&self, name: &str, base: &str) -> bool {
        match self {
            Force::None => false,
            Force::All => true,
            Force::Jobs(names) => names.iter().any(|n| n == name || n == base),
        }
    }
}

/// Where fingerprints are kept: `--state-dir` (from the current directory), else the
/// jobfile's `state_dir:` (from the jobfile's directory), else `.prun` beside the jobfile.
pub(crate) fn state_dir(
    cli: Option<&Path>,
    written: Option<&Sp<String>>,
    cwd: &Path,
    base_dir: &Path,
) -> PathBuf {
    match (cli, written) {
        (Some(d), _) => cwd.join(d),
        (None, Some(w)) => base_dir.join(&w.value),
        (None, None) => base_dir.join(".prun"),
    }
}
