//! prun's own writes to its stdout and stderr (the plan of `--dry-run`, notices, the
//! summary, errors). Unlike std's print macros they never panic when the stream is
//! closed or full: a cron job whose mail pipe broke must still run every job. A failed
//! write to stderr other than a reader leaving (EPIPE) is remembered, and makes the exit
//! code 1: it is the only way left to say that something was lost.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stderr.
pub(crate) fn eprint(text: &str) {
    let text = crate::mask::current().text(text);
    if let Err(e) = io::stderr().lock().write_all(text.as_bytes())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        STDERR_FAILED.store(true, Ordering::Relaxed);
    }
}

/// Whether a write to stderr failed (other than with EPIPE).
pub(crate) fn stderr_failed() -> bool {
    STDERR_FAILED.load(Ordering::Relaxed)
}

/// Writes `text` to stdout and flushes it. A reader that left (EPIPE) is not an error.
pub(crate) fn print(text: &str) -> io::Result<()> {
    let text = crate::mask::current().text(text);
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
