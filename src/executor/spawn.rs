//! Starting a job's process: the floor on spawn cost.
//!
//! `std::process::Command` uses posix_spawn, but as soon as one environment variable is
//! set it copies the whole parent environment into a map and back, for every spawn;
//! that, not the spawn, was prun's largest per-job cost. Here the parent environment is
//! captured once per run (`EnvBase`), and each spawn builds only an array of pointers to
//! it plus the job's own variables. Every child is started by `vfork` (see `vfork`),
//! which resets only the signals prun handles and registers the child with the keeper
//! before it runs any of the job's code. The program's file is found on PATH once per
//! run when PATH is all absolute; otherwise the child tries each PATH entry as execvp
//! would. The child gets its own process group, default signal dispositions (prun
//! ignores SIGPIPE, as every Rust program does) and an empty signal mask, and exec and
//! chdir failures come back as errors.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use super::command::Capture;
use super::environ::EnvBase;

/// What to run: `program`, else `argv[0]` (looked up on PATH in the child when it has no
/// `/`).
pub(crate) struct SpawnSpec<'a> {
    pub(crate) argv: &'a [CString],
    /// The file to exec, when already known (`EnvBase::program`).
    pub(crate) program: Option<&'a CStr>,
    pub(crate) env: &'a EnvBase,
    /// Variables set over the base; later entries win.
    pub(crate) extra: &'a [(String, String)],
    pub(crate) workdir: &'a Path,
    pub(crate) capture: Capture,
    /// The fd to give the child as stdin, or /dev/null.
    pub(crate) stdin: Option<RawFd>,
    /// The write end of the output pipe, with `Capture::Pipe`.
    pub(crate) out: Option<RawFd>,
    /// The keeper's pipe: the child registers its process group there before it execs.
    pub(crate) keeper: Option<RawFd>,
    /// The cgroup the child starts in (created in it, or moving itself in before it
    /// execs).
    pub(crate) cgroup: Option<&'a super::cgroup::Cgroup>,
    /// What the child sets on itself before it execs.
    pub(crate) tuning: &'a super::command::Tuning,
}

/// Spawns the process in a new process group; returns its pid (= its pgid).
pub(crate) fn spawn(s: &SpawnSpec<'_>) -> io::Result<i32> {
    let extra: Vec<CString> = s
        .extra
        .iter()
        .map(|(k, v)| {
            let mut kv = Vec::with_capacity(k.len() + v.len() + 2);
            kv.extend_from_slice(k.as_bytes());
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).map_err(io::Error::other)
        })
        .collect::<io::Result<_>>()?;
    let envp = env_pointers(&s.env.entries, &extra);
    let argv: Vec<*mut libc::c_char> = s
        .argv
        .iter()
        .map(|a| a.as_ptr().cast_mut())
        .chain([ptr::null_mut()])
        .collect();
    let workdir = if s.env.cwd.as_deref() == Some(s.workdir) {
        None
    } else {
        Some(CString::new(s.workdir.as_os_str().as_bytes()).map_err(io::Error::other)?)
    };
    let found;
    let programs: Vec<&CStr> = match s.program {
        Some(p) => vec![p],
        None => {
            found = s.env.candidates(&s.argv[0])?;
            found.iter().map(CString::as_c_str).collect()
        }
    };
    // SAFETY: `argv` and `envp` are NULL-terminated arrays of pointers into `s.argv`,
    // `extra` and `s.env`, and `programs` into `found` or `s.program`, all alive until
    // the call returns; the descriptors are the caller's, open for the call.
    unsafe {
        super::vfork::spawn(&super::vfork::ChildArgs {
            programs: &programs,
            argv: &argv,
            envp: &envp,
            workdir: workdir.as_deref(),
            stdin: s.stdin,
            out: match s.capture {
                Capture::Pipe => s.out,
                _ => None,
            },
            null_out: s.capture == Capture::Null,
            keeper: s.keeper,
            cgroup: s.cgroup.map(|c| super::vfork::CgroupFds {
                dir: c.dir_fd(),
                procs: c.procs_fd(),
            }),
            nice: s.tuning.nice,
            ioprio: s.tuning.ioprio,
            address_space: s.tuning.address_space.map(address_space),
        })
    }
}

/// RLIMIT_AS of `bytes`, soft and hard, or the hard limit prun has where that is lower
/// (an unprivileged process cannot raise it).
fn address_space(bytes: u64) -> libc::rlimit {
    let mut now = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut now) };
    let v = (bytes as libc::rlim_t).min(now.rlim_max);
    libc::rlimit {
        rlim_cur: v,
        rlim_max: v,
    }
}

/// Pointers to the base entries not overridden by `extra`, then to `extra` (the last
/// of duplicate keys only), NULL-terminated.
fn env_pointers(base: &[CString], extra: &[CString]) -> Vec<*mut libc::c_char> {
    fn key(kv: &CStr) -> &[u8] {
        let b = kv.to_bytes();
        &b[..b.iter().position(|&c| c == b'=').unwrap_or(b.len())]
    }
    let extra_keys: Vec<&[u8]> = extra.iter().map(|e| key(e)).collect();
    let mut out = Vec::with_capacity(base.len() + extra.len() + 1);
    for b in base {
        let bk = b.to_bytes();
        let overridden = extra_keys
            .iter()
            .any(|k| bk.len() > k.len() && bk[k.len()] == b'=' && bk.starts_with(k));
        if !overridden {
            out.push(b.as_ptr().cast_mut());
        }
    }
    for (i, e) in extra.iter().enumerate() {
        if !extra_keys[i + 1..].contains(&extra_keys[i]) {
            out.push(e.as_ptr().cast_mut());
        }
    }
    out.push(ptr::null_mut());
    out
}

/// The raw fd of an optional pipe end.
pub(crate) fn raw<T: AsRawFd>(end: Option<&T>) -> Option<RawFd> {
    end.map(AsRawFd::as_raw_fd)
}

/// What a failure to start a process or thread means, when it is a lack of resources
/// (said after the system's message), or nothing. Only for errors of starting one.
pub(crate) fn out_of_resources(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EAGAIN) => format!(
            "; the process limit is reached (this user's: ulimit -u, now {}; or the system's)",
            nproc_limit()
        ),
        Some(libc::ENOMEM) => "; the system is out of memory".to_owned(),
        _ => String::new(),
    }
}

/// The soft RLIMIT_NPROC, as `ulimit -u` shows it.
fn nproc_limit() -> String {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut lim) } == 0;
    match lim.rlim_cur {
        _ if !ok => "unknown".to_owned(),
        libc::RLIM_INFINITY => "unlimited".to_owned(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_variables_override_the_base_and_the_last_duplicate_wins() {
        let base = vec![c"A=1".to_owned(), c"AB=2".to_owned(), c"B=3".to_owned()];
        let extra = vec![c"A=x".to_owned(), c"C=4".to_owned(), c"A=y".to_owned()];
        let ptrs = env_pointers(&base, &extra);
        // SAFETY: every non-null pointer points into `base` or `extra`, alive here.
        let got: Vec<&str> = ptrs
            .iter()
            .take_while(|p| !p.is_null())
            .map(|&p| unsafe { CStr::from_ptr(p) }.to_str().unwrap())
            .collect();
        assert_eq!(got, ["AB=2", "B=3", "C=4", "A=y"]);
    }
}
