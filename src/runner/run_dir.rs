//! The run's files for `PRUN_OUTPUT` and `PRUN_NEEDS`: where they go, how they are
//! named, and who removes them.

use std::path::{Path, PathBuf};

use crate::executor::keeper::RunFiles;

/// Where a run's `PRUN_OUTPUT` and `PRUN_NEEDS` files go: in prun's directory for this
/// user, `$TMPDIR/prun-<uid>` (mode 0700, made once and checked at every run), named by
/// a tag of the run's own, the job number and the attempt (`4242-1a2b3c4d.12.1.out`); the
/// run's files are removed as they are read and at its end. Where that directory cannot
/// be used (another owner, other users may enter it, a link), a directory of the run's
/// own, `$TMPDIR/prun-run-XXXXXX`, removed at the end. Paths are text (they go in the
/// environment of every job), so built cheaply. A run makes no directory: `mkdir` and
/// `rmdir` on a disk's file system took a tenth of a one-job run.
pub(crate) struct RunDir {
    dir: PathBuf,
    /// In prun's directory: what the names of this run's files start with.
    tag: Option<String>,
    /// Every file's path up to its job number.
    prefix: String,
    /// The fallback, a directory of the run's own: removed on drop (`None` once that is
    /// left to the keeper, or in prun's directory).
    own: Option<tempfile::TempDir>,
    /// The `PRUN_NEEDS` files handed out, removed on drop.
    needs: std::sync::Mutex<Vec<String>>,
}

impl RunDir {
    /// The run's place in `$TMPDIR` (in `/tmp` if `$TMPDIR`'s path is not UTF-8).
    pub(crate) fn create() -> std::io::Result<RunDir> {
        let mut tmp = std::env::temp_dir();
        if tmp.to_str().is_none() {
            tmp = PathBuf::from("/tmp");
        }
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let shared = tmp.join(format!("prun-{uid}"));
        if private_dir(&shared, uid) {
            let tag = format!("{}-{:08x}", std::process::id(), random_u32());
            let prefix = format!("{}/{tag}.", shared.display());
            return Ok(RunDir {
                dir: shared,
                tag: Some(tag),
                prefix,
                own: None,
                needs: std::sync::Mutex::default(),
            });
        }
        let own = tempfile::Builder::new()
            .prefix("prun-run-")
            .tempdir_in(&tmp)?;
        let prefix = format!("{}/", own.path().display());
        Ok(RunDir {
            dir: own.path().to_path_buf(),
            tag: None,
            prefix,
            own: Some(own),
            needs: std::sync::Mutex::default(),
        })
    }

    /// What the keeper removes if prun dies before it has.
    pub(crate) fn files(&self) -> RunFiles<'_> {
        match &self.tag {
            Some(tag) => RunFiles::Tagged {
                dir: &self.dir,
                tag,
            },
            None => RunFiles::Own(&self.dir),
        }
    }

    /// The keeper removes the run's own directory once prun is gone: prun does not.
    pub(crate) fn leave_to_keeper(&mut self) {
        if let Some(dir) = self.own.take() {
            let _ = dir.keep();
        }
    }

    /// Where attempt `attempt` of job `job` writes its outputs.
    pub(crate) fn output_file(&self, job: usize, attempt: u32) -> String {
        self.file(job, attempt, "out")
    }

    /// Where job `job` finds its needs' results (`PRUN_NEEDS`), to be written now.
    pub(crate) fn needs_file(&self, job: usize) -> String {
        let path = self.file(job, 0, "needs.json");
        self.needs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.clone());
        path
    }

    fn file(&self, job: usize, attempt: u32, ext: &str) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(self.prefix.len() + 32);
        s.push_str(&self.prefix);
        let _ = write!(s, "{job}.{attempt}.{ext}");
        s
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let needs = self.needs.get_mut().unwrap_or_else(|e| e.into_inner());
        for path in needs.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether `dir` is (now) a directory that only `uid` may use: made if missing, and
/// then a directory itself (not a link), owned by `uid`, closed to group and others.
fn private_dir(dir: &Path, uid: u32) -> bool {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    std::fs::symlink_metadata(dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == uid && m.mode() & 0o077 == 0)
}

/// 32 random bits, for the run's tag (`getrandom`; the time if that fails).
fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    // SAFETY: getrandom writes at most 4 bytes into the buffer.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 4, libc::GRND_NONBLOCK) };
    if n == 4 {
        u32::from_ne_bytes(b)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_directory_of_ones_own_closed_to_others_is_used() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let made = tmp.path().join("made");
        assert!(private_dir(&made, uid), "it is made, 0700");
        assert_eq!(
            std::fs::metadata(&made).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(private_dir(&made, uid), "and found again");
        assert!(!private_dir(&made, uid + 1), "another user's");
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!private_dir(&open, uid), "others may enter it");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&made, &link).unwrap();
        assert!(!private_dir(&link, uid), "a link, even to a good one");
    }

    #[test]
    fn files_are_named_by_run_job_and_attempt() {
        let tmp = tempfile::tempdir().unwrap();
        let _ = std::fs::remove_dir(tmp.path());
        let d = RunDir {
            dir: tmp.path().to_path_buf(),
            tag: Some("42-00ff".into()),
            prefix: format!("{}/42-00ff.", tmp.path().display()),
            own: None,
            needs: std::sync::Mutex::default(),
        };
        assert_eq!(
            d.output_file(3, 2),
            format!("{}/42-00ff.3.2.out", tmp.path().display())
        );
        assert!(d.needs_file(3).ends_with("/42-00ff.3.0.needs.json"));
        assert!(matches!(d.files(), RunFiles::Tagged { tag: "42-00ff", .. }));
    }
}
