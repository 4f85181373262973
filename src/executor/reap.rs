//! Reaping a command prun started: how it ended (`Ending`) and, from `wait4`'s rusage,
//! what it and the processes it waited for cost (`Cost`).

use std::io;
use std::time::Duration;

use super::finished::{Cost, CostSource, Ending};

/// How a reaped command ended, and what it cost (`None` when it was reaped elsewhere).
pub(super) type Reaped = (Ending, Option<Cost>);

/// Reaps `pid` if it has exited.
pub(super) fn try_reap(pid: i32) -> Option<Reaped> {
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 with valid pointers to an int and a rusage to fill.
    let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, usage.as_mut_ptr()) };
    match r {
        // SAFETY: filled by wait4 (or still zeroed).
        _ if r == pid => Some((
            exit_of(status),
            Some(cost_of(unsafe { usage.assume_init() })),
        )),
        // Already reaped elsewhere: it has exited, how is unknown.
        -1 if io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) => {
            Some((Ending::NotStarted, None))
        }
        _ => None,
    }
}

/// Waits for `pid` to exit and reaps it.
pub(super) fn wait_blocking(pid: i32) -> Option<Reaped> {
    // (Always `Some`: the Option keeps it interchangeable with `try_reap`.)
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    loop {
        // SAFETY: wait4 with valid pointers to an int and a rusage to fill.
        let r = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
        if r == pid {
            // SAFETY: filled by wait4.
            return Some((
                exit_of(status),
                Some(cost_of(unsafe { usage.assume_init() })),
            ));
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Some((Ending::NotStarted, None));
        }
    }
}

/// What changed about child `pid` (`waitid` with `flags`, WNOHANG among them): the
/// `si_code` (`CLD_EXITED`, `CLD_KILLED`, `CLD_STOPPED`, ...), or `None` when nothing has.
fn peek(pid: i32, flags: libc::c_int) -> Option<i32> {
    // SAFETY: an all-zero siginfo_t is a valid value to be filled in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child; with WNOWAIT an end is left to be reaped as before,
    // and WSTOPPED alone never reaps.
    let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &raw mut info, flags) };
    // SAFETY: si_pid is set by waitid (0 when no child has changed state).
    (r == 0 && unsafe { info.si_pid() } == pid).then_some(info.si_code)
}

/// Whether process `pid`, alive at the last look, ended by itself: asked with no race
/// left between the look and a signal. It is stopped (SIGSTOP, which nothing can catch
/// or ignore), and the kernel then says either that it stopped — it was alive, and stays
/// stopped until SIGCONT — or that it ended, which it did on its own (a zombie takes the
/// SIGSTOP and says so at once). Bounded: a process that does neither within `within`
/// (stuck in the kernel) counts as alive. The caller sends SIGCONT after its own signal
/// whenever this is false.
pub(super) fn ended_by_itself(pid: i32, within: std::time::Duration) -> bool {
    // SAFETY: kill has no memory preconditions; `pid` is our own unreaped child.
    if unsafe { libc::kill(pid, libc::SIGSTOP) } != 0 {
        // Not ours to stop (it became setuid): it counts as alive, as before asking.
        return false;
    }
    let until = std::time::Instant::now() + within;
    let flags = libc::WEXITED | libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT;
    loop {
        match peek(pid, flags) {
            Some(libc::CLD_STOPPED) => {
                // Taken, so that nothing later mistakes it for news.
                peek(pid, libc::WSTOPPED | libc::WNOHANG);
                return false;
            }
            Some(_) => return true,
            None if std::time::Instant::now() >= until => return false,
            None => std::thread::sleep(std::time::Duration::from_micros(200)),
        }
    }
}

/// prun's own peak resident set in bytes: what a child it started is charged at least.
fn own_peak() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage with a rusage to fill.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: filled by getrusage (or still zeroed).
    u64::try_from(unsafe { usage.assume_init() }.ru_maxrss).unwrap_or(0) * 1024
}

/// What `wait4` says a command and the processes it waited for cost.
fn cost_of(u: libc::rusage) -> Cost {
    let time = |t: libc::timeval| {
        Duration::new(
            t.tv_sec.max(0) as u64,
            (t.tv_usec.clamp(0, 999_999) * 1000) as u32,
        )
    };
    // Linux counts it in KiB.
    let max_rss = u64::try_from(u.ru_maxrss).unwrap_or(0) * 1024;
    Cost {
        cpu: time(u.ru_utime) + time(u.ru_stime),
        max_rss,
        max_rss_exact: max_rss > own_peak(),
        read_bytes: u64::try_from(u.ru_inblock).unwrap_or(0) * 512,
        write_bytes: u64::try_from(u.ru_oublock).unwrap_or(0) * 512,
        cpu_source: CostSource::Rusage,
    }
}

fn exit_of(status: libc::c_int) -> Ending {
    if libc::WIFEXITED(status) {
        Ending::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Ending::Killed(libc::WTERMSIG(status))
    } else {
        Ending::NotStarted
    }
}
