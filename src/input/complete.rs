//! What the shell offers on Tab (clap's dynamic completion: `prun --completions bash`
//! prints a few lines that ask `prun` itself, with `PRUN_COMPLETE` set, each time): for
//! the jobfile, `*.yaml` and `*.yml` files and directories (not every file, and no `help`
//! word); after `--job` and `--force=`, the names of the jobs in the jobfile already on the
//! command line; after `--tag`, their tags. The jobfile is read as for a run; one that
//! cannot be read or parsed offers nothing.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};

use super::jobfile::{JobEntry, JobField};

/// Jobfiles and directories.
pub(crate) fn jobfiles(current: &OsStr) -> Vec<CompletionCandidate> {
    PathCompleter::file()
        .filter(|p| {
            p.is_dir() || matches!(p.extension().and_then(OsStr::to_str), Some("yaml" | "yml"))
        })
        .complete(current)
}

/// The names of the jobfile's jobs.
pub(crate) fn job_names(current: &OsStr) -> Vec<CompletionCandidate> {
    offer(current, |f, out| {
        if let JobField::Name(n) = f {
            out.push(n.value.clone());
        }
    })
}

/// The tags of the jobfile's jobs.
pub(crate) fn tags(current: &OsStr) -> Vec<CompletionCandidate> {
    offer(current, |f, out| {
        if let JobField::Tags(t) = f {
            out.extend(t.value.iter().cloned());
        }
    })
}

/// What `pick` takes from the keys of the jobfile's jobs, those that start with
/// `current`, each once, in jobfile order.
fn offer(current: &OsStr, pick: fn(&JobField, &mut Vec<String>)) -> Vec<CompletionCandidate> {
    let Some(path) = jobfile_in(std::env::args_os()) else {
        return Vec::new();
    };
    let Ok(src) = super::source::read(&path) else {
        return Vec::new();
    };
    let Ok(jf) = super::jobfile::parse(&src) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in &jf.jobs.value {
        if let JobEntry::Full(fields) = &entry.value {
            fields.iter().for_each(|f| pick(f, &mut found));
        }
    }
    let current = current.to_string_lossy();
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|v| v.starts_with(&*current) && seen.insert(v.clone()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The jobfile among the words being completed (`prun -- prun jobs.yaml --job …`, as the
/// shell's script calls prun): the first word after the command's own name that is a
/// `.yaml`/`.yml` file, else the first that is a file and no option.
fn jobfile_in(args: impl Iterator<Item = OsString>) -> Option<String> {
    let words: Vec<String> = args
        .skip_while(|a| a != "--")
        .skip(2)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let file = |w: &&String| !w.starts_with('-') && Path::new(w.as_str()).is_file();
    let yaml = |w: &&String| w.ends_with(".yaml") || w.ends_with(".yml");
    let found = words.iter().filter(file).find(yaml);
    found.or_else(|| words.iter().find(file)).cloned()
}

#[cfg(test)]
mod tests {
    use super::jobfile_in;

    #[test]
    fn the_jobfile_is_found_among_the_words() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = dir.path().join("jobs.yaml");
        std::fs::write(&jobs, "jobs: [x]\n").unwrap();
        let other = dir.path().join("report.json");
        std::fs::write(&other, "").unwrap();
        let words = |w: &[&str]| {
            w.iter()
                .map(|s| s.into())
                .collect::<Vec<std::ffi::OsString>>()
        };
        let (j, o) = (jobs.to_str().unwrap(), other.to_str().unwrap());
        let got =
            jobfile_in(words(&["prun", "--", "prun", "--report", o, j, "--job", ""]).into_iter());
        assert_eq!(got.as_deref(), Some(j));
        let got = jobfile_in(words(&["prun", "--", "prun", "-j", "2", "--tag", ""]).into_iter());
        assert_eq!(got, None);
    }
}
