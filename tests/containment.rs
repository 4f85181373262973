//! Containment: no job's process outlives prun — not one started in the first
//! millisecond, not a daemon that left its process group. With cgroup v2 (root here, as in
//! CI) each job lives in a cgroup; without, process groups (tested as `nobody`); and as a
//! user with a cgroup delegated to it, cgroups again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::util::facility::{Facility, need};
use crate::util::{Prun, alive, bin, gone_within, own_cgroup_dir};

/// The containment `--dry-run` reports.
fn containment(p: &Prun) -> String {
    let out = p.command().arg("--dry-run").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("containment: "))
        .unwrap_or_default()
        .to_owned()
}

/// Whether the cgroup of the run of prun `pid` (`prun-<pid>` beside this test's own
/// cgroup, where prun makes it) is still there a few seconds on.
fn cgroup_left(pid: u32) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(4) {
        if !cgroup_dirs().contains(&format!("prun-{pid}")) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The `prun-*` cgroups beside this test's own; a test that looks for them must be
/// able to see them (else it would pass without testing).
fn cgroup_dirs() -> Vec<String> {
    let dir = own_cgroup_dir().expect("this test's own cgroup v2 directory is not to be found");
    assert!(dir.is_dir(), "{} is not a directory", dir.display());
    prun_cgroups_in(&dir)
}

/// Whether the `prun-*` cgroups in `dir` are gone within a few seconds (the keeper
/// removes them just after prun exits).
fn prun_cgroups_gone(dir: &Path) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if prun_cgroups_in(dir).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The `prun-*` cgroups in `dir`.
fn prun_cgroups_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("prun-"))
        .collect()
}

/// Jobs that leave their process group: a `setsid` background process, and a daemon
/// made by a double fork (its parent exits at once). `{m}` makes the markers unique.
fn escaping_jobs(m: &str, extra: &str) -> String {
    format!(
        "jobs:
  - name: setsid
    run: setsid sleep 38.{m}1 & touch setsid.started; {extra}
  - name: daemon
    run: (setsid sh -c 'sleep 38.{m}2 & exit 0' &); touch daemon.started; {extra}
"
    )
}

/// Runs prun with a 1s grace period; its pid and what it did.
fn run(p: &Prun) -> (u32, std::process::Output) {
    let child = p
        .command()
        .args(["--grace", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child.id(), child.wait_with_output().unwrap())
}

/// Checks that prun says it contains jobs in cgroups (the tests run only where it can).
fn assert_cgroups(p: &Prun) {
    let c = containment(p);
    assert!(c.starts_with("cgroup v2"), "containment here: {c}");
}

fn daemons_left_behind_by_a_job_are_stopped_when_it_ends() {
    need(&[Facility::Cgroups]);
    let p = Prun::new().jobfile(&escaping_jobs("11", "true"));
    assert_cgroups(&p);
    let (pid, out) = run(&p);
    assert!(out.status.success(), "{out:?}");
    assert!(
        gone_within("sleep 38.11", Duration::from_secs(3)),
        "a daemon survived its job"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for job in ["setsid", "daemon"] {
        assert!(
            stderr.contains(&format!(
                "job '{job}': left processes running after it exited"
            )),
            "{stderr}"
        );
    }
    assert!(!cgroup_left(pid));
}

fn jobs_and_hooks_start_in_their_cgroup_created_there_or_moved_there() {
    need(&[Facility::Cgroups]);
    // Created in the slot's cgroup by clone3(CLONE_INTO_CGROUP), or, as on kernels
    // before 5.7 (PRUN_NO_CLONE3), moving itself in before it execs: the same place.
    for no_clone3 in [false, true] {
        let mut p = Prun::new().jobfile(
            "jobs:\n  - run: cp /proc/self/cgroup job\n    on_success: cp /proc/self/cgroup hook\n",
        );
        if no_clone3 {
            p = p.env("PRUN_NO_CLONE3", "1");
        }
        assert_cgroups(&p);
        p.run().code(0);
        let v2 = |f: &str| {
            let text = p.read(f);
            text.lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
                .unwrap_or_else(|| panic!("no cgroup v2 line in {text}"))
        };
        let (job, hook) = (v2("job"), v2("hook"));
        assert!(job.contains("/prun-") && job.ends_with("/slot-1"), "{job}");
        assert!(
            hook.contains("/prun-") && hook.ends_with("/hooks"),
            "{hook}"
        );
    }
}

fn daemons_of_a_timed_out_job_are_stopped() {
    need(&[Facility::Cgroups]);
    let p = Prun::new().jobfile(
        &escaping_jobs("22", "sleep 30").replace("    run:", "    timeout: 500ms\n    run:"),
    );
    assert_cgroups(&p);
    let (pid, out) = run(&p);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for job in ["setsid", "daemon"] {
        assert!(
            stderr.contains(&format!("job '{job}': timed out after 500ms")),
            "{stderr}"
        );
    }
    assert!(gone_within("sleep 38.22", Duration::from_secs(3)));
    assert!(!cgroup_left(pid));
}

fn daemons_are_stopped_when_prun_is_interrupted_or_killed() {
    need(&[Facility::Cgroups]);
    for (sig, marker) in [(Signal::SIGINT, "33"), (Signal::SIGKILL, "44")] {
        let p = Prun::new().jobfile(&escaping_jobs(marker, "sleep 30"));
        assert_cgroups(&p);
        let child = p
            .command()
            .args(["--grace", "1s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while !(p.path("setsid.started").exists() && p.path("daemon.started").exists()) {
            assert!(t.elapsed() < Duration::from_secs(10), "jobs never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = child.id();
        kill(Pid::from_raw(pid as i32), sig).unwrap();
        child.wait_with_output().unwrap();
        assert!(
            gone_within(&format!("sleep 38.{marker}"), Duration::from_secs(4)),
            "a daemon survived {sig}"
        );
        assert!(!cgroup_left(pid), "{sig}: the run's cgroup was left behind");
    }
}

fn no_job_survives_prun_killed_in_its_first_milliseconds() {
    let p = Prun::new().jobfile(
        "jobs:\n  - sleep 37.9901\n  - sleep 37.9902\n  - /bin/sh -c 'sleep 37.9903'\n  - echo go; sleep 37.9904\n",
    );
    let mut seed = 0x2545_f491_4f6c_dd1d_u64 ^ u64::from(std::process::id());
    let mut pids = Vec::new();
    for _ in 0..40 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 20_000);
        let mut child = p
            .command()
            .args(["-j", "4", "--grace", "1s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        pids.push(child.id());
    }
    assert!(
        gone_within("sleep 37.990", Duration::from_secs(5)),
        "a job outlived a SIGKILLed prun"
    );
    for pid in pids {
        assert!(!cgroup_left(pid), "the cgroup of run {pid} was left behind");
    }
}

fn without_cgroups_prun_says_so_and_uses_process_groups() {
    need(&[Facility::Root]);
    // As `nobody`, prun may not create cgroups (and not write in a root-owned temp dir).
    let p = Prun::new().jobfile("jobs:\n  - name: a\n    run: sleep 37.7701 & echo started\n");
    p.open_to_all();
    let as_nobody = |args: &[&str]| {
        crate::util::as_user(65_534)
            .arg(bin())
            .arg("jobs.yaml")
            .args(args)
            .current_dir(p.dir.path())
            .output()
            .unwrap()
    };
    let dry = as_nobody(&["--dry-run"]);
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(text.contains("containment: process groups"), "{text}");
    let out = as_nobody(&[]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        !alive("sleep 37.7701"),
        "a leftover in the job's group survived"
    );
}

fn containment_can_be_chosen_and_a_required_cgroup_is_never_silently_missing() {
    let p = Prun::new().jobfile("containment: process-group\njobs:\n  - touch ran\n");
    assert_eq!(
        containment(&p),
        "process groups (--containment process-group)"
    );
    p.run().code(0);
    assert!(p.path("ran").exists());
    let p = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--containment", "process-group"]);
    assert!(containment(&p).starts_with("process groups"));
}

fn a_required_cgroup_that_cannot_be_made_stops_the_run_before_anything_runs() {
    need(&[Facility::Root]);
    let p = Prun::new().jobfile("jobs:\n  - touch ran\n");
    p.open_to_all();
    let out = crate::util::as_user(65_534)
        .arg(bin())
        .args(["jobs.yaml", "--containment", "cgroup"])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("containment: cgroup was asked for"),
        "{stderr}"
    );
    assert!(!p.path("ran").exists());
}

/// A cgroup delegated to `uid` (made under this test's own, removed when dropped): what
/// systemd's `Delegate=yes` gives a user's service.
struct Delegated {
    dir: PathBuf,
    uid: u32,
}

impl Delegated {
    fn new(uid: u32) -> Delegated {
        let dir = own_cgroup_dir()
            .unwrap()
            .join(format!("delegated-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        for f in [
            "",
            "cgroup.procs",
            "cgroup.threads",
            "cgroup.subtree_control",
        ] {
            std::os::unix::fs::chown(dir.join(f), Some(uid), Some(uid)).unwrap();
        }
        Delegated { dir, uid }
    }

    /// `prun ARGS` in `p`'s directory, as the user, started inside the delegated cgroup
    /// (root moves the shell in, then it becomes the user).
    fn prun(&self, p: &Prun, limit: &[&str], args: &[&str]) -> std::process::Output {
        let procs = self.dir.join("cgroup.procs");
        std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"echo $$ > "$1" && shift && exec "$@""#)
            .arg("sh")
            .arg(&procs)
            .args(crate::util::as_user_words(self.uid))
            .args(limit)
            .arg(bin())
            .arg("jobs.yaml")
            .args(args)
            .current_dir(p.dir.path())
            .output()
            .unwrap()
    }
}

impl Drop for Delegated {
    /// Removes the cgroup with whatever a failed test left in it (children first).
    fn drop(&mut self) {
        fn remove(dir: &Path) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    remove(&e.path());
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
        remove(&self.dir);
    }
}

fn a_user_in_a_delegated_cgroup_gets_cgroups_and_clear_errors_at_its_process_limit() {
    need(&[Facility::Root, Facility::Cgroups]);
    // A user's service with Delegate=yes: not root, but its own cgroup to manage. prun
    // makes its cgroups there (jobs and hooks are created in them, clone3 checks the
    // user's rights), and removes them.
    let d = Delegated::new(64_991);
    let p = Prun::new().jobfile(
        "jobs:\n  - name: direct\n    run: cp /proc/self/cgroup job.cg\n    on_success: cp /proc/self/cgroup hook.cg\n  - name: shell\n    run: cat /proc/self/cgroup > shell.cg\n",
    );
    p.open_to_all();
    let dry = d.prun(&p, &[], &["--dry-run"]);
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.contains(&format!(
            "cgroup v2: the jobs of each pool slot in a cgroup of their own under {}",
            d.dir.display()
        )),
        "{text}"
    );
    let out = d.prun(&p, &[], &["-j", "2"]);
    assert!(out.status.success(), "{out:?}");
    let name = d.dir.file_name().unwrap().to_string_lossy().into_owned();
    for (file, end) in [
        ("job.cg", "/slot-"),
        ("shell.cg", "/slot-"),
        ("hook.cg", "/hooks"),
    ] {
        let text = p.read(file);
        let v2 = text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or_default();
        assert!(
            v2.contains(&format!("/{name}/prun-")) && v2.contains(end),
            "{file}: {text}"
        );
    }
    assert!(prun_cgroups_gone(&d.dir), "prun left its cgroups");

    // At its process limit (raised until prun itself starts, whatever threads it has):
    // clone3 fails with EAGAIN, and each job is a failure that says why.
    std::fs::remove_file(p.path("job.cg")).unwrap();
    let out = (2..16)
        .map(|n| {
            crate::util::wait_for_no_processes_of(d.uid);
            d.prun(&p, &["prlimit", &format!("--nproc={n}")], &["-j", "1"])
        })
        .find(|o| {
            let stderr = String::from_utf8_lossy(&o.stderr);
            !stderr.lines().any(|l| l.starts_with("error:"))
        })
        .expect("prun never got past its start-up");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("job 'direct': cannot start cp: Resource temporarily unavailable")
            && stderr.contains("process limit"),
        "{stderr}"
    );
    assert!(!p.path("job.cg").exists());
    assert!(prun_cgroups_gone(&d.dir), "prun left its cgroups");
}

crate::tests!(
    daemons_left_behind_by_a_job_are_stopped_when_it_ends,
    jobs_and_hooks_start_in_their_cgroup_created_there_or_moved_there,
    daemons_of_a_timed_out_job_are_stopped,
    daemons_are_stopped_when_prun_is_interrupted_or_killed,
    no_job_survives_prun_killed_in_its_first_milliseconds,
    without_cgroups_prun_says_so_and_uses_process_groups,
    containment_can_be_chosen_and_a_required_cgroup_is_never_silently_missing,
    a_required_cgroup_that_cannot_be_made_stops_the_run_before_anything_runs,
    a_user_in_a_delegated_cgroup_gets_cgroups_and_clear_errors_at_its_process_limit,
);
