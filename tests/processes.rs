//! Processes: a job's group is cleaned up when its shell exits; a job that cannot start
//! is a failed job, not a crash.

use std::time::Duration;

use crate::util::facility::{Facility, need};
use crate::util::{Prun, gone_within};

fn background_processes_left_by_a_job_are_terminated() {
    let p = Prun::new().jobfile("jobs:\n  - name: leaky\n    run: sleep 31.4159 & echo started\n");
    let r = p.run();
    r.code(0);
    assert!(r.elapsed < Duration::from_secs(8), "took {:?}", r.elapsed);
    assert!(
        gone_within("sleep 31.4159", Duration::from_secs(2)),
        "leftover still running"
    );
    assert!(r.stderr.contains("left processes running"), "{}", r.stderr);
}

fn a_job_whose_workdir_is_missing_fails_and_the_rest_run() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: lost\n    workdir: no/such/dir\n    run: 'true'\n  - name: fine\n    run: touch fine\n",
    );
    let r = p.run();
    r.code(1);
    assert!(p.path("fine").exists());
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

fn a_job_the_process_limit_refuses_fails_and_says_why() {
    need(&[Facility::Root]);
    // A user at `ulimit -u` (RLIMIT_NPROC): prun itself starts, its jobs cannot. Each job
    // must fail, naming what could not start and why - never a success, never a crash.
    // The limit counts every process of the user, so the test runs as a uid of its own,
    // and tries limits upward until prun gets past its own start (whatever threads it has).
    let p = Prun::new().jobfile(
        "jobs:\n  - name: direct\n    run: touch ran-direct\n  - name: shell\n    run: touch ran-shell; true\n",
    );
    p.open_to_all();
    let run_at = |limit: u32| {
        crate::util::as_user(64_999)
            .args(["prlimit", &format!("--nproc={limit}")])
            .arg(crate::util::bin())
            .args(["jobs.yaml", "-j", "1", "--report", "r.json"])
            .current_dir(p.dir.path())
            .output()
            .unwrap()
    };
    let out = (2..16)
        .map(|limit| {
            crate::util::wait_for_no_processes_of(64_999);
            run_at(limit)
        })
        .find(|o| {
            // Below what prun needs for itself, it stops at once, saying why.
            let stderr = String::from_utf8_lossy(&o.stderr);
            let refused = stderr.lines().any(|l| l.starts_with("error:"));
            assert!(
                !refused
                    || (o.status.code() == Some(1)
                        && stderr.contains("the process limit is reached")),
                "{stderr}"
            );
            !refused
        })
        .expect("prun never got past its start-up");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!p.path("ran-direct").exists() && !p.path("ran-shell").exists());
    assert!(
        stderr.contains("job 'direct': cannot start touch: Resource temporarily unavailable"),
        "{stderr}"
    );
    assert!(
        stderr.contains("job 'shell': cannot start /bin/sh: Resource temporarily unavailable"),
        "{stderr}"
    );
    assert!(stderr.contains("process limit"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    for job in report["jobs"].as_array().unwrap() {
        assert_eq!(job["status"], "failed", "{job}");
    }
}

fn a_timed_out_job_loses_its_whole_process_group() {
    let p = Prun::new().jobfile(
        r#"
jobs:
  - name: hung
    timeout: 1s
    run: sleep 31.2718 & sleep 31.2719; echo never
    on_failure: echo "$PRUN_JOB_STATUS $PRUN_JOB_SIGNAL" > hook.env
"#,
    );
    let r = p.run();
    r.code(1);
    assert!(r.elapsed < Duration::from_secs(8), "took {:?}", r.elapsed);
    assert!(
        gone_within("sleep 31.271", Duration::from_secs(2)),
        "grandchild survived"
    );
    assert_eq!(p.read("hook.env"), "timed-out SIGTERM\n");
    assert!(
        r.stderr.contains("timed-out") && r.stderr.contains("timed out after 1s"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("never"));
}

fn a_job_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: stubborn\n    timeout: 300ms\n    run: trap '' TERM; sleep 31.5772\n",
        )
        .args(&["--grace", "1s"]);
    let r = p.run();
    r.code(1);
    assert!(
        r.elapsed >= Duration::from_millis(1200),
        "killed before the grace period"
    );
    assert!(r.elapsed < Duration::from_secs(8), "took {:?}", r.elapsed);
    assert!(r.stderr.contains("SIGKILL"), "{}", r.stderr);
    assert!(gone_within("sleep 31.5772", Duration::from_secs(2)));
}

fn a_zero_timeout_is_refused() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: a\n    timeout: 0s\n    run: touch ran\n")
        .run();
    r.code(2);
    assert!(r.stderr.contains("timeout of 0"), "{}", r.stderr);
}

mod signals {
    use std::time::{Duration, Instant};

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    use crate::util::{Prun, gone_within};

    const JOBS: &str = r#"
jobs:
  - name: a
    run: touch a.started; sleep 32.0101
    on_complete: echo "$PRUN_JOB_STATUS" > a.hook
  - name: b
    run: touch b.started; sleep 32.0102
  - name: c
    run: touch c.ran
on_failure: echo "$PRUN_FAILED $PRUN_SKIPPED" > run.hook
"#;

    /// Starts prun on `yaml`, waits for `ready` to exist, sends the signals, and returns
    /// prun's exit code, stderr and how long it took after the first signal.
    fn interrupt(p: &Prun, ready: &[&str], signals: &[Signal]) -> (i32, String, Duration) {
        let child = p.start_until(ready, Duration::from_secs(10));
        let sent = Instant::now();
        for sig in signals {
            kill(Pid::from_raw(child.id() as i32), *sig).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), stderr, sent.elapsed())
    }

    fn check(sig: Signal, code: i32) {
        let p = Prun::new().jobfile(JOBS).args(&["-j", "2"]);
        let (rc, stderr, took) = interrupt(&p, &["a.started", "b.started"], &[sig]);
        assert_eq!(rc, code, "{stderr}");
        assert!(took < Duration::from_secs(5), "took {took:?}: {stderr}");
        assert!(
            gone_within("sleep 32.010", Duration::from_secs(2)),
            "a job survived prun"
        );
        assert!(!p.path("c.ran").exists(), "a job started after the signal");
        assert_eq!(p.read("a.hook"), "interrupted\n");
        assert_eq!(p.read("run.hook"), "2 1\n");
        assert!(
            stderr.contains("not-run") && stderr.contains("interrupted by"),
            "{stderr}"
        );
    }

    fn sigint_interrupts_the_run_with_130() {
        check(Signal::SIGINT, 130);
    }

    fn sigterm_interrupts_the_run_with_143() {
        check(Signal::SIGTERM, 143);
    }

    fn sighup_interrupts_the_run_with_129() {
        check(Signal::SIGHUP, 129);
    }

    fn a_second_signal_kills_at_once_and_runs_no_more_hooks() {
        let p = Prun::new()
            .jobfile(
                "jobs:\n  - name: stubborn\n    run: trap '' TERM INT; touch started; sleep 32.0201\n    on_complete: touch hook.ran\n",
            )
            .args(&["--grace", "60s"]);
        let (rc, stderr, took) = interrupt(&p, &["started"], &[Signal::SIGTERM, Signal::SIGTERM]);
        assert_eq!(rc, 143, "{stderr}");
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert!(gone_within("sleep 32.0201", Duration::from_secs(2)));
        assert!(
            !p.path("hook.ran").exists(),
            "a hook ran after the second signal"
        );
    }

    fn after_the_grace_period_what_ignores_the_signal_is_killed() {
        let p = Prun::new()
            .jobfile("jobs:\n  - name: stubborn\n    run: trap '' TERM INT; touch started; sleep 32.0301\n")
            .args(&["--grace", "1s"]);
        let (rc, stderr, took) = interrupt(&p, &["started"], &[Signal::SIGINT]);
        assert_eq!(rc, 130, "{stderr}");
        assert!(
            took >= Duration::from_millis(900),
            "killed before the grace period: {took:?}"
        );
        assert!(took < Duration::from_secs(6), "took {took:?}");
        assert!(gone_within("sleep 32.0301", Duration::from_secs(2)));
    }

    /// A run that ends before the signal thread starts still hears a signal it got.
    fn a_signal_to_a_run_that_ends_at_once_still_interrupts_it() {
        let r = Prun::new().jobfile("jobs:\n  - kill -INT $PPID\n").run();
        r.code(130);
        assert!(r.stderr.contains("interrupted by SIGINT"), "{}", r.stderr);
    }

    /// The signal thread starts 10 ms into a run (docs/speed.md): a signal caught
    /// before that waits in a pipe and must still stop the run.
    fn a_signal_in_the_first_milliseconds_still_stops_the_run() {
        use std::os::unix::process::ExitStatusExt;
        let p = Prun::new().jobfile("jobs:\n  - sleep 32.0401\n  - sleep 32.0402\n");
        for delay_us in (0..20).map(|i| i * 1_000) {
            let child = p
                .command()
                .args(["-j", "2"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(delay_us));
            let sent = Instant::now();
            kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
            let out = child.wait_with_output().unwrap();
            let took = sent.elapsed();
            let stderr = String::from_utf8_lossy(&out.stderr);
            // Before prun catches SIGINT at all (the first few hundred microseconds), it
            // dies of it, as any program would; after, it stops the run with 130.
            assert!(
                out.status.code() == Some(130) || out.status.signal() == Some(libc::SIGINT),
                "after {delay_us} us: {:?} {stderr}",
                out.status
            );
            assert!(
                took < Duration::from_secs(5),
                "after {delay_us} us: took {took:?}"
            );
        }
        assert!(
            gone_within("sleep 32.040", Duration::from_secs(3)),
            "a job outlived an interrupted run"
        );
    }

    crate::tests!(
        sigint_interrupts_the_run_with_130,
        sigterm_interrupts_the_run_with_143,
        sighup_interrupts_the_run_with_129,
        a_second_signal_kills_at_once_and_runs_no_more_hooks,
        after_the_grace_period_what_ignores_the_signal_is_killed,
        a_signal_to_a_run_that_ends_at_once_still_interrupts_it,
        a_signal_in_the_first_milliseconds_still_stops_the_run
    );
}

fn jobs_of_a_prun_killed_with_sigkill_are_stopped_by_the_keeper() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: sleep 33.4401 & sleep 33.4402\n  - sleep 33.4403\n")
        .args(&["-j", "2", "--grace", "1s"]);
    let mut child = p
        .command()
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Every process of both jobs is there before prun dies.
    let t = std::time::Instant::now();
    while !["sleep 33.4401", "sleep 33.4402", "sleep 33.4403"]
        .iter()
        .all(|m| crate::util::alive(m))
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the jobs never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        gone_within("sleep 33.440", Duration::from_secs(5)),
        "jobs outlived a SIGKILLed prun"
    );
}

fn simple_commands_skip_the_shell_and_the_rest_use_it() {
    // $$ in a shell is the shell's pid; a directly exec'd `sh -c` would be a new shell
    // too, so look at the parent instead: a direct exec's parent is prun itself.
    let p = Prun::new().jobfile(
        "jobs:\n  - name: direct\n    run: sh ./ppid.sh direct\n  - name: shell\n    run: sh ./ppid.sh shell; true\n",
    );
    std::fs::write(p.path("ppid.sh"), "ps -o comm= -p $PPID > \"$1\"\n").unwrap();
    p.run().code(0);
    assert_eq!(p.read("direct").trim(), "prun");
    assert_eq!(p.read("shell").trim(), "sh");
}

fn simple_hook_commands_skip_the_shell_as_jobs_do() {
    // The same rule as for jobs: a simple hook is exec'd by prun (its parent is prun),
    // anything else runs in the shell; so does every hook of a job that sets PATH, and
    // every hook when the jobfile chose a shell.
    let script = "ps -o comm= -p $PPID > \"$1\"\n";
    let p = Prun::new().jobfile(
        "on_complete: sh ./ppid.sh run-level\njobs:\n  - run: \"true\"\n    on_success: sh ./ppid.sh direct\n    on_complete: sh ./ppid.sh shell; true\n  - run: \"true\"\n    env: {PATH: /usr/bin:/bin}\n    on_success: sh ./ppid.sh path\n",
    );
    std::fs::write(p.path("ppid.sh"), script).unwrap();
    p.run().code(0);
    assert_eq!(p.read("direct").trim(), "prun");
    assert_eq!(p.read("shell").trim(), "sh");
    assert_eq!(p.read("path").trim(), "sh");
    assert_eq!(p.read("run-level").trim(), "prun");
    let p = Prun::new()
        .jobfile("shell: /bin/sh\njobs:\n  - run: \"true\"\n    on_success: sh ./ppid.sh chosen\n");
    std::fs::write(p.path("ppid.sh"), script).unwrap();
    p.run().code(0);
    assert_eq!(p.read("chosen").trim(), "sh");
}

fn a_direct_program_is_found_on_path_as_execvp_would_and_keeps_its_argv0() {
    // PATH=a:b:...: a/tool is not executable, b/tool is; execvp (and the shell) skip the
    // first. argv[0] stays the word as written, not the file found.
    let p = Prun::new().jobfile(
        "jobs:\n  - name: found\n    run: tool out\n  - name: argv0\n    run: cp /proc/self/cmdline argv0\n  - name: elsewhere\n    run: touch made-here\n    workdir: sub\n",
    );
    for d in ["a", "b", "sub"] {
        std::fs::create_dir(p.path(d)).unwrap();
    }
    std::fs::write(p.path("a/tool"), "#!/bin/sh\necho wrong > \"$1\"\n").unwrap();
    std::fs::write(p.path("b/tool"), "#!/bin/sh\necho right > \"$1\"\n").unwrap();
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(p.path("a/tool"), mode(0o644)).unwrap();
    std::fs::set_permissions(p.path("b/tool"), mode(0o755)).unwrap();
    let path = format!(
        "{}:{}:{}",
        p.path("a").display(),
        p.path("b").display(),
        std::env::var("PATH").unwrap()
    );
    let p = p.env("PATH", &path);
    p.run().code(0);
    assert_eq!(p.read("out").trim(), "right");
    assert_eq!(p.read("argv0"), "cp\0/proc/self/cmdline\0argv0\0");
    assert!(
        p.path("sub/made-here").exists(),
        "the job ran in its workdir"
    );
}

fn a_missing_program_reads_as_the_shell_would_say_it() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: nope\n    run: no-such-program-xyz --flag\n")
        .run();
    r.code(1);
    assert!(r.stdout.contains("not found"), "{}", r.stdout);
    assert!(
        r.stderr.contains("nope") && r.stderr.contains("127"),
        "{}",
        r.stderr
    );
}

/// Runs everywhere: without srun on PATH a Slurm job fails with a clear message.
fn a_slurm_job_without_srun_says_what_is_missing() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: remote\n    executor: slurm\n    run: 'true'\n")
        .env("PATH", "/nonexistent")
        .run();
    r.code(1);
    assert!(
        r.stderr.contains("'srun' was not found on PATH"),
        "{}",
        r.stderr
    );
}

/// A job starts as a fresh program would: no signal blocked, SIGPIPE not ignored (prun
/// ignores it, as every Rust program does), none of prun's handlers.
fn jobs_start_with_default_signal_dispositions_and_an_empty_mask() {
    let r = Prun::new()
        .jobfile(
            "jobs:\n  - name: direct\n    run: cat /proc/self/status\n  - name: shell\n    run: cat /proc/self/status; true\n  - name: pipe\n    run: yes | head -n 1\n",
        )
        .run();
    r.code(0);
    let field = |block: &str, key: &str| -> u64 {
        let start = r.stdout.find(&format!("── {block}\n")).expect(block);
        let line = r.stdout[start..]
            .lines()
            .find(|l| l.starts_with(key))
            .expect(key);
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    for block in ["direct", "shell"] {
        assert_eq!(field(block, "SigBlk:"), 0, "{block}: blocked signals");
        let sigpipe = 1 << (libc::SIGPIPE - 1);
        assert_eq!(
            field(block, "SigIgn:") & sigpipe,
            0,
            "{block}: SIGPIPE ignored"
        );
    }
    assert!(
        !r.stdout.contains("Broken pipe") && r.stdout.contains("── pipe\ny\n"),
        "{}",
        r.stdout
    );
}

/// The descriptors this test process would hand to a child: those without close-on-exec
/// (prun passes what it inherited on to its jobs, as xargs and make do).
fn inherited_fds() -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&fd| {
            // SAFETY: F_GETFD on a descriptor number; -1 when it was the directory's own.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .collect()
}

/// None of prun's own descriptors (the joblog, the lock, logs, the keeper's pipe, the
/// signal pipe, cgroup files, the stop clock, spools) reaches a job or a hook: each sees
/// only stdin, stdout, stderr and what prun itself inherited.
fn no_descriptor_of_prun_leaks_into_jobs_or_hooks() {
    // `ls` is the shell's only child then: no pipe or redirection of the shell's own.
    let list = "echo fds; ls -1 /proc/$$/fd";
    let p = Prun::new().jobfile(&format!(
        "on_complete: {list}\njobs:\n  - name: a\n    timeout: 1h\n    run: {list}\n    on_complete: {list}\n  - name: b\n    run: {list}; seq 300000 > /dev/null\n"
    ));
    let r = p.run_with(&[
        "--joblog",
        "jl",
        "--lock",
        "l",
        "--log-dir",
        "logs",
        "--report",
        "r.json",
        "-j",
        "2",
    ]);
    r.code(0);
    let mut want: Vec<i32> = vec![0, 1, 2];
    want.extend(inherited_fds());
    want.sort_unstable();
    want.dedup();
    let blocks: Vec<Vec<i32>> = r
        .stdout
        .split("fds\n")
        .skip(1)
        .map(|b| {
            let mut fds: Vec<i32> = b.lines().map_while(|l| l.parse().ok()).collect();
            fds.sort_unstable();
            fds
        })
        .collect();
    assert_eq!(blocks.len(), 4, "{}", r.stdout);
    for fds in blocks {
        assert_eq!(fds, want, "a descriptor leaked:\n{}", r.stdout);
    }
}

/// Hooks start as jobs do: no signal blocked, SIGPIPE not ignored.
fn hooks_start_with_default_signal_dispositions_and_an_empty_mask() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: 'true'\n    on_complete: grep -E '^Sig(Blk|Ign)' /proc/self/status\n")
        .run();
    r.code(0);
    let field = |key: &str| {
        let line = r.stdout.lines().find(|l| l.starts_with(key)).expect(key);
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(field("SigBlk:"), 0, "{}", r.stdout);
    assert_eq!(
        field("SigIgn:") & (1 << (libc::SIGPIPE - 1)),
        0,
        "{}",
        r.stdout
    );
}

crate::tests!(
    background_processes_left_by_a_job_are_terminated,
    a_job_whose_workdir_is_missing_fails_and_the_rest_run,
    a_job_the_process_limit_refuses_fails_and_says_why,
    a_timed_out_job_loses_its_whole_process_group,
    a_job_that_ignores_sigterm_is_killed_after_the_grace_period,
    a_zero_timeout_is_refused,
    jobs_of_a_prun_killed_with_sigkill_are_stopped_by_the_keeper,
    simple_commands_skip_the_shell_and_the_rest_use_it,
    simple_hook_commands_skip_the_shell_as_jobs_do,
    a_direct_program_is_found_on_path_as_execvp_would_and_keeps_its_argv0,
    a_missing_program_reads_as_the_shell_would_say_it,
    a_slurm_job_without_srun_says_what_is_missing,
    jobs_start_with_default_signal_dispositions_and_an_empty_mask,
    no_descriptor_of_prun_leaks_into_jobs_or_hooks,
    hooks_start_with_default_signal_dispositions_and_an_empty_mask;
    mod signals
);
