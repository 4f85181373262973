//! The keeper: what stops a run's jobs when prun itself is killed with SIGKILL.
//!
//! SIGKILL gives prun no chance to clean up, and the usual Linux answer for children,
//! `PR_SET_PDEATHSIG`, needs a `pre_exec` hook, which forces spawning off the posix_spawn
//! fast path onto fork, and would only reach the job's shell, not its process group.
//! Instead prun forks one small helper per run, before it starts any thread: a copy of
//! itself (no exec, so no second program load) in a process group of its own, named
//! `prun-keeper`, reading a pipe from prun. Workers write `+PGID` when a job (or hook)
//! starts and `-PGID` when its group is gone: one small write per event. When prun dies,
//! however it dies, the kernel closes the pipe; the keeper reads EOF and sends SIGTERM to
//! every group still registered, then SIGKILL after the grace period. After a normal run
//! prun closes the pipe with nothing registered and the keeper exits at once.
//!
//! Limits: a job that leaves its process group (`setsid`, `setpgid`) is not followed, and
//! SIGKILL sent to the keeper together with prun (`pkill -9 -f prun` matches both; use
//! `pkill -x prun`) leaves the jobs running. The keeper ignores SIGINT, SIGTERM and SIGHUP:
//! those are prun's to handle, and prun stops its jobs itself.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigHandler, Signal, signal};

use crate::executor::local::{group_alive, signal_group};

/// prun's end of the keeper's pipe.
pub(crate) struct Keeper {
    pipe: io::PipeWriter,
}

impl Keeper {
    /// Forks the keeper for a run whose grace period is `grace`.
    ///
    /// Must be called while prun has a single thread (before the signal thread and the
    /// pool start): the child then is an ordinary single-threaded copy that may allocate.
    /// The write end is non-blocking: should the keeper be gone, a registration is lost
    /// rather than a worker stalled.
    pub(crate) fn spawn(grace: Duration) -> io::Result<Keeper> {
        debug_assert_eq!(
            thread_count(),
            Some(1),
            "the keeper must be forked before any thread"
        );
        let (reader, writer) = io::pipe()?;
        // SAFETY: prun is single-threaded here (see above), so the child may run any code;
        // it never returns from `keep`.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                drop(writer);
                keep(reader.into_raw_fd(), grace)
            }
            _ => {
                drop(reader);
                let fd = writer.as_raw_fd();
                // SAFETY: F_SETFL on a pipe end we own.
                unsafe {
                    libc::fcntl(
                        fd,
                        libc::F_SETFL,
                        libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
                    );
                }
                Ok(Keeper { pipe: writer })
            }
        }
    }

    /// Registers a process group to stop if prun dies.
    pub(crate) fn started(&self, pgid: i32) {
        self.send(b'+', pgid);
    }

    /// Unregisters a process group that is gone.
    pub(crate) fn ended(&self, pgid: i32) {
        self.send(b'-', pgid);
    }

    fn send(&self, op: u8, pgid: i32) {
        // `+1234\n`, formatted on the stack: this runs twice per job.
        let mut line = [0u8; 16];
        line[0] = op;
        let mut cursor = std::io::Cursor::new(&mut line[1..]);
        let _ = writeln!(cursor, "{pgid}");
        let n = cursor.position() as usize;
        // One write of under PIPE_BUF bytes: atomic, so workers never interleave.
        let _ = (&self.pipe).write_all(&line[..=n]);
    }
}

/// The keeper's whole life, in the forked child: detach, read registrations until EOF,
/// stop what is still registered, exit without running any of prun's exit code paths.
fn keep(reader: i32, grace: Duration) -> ! {
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
        libc::close_range(3, u32::MAX, 0);
    }
    // SAFETY: fd 0 is the pipe's read end, owned by this process from here on.
    let mut input = unsafe { std::fs::File::from_raw_fd(0) };
    let mut groups: HashSet<i32> = HashSet::new();
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
            apply(&mut groups, line);
        }
        buf.copy_within(complete..have, 0);
        have -= complete;
        // Registrations wait in the pipe, and EOF comes after all of them, so nothing is
        // lost by reading them in batches: one wake-up per BATCH instead of two per job,
        // each taking a core from the jobs.
        std::thread::sleep(BATCH);
    }
    stop_groups(&groups, grace);
    // SAFETY: _exit ends this process without flushing prun's inherited stdio buffers
    // or running its destructors.
    unsafe { libc::_exit(0) }
}

/// How long the keeper lets registrations gather in the pipe between reads. At the
/// fastest spawn rate seen here (about 5,000 jobs/s) the pipe holds 8,000 registrations,
/// well over what arrives in this time.
const BATCH: Duration = Duration::from_millis(10);

/// Applies one `+PGID` / `-PGID` line.
fn apply(groups: &mut HashSet<i32>, line: &[u8]) {
    let Some((&op, num)) = line.split_first() else {
        return;
    };
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

/// SIGTERM to every group, then SIGKILL to what is left after `grace`.
fn stop_groups(groups: &HashSet<i32>, grace: Duration) {
    let live: Vec<i32> = groups.iter().copied().filter(|&g| group_alive(g)).collect();
    for &g in &live {
        signal_group(g, Signal::SIGTERM);
    }
    let deadline = crate::executor::after(Instant::now(), grace);
    while Instant::now() < deadline && live.iter().any(|&g| group_alive(g)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &g in &live {
        signal_group(g, Signal::SIGKILL);
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
