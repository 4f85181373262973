//! The cron overlap lock (`--lock FILE`, `lock:`): an advisory `flock` on FILE held for the
//! whole run. A second run finds it held and exits 75 at once, or waits `--lock-wait`.
//! The kernel drops the lock when prun's descriptor closes, on every exit path including
//! SIGKILL, so it is never left stale. FILE records who holds it, for the message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::Error;

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(100);

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock on `path`, waiting up to `wait` for another run to release it.
    pub(crate) fn acquire(path: &Path, wait: Option<Duration>) -> Result<Lock, Error> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                Error::Usage(format!(
                    "cannot open the lock file {}: {e}; give a path in a directory that exists and is writable",
                    path.display()
                ))
            })?;
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if deadline.is_some_and(|d| Instant::now() < d) {
                        std::thread::sleep(POLL);
                        continue;
                    }
                    return Err(held(path, &mut file, wait));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(format!("locking {}", path.display()), e));
                }
            }
        }
        let stamp = crate::report::json::timestamp(SystemTime::now());
        let _ = file.set_len(0);
        let _ = writeln!(file, "pid {} since {stamp}", std::process::id());
        Ok(Lock { _file: file })
    }
}

fn held(path: &Path, file: &mut File, wait: Option<Duration>) -> Error {
    let mut holder = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(200).read_to_string(&mut holder);
    let holder = holder.trim();
    let who = if holder.is_empty() {
        String::new()
    } else {
        format!(" (held by {holder})")
    };
    let waited = match wait {
        Some(w) => format!(" after waiting {}", humantime::format_duration(w)),
        None => String::new(),
    };
    Error::LockHeld(format!(
        "another prun run holds the lock {}{who}{waited}; nothing was run. Use --lock-wait DUR to wait for it",
        PathBuf::from(path).display()
    ))
}
