//! The keeper: what stops a run's jobs when prun itself is killed with SIGKILL.
//!
//! SIGKILL gives prun no chance to clean up, and the usual Linux answer for children,
//! `PR_SET_PDEATHSIG`, needs a `pre_exec` hook, which forces spawning off the posix_spawn
//! fast path onto fork, and would only reach the job's shell, not its process group.
//! Instead prun forks one small helper per run, before it starts any thread: a copy of
//! itself (no exec, so no second program load) in a process group of its own, named
//! `prun-keeper`, reading a pipe from prun. Each job's (or hook's) child writes `+PGID`
//! itself before it execs ([`executor::vfork`](crate::executor::vfork)), and its worker writes `-PGID` once the
//! group is gone: one small write per event. When prun dies, however it dies, the
//! kernel closes the pipe; the keeper reads EOF and sends SIGTERM to every group still
//! registered, then SIGKILL after the grace period. After a normal run prun closes the
//! pipe with nothing registered.
//!
//! Either way the keeper then removes what the run leaves on disk: its cgroups and its
//! private directory (`PRUN_OUTPUT`, `PRUN_NEEDS`). prun leaves that to it, so a run does
//! not wait for those removals (an `rmdir` on ext4 takes ~70 µs): a few milliseconds
//! after prun exits they are gone, and they are gone after a SIGKILL too.
//!
//! No registration is ever lost: writes are blocking (a keeper that falls behind slows
//! spawns down instead of losing a job; the pipe holds 1 MiB where the system allows,
//! some 60,000 registrations), and EOF comes only after everything written before it.
//!
//! Limits: a job that leaves its process group (`setsid`, `setpgid`) is not followed, and
//! SIGKILL sent to the keeper together with prun (`pkill -9 -f prun` matches both; use
//! `pkill -x prun`) leaves the jobs running. The keeper ignores SIGINT, SIGTERM and SIGHUP:
//! those are prun's to handle, and prun stops its jobs itself.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigHandler, Signal, signal};

use crate::executor::cgroup;
use crate::executor::group::{group_alive, signal_group};

/// prun's end of the keeper's pipe.
pub(crate) struct Keeper {
    pipe: io::PipeWriter,
}

/// What a run leaves on disk, for the keeper to remove once prun is gone.
pub(crate) struct Leftovers<'a> {
    /// Where the run's cgroup goes (it may not exist yet, or ever): if it exists when
    /// prun is gone, the keeper stops everything in it, and removes it.
    pub(crate) cgroup: Option<&'a Path>,
    /// The run's `PRUN_OUTPUT` and `PRUN_NEEDS` files ([`runner::run_dir`](crate::runner::run_dir)): removed if
    /// prun dies before it has removed them (a directory of the run's own, always).
    pub(crate) files: Option<RunFiles<'a>>,
}

/// Where a run's files are, for the keeper to remove.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RunFiles<'a> {
    /// Files whose names start with `tag.` in the shared directory `dir`.
    Tagged { dir: &'a Path, tag: &'a str },
    /// The whole directory, of the run's own.
    Own(&'a Path),
}

impl Keeper {
    /// Forks the keeper for a run whose grace period is `grace`; it removes `leftovers`
    /// when prun is gone.
    ///
    /// # Safety
    /// prun must have a single thread (call it before the signal thread, the pool or
    /// the hook thread start): the child is a copy of this one thread, and it allocates,
    /// which in a copy of a multi-threaded process may deadlock on a lock another thread
    /// held at the fork. Debug builds check it.
    pub(crate) unsafe fn spawn(grace: Duration, leftovers: &Leftovers<'_>) -> io::Result<Keeper> {
        debug_assert_eq!(
            thread_count(),
            Some(1),
            "the keeper must be forked before any thread"
        );
        let (reader, writer) = io::pipe()?;
        // SAFETY: prun is single-threaded here (the caller's contract), so the child may
        // run any code; it never returns from `keep`.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                drop(writer);
                keep(reader.into_raw_fd(), grace, leftovers)
            }
            _ => {
                drop(reader);
                // SAFETY: F_SETPIPE_SZ on a pipe end we own; where the system refuses
                // 1 MiB, the default 64 KiB stays.
                unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
                Ok(Keeper { pipe: writer })
            }
        }
    }

    /// The pipe children register on (`+PGID`, see [`executor::vfork`](crate::executor::vfork)).
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.pipe.as_raw_fd()
    }

    /// Unregisters a process group that is gone.
    pub(crate) fn ended(&self, pgid: i32) {
        self.send(b'-', pgid);
    }

    /// The run ended normally: prun removes the run's files itself (the keeper still
    /// stops what is registered, and removes the cgroups).
    pub(crate) fn finish(&self) {
        let _ = (&self.pipe).write_all(b"=\n");
    }

    fn send(&self, op: u8, pgid: i32) {
        // `+1234\n`, formatted on the stack: this runs twice per job.
        let mut line = [0u8; 16];
        line[0] = op;
        let mut cursor = std::io::Cursor::new(&mut line[1..]);
        let _ = writeln!(cursor, "{pgid}");
        let n = cursor.position() as usize;
        // One write of under PIPE_BUF bytes: atomic, so writers never interleave.
        let _ = (&self.pipe).write_all(&line[..=n]);
    }
}

/// The keeper's whole life, in the forked child: detach, read registrations until EOF,
/// stop what is still registered, exit without running any of prun's exit code paths.
fn keep(reader: i32, grace: Duration, leftovers: &Leftovers<'_>) -> ! {
    name_process(b"prun-keeper\0");
    // SAFETY: plain syscalls on descriptors this process owns; ignoring a signal installs
    // no handler code.
    unsafe {
        libc::setpgid(0, 0);
        for sig in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGPIPE,
        ] {
            let _ = signal(sig, SigHandler::SigIgn);
        }
        // The pipe becomes stdin; stdout and stderr /dev/null; every other descriptor
        // (the lock file, prun's end of the pipe) is closed, so the keeper holds nothing
        // that should end with prun.
        libc::dup2(reader, 0);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        libc::dup2(null, 1);
        libc::dup2(null, 2);
        close_from(3);
    }
    // SAFETY: fd 0 is the pipe's read end, owned by this process from here on.
    let mut input = unsafe { std::fs::File::from_raw_fd(0) };
    let mut groups: HashSet<i32> = HashSet::new();
    // prun ended normally, and removes its run's files itself.
    let mut clean = false;
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0;
    loop {
        let n = match input.read(&mut buf[have..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        have += n;
        let complete = buf[..have]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        for line in buf[..complete].split(|&b| b == b'\n') {
            apply(&mut groups, &mut clean, line);
        }
        buf.copy_within(complete..have, 0);
        have -= complete;
        // Registrations wait in the pipe, and EOF comes after all of them, so nothing is
        // lost by reading them in batches: one wake-up per BATCH instead of two per job,
        // each taking a core from the jobs.
        std::thread::sleep(BATCH);
    }
    stop_groups(&groups, leftovers.cgroup, grace);
    if let Some(dir) = leftovers.cgroup {
        cgroup::remove_tree(dir);
    }
    match leftovers.files {
        // Never through a link: std removes the tree with openat and unlinkat.
        Some(RunFiles::Own(dir)) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Some(RunFiles::Tagged { dir, tag }) if !clean => remove_tagged(dir, tag),
        _ => {}
    }
    // SAFETY: _exit ends this process without flushing prun's inherited stdio buffers
    // or running its destructors.
    unsafe { libc::_exit(0) }
}

/// Removes the files in `dir` whose names start with `tag.` (a run's, in the directory
/// runs share).
fn remove_tagged(dir: &Path, tag: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name();
        let ours = name
            .to_str()
            .and_then(|n| n.strip_prefix(tag))
            .is_some_and(|rest| rest.starts_with('.'));
        if ours {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Closes every descriptor from `first` on. `close_range` needs Linux 5.9; before that
/// (ENOSYS) they are closed one by one up to the limit, so the keeper never holds the
/// `--lock` descriptor (the lock would outlive a SIGKILLed prun) or prun's pipe end.
///
/// # Safety
/// Closes descriptors this process may still use: only for the keeper, which uses none.
unsafe fn close_from(first: u32) {
    // SAFETY: per the contract; close_range takes plain integers. The raw syscall, as
    // musl has no wrapper for it.
    if unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) } != 0 {
        // SAFETY: per the contract.
        unsafe { close_each(first) }
    }
}

/// `close_from` without `close_range`: every descriptor number up to the limit.
///
/// # Safety
/// As `close_from`.
unsafe fn close_each(first: u32) {
    // SAFETY: sysconf has no preconditions.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    let max = if max > 0 {
        max.min(1 << 20) as i32
    } else {
        65_536
    };
    for fd in first as i32..max {
        // SAFETY: closing a descriptor number, open or not, per the contract.
        unsafe { libc::close(fd) };
    }
}

/// How long the keeper lets registrations gather in the pipe between reads. At the
/// fastest spawn rate seen here (about 5,000 jobs/s) the pipe holds 8,000 registrations,
/// well over what arrives in this time.
const BATCH: Duration = Duration::from_millis(10);

/// Applies one `+PGID` / `-PGID` line; `=` (prun's last word at a normal end) sets
/// `clean`.
fn apply(groups: &mut HashSet<i32>, clean: &mut bool, line: &[u8]) {
    let Some((&op, num)) = line.split_first() else {
        return;
    };
    if op == b'=' {
        *clean = true;
        return;
    }
    let Some(pgid) = std::str::from_utf8(num)
        .ok()
        .and_then(|s| s.parse::<i32>().ok())
    else {
        return;
    };
    match op {
        b'+' => groups.insert(pgid),
        _ => groups.remove(&pgid),
    };
}

/// SIGTERM to every group and everything in the run's cgroup, then SIGKILL to what is
/// left after `grace`.
fn stop_groups(groups: &HashSet<i32>, cgroup: Option<&Path>, grace: Duration) {
    let live: Vec<i32> = groups.iter().copied().filter(|&g| group_alive(g)).collect();
    let contained = cgroup.filter(|d| d.exists() && cgroup::tree_populated(d));
    if live.is_empty() && contained.is_none() {
        return;
    }
    for &g in &live {
        signal_group(g, Signal::SIGTERM);
    }
    if let Some(d) = contained {
        cgroup::signal_tree_except(d, libc::SIGTERM, &|pgid| live.contains(&pgid));
    }
    let deadline = crate::times::after(Instant::now(), grace);
    let alive =
        || live.iter().any(|&g| group_alive(g)) || contained.is_some_and(cgroup::tree_populated);
    while Instant::now() < deadline && alive() {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &g in &live {
        signal_group(g, Signal::SIGKILL);
    }
    if let Some(d) = contained {
        cgroup::signal_tree(d, libc::SIGKILL);
        // Gone in a moment; then the cgroups can be removed.
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until && cgroup::tree_populated(d) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn name_process(name: &[u8]) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0);
    }
}

/// The number of threads of this process, from /proc (debug builds only).
#[cfg(debug_assertions)]
fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

#[cfg(not(debug_assertions))]
fn thread_count() -> Option<usize> {
    Some(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_and_the_last_word_are_read_line_by_line() {
        let mut groups = HashSet::new();
        let mut clean = false;
        for line in ["+12", "+34", "-12", "x", "", "+5x", "="] {
            apply(&mut groups, &mut clean, line.as_bytes());
        }
        assert_eq!(groups, HashSet::from([34]));
        assert!(clean);
    }

    #[test]
    fn only_the_runs_own_files_are_removed_from_the_shared_directory() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "42-ab.1.1.out",
            "42-ab.2.0.needs.json",
            "42-abc.1.1.out",
            "7-ab.1.1.out",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        remove_tagged(dir.path(), "42-ab");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["42-abc.1.1.out", "7-ab.1.1.out"]);
    }

    #[test]
    fn without_close_range_every_descriptor_is_closed_one_by_one() {
        let f = std::fs::File::open("/dev/null").unwrap();
        // A high descriptor, as a lock taken late in a busy process would have.
        // SAFETY: dup2 onto a number this test owns from here on.
        let high = unsafe { libc::dup2(f.as_raw_fd(), 900) };
        assert_eq!(high, 900);
        // SAFETY: the child only makes system calls, then exits.
        match unsafe { libc::fork() } {
            // SAFETY: in the child: close_each is the code under test; the rest are plain
            // system calls on numbers.
            0 => unsafe {
                close_each(3);
                let closed = libc::fcntl(900, libc::F_GETFD) == -1;
                libc::_exit(if closed { 0 } else { 1 })
            },
            pid => {
                let mut status = 0;
                // SAFETY: waits for the child forked above.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                // SAFETY: closes the descriptor made above.
                unsafe { libc::close(900) };
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
            }
        }
    }
}
