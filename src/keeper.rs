//! The keeper: what stops a run's jobs when prun itself is killed with SIGKILL.
//!
//! SIGKILL gives prun no chance to clean up, and the usual Linux answer for children,
//! `PR_SET_PDEATHSIG`, needs a `pre_exec` hook, which forces std off its posix_spawn fast
//! path onto fork, and would only reach the job's shell, not its process group. Instead
//! prun starts one small helper per run: itself again, in a process group of its own,
//! reading a pipe from prun. Workers write `+PGID` when a job (or hook) starts and `-PGID`
//! when its group is gone: one small write per event, no fork. When prun dies, however it
//! dies, the kernel closes the pipe; the keeper reads EOF and sends SIGTERM to every group
//! still registered, then SIGKILL after the grace period. After a normal run prun closes
//! the pipe with nothing registered and the keeper exits at once.
//!
//! Limits: a job that leaves its process group (`setsid`, `setpgid`) is not followed, and
//! killing the keeper together with prun (`pkill -9 prun` matches `prun-keeper` too; use
//! `pkill -x prun`) leaves the jobs running.

use std::collections::HashSet;
use std::io::{self, BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigHandler, Signal, signal};

use crate::executor::local::{group_alive, signal_group};

/// The environment variable that makes `prun` run as a keeper.
const KEEPER_ENV: &str = "PRUN_INTERNAL_KEEPER_GRACE_MS";

/// prun's end of the keeper's pipe.
pub(crate) struct Keeper {
    pipe: io::PipeWriter,
}

impl Keeper {
    /// Starts the keeper for a run whose grace period is `grace`.
    ///
    /// The pipe exists at once; the keeper itself is spawned on a thread of its own, so
    /// its start (an exec of prun) is not on the way of the first job. Registrations
    /// written before it runs wait in the pipe. The write end is non-blocking: should the
    /// keeper be gone, a registration is lost rather than a worker stalled.
    pub(crate) fn spawn(grace: Duration) -> io::Result<Keeper> {
        let exe = std::env::current_exe()?;
        let (reader, writer) = io::pipe()?;
        // SAFETY: F_SETFL on a pipe end we own.
        unsafe {
            let fd = std::os::fd::AsRawFd::as_raw_fd(&writer);
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            );
        }
        std::thread::Builder::new()
            .name("prun-keeper-start".into())
            .spawn(move || {
                // Not waited for: after a run prun closes the pipe and the keeper exits on
                // its own; waiting would only add its start-up to prun's exit.
                let _ = Command::new(exe)
                    .env(KEEPER_ENV, grace.as_millis().to_string())
                    .process_group(0)
                    .stdin(Stdio::from(reader))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn();
            })?;
        Ok(Keeper { pipe: writer })
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

/// Runs as the keeper if prun was started as one; returns the exit code then.
pub fn run_if_keeper() -> Option<ExitCode> {
    let grace_ms: u64 = std::env::var(KEEPER_ENV).ok()?.parse().ok()?;
    name_process(b"prun-keeper\0");
    // Ctrl-C and hang-ups are meant for prun; the keeper's job starts when prun is gone.
    // SAFETY: setting a signal to be ignored installs no handler code.
    unsafe {
        let _ = signal(Signal::SIGINT, SigHandler::SigIgn);
        let _ = signal(Signal::SIGHUP, SigHandler::SigIgn);
    }
    let mut groups: HashSet<i32> = HashSet::new();
    for line in io::stdin().lock().split(b'\n') {
        let Ok(line) = line else { break };
        let Some((&op, num)) = line.split_first() else {
            continue;
        };
        let Some(pgid) = std::str::from_utf8(num)
            .ok()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        match op {
            b'+' => groups.insert(pgid),
            _ => groups.remove(&pgid),
        };
    }
    stop_groups(&groups, Duration::from_millis(grace_ms));
    Some(ExitCode::SUCCESS)
}

/// SIGTERM to every group, then SIGKILL to what is left after `grace`.
fn stop_groups(groups: &HashSet<i32>, grace: Duration) {
    let live: Vec<i32> = groups.iter().copied().filter(|&g| group_alive(g)).collect();
    for &g in &live {
        signal_group(g, Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
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
