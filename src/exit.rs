//! prun's exit codes, and which one an I/O error about a path given to prun means. The
//! facts the rest of prun decides with; this module imports nothing of prun's own, so
//! any layer may use it ([`error`](crate::error) maps every failure to one of these, `RunSummary` a run).

use std::io;

/// Every job (and every hook) succeeded.
pub const SUCCESS: u8 = 0;
/// At least one job failed, timed out, was skipped or not run, a hook failed, or
/// output was lost; or prun itself met an operating-system failure.
pub const FAILURE: u8 = 1;
/// Usage or jobfile error: nothing ran.
pub const USAGE: u8 = 2;
/// prun itself failed: a bug (EX_SOFTWARE). It says so; the keeper stops every job.
pub const INTERNAL: u8 = 70;
/// `--lock` is held by another run (EX_TEMPFAIL).
pub const LOCK_HELD: u8 = 75;
/// Interrupted by a signal: 128 + the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
pub const SIGNAL_BASE: u8 = 128;

/// Whether `e` says the path given cannot be used (missing, a directory, a link, not
/// allowed, ...) rather than that the system failed.
pub(crate) fn caused_by_the_path(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        NotFound
            | PermissionDenied
            | AlreadyExists
            | IsADirectory
            | NotADirectory
            | ReadOnlyFilesystem
            | InvalidInput
            | InvalidFilename
    ) || e.raw_os_error() == Some(libc::ELOOP)
}

/// Exit 2 for a path that cannot be used, 1 for a system failure.
pub(crate) fn for_io(e: &io::Error) -> u8 {
    if caused_by_the_path(e) {
        USAGE
    } else {
        FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_that_cannot_be_used_is_a_usage_error_and_a_system_failure_is_not() {
        for kind in [io::ErrorKind::NotFound, io::ErrorKind::PermissionDenied] {
            assert_eq!(for_io(&io::Error::from(kind)), USAGE);
        }
        assert_eq!(for_io(&io::Error::from_raw_os_error(libc::ELOOP)), USAGE);
        assert_eq!(for_io(&io::Error::from_raw_os_error(libc::ENOSPC)), FAILURE);
        assert_eq!(for_io(&io::Error::from_raw_os_error(libc::EIO)), FAILURE);
    }
}
