//! Process groups: every job and hook runs in one of its own, and this is what prun does
//! with them — signal a group, see whether anything is left in it (reaping what prun, as
//! the subreaper of its jobs' orphans, may reap), and become that subreaper.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Whether any process is left in group `pgid`. Zombies of the group that were
/// reparented to prun (it is a child subreaper, see `become_subreaper`) are reaped first,
/// so a group of the dead counts as gone.
pub(crate) fn group_alive(pgid: i32) -> bool {
    // SAFETY: waitpid with WNOHANG on a process group; a null status pointer is allowed.
    while unsafe { libc::waitpid(-pgid, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
    killpg(Pid::from_raw(pgid), None).is_ok()
}

/// Makes prun the child subreaper of everything its jobs start: a process a job's shell
/// leaves behind becomes prun's child when its parent dies, instead of init's, so prun
/// can reap it the moment it is killed (init here may take seconds to reap orphans).
pub(crate) fn become_subreaper() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Sends `sig` to every process of group `pgid`; a group already gone is fine.
pub(crate) fn signal_group(pgid: i32, sig: Signal) {
    let _ = killpg(Pid::from_raw(pgid), sig);
}

/// Sends signal number `sig` to process group `pgid`.
pub(crate) fn send(pgid: i32, sig: i32) {
    if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
        signal_group(pgid, s);
    }
}
