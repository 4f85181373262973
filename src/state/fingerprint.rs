//! Fingerprints on disk and off it: a job's sources found (its `sources` globs, by the
//! dynamic matrix's glob rules; a directory stands for every file under it) and hashed
//! (BLAKE3, each file read once, on a few threads), its `generates` looked for, and the
//! fingerprint saved after a success: one file per job in the state dir, named like its
//! log file, written whole or not at all ([`files::write_atomically`](crate::files::write_atomically): a planted link is
//! replaced, not followed; two runs at once never leave a torn file).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::files;
use crate::outcome::fingerprint::{Fingerprint, STATE_FORMAT, Saved, Verdict};
use crate::plan::uptodate::UpToDate;
use crate::plan::{JobSpec, Plan, matrix};

/// `globs` for the expansion `spec` of a matrix job: each `${{ matrix.KEY }}` is its
/// value, escaped (a value is a name, never a pattern). Other text is left as it is.
pub(crate) fn globs_for(spec: &JobSpec, globs: &[String]) -> Vec<String> {
    globs
        .iter()
        .map(|g| {
            let mut out = g.clone();
            for (k, v) in spec.matrix.iter() {
                for form in [
                    format!("${{{{ matrix.{k} }}}}"),
                    format!("${{{{matrix.{k}}}}}"),
                ] {
                    out = out.replace(&form, &::glob::Pattern::escape(v));
                }
            }
            out
        })
        .collect()
}

/// The source files of a job, relative to its workdir, sorted; or the first glob that
/// matched nothing.
pub(crate) fn sources(
    workdir: &Path,
    globs: &[String],
) -> Result<(Vec<String>, Option<String>), String> {
    let mut files = Vec::new();
    let mut empty = None;
    for g in globs {
        let found = matrix::glob(workdir, g)?;
        if found.is_empty() && empty.is_none() {
            empty = Some(g.clone());
        }
        for rel in found {
            walk(workdir, rel, &mut files)?;
        }
    }
    files.sort_unstable();
    files.dedup();
    Ok((files, empty))
}

/// `rel` if it is a file (or a link to one), else every file under it. Links to
/// directories are not followed (a loop would never end).
fn walk(workdir: &Path, rel: String, out: &mut Vec<String>) -> Result<(), String> {
    let full = workdir.join(&rel);
    let meta = std::fs::symlink_metadata(&full).map_err(|e| format!("{rel}: {e}"))?;
    if !meta.is_dir() {
        if meta.file_type().is_symlink() && full.is_dir() {
            return Ok(());
        }
        out.push(rel);
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(&full)
        .map_err(|e| format!("{rel}: {e}"))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            return Err(format!("{rel}: a name that is not valid UTF-8"));
        };
        walk(workdir, format!("{rel}/{name}"), out)?;
    }
    Ok(())
}

/// How many threads hash files: enough to keep a disk and two cores busy.
const HASHERS: usize = 4;

/// Each file's BLAKE3 hash, in hex. Files are shared out to a few threads, each reading
/// its files once, through one buffer.
pub(crate) fn hash_all(
    workdir: &Path,
    files: &[String],
) -> Result<BTreeMap<String, String>, String> {
    let threads = HASHERS.min(files.len().div_ceil(64)).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<Vec<(usize, String)>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut buf = vec![0u8; 256 * 1024];
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(rel) = files.get(i) else {
                            return Ok(mine);
                        };
                        let h = hash_file(&workdir.join(rel), &mut buf)
                            .map_err(|e| format!("{rel}: {e}"))?;
                        mine.push((i, h));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a hashing thread failed".into()))
            })
            .collect()
    });
    let mut out = BTreeMap::new();
    for r in results {
        for (i, h) in r? {
            out.insert(files[i].clone(), h);
        }
    }
    Ok(out)
}

fn hash_file(path: &Path, buf: &mut [u8]) -> io::Result<String> {
    // A FIFO or a device among the sources would hang prun or be read forever.
    let mut f = files::open_regular(path, true)?;
    let mut h = blake3::Hasher::new();
    loop {
        let n = f.read(buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_hex().to_string())
}

/// The fingerprint of `spec`, whose own environment (prun's per-run variables aside:
/// [`runner::env::own`](crate::runner::env::own)) is `env`, made from `sources`: run text, shell, workdir, env and
/// matrix values.
pub(crate) fn fingerprint(
    plan: &Plan,
    spec: &JobSpec,
    env: &[(String, String)],
    sources: BTreeMap<String, String>,
) -> Fingerprint {
    let shell = format!(
        "{} {}",
        plan.shell.program.display(),
        plan.shell.args.join(" ")
    );
    Fingerprint {
        run: hash_text(&spec.run),
        shell: hash_text(&shell),
        // Canonical: `prun u.yaml`, `prun $PWD/u.yaml` and `cd sub && prun ../u.yaml` are
        // one workdir.
        workdir: std::fs::canonicalize(&spec.workdir)
            .unwrap_or_else(|_| spec.workdir.to_path_buf())
            .display()
            .to_string(),
        env: (env.iter())
            .map(|(k, v)| (k.clone(), hash_text(v)))
            .collect(),
        matrix: (spec.matrix.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        sources,
    }
}

/// What `--dry-run` says of `spec`, which has `u`: "would skip: up to date: …" or
/// "would run: REASON", found without running anything or writing anything.
pub(crate) fn preview(plan: &Plan, spec: &JobSpec, u: &UpToDate) -> String {
    if plan.force.covers(&spec.name, spec.base()) {
        return "would run: --force".to_owned();
    }
    if !spec.opts.templates.is_empty() && !u.sources.is_empty() {
        return "decided when it starts: its env uses outputs of the jobs it needs".to_owned();
    }
    let mut now = None;
    let mut empty = None;
    if !u.sources.is_empty() {
        match sources(&spec.workdir, &globs_for(spec, &u.sources))
            .and_then(|(f, e)| Ok((hash_all(&spec.workdir, &f)?, e)))
        {
            Ok((s, e)) => {
                empty = e;
                let mut env = spec.env.to_vec();
                env.extend(
                    spec.matrix
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string())),
                );
                now = Some(fingerprint(plan, spec, &env, s));
            }
            Err(why) => return format!("would run: its sources cannot be read ({why})"),
        }
    }
    let saved = match now {
        Some(_) => load(&path(&plan.state_dir, &spec.name), &spec.name),
        None => Ok(None),
    };
    let verdict = crate::schedule::uptodate::verdict(crate::schedule::uptodate::Found {
        forced: false,
        now: now.as_ref(),
        empty_glob: empty.as_deref(),
        saved: saved.as_ref().map(Option::as_ref).map_err(Clone::clone),
        missing: missing(&spec.workdir, &globs_for(spec, &u.generates)),
        status_failed: None,
    });
    match verdict {
        Verdict::UpToDate { .. } if !u.status.is_empty() => {
            "decided when it starts: by its status commands (--dry-run runs none)".to_owned()
        }
        Verdict::UpToDate { .. } => format!("would skip: {}", verdict.words()),
        Verdict::Stale(why) => format!("would run: {why}"),
    }
}

/// A hash of `text`, in hex (env values and run text are kept only so).
pub(crate) fn hash_text(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// The first `generates` glob that matches no existing path.
pub(crate) fn missing<'a>(workdir: &Path, generates: &'a [String]) -> Option<&'a str> {
    (generates.iter())
        .find(|g| matrix::glob(workdir, g).map_or(true, |found| found.is_empty()))
        .map(String::as_str)
}

/// The state file of job `name` in `dir`.
pub(crate) fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{}.json", job_file_name(name)))
}

/// The file name (without extension) of job `name`'s log or state file: its name made a
/// file name ([`names::file_name`](crate::names::file_name)); a name that holds a secret (a matrix value made from
/// one) is masked, with a hash of the whole after it, so the file is still its alone and
/// found again on the next run, and its name shows no secret.
pub(crate) fn job_file_name(name: &str) -> String {
    match crate::mask::current().text(name) {
        std::borrow::Cow::Borrowed(_) => crate::names::file_name(name),
        std::borrow::Cow::Owned(masked) => {
            let hash = blake3::hash(name.as_bytes()).to_hex();
            crate::names::file_name(&format!("{masked}~{}", &hash[..16]))
        }
    }
}

/// The most a state file may be: a fingerprint of tens of thousands of sources and a
/// job's outputs (at most 1 MiB) fit many times over.
const STATE_CAP: u64 = 64 << 20;

/// The fingerprint saved for job `name` at `path`: none yet, or why it cannot be used
/// (unreadable, not prun's, another job's). Never an error that stops anything.
pub(crate) fn load(path: &Path, name: &str) -> Result<Option<Saved>, String> {
    if let Some(dir) = path.parent() {
        files::check_own_dir(dir).map_err(|e| e.to_string())?;
    }
    let text = match files::read_capped(path, STATE_CAP) {
        Ok(t) => String::from_utf8_lossy(&t).into_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error().is_none() => return Err(e.to_string()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let saved: Saved = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a prun state file: {e}", path.display()))?;
    if saved.prun_state != STATE_FORMAT {
        return Err(format!(
            "{} has state format {}, not {STATE_FORMAT}",
            path.display(),
            saved.prun_state
        ));
    }
    if saved.job != name {
        return Err(format!(
            "{} is job '{}'s, not this one's",
            path.display(),
            saved.job
        ));
    }
    Ok(Some(saved))
}

/// Saves `fingerprint` and `outputs` as job `name`'s, at `path` (its directory made
/// if it is not there).
pub(crate) fn save(
    path: &Path,
    name: &str,
    fingerprint: Fingerprint,
    outputs: &[(String, String)],
) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        files::check_own_dir(dir)?;
        files::create_dir(dir)?;
    }
    let saved = Saved {
        prun_state: STATE_FORMAT,
        job: name.to_owned(),
        saved: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        fingerprint,
        outputs: outputs.to_vec(),
    };
    files::write_atomically(path, &mut |f| {
        serde_json::to_writer_pretty(&mut *f, &saved).map_err(io::Error::other)?;
        io::Write::write_all(f, b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_walk_directories_and_hash_each_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("src/sub")).unwrap();
        std::fs::write(d.path().join("src/a.rs"), "a").unwrap();
        std::fs::write(d.path().join("src/sub/b.rs"), "b").unwrap();
        std::fs::write(d.path().join("Cargo.lock"), "x").unwrap();
        let (files, empty) = sources(
            d.path(),
            &["src".into(), "Cargo.lock".into(), "none/*".into()],
        )
        .unwrap();
        assert_eq!(files, ["Cargo.lock", "src/a.rs", "src/sub/b.rs"]);
        assert_eq!(empty.as_deref(), Some("none/*"));
        let h = hash_all(d.path(), &files).unwrap();
        assert_eq!(h["src/a.rs"], blake3::hash(b"a").to_hex().to_string());
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn a_saved_fingerprint_reads_back_and_a_foreign_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), "build[x=1]");
        assert_eq!(load(&p, "build[x=1]"), Ok(None));
        save(
            &p,
            "build[x=1]",
            Fingerprint::default(),
            &[("k".into(), "v".into())],
        )
        .unwrap();
        let s = load(&p, "build[x=1]").unwrap().unwrap();
        assert_eq!(s.outputs, [("k".to_owned(), "v".to_owned())]);
        assert!(load(&p, "other").unwrap_err().contains("not this one's"));
        std::fs::write(&p, "{garbage").unwrap();
        assert!(
            load(&p, "build[x=1]")
                .unwrap_err()
                .contains("not a prun state file")
        );
    }
}
