//! The cron overlap lock (`--lock FILE`, `lock:`): an advisory `flock` on FILE held for the
//! whole run. A second run finds it held and exits 75 at once, or waits `--lock-wait`.
//! The kernel drops the lock when prun's descriptor closes, on every exit path including
//! SIGKILL, so it is never left stale.
//!
//! Like `flock(1)`, prun never writes to the lock file: it is opened read-only, created
//! (mode 0600: no other user can open it, so none can hold it) if missing, never
//! truncated, never through a symbolic link (a planted link cannot make root's prun touch
//! another file), and refused when it belongs to another user ([`files::open_lock`](crate::files::open_lock)). Who holds the
//! lock is read from the kernel (`/proc/locks`), not from the file: the message names the
//! holder's pid, program and start time, and is never half-written.

use std::fs::{File, TryLockError};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use crate::exit;

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(100);

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another prun run holds the lock {path}{holder}{waited}; nothing was run. Use --lock-wait DUR to wait for it"
    )]
    Held {
        path: String,
        /// ` (held by pid 4242 (prun) since ...)`, when the kernel says.
        holder: String,
        /// ` after waiting 10s`, with `--lock-wait`.
        waited: String,
    },
    #[error("cannot use the lock file: {why}")]
    Refused { why: String },
    #[error(
        "cannot open the lock file {path}: {source}; give a path in a directory that exists and is writable"
    )]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: String,
        #[source]
        source: io::Error,
    },
}

impl LockError {
    pub(crate) fn prun_exit(&self) -> u8 {
        match self {
            LockError::Held { .. } => exit::LOCK_HELD,
            LockError::Refused { .. } => exit::USAGE,
            LockError::Open { source, .. } => exit::for_io(source),
            LockError::Lock { .. } => exit::FAILURE,
        }
    }
}

impl Lock {
    /// Takes the lock on `path`, waiting up to `wait` for another run to release it.
    pub(crate) fn acquire(path: &Path, wait: Option<Duration>) -> Result<Lock, LockError> {
        let file = open(path)?;
        let deadline = wait.map(|w| crate::times::after(Instant::now(), w));
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(TryLockError::WouldBlock) => {
                    if deadline.is_some_and(|d| Instant::now() < d) {
                        std::thread::sleep(POLL);
                        continue;
                    }
                    return Err(held(path, &file, wait));
                }
                Err(TryLockError::Error(source)) => {
                    let path = path.display().to_string();
                    return Err(LockError::Lock { path, source });
                }
            }
        }
    }
}

/// Opens (or creates) the lock file ([`files::open_lock`](crate::files::open_lock): read-only, mode 0600, never
/// through a link, only a regular file of prun's own user).
fn open(path: &Path) -> Result<File, LockError> {
    crate::files::open_lock(path).map_err(|source| {
        let path = path.display().to_string();
        match source.raw_os_error() {
            // prun's own refusal: the error says what and how to fix it.
            None => LockError::Refused {
                why: source.to_string(),
            },
            Some(_) => LockError::Open { path, source },
        }
    })
}

fn held(path: &Path, file: &File, wait: Option<Duration>) -> LockError {
    LockError::Held {
        path: path.display().to_string(),
        holder: file
            .metadata()
            .ok()
            .and_then(|m| holder(m.dev(), m.ino()))
            .map(|h| format!(" (held by {h})"))
            .unwrap_or_default(),
        waited: match wait {
            Some(w) => format!(" after waiting {}", humantime::format_duration(w)),
            None => String::new(),
        },
    }
}

/// Who holds the flock on the file `dev`/`ino`, from `/proc/locks`: `pid 4242 (prun)
/// since 2026-11-29T02:00:00Z`.
fn holder(dev: u64, ino: u64) -> Option<String> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let pid = holder_pid(&locks, libc::major(dev), libc::minor(dev), ino)?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let mut who = format!("pid {pid}");
    if !comm.trim().is_empty() {
        who.push_str(&format!(" ({})", crate::names::printable(comm.trim())));
    }
    if let Some(t) = started(pid) {
        who.push_str(&format!(" since {}", humantime::format_rfc3339_seconds(t)));
    }
    Some(who)
}

/// The pid of the FLOCK holder of `major:minor:ino` in `/proc/locks` text.
fn holder_pid(locks: &str, major: u32, minor: u32, ino: u64) -> Option<u32> {
    let want = format!("{major:02x}:{minor:02x}:{ino}");
    locks.lines().find_map(|line| {
        // `1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF`; waiters have `->`.
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.get(1) == Some(&"FLOCK") && f.get(5) == Some(&want.as_str()))
            .then(|| f.get(4)?.parse().ok())
            .flatten()
    })
}

/// When process `pid` started (field 22 of /proc/PID/stat, after boot time).
fn started(pid: u32) -> Option<SystemTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let ticks: u64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(boot)
            + Duration::from_millis(ticks * 1000 / hz),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_holder_of_a_flock() {
        let locks = "1: POSIX  ADVISORY  WRITE 11 fe:00:77 0 EOF\n2: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF\n2: -> FLOCK  ADVISORY  WRITE 99 fe:00:1234 0 EOF\n";
        assert_eq!(holder_pid(locks, 0xfe, 0, 1234), Some(4242));
        assert_eq!(holder_pid(locks, 0xfe, 0, 77), None);
        assert!(started(std::process::id()).is_some());
    }
}
