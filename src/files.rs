//! Files prun writes for the user: the joblog, `--log-dir` logs, the reports. prun often
//! runs as root from cron, in directories other users can write to, so every one of them
//! is opened so that a planted link or file cannot turn the write against another file:
//!
//! - files written in place (joblog, logs) are created with `O_EXCL`, or, when they
//!   exist, opened with `O_NOFOLLOW` and must be regular files of prun's user with a
//!   single link;
//! - reports are written whole to a new file of an unpredictable name in the target's
//!   directory (`O_EXCL`, through the `tempfile` crate) and renamed over the target, which
//!   replaces a link instead of following it;
//! - nothing is created world-writable: files get mode `FILE_MODE`, directories
//!   `DIR_MODE` (the umask may narrow both).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of the files prun creates (joblog, logs, reports, lock file).
pub(crate) const FILE_MODE: u32 = 0o644;
/// Mode of the directories prun creates (`--log-dir`).
pub(crate) const DIR_MODE: u32 = 0o755;

/// How a file written in place is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InPlace {
    /// Appended to (the joblog, a log's later attempts).
    Append,
    /// Emptied first (a log's first attempt).
    Truncate,
}

/// Opens `path` for writing in place. A new file is created with `FILE_MODE` (and
/// `O_EXCL`: it is prun's own). An existing one must be a regular file of prun's user with
/// no other hard links: a symbolic link, a FIFO, a hard link to another file and a file
/// another user planted (which would let them read what prun writes) are refused.
pub(crate) fn open_in_place(path: &Path, how: InPlace) -> io::Result<File> {
    let open = |create: bool| {
        let mut opts = OpenOptions::new();
        // Appending reads too: the joblog looks at its last byte (a line cut short).
        opts.write(true)
            .read(how == InPlace::Append)
            .append(how == InPlace::Append)
            .create_new(create)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        opts.open(path)
    };
    match open(true) {
        Ok(file) => return Ok(file),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(explain_open(path, e)),
    }
    let file = open(false).map_err(|e| explain_open(path, e))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused(path, "is not a regular file"));
    }
    if meta.nlink() > 1 {
        return Err(refused(
            path,
            "has other hard links (prun would write into a file that is also elsewhere)",
        ));
    }
    owned(path, &meta, "; prun writes only into its own files")?;
    if how == InPlace::Truncate {
        file.set_len(0)?;
    }
    Ok(file)
}

/// Writes `path` whole, or not at all: `fill` writes into a new file of an unpredictable
/// name in the same directory, which is synced, then renamed over `path`. Readers never see
/// half a report, a report is streamed rather than held whole, and a link planted at `path`
/// (or at any guessable temporary name) is replaced, not followed.
pub(crate) fn write_atomically(
    path: &Path,
    fill: &mut dyn FnMut(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let mut tmp = temp_beside(path)?;
    fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Checks, before anything runs, that `write_atomically(path, ..)` can succeed: the
/// directory exists and prun may create a file there (by creating one and removing it),
/// and `path` is not a directory.
pub(crate) fn check_can_write(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory",
        ));
    }
    temp_beside(path).map(drop)
}

/// A new temporary file in `path`'s directory, named `.<name>.XXXXXX.tmp`.
fn temp_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(FILE_MODE))
        .tempfile_in(dir)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                io::Error::new(
                    e.kind(),
                    format!("the directory {} does not exist", dir.display()),
                )
            } else {
                e
            }
        })
}

/// Creates directory `dir` (and its parents) with `DIR_MODE`.
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Opens `path` to read it only when it is a regular file: `O_NONBLOCK`, so a FIFO
/// planted there cannot hang prun in `open`, then `fstat`, so neither a FIFO nor a device
/// (a link to `/dev/zero`) is read. `follow`: whether a symbolic link is followed (a
/// source may be a link to a file; prun's own files never are links).
pub(crate) fn open_regular(path: &Path, follow: bool) -> io::Result<File> {
    let flags = libc::O_NONBLOCK | if follow { 0 } else { libc::O_NOFOLLOW };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) if !follow => refused(
                path,
                "is a symbolic link; prun reads its own files only by their own path",
            ),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(refused(
            path,
            "is not a regular file (a FIFO, a device or a socket): prun reads only files there",
        ));
    }
    Ok(file)
}

/// The whole of `path`, a regular file of at most `cap` bytes (`open_regular`, links not
/// followed): a file past the cap is refused, saying so, before it fills memory.
pub(crate) fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_regular(path, false)?;
    let mut out = Vec::new();
    file.take(cap + 1).read_to_end(&mut out)?;
    if out.len() as u64 > cap {
        return Err(refused(
            path,
            &format!(
                "is larger than prun reads there ({} MiB at most)",
                cap >> 20
            ),
        ));
    }
    Ok(out)
}

/// Checks that `dir`, where prun keeps what it trusts on a later run (up-to-date state, a
/// history), is its own: not there yet (prun makes it, 0755), or a real directory (not a
/// link) of prun's user that no other user may write. Anything else is refused, saying
/// what and how to fix it: another user could plant state, forge runs, or point prun's
/// writes elsewhere.
pub(crate) fn check_own_dir(dir: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    if meta.file_type().is_symlink() {
        return Err(refused(
            dir,
            "is a symbolic link; prun keeps its state only in a directory of its own (a link planted there could point it anywhere): remove the link, or give another directory",
        ));
    }
    if !meta.is_dir() {
        return Err(refused(dir, "is not a directory"));
    }
    owned(
        dir,
        &meta,
        ", who could plant what prun would trust: give a directory of your own",
    )?;
    if meta.mode() & 0o022 != 0 {
        return Err(refused(
            dir,
            &format!(
                "can be written by other users (mode {:04o}), who could plant what prun would trust: `chmod go-w` it, or give another directory",
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

/// Mode of a lock file prun creates: no other user may open it, so none can hold it.
pub(crate) const LOCK_MODE: u32 = 0o600;

/// Opens (creating it if missing) a lock file prun flocks (`--lock`, a history's):
/// read-only, never through a link, only a regular file of prun's own user. Another
/// user's file is refused (they could hold the lock and hang prun); one of prun's own
/// that others may read (an older prun made it 0644) is narrowed to 0600 first.
pub(crate) fn open_lock(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .mode(LOCK_MODE)
        .custom_flags(libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // A link or a FIFO: prun's refusal, in its words; else the system's error.
            Some(libc::ELOOP | libc::ENXIO) => explain_open(path, e),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused(path, "is not a regular file"));
    }
    owned(
        path,
        &meta,
        ", who could hold the lock and keep prun waiting: remove it, or give a lock path in a directory only you can write",
    )?;
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(LOCK_MODE))?;
    }
    Ok(file)
}

/// Refused unless `meta` (of `path`) is prun's own user's: "belongs to another user (uid
/// N)" and `then`, what that user could do and how to fix it.
fn owned(path: &Path, meta: &std::fs::Metadata, then: &str) -> io::Result<()> {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() == me {
        return Ok(());
    }
    let why = format!("belongs to another user (uid {}){then}", meta.uid());
    Err(refused(path, &why))
}

/// The error for a file prun will not write: not allowed, by prun's rules.
fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{} {why}", path.display()),
    )
}

/// Names the common refusals of `open` in prun's words.
fn explain_open(path: &Path, e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) => refused(
            path,
            "is a symbolic link; prun does not write through links (a link could point it at any file): give the file's own path",
        ),
        Some(libc::ENXIO) => refused(path, "is not a regular file"),
        _ => io::Error::new(e.kind(), format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn links_and_shared_files_are_refused_and_nothing_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(open_in_place(&link, InPlace::Append).is_err());
        assert!(open_in_place(&link, InPlace::Truncate).is_err());
        let hard = dir.path().join("hard");
        std::fs::hard_link(&victim, &hard).unwrap();
        assert!(open_in_place(&hard, InPlace::Truncate).is_err());
        // A report written over a link replaces the link.
        write_atomically(&link, &mut |f| f.write_all(b"report")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "report");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }

    #[test]
    fn a_file_another_user_planted_is_refused() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            // As tests/util/facility.rs does for the integration tests.
            let required = std::env::var("PRUN_REQUIRE").unwrap_or_default();
            assert!(
                required != "all" && !required.contains("root"),
                "needs root, to give a file to another user (PRUN_REQUIRE={required})"
            );
            eprintln!("SKIPPED: needs root, to give a file to another user");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let planted = dir.path().join("a.log");
        std::fs::write(&planted, "").unwrap();
        std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
        for how in [InPlace::Append, InPlace::Truncate] {
            let e = open_in_place(&planted, how).unwrap_err();
            assert!(e.to_string().contains("another user"), "{e}");
        }
    }

    #[test]
    fn files_are_created_with_the_documented_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.json");
        write_atomically(&f, &mut |f| f.write_all(b"{}")).unwrap();
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !FILE_MODE, 0, "{mode:o}");
        let l = dir.path().join("a.log");
        drop(open_in_place(&l, InPlace::Truncate).unwrap());
        let mode = std::fs::metadata(&l).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !FILE_MODE, 0, "{mode:o}");
    }
}
