//! Runs a command on this machine, in a process group of its own (so a signal or a
//! timeout reaches everything it started), and supervises it to the end: output is read
//! as it comes, the exit is noticed through a pidfd without polling sleeps, a timeout
//! sends SIGTERM to the group and SIGKILL after the grace period, and anything left in
//! the group after the command exits is terminated the same way.
//!
//! A simple command (see `simple`) is exec'd directly; anything else runs as
//! `<shell> -c <script>`. Spawning ([`spawn`](super::spawn)) is always a vfork-style
//! child ([`vfork`](super::vfork)), never fork.

use std::cell::RefCell;
use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;

use super::cgroup::Cgroup;
use super::command::{Capture, Request, Stdin, StopClock, set_nonblocking};
use super::environ::c_string;
use super::finished::{Cost, CostSource, Ending, Finished, LimitHit};
use super::group::{group_alive, signal_group};
use super::keeper::Keeper;
use super::reap::{try_reap, wait_blocking};
use super::spawn::{self, SpawnSpec, raw};

/// Each worker's read buffer: the default pipe size. Bigger pipes (F_SETPIPE_SZ to
/// 256 KiB and 1 MiB) and bigger reads were measured and were not faster for 1 GB of
/// output: the job then spins on the pipe's lock while prun copies.
const READ_SIZE: usize = 64 * 1024;

/// How often a group is checked for survivors while its grace period runs.
const GROUP_CHECK: Duration = Duration::from_millis(20);
/// How long a group may take to empty after its shell exited before what is left counts
/// as left behind.
const SETTLE: Duration = Duration::from_millis(50);
/// How long a command stopped to ask whether it ended by itself may take to say so.
const STOP_DECIDES_WITHIN: Duration = Duration::from_millis(100);
/// How long after SIGKILL a group may take to disappear before prun stops waiting.
const KILL_SETTLE: Duration = Duration::from_secs(1);
/// How long a command with its output still open runs before prun opens a pidfd to see
/// it exit (a background process may hold the output open after the command is gone).
const LAZY_PIDFD: Duration = Duration::from_millis(20);
/// How long output is still drained from a process that escaped the group.
const ESCAPED_DRAIN: Duration = Duration::from_millis(200);

thread_local! {
    /// Each worker's read buffer, allocated once (zeroing 64 KiB per job was prun's
    /// single largest per-job cost).
    static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0u8; READ_SIZE]);
}

/// Runs `req` to its end. `on_spawn` receives the process group id as soon as the child
/// exists; `on_output` receives the captured bytes (only with `Capture::Pipe`).
pub(crate) fn run(
    req: &Request<'_>,
    on_spawn: &mut dyn FnMut(i32),
    on_output: &mut dyn FnMut(&[u8]),
) -> Finished {
    let started = SystemTime::now();
    let clock = Instant::now();
    if let Some(cg) = req.cgroup
        && let Err(e) = cg.set_limits(req.tuning.cgroup)
    {
        return Finished::not_started(format!("cannot set the limits of its cgroup: {e}"));
    }
    let (pid, reader, stdin) = match start(req) {
        Ok(started) => started,
        Err(e) => return Finished::not_started(describe_spawn_error(req, &e)),
    };
    on_spawn(pid);
    let mut sup = Supervisor {
        pgid: pid,
        cgroup: req.cgroup,
        strays: Vec::new(),
        // A deadline too far away to represent (`timeout: 1000y`) is no deadline.
        deadline: req.timeout.and_then(|t| clock.checked_add(t)),
        stop: req.stop.map(|s| (s, clock)),
        cut_short: false,
        grace: req.grace,
        kill_at: None,
        timed_out: false,
        leftovers: false,
        sigkilled: false,
        gave_up: false,
        cost: None,
    };
    let input = match (req.stdin, stdin) {
        (Stdin::Bytes(bytes), Some(w)) => Input::new(w, bytes),
        _ => None,
    };
    let status = sup.supervise(reader, input, on_output);
    Cgroup::reap(&sup.strays);
    // Its cgroup saw every process it had, waited for or not: its CPU figure is the
    // better one. Under Slurm what was waited for is srun, not the job: no figures.
    let cgroup_cpu = req.cgroup.and_then(Cgroup::cpu_used);
    let cost = sup
        .cost
        .filter(|_| req.wrapper.is_none())
        .map(|c| match cgroup_cpu {
            Some(cpu) => Cost {
                cpu,
                cpu_source: CostSource::Cgroup,
                ..c
            },
            None => c,
        });
    // The child registered its group with the keeper itself (`vfork`); it is gone now.
    if let Some(k) = req.keeper {
        k.ended(pid);
    }
    let limit_hit = limit_hit(req, status);
    Finished {
        started,
        duration: clock.elapsed(),
        limit_hit,
        ending: status,
        error: None,
        timed_out: sup.timed_out,
        leftovers: sup.leftovers,
        cut_short: sup.cut_short,
        cost,
    }
}

/// How a memory limit was met, if the command ended as `status` under one and failed.
fn limit_hit(req: &Request<'_>, status: Ending) -> Option<LimitHit> {
    if let (Some(cg), Some(limit)) = (req.cgroup, req.tuning.cgroup.memory)
        && cg.oom_killed()
    {
        return Some(LimitHit::OomKilled(limit));
    }
    let limit = req.tuning.address_space?;
    (!status.success()).then_some(LimitHit::AddressSpace(limit))
}

type Started = (i32, Option<io::PipeReader>, Option<io::PipeWriter>);

/// Spawns the command with its pipes; the parent's copies of the child's ends are closed
/// when this returns, so EOF arrives when the child's side closes.
fn start(req: &Request<'_>) -> io::Result<Started> {
    let (reader, writer) = match req.capture {
        Capture::Pipe => {
            let (r, w) = io::pipe()?;
            (Some(r), Some(w))
        }
        _ => (None, None),
    };
    let (stdin_r, stdin_w) = match req.stdin {
        Stdin::Bytes(_) => {
            let (r, w) = io::pipe()?;
            (Some(r), Some(w))
        }
        Stdin::Null | Stdin::File(_) => (None, None),
    };
    let shell_argv = || -> io::Result<Vec<CString>> {
        let mut argv = Vec::with_capacity(req.shell.args.len() + 3);
        argv.push(c_string(&req.shell.program)?);
        for a in &req.shell.args {
            argv.push(c_string(a)?);
        }
        argv.push(c"-c".to_owned());
        argv.push(c_string(req.script)?);
        Ok(argv)
    };
    let mut spec = SpawnSpec {
        argv: &[],
        program: None,
        env: req.env_base,
        extra: req.env,
        workdir: req.workdir,
        capture: req.capture,
        stdin: match req.stdin {
            Stdin::File(f) => Some(f.as_raw_fd()),
            _ => raw(stdin_r.as_ref()),
        },
        out: raw(writer.as_ref()),
        keeper: req.keeper.map(Keeper::fd),
        cgroup: req.cgroup,
        tuning: &req.tuning,
    };
    let pid = match (req.wrapper, req.direct) {
        (Some(wrapper), _) => {
            let mut argv = wrapper
                .iter()
                .map(c_string)
                .collect::<io::Result<Vec<_>>>()?;
            argv.push(c"--".to_owned());
            argv.extend(shell_argv()?);
            spec.argv = &argv;
            spawn::spawn(&spec)?
        }
        (None, Some(words)) => {
            let argv = words.iter().map(c_string).collect::<io::Result<Vec<_>>>()?;
            let program = req.env_base.program(words[0]);
            spec.argv = &argv;
            spec.program = program.as_deref();
            match spawn::spawn(&spec) {
                // Not found or not executable: let the shell say so, as it would have.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT | libc::EACCES | libc::ENOEXEC)
                    ) =>
                {
                    let argv = shell_argv()?;
                    spec.argv = &argv;
                    spec.program = None;
                    spawn::spawn(&spec)?
                }
                other => other?,
            }
        }
        (None, None) => {
            let argv = shell_argv()?;
            spec.argv = &argv;
            spawn::spawn(&spec)?
        }
    };
    Ok((pid, reader, stdin_w))
}

fn describe_spawn_error(req: &Request<'_>, e: &io::Error) -> String {
    if !req.workdir.is_dir() {
        return format!(
            "cannot start: workdir {} does not exist",
            req.workdir.display()
        );
    }
    if let Some(w) = req.wrapper.and_then(|w| w.first()) {
        if e.kind() == io::ErrorKind::NotFound {
            return format!(
                "cannot start: '{w}' was not found on PATH; install Slurm's client tools, or run the jobs here with --executor local"
            );
        }
        return format!("cannot start {w}: {e}");
    }
    // What could not start: the program itself when it is exec'd directly (only a
    // program not found or not executable goes on to the shell, which then says so).
    let what = match req.direct {
        Some(words) => words[0].to_owned(),
        None => req.shell.program.display().to_string(),
    };
    format!(
        "cannot start {what}: {e}{}",
        super::spawn::out_of_resources(e)
    )
}

struct Supervisor<'a> {
    pgid: i32,
    /// The cgroup the command runs in, if prun contains it in one.
    cgroup: Option<&'a Cgroup>,
    /// Processes of the cgroup that were signalled, to reap once they are gone.
    strays: Vec<i32>,
    deadline: Option<Instant>,
    /// The stop clock to watch, and when the command started.
    stop: Option<(&'a StopClock, Instant)>,
    /// The deadline that passed was the stop clock's.
    cut_short: bool,
    grace: Duration,
    /// When SIGKILL follows the SIGTERM already sent.
    kill_at: Option<Instant>,
    timed_out: bool,
    leftovers: bool,
    sigkilled: bool,
    gave_up: bool,
    /// What the child and the processes it waited for cost, once reaped.
    cost: Option<Cost>,
}

impl Supervisor<'_> {
    /// Reads output and waits until the child has exited, its group is empty (or killed)
    /// and the pipe is drained.
    fn supervise(
        &mut self,
        reader: Option<io::PipeReader>,
        input: Option<Input<'_>>,
        on_output: &mut dyn FnMut(&[u8]),
    ) -> Ending {
        BUF.with_borrow_mut(|buf| self.supervise_with(reader, input, on_output, buf))
    }

    fn supervise_with(
        &mut self,
        reader: Option<io::PipeReader>,
        mut input: Option<Input<'_>>,
        on_output: &mut dyn FnMut(&[u8]),
        buf: &mut [u8],
    ) -> Ending {
        let mut pipe = reader;
        let mut status: Option<Ending> = None;
        // Nothing to read or write and no deadline: one blocking wait is all it takes.
        if pipe.is_none() && input.is_none() && self.deadline.is_none() {
            status = self.reap_blocking();
        }
        // The pidfd is opened only once the command has run for LAZY_PIDFD or closed its
        // output: most jobs end before, seen by EOF on their pipe and one blocking wait.
        let started = Instant::now();
        let mut pidfd: Option<OwnedFd> = None;
        let mut no_pidfd = false;
        let mut drain_until: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let mut lazy = status.is_none() && pidfd.is_none() && !no_pidfd;
            if lazy && (pipe.is_none() || now >= started + LAZY_PIDFD) {
                pidfd = pidfd_open(self.pgid);
                no_pidfd = pidfd.is_none();
                lazy = false;
            }
            self.enforce_limits(now, status.is_some());
            if let Some(st) = status {
                let group_done = self.kill_at.is_none() || self.gave_up || !self.alive();
                let pipe_done = pipe.is_none() || drain_until.is_some_and(|t| now >= t);
                if group_done && pipe_done {
                    return st;
                }
                if group_done && drain_until.is_none() {
                    drain_until = Some(now + ESCAPED_DRAIN);
                }
            }
            let mut wait = self.next_wake(now, status.is_some(), drain_until);
            if lazy {
                let left = (started + LAZY_PIDFD).saturating_duration_since(now);
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
            let child_fd = status
                .is_none()
                .then(|| pidfd.as_ref().map(AsRawFd::as_raw_fd));
            let pipe_fd = pipe.as_ref().map(AsRawFd::as_raw_fd);
            let input_fd = input.as_ref().map(Input::fd);
            // Until prun starts stopping, its stop clock may move the deadline: watch it.
            let stop_fd = self
                .stop
                .filter(|(clock, _)| status.is_none() && clock.since().is_none())
                .map(|(clock, _)| clock.fd());
            let (child_ready, pipe_ready, input_ready) = wait_for(
                [child_fd.flatten(), pipe_fd, input_fd, stop_fd],
                wait,
                status.is_none() && no_pidfd,
            );
            if input_ready && input.as_mut().is_some_and(|i| !i.write_some()) {
                input = None;
            }
            if pipe_ready && let Some(p) = pipe.as_mut() {
                match p.read(buf) {
                    Ok(0) => {
                        pipe = None;
                        // The output is closed: the command is (nearly always) exiting.
                        // Without a deadline to watch, a blocking wait saves the poll
                        // round for the pidfd, and its wake-up, on every job.
                        if status.is_none()
                            && input.is_none()
                            && self.deadline.is_none()
                            && self.kill_at.is_none()
                        {
                            status = self.reap_blocking();
                        }
                    }
                    Ok(n) => on_output(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => pipe = None,
                }
            }
            if status.is_none() && (child_ready || no_pidfd) {
                status = self.reap();
            }
        }
    }

    /// Waits for the child to exit, then as `reap`.
    fn reap_blocking(&mut self) -> Option<Ending> {
        let (st, cost) = wait_blocking(self.pgid)?;
        self.cost = cost;
        self.after_exit();
        Some(st)
    }

    /// Reaps the child if it has exited; then anything left in its group is a leftover.
    fn reap(&mut self) -> Option<Ending> {
        let (st, cost) = try_reap(self.pgid)?;
        self.cost = cost;
        self.after_exit();
        Some(st)
    }

    fn after_exit(&mut self) {
        if self.kill_at.is_none() && !self.settles() {
            self.leftovers = true;
            self.terminate(Instant::now());
        }
    }

    /// Whether any of the command's processes is left: in its process group, or in its
    /// cgroup (where one left the group).
    fn alive(&self) -> bool {
        let group = group_alive(self.pgid);
        group || self.cgroup.is_some_and(Cgroup::populated)
    }

    /// Gives processes that are already dying (killed by the same signal as the shell,
    /// or exiting just after it) a moment to go; false if some are still there.
    fn settles(&self) -> bool {
        let until = Instant::now() + SETTLE;
        while self.alive() {
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    /// Sends `sig` to the command's process group and, with a cgroup, to every process
    /// in it (SIGKILL through `cgroup.kill`).
    fn signal(&mut self, sig: Signal) {
        signal_group(self.pgid, sig);
        if let Some(c) = self.cgroup {
            // Those that left the group become prun's zombies once killed: reap them.
            for pid in c.pids() {
                if !self.strays.contains(&pid) {
                    self.strays.push(pid);
                }
            }
            c.signal(sig as i32, self.pgid);
        }
    }

    /// Sends SIGTERM now and schedules SIGKILL.
    fn terminate(&mut self, now: Instant) {
        self.signal(Signal::SIGTERM);
        self.kill_at = Some(crate::times::after(now, self.grace));
    }

    /// The command's deadline: its timeout, or earlier once prun is stopping.
    fn effective_deadline(&self) -> Option<Instant> {
        let stop = self.stop.and_then(|(clock, start)| {
            clock
                .since()
                .map(|since| crate::times::after(since.max(start), self.grace))
        });
        match (self.deadline, stop) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        }
    }

    fn enforce_limits(&mut self, now: Instant, exited: bool) {
        if !exited
            && self.kill_at.is_none()
            && let Some(d) = self.effective_deadline()
            && now >= d
            // A command that has ended by itself (not reaped yet) did not time out:
            // `timeout: 1ns` on `true` is a success, not "timed out, exit 0" (it is
            // stopped to ask, which leaves no race).
            && !super::reap::ended_by_itself(self.pgid, STOP_DECIDES_WITHIN)
        {
            self.timed_out = true;
            self.cut_short = self.deadline.is_none_or(|own| d < own);
            self.terminate(now);
            // Stopped to be asked: it goes on to meet the signal.
            // SAFETY: kill has no memory preconditions; `pgid` is our unreaped child.
            unsafe { libc::kill(self.pgid, libc::SIGCONT) };
        }
        if let Some(k) = self.kill_at
            && now >= k
        {
            if self.sigkilled {
                // SIGKILL was sent a while ago; whatever is left (a zombie nobody reaps,
                // a process stuck in the kernel) is not worth waiting for any longer.
                self.gave_up = true;
            } else {
                self.signal(Signal::SIGKILL);
                self.sigkilled = true;
                self.kill_at = Some(now + KILL_SETTLE);
            }
        }
    }

    /// How long to sleep in poll before something needs doing.
    fn next_wake(&self, now: Instant, exited: bool, drain: Option<Instant>) -> Option<Duration> {
        let mut wake: Option<Instant> = None;
        let mut at = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
        if !exited && self.kill_at.is_none() {
            self.effective_deadline().map(&mut at);
        }
        if let Some(k) = self.kill_at
            && !self.gave_up
        {
            at(k);
            if exited {
                at(now + GROUP_CHECK);
            }
        }
        drain.map(&mut at);
        wake.map(|w| w.saturating_duration_since(now))
    }
}

/// Waits until the child fd or the output pipe is readable, or the input pipe writable,
/// or the stop clock changes, or `timeout` passes. Without a pidfd the child is checked
/// every 10 ms.
fn wait_for(
    [child, pipe, input, stop]: [Option<RawFd>; 4],
    timeout: Option<Duration>,
    no_pidfd: bool,
) -> (bool, bool, bool) {
    let mut fds: Vec<libc::pollfd> = [(child, libc::POLLIN), (pipe, libc::POLLIN)]
        .into_iter()
        .chain([(input, libc::POLLOUT), (stop, libc::POLLIN)])
        .filter_map(|(fd, events)| {
            fd.map(|fd| libc::pollfd {
                fd,
                events,
                revents: 0,
            })
        })
        .collect();
    let mut timeout = timeout;
    if no_pidfd {
        let tick = Duration::from_millis(10);
        timeout = Some(timeout.map_or(tick, |t| t.min(tick)));
    }
    let ms = timeout.map_or(-1, poll_millis);
    // SAFETY: `fds` is a valid, initialised array of pollfd of the given length.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n <= 0 {
        return (false, false, false);
    }
    let ready =
        |fd: Option<RawFd>| fd.is_some_and(|fd| fds.iter().any(|p| p.fd == fd && p.revents != 0));
    (ready(child), ready(pipe), ready(input))
}

/// `t` as a poll timeout: whole milliseconds, rounded up so poll never wakes early, and
/// saturated at `i32::MAX` (about 24.8 days; the loop simply polls again).
fn poll_millis(t: Duration) -> libc::c_int {
    let ms = t.as_millis() + u128::from(!t.subsec_nanos().is_multiple_of(1_000_000));
    ms.min(i32::MAX as u128) as libc::c_int
}

/// Bytes to write to the command's stdin (a hook's JSON), without ever blocking: the
/// pipe is non-blocking and written as poll says it has room, so a hook that never
/// reads its stdin cannot hold prun past its timeout. A reader that exits early (EPIPE)
/// is normal.
struct Input<'a> {
    pipe: io::PipeWriter,
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    /// `None` when there is nothing left to write (the pipe is closed at once: EOF).
    /// Up to `PIPE_BUF` bytes go in at once: a new pipe holds at least a page, even for
    /// a user over the pipe quota, so that write cannot block (a hook's JSON is a few
    /// hundred bytes: no poll round, no fcntl).
    fn new(mut pipe: io::PipeWriter, bytes: &'a [u8]) -> Option<Self> {
        if bytes.is_empty() {
            return None;
        }
        if bytes.len() <= libc::PIPE_BUF {
            // A reader gone already (EPIPE) is normal; nothing else can happen.
            let _ = pipe.write_all(bytes);
            return None;
        }
        set_nonblocking(pipe.as_raw_fd());
        Some(Input { pipe, rest: bytes })
    }

    fn fd(&self) -> RawFd {
        self.pipe.as_raw_fd()
    }

    /// Writes what the pipe takes now; false once done (everything written, or the
    /// reader gone), when the pipe is to be closed.
    fn write_some(&mut self) -> bool {
        loop {
            match self.pipe.write(self.rest) {
                Ok(n) => {
                    self.rest = &self.rest[n..];
                    if self.rest.is_empty() || n == 0 {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }
}

/// A pidfd for `pid`, readable once the process has exited (Linux 5.3+).
fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a freshly opened fd that we now own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_timeouts_round_up_and_saturate() {
        assert_eq!(poll_millis(Duration::from_micros(1)), 1);
        assert_eq!(poll_millis(Duration::from_millis(5)), 5);
        assert_eq!(poll_millis(Duration::from_secs(30 * 86_400)), i32::MAX);
        assert_eq!(poll_millis(Duration::MAX), i32::MAX);
    }
}
