//! Starting a job's process: the floor on spawn cost.
//!
//! `std::process::Command` uses posix_spawn, but as soon as one environment variable is
//! set it copies the whole parent environment into a map and back, for every spawn;
//! that, not the spawn, was prun's largest per-job cost. Here the parent environment is
//! captured once per run (`EnvBase`), and each spawn builds only an array of pointers to
//! it plus the job's own variables. When the program's file is known (a path, or found
//! on PATH once per run) the child is started by `vfork`, which resets only the signals
//! prun handles; otherwise glibc's posix_spawnp searches PATH in the child. Either way
//! the child gets its own process group, default signal dispositions (prun ignores
//! SIGPIPE, as every Rust program does) and an empty signal mask, and exec and chdir
//! failures come back as errors.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Arc, Mutex};

use super::Capture;

/// What every child inherits from prun, captured once per run: the environment as
/// `KEY=VALUE` C strings, the current directory (a child whose workdir is that directory
/// needs no chdir) and where on PATH each directly exec'd program is.
#[derive(Debug, Default)]
pub(crate) struct EnvBase {
    entries: Vec<CString>,
    cwd: Option<PathBuf>,
    /// PATH's directories, or `None` when one of them is relative (then it depends on the
    /// child's workdir, and posix_spawnp searches in the child as usual).
    path: Option<Vec<PathBuf>>,
    /// Program name -> its file on PATH (`None`: not found), filled as programs are met.
    programs: Mutex<HashMap<Box<str>, Option<Arc<CStr>>>>,
}

impl EnvBase {
    pub(crate) fn capture() -> Self {
        let entries = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let path = std::env::var_os("PATH").and_then(|p| {
            let dirs: Vec<PathBuf> = std::env::split_paths(&p).collect();
            dirs.iter().all(|d| d.is_absolute()).then_some(dirs)
        });
        EnvBase {
            entries,
            cwd: std::env::current_dir().ok(),
            path,
            programs: Mutex::default(),
        }
    }

    /// The file `name` (a word without `/`) runs, found on PATH once per run the way
    /// execvp would: the first regular, executable file. `None` leaves the search to
    /// posix_spawnp in the child. Saves the child one failed exec per PATH directory
    /// before the program's own, on every spawn.
    pub(crate) fn program(&self, name: &str) -> Option<Arc<CStr>> {
        if name.contains('/') {
            return None;
        }
        let dirs = self.path.as_ref()?;
        let mut programs = self.programs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = programs.get(name) {
            return found.clone();
        }
        let found = dirs.iter().find_map(|d| {
            let path = d.join(name);
            let file = c_string(&path).ok()?;
            // SAFETY: access with a NUL-terminated path.
            let runnable =
                path.is_file() && unsafe { libc::access(file.as_ptr(), libc::X_OK) } == 0;
            runnable.then(|| Arc::from(file))
        });
        programs.insert(name.into(), found.clone());
        found
    }
}

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
}

/// Spawns the process in a new process group; returns its pid (= its pgid).
pub(crate) fn spawn(s: &SpawnSpec<'_>) -> io::Result<i32> {
    let extra: Vec<CString> = s
        .extra
        .iter()
        .map(|(k, v)| CString::new(format!("{k}={v}")).map_err(io::Error::other))
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
    // The program's file, when known here: then the fast path (`vfork`).
    let path = match s.program {
        Some(p) => Some(p),
        None if s.argv[0].as_bytes().contains(&b'/') => Some(s.argv[0].as_c_str()),
        None => None,
    };
    if let Some(path) = path {
        return super::vfork::spawn(&super::vfork::ChildArgs {
            path,
            argv: &argv,
            envp: &envp,
            workdir: workdir.as_deref(),
            stdin: s.stdin,
            out: match s.capture {
                Capture::Pipe => s.out,
                _ => None,
            },
            null_out: s.capture == Capture::Null,
        });
    }
    let actions = FileActions::new(s, workdir.as_deref())?;
    let attr = Attr::new()?;
    let mut pid: libc::pid_t = 0;
    // SAFETY: argv and envp are NULL-terminated arrays of pointers to NUL-terminated
    // strings that outlive the call; actions and attr are initialised.
    let rc = unsafe {
        libc::posix_spawnp(
            &mut pid,
            argv[0],
            &actions.0,
            &attr.0,
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(pid)
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

struct FileActions(libc::posix_spawn_file_actions_t);

impl FileActions {
    /// `workdir`: where the child must chdir to, if not prun's own directory.
    fn new(s: &SpawnSpec<'_>, workdir: Option<&CStr>) -> io::Result<Self> {
        let mut fa = MaybeUninit::<libc::posix_spawn_file_actions_t>::uninit();
        // SAFETY: initialises the actions object before any other use.
        check(unsafe { libc::posix_spawn_file_actions_init(fa.as_mut_ptr()) })?;
        // SAFETY: initialised just above.
        let mut fa = FileActions(unsafe { fa.assume_init() });
        let null = c"/dev/null";
        match s.stdin {
            Some(fd) => fa.dup2(fd, 0)?,
            None => fa.open(0, null, libc::O_RDONLY)?,
        }
        match (s.capture, s.out) {
            (Capture::Pipe, Some(fd)) => {
                fa.dup2(fd, 1)?;
                fa.dup2(fd, 2)?;
            }
            (Capture::Null, _) => {
                fa.open(1, null, libc::O_WRONLY)?;
                fa.dup2(1, 2)?;
            }
            _ => {}
        }
        if let Some(dir) = workdir {
            // SAFETY: the path is a NUL-terminated string that outlives the spawn.
            check(unsafe { libc::posix_spawn_file_actions_addchdir_np(&mut fa.0, dir.as_ptr()) })?;
        }
        Ok(fa)
    }

    fn dup2(&mut self, from: RawFd, to: RawFd) -> io::Result<()> {
        // SAFETY: self.0 is initialised; fds are plain integers here.
        check(unsafe { libc::posix_spawn_file_actions_adddup2(&mut self.0, from, to) })
    }

    fn open(&mut self, fd: RawFd, path: &CStr, flags: libc::c_int) -> io::Result<()> {
        // SAFETY: self.0 is initialised and the path is a static C string.
        check(unsafe {
            libc::posix_spawn_file_actions_addopen(&mut self.0, fd, path.as_ptr(), flags, 0)
        })
    }
}

impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: destroys an initialised actions object exactly once.
        unsafe { libc::posix_spawn_file_actions_destroy(&mut self.0) };
    }
}

struct Attr(libc::posix_spawnattr_t);

impl Attr {
    fn new() -> io::Result<Self> {
        let mut a = MaybeUninit::<libc::posix_spawnattr_t>::uninit();
        // SAFETY: initialises the attribute object before any other use.
        check(unsafe { libc::posix_spawnattr_init(a.as_mut_ptr()) })?;
        // SAFETY: initialised just above.
        let mut attr = Attr(unsafe { a.assume_init() });
        // SAFETY: sigset_t values are initialised by sigemptyset/sigaddset before use.
        unsafe {
            let mut none = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(none.as_mut_ptr());
            let none = none.assume_init();
            // Only SIGPIPE and SIGXFSZ, which prun itself ignores; what prun inherited
            // ignored (under nohup, say) stays ignored for its jobs, as with std's Command.
            let mut defaults = none;
            libc::sigaddset(&mut defaults, libc::SIGPIPE);
            libc::sigaddset(&mut defaults, libc::SIGXFSZ);
            check(libc::posix_spawnattr_setpgroup(&mut attr.0, 0))?;
            check(libc::posix_spawnattr_setsigmask(&mut attr.0, &none))?;
            check(libc::posix_spawnattr_setsigdefault(&mut attr.0, &defaults))?;
            let flags = libc::POSIX_SPAWN_SETPGROUP
                | libc::POSIX_SPAWN_SETSIGMASK
                | libc::POSIX_SPAWN_SETSIGDEF;
            check(libc::posix_spawnattr_setflags(
                &mut attr.0,
                flags as libc::c_short,
            ))?;
        }
        Ok(attr)
    }
}

impl Drop for Attr {
    fn drop(&mut self) {
        // SAFETY: destroys an initialised attribute object exactly once.
        unsafe { libc::posix_spawnattr_destroy(&mut self.0) };
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// The raw fd of an optional pipe end.
pub(crate) fn raw<T: AsRawFd>(end: Option<&T>) -> Option<RawFd> {
    end.map(AsRawFd::as_raw_fd)
}

/// A C string of `s` (for argv), refusing interior NULs.
pub(crate) fn c_string(s: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(s.as_ref().as_bytes()).map_err(|_| io::Error::other("contains a NUL byte"))
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
