//! Containment in cgroup v2: a job's processes stay together even when they leave its
//! process group (`setsid`, a double-forked daemon, `nohup … &` under `setsid`), the way
//! systemd keeps a unit's processes.
//!
//! Where prun may create a cgroup (root, or a delegated systemd slice) it makes one for
//! the run under its own cgroup, `prun-<pid>`, with one child per pool slot (`slot-N`)
//! and one for hooks (`hooks`). A job's child enters its slot's cgroup before it execs
//! (`vfork`: it writes `0` to the `cgroup.procs` descriptor prepared here), so everything
//! it ever starts is in that cgroup. Then:
//!
//! - `populated 0` in `cgroup.events` says that all of a job's processes are gone;
//! - a signal for the job (a timeout, a signal to prun) goes to every process in it;
//! - SIGKILL is `cgroup.kill`, which no process can dodge by forking;
//! - when prun is SIGKILLed the keeper does the same to the whole run's cgroup;
//! - the cgroups are removed at the end of the run (by the keeper if prun died).
//!
//! Where no cgroup can be made (no cgroup v2, no permission, a kernel before 5.14 without
//! `cgroup.kill`) prun uses process groups alone, as before; `--dry-run` says which.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, FileExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::input::settings::Containment;

/// The cgroup v2 directory prun itself is in, if there is a cgroup v2 hierarchy.
pub(crate) fn own_cgroup() -> Option<PathBuf> {
    let cgroup = read_proc("/proc/self/cgroup")?;
    let own = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    // Where systemd and most containers mount it (unified, or hybrid beside v1), seen
    // with one statfs instead of the mount table (reading mountinfo costs ~25 µs, at
    // every start); the directory must be there, else the mount shows another root.
    for mount in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        if is_cgroup2(mount) {
            let dir = Path::new(mount).join(own.trim_start_matches('/'));
            if dir.is_dir() {
                return Some(dir);
            }
        }
    }
    let mountinfo = read_proc("/proc/self/mountinfo")?;
    let (root, mount) = mountinfo.lines().find_map(|line| {
        let (fields, fs) = line.split_once(" - ")?;
        if fs.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        let f: Vec<&str> = fields.split_whitespace().collect();
        Some((unescape(f.get(3)?), unescape(f.get(4)?)))
    })?;
    // The mount shows the hierarchy from `root` on (a cgroup namespace, a bind mount).
    let rel = own.strip_prefix(root.as_str()).unwrap_or(own);
    Some(Path::new(&mount).join(rel.trim_start_matches('/')))
}

/// Whether a cgroup v2 hierarchy is mounted at `path`.
fn is_cgroup2(path: &str) -> bool {
    const CGROUP2_SUPER_MAGIC: libc::c_long = 0x6367_7270;
    let Ok(c) = std::ffi::CString::new(path) else {
        return false;
    };
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: statfs with a NUL-terminated path and a struct to fill.
    let ok = unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) } == 0;
    // SAFETY: filled by statfs (or still zeroed).
    ok && unsafe { st.assume_init() }.f_type as libc::c_long == CGROUP2_SUPER_MAGIC
}

/// A file of /proc, read in as few reads as it takes (its size is 0 to `stat`, and each
/// read of mountinfo walks the mount table again: 8 small reads cost more than one).
fn read_proc(path: &str) -> Option<String> {
    let mut text = Vec::with_capacity(16 * 1024);
    File::open(path).ok()?.read_to_end(&mut text).ok()?;
    String::from_utf8(text).ok()
}

/// A mountinfo field with its `\040`-style escapes undone.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && let Ok(v) = u8::from_str_radix(&field[i + 1..i + 4], 8)
        {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why cgroups cannot be used here, or `None` if they can (as far as can be told
/// without creating one).
pub(crate) fn unavailable() -> Option<String> {
    match own_cgroup() {
        Some(dir) if writable(&dir) => None,
        Some(dir) => Some(format!("cannot create cgroups under {}", dir.display())),
        None => Some("no cgroup v2 hierarchy here".to_owned()),
    }
}

/// Which containment is in force for `asked`, in words (for `--dry-run`).
pub(crate) fn describe(asked: Containment) -> String {
    match (asked, unavailable()) {
        (Containment::ProcessGroup, _) => "process groups (--containment process-group)".into(),
        (_, None) => format!(
            "cgroup v2: the jobs of each pool slot in a cgroup of their own under {}",
            own_cgroup().unwrap_or_default().display()
        ),
        (Containment::Cgroup, Some(why)) => format!("none: prun will refuse to run ({why})"),
        (Containment::Auto, Some(why)) => format!("process groups ({why})"),
    }
}

fn writable(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: access with a NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// The cgroup v2 controllers that enforce `limits:` (memory.max, cpu.max, pids.max).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Controllers {
    pub(crate) memory: bool,
    pub(crate) cpu: bool,
    pub(crate) pids: bool,
}

/// The controllers this run's cgroups have, once they are made (`set_run_controllers`):
/// what the reports say of each job's limits.
static RUN_CONTROLLERS: OnceLock<Controllers> = OnceLock::new();

/// The controllers a run's cgroup would be offered here (for `--dry-run`): those its
/// parent, prun's own cgroup, delegates to its children.
pub(crate) fn offered_controllers() -> Controllers {
    if unavailable().is_some() {
        return Controllers::default();
    }
    own_cgroup()
        .and_then(|d| std::fs::read_to_string(d.join("cgroup.subtree_control")).ok())
        .map(|t| Controllers::listed(&t))
        .unwrap_or_default()
}

/// Records the run's controllers (once, when its cgroups are made).
pub(crate) fn set_run_controllers(c: Controllers) {
    let _ = RUN_CONTROLLERS.set(c);
}

/// The run's controllers (none before or without cgroups).
pub(crate) fn run_controllers() -> Controllers {
    RUN_CONTROLLERS.get().copied().unwrap_or_default()
}

impl Controllers {
    /// Those listed in a `cgroup.controllers` file's text.
    fn listed(text: &str) -> Controllers {
        let has = |name: &str| text.split_whitespace().any(|c| c == name);
        Controllers {
            memory: has("memory"),
            cpu: has("cpu"),
            pids: has("pids"),
        }
    }

    fn and(self, o: Controllers) -> Controllers {
        Controllers {
            memory: self.memory && o.memory,
            cpu: self.cpu && o.cpu,
            pids: self.pids && o.pids,
        }
    }

    /// Those of either.
    pub(crate) fn or(self, o: Controllers) -> Controllers {
        Controllers {
            memory: self.memory || o.memory,
            cpu: self.cpu || o.cpu,
            pids: self.pids || o.pids,
        }
    }

    pub(crate) fn any(self) -> bool {
        self.memory || self.cpu || self.pids
    }
}

/// What a slot's cgroup limits its job to (`None`: no limit), written before it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CgroupLimits {
    pub(crate) memory: Option<u64>,
    pub(crate) cpus: Option<f64>,
    pub(crate) pids: Option<u32>,
}

/// The run's cgroup and its children; removed (after killing what is left) when dropped.
#[derive(Debug)]
pub(crate) struct RunCgroup {
    /// The controllers enabled for the slots' cgroups (only those a job's limits need).
    pub(crate) controllers: Controllers,
    dir: PathBuf,
    slots: Vec<Cgroup>,
    /// Made when the first hook runs (a run without hooks makes none).
    hooks: OnceLock<Option<Cgroup>>,
    /// A service's exec probes, by slot: made when its first probe runs.
    probes: Vec<OnceLock<Option<Cgroup>>>,
    /// The keeper removes the cgroups once prun is gone: prun does not.
    left_to_keeper: bool,
}

/// One cgroup a command runs in.
#[derive(Debug)]
pub(crate) struct Cgroup {
    dir: PathBuf,
    /// `cgroup.procs`, open for writing: the child writes `0` to it to enter (where
    /// it cannot be created in the cgroup directly).
    procs: File,
    /// The cgroup's directory, for `clone3(CLONE_INTO_CGROUP)`.
    dir_fd: File,
    /// `cgroup.events`, read with pread.
    events: File,
    /// `cpu.stat` (there without any controller), read with pread; `None` where the
    /// kernel has none.
    cpu_stat: Option<File>,
    /// Its `usage_usec` when last read: what its jobs used before the current one.
    cpu_seen: AtomicU64,
    /// The limits written to it last (jobs in a slot come one after another).
    limits: std::sync::Mutex<CgroupLimits>,
    /// `oom_kill` of its `memory.events` when last read.
    oom_seen: AtomicU64,
}

/// Where this run's cgroup goes: `prun-<pid>` under prun's own cgroup. Known before it
/// is made, so the keeper (forked first) can clean it up however early prun dies.
pub(crate) fn run_path() -> Option<PathBuf> {
    Some(own_cgroup()?.join(format!("prun-{}", std::process::id())))
}

impl RunCgroup {
    /// Creates the run's cgroup at `dir` (`run_path`), with `slots` slot cgroups (the
    /// hooks' is made when the first hook runs); `None` where that cannot be done (then
    /// process groups alone are used). With `left_to_keeper` the keeper removes them.
    ///
    /// Made as early as the keeper allows: a child created in a cgroup made just before
    /// took ~0.1 ms longer to start than in one made a few hundred microseconds earlier
    /// (measured; the workers making the slots' cgroups at their first job was slower).
    /// `want`: the controllers jobs' limits need, enabled for the slots where the
    /// hierarchy offers them (`controllers` says which were).
    pub(crate) fn create(
        dir: PathBuf,
        slots: usize,
        left_to_keeper: bool,
        want: Controllers,
    ) -> Option<RunCgroup> {
        std::fs::DirBuilder::new().mode(0o755).create(&dir).ok()?;
        let controllers = if want.any() {
            enable(&dir, want)
        } else {
            Controllers::default()
        };
        let mut run = RunCgroup {
            controllers,
            dir,
            slots: Vec::with_capacity(slots),
            hooks: OnceLock::new(),
            probes: (0..slots).map(|_| OnceLock::new()).collect(),
            // Until every slot is made: a failure removes what was.
            left_to_keeper: false,
        };
        // A kernel without cgroup.kill (before 5.14) cannot kill a cgroup whole; where
        // the run's has it, so do its children.
        if !run.dir.join("cgroup.kill").exists() {
            return None;
        }
        for n in 1..=slots {
            // `run` drops (and removes what was made) on failure.
            run.slots
                .push(Cgroup::create(run.dir.join(format!("slot-{n}"))).ok()?);
        }
        run.left_to_keeper = left_to_keeper;
        Some(run)
    }

    /// The cgroup of pool slot `slot` (1-based).
    pub(crate) fn slot(&self, slot: usize) -> &Cgroup {
        &self.slots[slot - 1]
    }

    /// The hooks' cgroup, made the first time it is asked for; `None` if it cannot be
    /// (then hooks are kept together by their process groups alone).
    pub(crate) fn hooks(&self) -> Option<&Cgroup> {
        self.hooks
            .get_or_init(|| Cgroup::create(self.dir.join("hooks")).ok())
            .as_ref()
    }

    /// The cgroup of the exec probes of the service in `slot`, made the first time it is
    /// asked for (not the service's own: a probe's leftovers are killed when it ends, the
    /// service must live on).
    pub(crate) fn probe(&self, slot: usize) -> Option<&Cgroup> {
        self.probes
            .get(slot.checked_sub(1)?)?
            .get_or_init(|| Cgroup::create(self.dir.join(format!("probe-{slot}"))).ok())
            .as_ref()
    }

    /// The hooks' cgroup if one was made.
    pub(crate) fn hooks_made(&self) -> Option<&Cgroup> {
        self.hooks.get().and_then(Option::as_ref)
    }
}

impl Drop for RunCgroup {
    /// Whatever is still in the run's cgroup (nothing, after a normal run) is killed,
    /// and the cgroups are removed: prun leaves none behind.
    fn drop(&mut self) {
        if tree_populated(&self.dir) {
            signal_tree(&self.dir, libc::SIGKILL);
            let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while tree_populated(&self.dir) && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        if !self.left_to_keeper {
            remove_tree(&self.dir);
        }
    }
}

impl Cgroup {
    fn create(dir: PathBuf) -> io::Result<Cgroup> {
        std::fs::DirBuilder::new().mode(0o755).create(&dir)?;
        let dir_fd = File::open(&dir)?;
        // Opened from the directory: no walk of the whole path again.
        let procs = open_in(&dir_fd, c"cgroup.procs", libc::O_WRONLY)?;
        let events = open_in(&dir_fd, c"cgroup.events", libc::O_RDONLY)?;
        let cpu_stat = open_in(&dir_fd, c"cpu.stat", libc::O_RDONLY).ok();
        let cg = Cgroup {
            dir,
            procs,
            dir_fd,
            events,
            cpu_stat,
            // A cgroup just made has used nothing yet (no read at start-up).
            cpu_seen: AtomicU64::new(0),
            limits: std::sync::Mutex::new(CgroupLimits::default()),
            oom_seen: AtomicU64::new(0),
        };
        Ok(cg)
    }

    /// Writes `want` to its controllers' files (`memory.max`, `cpu.max`, `pids.max`)
    /// unless they hold it already; `max` for no limit. The files of a controller that
    /// is not enabled are not there, and the error says so.
    pub(crate) fn set_limits(&self, want: CgroupLimits) -> io::Result<()> {
        let mut now = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        if *now == want {
            return Ok(());
        }
        let max = || "max".to_owned();
        if now.memory != want.memory {
            let v = want.memory.map_or_else(max, |b| b.to_string());
            std::fs::write(self.dir.join("memory.max"), v)?;
            // Without this the limit only pushes the job into swap.
            let swap = if want.memory.is_some() { "0" } else { "max" };
            let _ = std::fs::write(self.dir.join("memory.swap.max"), swap);
        }
        if now.cpus != want.cpus {
            const PERIOD: u64 = 100_000;
            let v = want.cpus.map_or_else(
                || format!("max {PERIOD}"),
                |c| format!("{} {PERIOD}", ((c * PERIOD as f64) as u64).max(1000)),
            );
            std::fs::write(self.dir.join("cpu.max"), v)?;
        }
        if now.pids != want.pids {
            let v = want.pids.map_or_else(max, |p| p.to_string());
            std::fs::write(self.dir.join("pids.max"), v)?;
        }
        *now = want;
        Ok(())
    }

    /// Whether the OOM killer killed a process in it since this was last asked (from
    /// `memory.events`, there only with the memory controller).
    pub(crate) fn oom_killed(&self) -> bool {
        let Ok(text) = std::fs::read_to_string(self.dir.join("memory.events")) else {
            return false;
        };
        let Some(n) = text
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse::<u64>().ok())
        else {
            return false;
        };
        self.oom_seen.swap(n, Ordering::Relaxed) < n
    }

    /// The CPU time (user + system) its processes used since this was last asked, that
    /// is, by the job that ran in it since: every process that was in it, whether
    /// anyone waited for it or not. One pread of `cpu.stat`.
    pub(crate) fn cpu_used(&self) -> Option<std::time::Duration> {
        let mut buf = [0u8; 256];
        let n = self.cpu_stat.as_ref()?.read_at(&mut buf, 0).ok()?;
        let now = usage_usec(&buf[..n])?;
        let before = self.cpu_seen.swap(now, Ordering::Relaxed);
        Some(std::time::Duration::from_micros(now.saturating_sub(before)))
    }

    /// The descriptor a child writes `0` to, to move itself in.
    pub(crate) fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }

    /// The directory's descriptor, to create a child in the cgroup.
    pub(crate) fn dir_fd(&self) -> RawFd {
        self.dir_fd.as_raw_fd()
    }

    /// Whether any process is in it (zombies are not).
    pub(crate) fn populated(&self) -> bool {
        let mut buf = [0u8; 128];
        match self.events.read_at(&mut buf, 0) {
            Ok(n) => populated_in(&buf[..n]),
            Err(_) => false,
        }
    }

    /// The processes in it now.
    pub(crate) fn pids(&self) -> Vec<i32> {
        pids_in(&self.dir)
    }

    /// Sends `sig` to every process in it but those of process group `sent` (which the
    /// caller has signalled already: a shell with a trap must not run it twice);
    /// SIGKILL through `cgroup.kill`, which reaches processes forked while it is sent.
    pub(crate) fn signal(&self, sig: i32, sent: i32) {
        signal_tree_except(&self.dir, sig, &|pgid| pgid == sent);
    }

    /// Reaps what this cgroup's processes left as zombies of prun (prun is their
    /// subreaper once their parents die): `pids` were in it before it emptied.
    pub(crate) fn reap(pids: &[i32]) {
        for &pid in pids {
            // SAFETY: a non-blocking wait for one pid; ECHILD when it is not ours.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        }
    }
}

/// Enables the controllers of `want` that `dir`'s parent offers for `dir`'s children;
/// returns those that are.
fn enable(dir: &Path, want: Controllers) -> Controllers {
    let offered = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let can = Controllers::listed(&offered).and(want);
    let words: Vec<&str> = [
        (can.memory, "+memory"),
        (can.cpu, "+cpu"),
        (can.pids, "+pids"),
    ]
    .into_iter()
    .filter_map(|(on, w)| on.then_some(w))
    .collect();
    if !words.is_empty() {
        // One at a time: a controller that cannot be enabled does not stop the others.
        for w in words {
            let _ = std::fs::write(dir.join("cgroup.subtree_control"), w);
        }
    }
    let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    Controllers::listed(&enabled).and(want)
}

/// `usage_usec` of a `cpu.stat`.
fn usage_usec(stat: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(stat).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("usage_usec "))?;
    line.trim().parse().ok()
}

/// `name` in the directory `dir`, opened with `flags` (close-on-exec).
fn open_in(dir: &File, name: &std::ffi::CStr, flags: libc::c_int) -> io::Result<File> {
    // SAFETY: openat with a directory descriptor we own and a NUL-terminated name.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor just opened, owned by the File from here on.
    Ok(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

fn populated_in(events: &[u8]) -> bool {
    String::from_utf8_lossy(events)
        .lines()
        .any(|l| l.trim() == "populated 1")
}

fn pids_in(dir: &Path) -> Vec<i32> {
    let mut text = String::new();
    let _ = File::open(dir.join("cgroup.procs")).and_then(|mut f| f.read_to_string(&mut text));
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// `sig` to every process in the cgroup at `dir` and below (see `Cgroup::signal`).
pub(crate) fn signal_tree(dir: &Path, sig: i32) {
    signal_tree_except(dir, sig, &|_| false);
}

/// `signal_tree`, but for processes whose process group `sent` says was signalled
/// already (SIGKILL goes to every process all the same: twice is harmless).
pub(crate) fn signal_tree_except(dir: &Path, sig: i32, sent: &dyn Fn(i32) -> bool) {
    if sig == libc::SIGKILL
        && OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.kill"))
            .and_then(|mut f| f.write_all(b"1"))
            .is_ok()
    {
        return;
    }
    for pid in pids_in(dir) {
        // SAFETY: getpgid and kill with a pid read from the cgroup, a valid signal.
        if sig != libc::SIGKILL && sent(unsafe { libc::getpgid(pid) }) {
            continue;
        }
        // SAFETY: as above.
        unsafe { libc::kill(pid, sig) };
    }
    for sub in subdirs(dir) {
        signal_tree_except(&sub, sig, sent);
    }
}

/// Whether any process is in the cgroup at `dir` (or below).
pub(crate) fn tree_populated(dir: &Path) -> bool {
    std::fs::read(dir.join("cgroup.events")).is_ok_and(|e| populated_in(&e))
}

/// Removes the cgroup at `dir` and its children (each must be empty).
pub(crate) fn remove_tree(dir: &Path) {
    for sub in subdirs(dir) {
        remove_tree(&sub);
    }
    let _ = std::fs::remove_dir(dir);
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events_and_mountinfo_escapes() {
        assert!(populated_in(b"populated 1\nfrozen 0\n"));
        assert!(!populated_in(b"populated 0\nfrozen 0\n"));
        assert_eq!(unescape(r"/sys/fs/my\040cgroup"), "/sys/fs/my cgroup");
        let c = Controllers::listed("cpuset cpu io memory hugetlb pids rdma\n");
        assert!(c.memory && c.cpu && c.pids);
        assert_eq!(Controllers::listed("cpuset io\n"), Controllers::default());
        let stat = b"usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n";
        assert_eq!(usage_usec(stat), Some(1500));
        assert_eq!(usage_usec(b"user_usec 1\n"), None);
    }
}
