//! The spawn fast path: `clone(CLONE_VM | CLONE_VFORK)` and a child that does only what
//! a job needs before `execve`.
//!
//! glibc's posix_spawn is the same mechanism, but its child cannot know which signals
//! have handlers, so it asks about every one of the 64 and resets each: about 130
//! `sigaction` calls per job, ~15% of a worker's CPU per job measured with perf (3,000
//! `echo` jobs at -j 2). prun knows its handlers: they are installed before the first
//! job and read once (`handled_signals`), and the child resets just those.
//!
//! The child shares prun's memory until it execs, on a stack of its own, with prun's
//! calling thread suspended (CLONE_VFORK) and every signal blocked in it. So it only
//! makes raw system calls on data prepared here: no allocation, no locks, no panics.
//! Failures (chdir, exec) are written to `ChildArgs::error` and end the child with
//! `_exit(127)`; the parent reaps it and returns the error, as posix_spawn does.
//!
//! Where prun uses cgroups the child is created in the job's cgroup (`clone3` with
//! `CLONE_INTO_CGROUP`), or, where that is refused, moves itself in first thing. Before
//! anything else it puts itself in a new process group and tells the keeper (`+PGID` on its pipe): a job
//! is known to what kills it when prun is SIGKILLed before it runs a single instruction
//! of its own, however early prun dies.

use std::cell::RefCell;
use std::ffi::{CStr, c_void};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// `clone3(CLONE_INTO_CGROUP)` works here (until it fails once).
static CLONE3: AtomicBool = AtomicBool::new(cfg!(target_arch = "x86_64"));

/// Whether to try `clone3(CLONE_INTO_CGROUP)`: until it fails once, and unless
/// `PRUN_NO_CLONE3` is set (which tests the way older kernels take).
fn clone3_allowed() -> bool {
    static ENV: OnceLock<bool> = OnceLock::new();
    CLONE3.load(Ordering::Relaxed)
        && *ENV.get_or_init(|| std::env::var_os("PRUN_NO_CLONE3").is_none())
}

/// What the child does, all prepared by the parent.
pub(super) struct ChildArgs<'a> {
    /// The files to exec, tried in order as execvp does (one when it is known).
    pub(super) programs: &'a [&'a CStr],
    /// NULL-terminated.
    pub(super) argv: &'a [*mut libc::c_char],
    /// NULL-terminated.
    pub(super) envp: &'a [*mut libc::c_char],
    pub(super) workdir: Option<&'a CStr>,
    /// Made fd 0, else /dev/null is opened as fd 0.
    pub(super) stdin: Option<RawFd>,
    /// Made fds 1 and 2.
    pub(super) out: Option<RawFd>,
    /// Open /dev/null as fds 1 and 2 (with `out` unset).
    pub(super) null_out: bool,
    /// The keeper's pipe (blocking), to register the child's process group on.
    pub(super) keeper: Option<RawFd>,
    /// The cgroup to start the child in.
    pub(super) cgroup: Option<CgroupFds>,
    /// Its niceness (`setpriority`).
    pub(super) nice: Option<i32>,
    /// Its I/O priority (`ioprio_set`).
    pub(super) ioprio: Option<i32>,
    /// RLIMIT_AS, soft and hard.
    pub(super) address_space: Option<libc::rlimit>,
}

/// Which of the child's own settings failed (`Shared::step`), to say so.
const STEP_NICE: u8 = 1;
const STEP_IO: u8 = 2;
const STEP_RLIMIT: u8 = 3;

/// A cgroup, as the child is put in it: created there by `clone3(CLONE_INTO_CGROUP)`
/// (`dir`), or, where that is not available, moving itself in (`procs`).
#[derive(Clone, Copy)]
pub(super) struct CgroupFds {
    pub(super) dir: RawFd,
    pub(super) procs: RawFd,
}

/// The child's view: the arguments, what to reset, and where to put an error.
struct Shared<'a> {
    args: &'a ChildArgs<'a>,
    reset: &'a [libc::c_int],
    default_action: libc::sigaction,
    empty_mask: libc::sigset_t,
    /// errno of the step that failed, 0 if the child reached its program.
    error: libc::c_int,
    /// The child was created in its cgroup (it need not move itself).
    in_cgroup: bool,
    /// The `STEP_*` that failed, 0 for any other step.
    step: u8,
}

/// The child's stack. execve needs little; glibc gives its spawn child 32 KiB or more.
const STACK: usize = 64 * 1024;

thread_local! {
    /// Each worker's stack for its children, allocated once.
    /// (Never read or written by prun: only the children's few frames touch it.)
    static STACK_MEM: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(STACK));
}

/// Signals with a handler in prun, plus SIGPIPE (ignored by every Rust program) and
/// SIGXFSZ (ignored by prun, see `signals`): what the child resets to the default before
/// exec. What prun inherited ignored (under nohup, say) stays ignored for its jobs, as
/// with std's Command. Read at the first spawn, after prun has installed its handlers;
/// a handler installed later would reach jobs, which debug builds check at every spawn.
fn handled_signals() -> &'static [libc::c_int] {
    static SET: OnceLock<Vec<libc::c_int>> = OnceLock::new();
    let set = SET.get_or_init(handled_now);
    debug_assert_eq!(
        set,
        &handled_now(),
        "a signal handler changed after the first spawn: jobs would inherit it"
    );
    set
}

/// The signals `handled_signals` is about, as they are now.
fn handled_now() -> Vec<libc::c_int> {
    (1..=libc::SIGRTMAX())
        .filter(|&sig| {
            let mut old = MaybeUninit::<libc::sigaction>::zeroed();
            // SAFETY: queries a disposition into a zeroed struct we own; glibc refuses
            // its internal signals with an error, and those are skipped.
            let ok = unsafe { libc::sigaction(sig, ptr::null(), old.as_mut_ptr()) } == 0;
            // SAFETY: initialised by sigaction (or still zeroed).
            let handler = unsafe { old.assume_init() }.sa_sigaction;
            ok && (sig == libc::SIGPIPE
                || sig == libc::SIGXFSZ
                || (handler != libc::SIG_DFL && handler != libc::SIG_IGN))
        })
        .collect()
}

/// Starts the child; returns its pid (= its process group).
///
/// # Safety
/// The child hands `args` straight to the kernel: `argv` and `envp` must be
/// NULL-terminated arrays of pointers to NUL-terminated strings, and every pointer and
/// descriptor in `args` must stay valid until this returns (the child has exec'd or
/// exited by then).
pub(super) unsafe fn spawn(args: &ChildArgs<'_>) -> io::Result<i32> {
    // SAFETY: sigset_t and sigaction are plain C structs, initialised by the calls below
    // before use.
    let mut shared = unsafe {
        let mut empty = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(empty.as_mut_ptr());
        let mut dfl: libc::sigaction = MaybeUninit::zeroed().assume_init();
        dfl.sa_sigaction = libc::SIG_DFL;
        Shared {
            args,
            reset: handled_signals(),
            default_action: dfl,
            empty_mask: empty.assume_init(),
            error: 0,
            in_cgroup: false,
            step: 0,
        }
    };
    STACK_MEM.with(|stack| {
        let mut stack = stack.borrow_mut();
        // The stack grows down: pass its (16-byte aligned) top.
        let top = (stack.as_mut_ptr() as usize + STACK) & !15;
        // SAFETY: all signals are blocked around the clone so no handler of prun's runs in
        // the child before it has reset them; the child only touches `shared`, which lives
        // until it has exec'd or exited (CLONE_VFORK suspends this thread until then).
        unsafe {
            let mut all = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigfillset(all.as_mut_ptr());
            let mut old = MaybeUninit::<libc::sigset_t>::uninit();
            libc::pthread_sigmask(libc::SIG_SETMASK, all.as_ptr(), old.as_mut_ptr());
            let arg: *mut c_void = ptr::addr_of_mut!(shared).cast();
            let mut pid = -1;
            if let Some(cg) = args.cgroup
                && clone3_allowed()
            {
                // Created in its cgroup: no migration, which waits for an RCU grace
                // period (~0.1 ms per job, 4-8 ms after a quiet moment).
                (*arg.cast::<Shared<'_>>()).in_cgroup = true;
                loop {
                    match clone3_into_cgroup(cg.dir, stack.as_mut_ptr(), top, arg) {
                        Ok(p) => pid = p,
                        Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                        // Out of processes or memory: clone would fail the same way, and
                        // clone3 stays the way for the jobs after.
                        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::ENOMEM)) => {
                            libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), ptr::null_mut());
                            return Err(e);
                        }
                        // No clone3 (before 5.3, or refused by a seccomp filter), no
                        // CLONE_INTO_CGROUP (before 5.7), or refused for this cgroup: the
                        // child moves itself, from now on (and says why if it cannot).
                        Err(_) => {
                            CLONE3.store(false, Ordering::Relaxed);
                            (*arg.cast::<Shared<'_>>()).in_cgroup = false;
                        }
                    }
                    break;
                }
            }
            if pid < 0 {
                pid = libc::clone(
                    child,
                    top as *mut c_void,
                    libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                    arg,
                );
            }
            let clone_error = io::Error::last_os_error();
            libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), ptr::null_mut());
            if pid < 0 {
                return Err(clone_error);
            }
            let error = ptr::read_volatile(&shared.error);
            if error != 0 {
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
                // It registered itself: the group is gone, and its number may be reused.
                if let Some(fd) = args.keeper {
                    register(fd, b'-', pid);
                }
                let e = io::Error::from_raw_os_error(error);
                return Err(match ptr::read_volatile(&shared.step) {
                    STEP_NICE => io::Error::new(
                        e.kind(),
                        format!(
                            "cannot set nice {}: {e}{}",
                            args.nice.unwrap_or(0),
                            if error == libc::EACCES || error == libc::EPERM {
                                " (a nice below prun's own needs root or CAP_SYS_NICE)"
                            } else {
                                ""
                            }
                        ),
                    ),
                    STEP_IO => io::Error::new(e.kind(), format!("cannot set its io priority: {e}")),
                    STEP_RLIMIT => io::Error::new(
                        e.kind(),
                        format!("cannot limit its memory (RLIMIT_AS): {e}"),
                    ),
                    _ => e,
                });
            }
            Ok(pid)
        }
    })
}

/// The child, between clone and exec.
extern "C" fn child(arg: *mut c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `Shared`, alive while this runs (see `spawn`); only
    // async-signal-safe system calls follow, on data the parent prepared.
    unsafe {
        let sh = &mut *arg.cast::<Shared<'_>>();
        let a = sh.args;
        let fail = |sh: &mut Shared<'_>| -> ! {
            ptr::write_volatile(&mut sh.error, *libc::__errno_location());
            libc::_exit(127)
        };
        if libc::setpgid(0, 0) != 0 {
            fail(sh);
        }
        // Into the job's cgroup (unless created there): from here on nothing it starts
        // can leave prun's reach.
        if let Some(cg) = a.cgroup
            && !sh.in_cgroup
            && libc::write(cg.procs, c"0".as_ptr().cast(), 1) != 1
        {
            fail(sh);
        }
        // Its own settings (`nice:`, `io:`, a memory limit as RLIMIT_AS).
        if let Some(n) = a.nice
            && libc::setpriority(libc::PRIO_PROCESS, 0, n) != 0
        {
            sh.step = STEP_NICE;
            fail(sh);
        }
        if let Some(p) = a.ioprio
            && libc::syscall(libc::SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, p) != 0
        {
            sh.step = STEP_IO;
            fail(sh);
        }
        if let Some(lim) = &a.address_space
            && libc::setrlimit(libc::RLIMIT_AS, lim) != 0
        {
            sh.step = STEP_RLIMIT;
            fail(sh);
        }
        // Before the signals are reset: SIGPIPE is still ignored here, so a keeper that
        // is gone makes this write fail (EPIPE) instead of killing the child.
        if let Some(fd) = a.keeper {
            register(fd, b'+', libc::syscall(libc::SYS_getpid) as i32);
        }
        for &sig in sh.reset {
            libc::sigaction(sig, &sh.default_action, ptr::null_mut());
        }
        let null = c"/dev/null".as_ptr();
        match a.stdin {
            Some(fd) => {
                if libc::dup2(fd, 0) < 0 {
                    fail(sh);
                }
            }
            None => {
                if open_at(null, libc::O_RDONLY, 0) != 0 {
                    fail(sh);
                }
            }
        }
        if let Some(fd) = a.out {
            if libc::dup2(fd, 1) < 0 || libc::dup2(fd, 2) < 0 {
                fail(sh);
            }
        } else if a.null_out && (open_at(null, libc::O_WRONLY, 1) != 0 || libc::dup2(1, 2) < 0) {
            fail(sh);
        }
        if let Some(dir) = a.workdir
            && libc::chdir(dir.as_ptr()) != 0
        {
            fail(sh);
        }
        libc::sigprocmask(libc::SIG_SETMASK, &sh.empty_mask, ptr::null_mut());
        // As execvp: go on past files that are not there; report EACCES if one was
        // found but not runnable, any other error at once.
        let mut denied = false;
        for program in a.programs {
            libc::execve(
                program.as_ptr(),
                a.argv.as_ptr().cast(),
                a.envp.as_ptr().cast(),
            );
            match *libc::__errno_location() {
                libc::EACCES => denied = true,
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENAMETOOLONG => {}
                _ => fail(sh),
            }
        }
        if denied {
            *libc::__errno_location() = libc::EACCES;
        } else if a.programs.is_empty() {
            *libc::__errno_location() = libc::ENOENT;
        }
        fail(sh)
    }
}

/// `struct clone_args` (linux/sched.h), up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `clone3(CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP)`: `child(arg)` runs on the stack
/// from `bottom` to `top` (16-byte aligned), already in the cgroup of directory `dir`;
/// this thread resumes when it has exec'd or exited. glibc has no wrapper for clone3, and
/// a child sharing our memory must start on its own stack, so the system call is made
/// here: the child finds `child` and `arg` in callee-saved registers, calls it, and exits
/// with what it returns (it never does: it execs or `_exit`s).
///
/// # Safety
/// As `libc::clone` with CLONE_VM: `arg` must stay valid until the child has exec'd or
/// exited (CLONE_VFORK ensures it), the stack must not be used by anything else meanwhile,
/// and `child` may only make async-signal-safe calls.
#[cfg(target_arch = "x86_64")]
unsafe fn clone3_into_cgroup(
    dir: RawFd,
    bottom: *mut u8,
    top: usize,
    arg: *mut c_void,
) -> io::Result<i32> {
    let args = CloneArgs {
        flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        stack: bottom as u64,
        stack_size: (top - bottom as usize) as u64,
        cgroup: dir as u64,
        ..CloneArgs::default()
    };
    let entry: extern "C" fn(*mut c_void) -> libc::c_int = child;
    let ret: i64;
    // SAFETY: the system call only reads `args`. In the parent (rax != 0) nothing else
    // happens. The child starts on the new stack (the kernel sets rsp to its top, 16-byte
    // aligned, so the call sees the ABI's alignment) with this thread's registers: r12
    // and r13 hold `entry` and `arg`; it never comes back here (exit(2) after the call).
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") ptr::addr_of!(args),
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") entry,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if ret < 0 {
        Err(io::Error::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as i32)
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn clone3_into_cgroup(_: RawFd, _: *mut u8, _: usize, _: *mut c_void) -> io::Result<i32> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// Writes `+PID\n` or `-PID\n` to the keeper's pipe in one write (under PIPE_BUF, so
/// atomic): formatted on the stack, with raw system calls only, as the vfork child may.
fn register(fd: RawFd, op: u8, pid: i32) {
    let mut line = [0u8; 16];
    let mut digits = [0u8; 12];
    let mut n = 0;
    let mut v = pid.unsigned_abs();
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    line[0] = op;
    for i in 0..n {
        line[1 + i] = digits[n - 1 - i];
    }
    line[n + 1] = b'\n';
    // SAFETY: writes from a valid stack buffer; a failure (the keeper gone) is ignored.
    unsafe { libc::write(fd, line.as_ptr().cast(), n + 2) };
}

/// Opens `path` as exactly fd `target`; 0 on success.
///
/// # Safety
/// `path` must be a NUL-terminated string.
unsafe fn open_at(path: *const libc::c_char, flags: libc::c_int, target: RawFd) -> libc::c_int {
    // SAFETY: plain system calls; `path` is valid per the contract.
    unsafe {
        let fd = libc::open(path, flags);
        if fd < 0 {
            return -1;
        }
        if fd != target {
            if libc::dup2(fd, target) < 0 {
                return -1;
            }
            libc::close(fd);
        }
        0
    }
}
