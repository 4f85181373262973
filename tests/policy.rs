//! The failure policy: `--max-fail N[:kill]` (and `--fail-fast`, its `1`), `allow_failure`,
//! `if:` preconditions, `--shard`.

use std::time::{Duration, Instant};

use crate::util::Prun;

fn max_fail_starts_nothing_after_the_nth_failure_and_says_how_many_did_not_start() {
    let p = Prun::new()
        .jobfile("jobs:\n  - exit 1\n  - touch b\n  - exit 2\n  - touch d\n  - touch e\n")
        .args(&["-j", "1", "--max-fail", "2"]);
    let r = p.run();
    r.code(1);
    assert!(p.path("b").exists(), "the first failure stopped the run");
    assert!(!p.path("d").exists() && !p.path("e").exists());
    assert!(
        r.stderr
            .contains("--max-fail 2: 2 jobs failed: starting no new jobs"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("1 succeeded, 2 failed, 2 not run"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("--max-fail 2 stopped the run after 2 failures"),
        "{}",
        r.stderr
    );
}

fn max_fail_lets_running_jobs_finish_and_cleanup_jobs_run() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: slow\n    run: sleep 0.5; touch slow\n  - name: boom\n    run: exit 1\n  - name: never\n    run: touch never\n  - name: tidy\n    when: always\n    needs: [slow, boom, never]\n    run: touch tidy\n",
        )
        .args(&["-j", "2", "--max-fail", "1"]);
    let r = p.run();
    r.code(1);
    assert!(
        p.path("slow").exists() && p.path("tidy").exists(),
        "{}",
        r.stderr
    );
    assert!(!p.path("never").exists());
    assert!(
        r.stderr.contains("the running job finishes"),
        "{}",
        r.stderr
    );
}

/// `N:kill`: the running job gets SIGTERM (its trap runs), the cleanup job still runs
/// after it, and prun does not wait for the running job's sleep.
fn max_fail_kill_stops_running_jobs_and_still_runs_cleanup() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: slow\n    run: trap 'touch termed; exit 143' TERM; sleep 30 & wait\n  - name: boom\n    run: sleep 0.3; exit 1\n  - name: tidy\n    when: always\n    needs: [slow, boom]\n    run: touch tidy\n",
        )
        .args(&["-j", "2", "--max-fail", "1:kill", "--grace", "5s"]);
    let t = Instant::now();
    let r = p.run();
    r.code(1);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(p.path("termed").exists(), "{}", r.stderr);
    assert!(p.path("tidy").exists(), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--max-fail 1:kill: a job failed: starting no new jobs; sent SIGTERM to 1 running job, SIGKILL in 5s"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("interrupted"), "{}", r.stderr);
}

fn max_fail_and_fail_fast_are_checked_on_the_command_line() {
    for (args, says) in [
        (&["--max-fail", "0"][..], "0 failures would stop the run"),
        (&["--max-fail", "two"][..], "'two' is not a whole number"),
        (&["--max-fail", "2:now"][..], "'now' is not a way to stop"),
        (
            &["--max-fail", "2", "--fail-fast"][..],
            "cannot be used with",
        ),
    ] {
        let p = Prun::new().jobfile("jobs:\n  - touch ran\n").args(args);
        let r = p.run();
        r.code(2);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(!p.path("ran").exists());
    }
}

/// Every job runs in exactly one of the shards (a needed one in each shard that needs
/// it), whichever way they are cut.
fn the_shards_together_run_every_job_and_bring_what_they_need() {
    let y = "jobs:\n  - name: build\n    run: echo x >> build\n  - name: test\n    needs: [build]\n    matrix: { n: [1, 2, 3, 4, 5] }\n    run: echo x >> test-$n\n  - name: lint\n    run: echo x >> lint\n";
    for way in ["", "hash:"] {
        let p = Prun::new().jobfile(y);
        for m in 1..=3 {
            let shard = format!("{way}{m}/3");
            let r = p.run_with(&["--shard", &shard, "-j", "2"]);
            r.code(0);
        }
        for n in 1..=5 {
            assert_eq!(p.read(&format!("test-{n}")), "x\n", "{way} test {n}");
        }
        assert_eq!(p.read("lint"), "x\n", "{way}");
    }
}

fn an_empty_shard_says_so_and_exits_0() {
    let p = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--shard", "2/2"]);
    let r = p.run();
    r.code(0);
    assert!(
        r.stderr
            .contains("shard 2/2 is empty (1 job in 2 shards): nothing to run"),
        "{}",
        r.stderr
    );
    assert!(!p.path("ran").exists());
}

fn bad_shards_are_usage_errors() {
    for (shard, says) in [
        ("0/2", "shard 0/2 does not exist"),
        ("3/2", "shard 3/2 does not exist"),
        ("1/0", "shard 1/0 does not exist"),
        ("half", "'half' is not a shard"),
        ("hash:1", "'hash:1' is not a shard"),
    ] {
        let p = Prun::new()
            .jobfile("jobs:\n  - touch ran\n")
            .args(&["--shard", shard]);
        let r = p.run();
        r.code(2);
        assert!(r.stderr.contains(says), "{shard}: {}", r.stderr);
        assert!(!p.path("ran").exists());
    }
}

/// A shard's own joblog resumes that shard: what succeeded, needs included, is not run
/// again, what failed is.
fn a_shard_resumes_from_its_own_joblog() {
    let y = "jobs:\n  - name: build\n    run: echo x >> build\n  - name: a\n    run: echo x >> a\n  - name: b\n    needs: [build]\n    run: echo x >> b; test -f fixed\n";
    let p = Prun::new().jobfile(y);
    let args = ["--shard", "2/2", "--joblog", "log"];
    p.run_with(&args).code(1);
    assert!(!p.path("a").exists(), "a is in shard 1/2");
    std::fs::write(p.path("fixed"), "").unwrap();
    let r = p.run_with(&[&args[..], &["--resume"]].concat());
    r.code(0);
    assert_eq!(p.read("build"), "x\n", "build ran again: {}", r.stderr);
    assert_eq!(p.read("b"), "x\nx\n");
}

fn dry_run_shows_the_shard() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: build\n    run: x\n  - name: a\n    needs: [build]\n    run: x\n  - name: b\n    run: x\n")
        .args(&["--shard", "2/3", "--dry-run"]);
    let r = p.run();
    r.code(0);
    assert!(
        r.stdout.contains("shard 2/3: 1 of 3 jobs, and 1 they need"),
        "{}",
        r.stdout
    );
}

/// The run's `--report`, checked against its schema by check-jsonschema.
fn report(p: &Prun) -> serde_json::Value {
    crate::util::check_report(&p.path("report.json"))
}

fn job<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    (report["jobs"].as_array().unwrap().iter())
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name} in {report}"))
}

fn a_false_if_skips_the_job_and_its_dependents_says_why_and_exits_0() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: nas
    if: test -d mnt/nas
    run: touch backed-up
  - name: verify
    needs: [nas]
    run: touch verified
  - name: tidy
    needs: [nas]
    when: always
    run: touch tidied
"#,
        )
        .args(&[
            "--report",
            "report.json",
            "--junit",
            "junit.xml",
            "--joblog",
            "log",
        ]);
    let r = p.run();
    r.code(0);
    assert!(!p.path("backed-up").exists() && !p.path("verified").exists());
    assert!(p.path("tidied").exists(), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("job 'nas' skipped: if: `test -d mnt/nas` exited 1"),
        "{}",
        r.stderr
    );
    let rep = report(&p);
    assert_eq!(job(&rep, "nas")["status"], "skipped");
    assert_eq!(job(&rep, "nas")["attempts"], 0);
    assert_eq!(job(&rep, "verify")["status"], "skipped");
    assert_eq!(rep["exit_code"], 0);
    assert!(
        p.read("junit.xml")
            .contains(r#"<skipped message="skipped: if: `test -d mnt/nas` exited 1"/>"#)
    );
    assert!(p.read("log").contains("\tskipped\t"), "{}", p.read("log"));
    // The condition holds now: the job runs.
    std::fs::create_dir_all(p.path("mnt/nas")).unwrap();
    p.run().code(0);
    assert!(p.path("backed-up").exists() && p.path("verified").exists());
}

fn if_runs_in_the_jobs_workdir_and_env_and_sees_what_its_needs_wrote() {
    let p = Prun::new().file("sub/flag", "").jobfile(
        r#"
jobs:
  - name: probe
    run: echo "mounted=yes" >> "$PRUN_OUTPUT"
  - name: backup
    needs: [probe]
    workdir: sub
    env: { MOUNTED: "${{ needs.probe.outputs.mounted }}", WANT: "yes" }
    if: test -f flag && test "$MOUNTED" = "$WANT" && test -s "$PRUN_NEEDS"
    run: touch ../ran
"#,
    );
    let r = p.run();
    r.code(0);
    assert!(p.path("ran").exists(), "{}", r.stderr);
}

fn if_is_evaluated_per_matrix_expansion() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: build
    matrix: { os: [linux, mac, bsd] }
    if: test "$os" != mac
    run: touch "built-$os"
"#,
        )
        .args(&["--report", "report.json"]);
    p.run().code(0);
    assert!(p.path("built-linux").exists() && p.path("built-bsd").exists());
    assert!(!p.path("built-mac").exists());
    let rep = report(&p);
    assert_eq!(job(&rep, "build[os=mac]")["status"], "skipped");
    assert_eq!(job(&rep, "build[os=linux]")["status"], "success");
}

/// `--resume` trusts only successes: a job its `if:` skipped is asked again, and runs
/// once the condition holds; what succeeded is not run again.
fn resume_asks_a_skipped_condition_again() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: first
    run: echo x >> first-runs
  - name: gated
    if: test -f go
    run: touch gated
  - name: boom
    run: test -f go
"#,
        )
        .args(&["--joblog", "log", "--resume"]);
    p.run().code(1);
    assert!(!p.path("gated").exists());
    std::fs::write(p.path("go"), "").unwrap();
    p.run().code(0);
    assert!(p.path("gated").exists());
    assert_eq!(p.read("first-runs"), "x\n", "a success ran again");
}

fn an_if_that_cannot_run_or_hangs_fails_the_job_with_the_reason() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: missing
    if: no-such-command-here --quiet
    run: touch a
  - name: hangs
    if: sleep 30
    hook_timeout: 300ms
    run: touch b
  - name: after
    needs: [missing]
    run: touch c
"#,
        )
        .args(&["--report", "report.json"]);
    let t = Instant::now();
    let r = p.run();
    r.code(1);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(!p.path("a").exists() && !p.path("b").exists() && !p.path("c").exists());
    assert!(
        r.stderr.contains(
            "job 'missing': if: `no-such-command-here --quiet` could not be run: the shell exited 127: a command not found"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("job 'hangs': if: `sleep 30` did not end within 300ms (hook_timeout)"),
        "{}",
        r.stderr
    );
    let rep = report(&p);
    assert_eq!(job(&rep, "missing")["status"], "failed");
    assert_eq!(job(&rep, "after")["status"], "skipped");
}

fn sigint_while_the_condition_runs_starts_nothing() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    if: touch asking; sleep 30\n    run: touch ran\n");
    let child = p.start_until(&["asking"], Duration::from_secs(10));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(15));
    assert!(!p.path("ran").exists());
    assert!(stderr.contains("not run"), "{stderr}");
}

fn an_allowed_failure_is_reported_failed_but_its_dependents_run_and_prun_exits_0() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: rsync
    allow_failure: [24]
    run: echo some files vanished; exit 24
    on_failure: 'echo "$PRUN_JOB_STATUS $PRUN_JOB_ALLOWED" > hook-env; cat > hook-json'
  - name: report
    needs: [rsync]
    run: touch reported
on_success: 'echo "$PRUN_FAILED $PRUN_ALLOWED" > run-env'
"#,
        )
        .args(&["--report", "report.json", "--junit", "junit.xml"]);
    let r = p.run();
    r.code(0);
    assert!(p.path("reported").exists(), "{}", r.stderr);
    assert!(
        r.stdout.contains("rsync (failed, exit 24, allowed)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("2 jobs in") && r.stderr.contains("1 succeeded, 1 failed (1 allowed)"),
        "{}",
        r.stderr
    );
    let row = r.stderr.lines().find(|l| l.starts_with("rsync")).unwrap();
    assert!(
        row.contains("failed") && row.ends_with("allowed failure"),
        "{row}"
    );
    let rep = report(&p);
    assert_eq!(job(&rep, "rsync")["status"], "failed");
    assert_eq!(job(&rep, "rsync")["allowed"], true);
    assert_eq!(job(&rep, "report")["allowed"], false);
    assert_eq!(rep["totals"]["allowed"], 1);
    assert_eq!(rep["exit_code"], 0);
    let junit = p.read("junit.xml");
    assert!(
        junit.contains(r#"<skipped message="allowed failure: failed (exit 24)"#)
            && junit.contains(r#"<property name="rsync/prun.allowed_failure" value="true"/>"#)
            && junit.contains("some files vanished"),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
    assert_eq!(p.read("hook-env"), "failed true\n");
    let hook: serde_json::Value = serde_json::from_str(&p.read("hook-json")).unwrap();
    assert_eq!(hook["allowed"], true);
    assert_eq!(p.read("run-env"), "1 1\n");
}

fn quiet_does_not_show_an_allowed_failure_nor_does_a_list_allow_other_codes() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: ok\n    allow_failure: [3]\n    run: echo allowed-output; exit 3\n  - name: bad\n    allow_failure: [3]\n    run: echo bad-output; exit 4\n",
        )
        .arg("--quiet");
    let r = p.run();
    r.code(1);
    assert!(!r.stdout.contains("allowed-output"), "{}", r.stdout);
    assert!(r.stdout.contains("bad-output"), "{}", r.stdout);
}

fn allow_failure_true_allows_a_timeout_but_never_an_interruption() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: slow\n    allow_failure: true\n    timeout: 200ms\n    run: sleep 30\n")
        .args(&["--report", "report.json"]);
    p.run().code(0);
    let rep = report(&p);
    assert_eq!(job(&rep, "slow")["status"], "timed-out");
    assert_eq!(job(&rep, "slow")["allowed"], true);
    // Interrupted: not allowed, prun exits 130.
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    allow_failure: true\n    run: touch started; sleep 30\n");
    let child = p.start_until(&["started"], Duration::from_secs(10));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(130));
}

/// The last attempt decides: exit 4 (not allowed), retried, then exit 3 (allowed).
fn allow_failure_with_retries_is_decided_by_the_last_attempt() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: a
    allow_failure: [3]
    retries: 1
    retry_delay: 10ms
    run: if test -f once; then exit 3; else touch once; exit 4; fi
"#,
        )
        .args(&["--report", "report.json"]);
    p.run().code(0);
    let rep = report(&p);
    assert_eq!(job(&rep, "a")["attempts"], 2);
    assert_eq!(job(&rep, "a")["exit_code"], 3);
    assert_eq!(job(&rep, "a")["allowed"], true);
}

fn allowed_failures_do_not_count_for_max_fail() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: a\n    allow_failure: true\n    run: exit 1\n  - name: b\n    allow_failure: true\n    run: exit 1\n  - name: c\n    run: touch c\n",
        )
        .args(&["-j", "1", "--max-fail", "1"]);
    p.run().code(0);
    assert!(p.path("c").exists());
}

fn check_refuses_bad_if_and_allow_failure_with_located_errors() {
    let cases = [
        (
            "jobs:\n  - name: a\n    allow_failure: [0]\n    run: x\n",
            "lists 0, which is a success",
        ),
        (
            "jobs:\n  - name: a\n    allow_failure: []\n    run: x\n",
            "is an empty list",
        ),
        (
            "jobs:\n  - name: a\n    allow_failure: [300]\n    run: x\n",
            "lists 300: an exit code is 1 to 255",
        ),
        (
            "jobs:\n  - name: a\n    allow_failure: yes\n    run: x\n",
            "a list of exit codes",
        ),
        (
            "jobs:\n  - name: a\n    if: ''\n    run: x\n",
            "`if:` has an empty command",
        ),
        (
            "jobs:\n  - name: s\n    service: true\n    if: 'true'\n    run: sleep 9\n  - name: a\n    needs: [s]\n    run: x\n",
            "service 's' has `if:`",
        ),
        (
            "jobs:\n  - name: s\n    service: true\n    allow_failure: true\n    run: sleep 9\n  - name: a\n    needs: [s]\n    run: x\n",
            "service 's' has `allow_failure:`",
        ),
        (
            "jobs:\n  - name: a\n    run: echo x=1 >> $PRUN_OUTPUT\n  - name: b\n    needs: [a]\n    if: test ${{ needs.a.outputs.x }} = 1\n    run: x\n",
            "`if:`",
        ),
    ];
    for (yaml, want) in cases {
        let r = Prun::new().jobfile(yaml).arg("--check").run();
        r.code(2);
        assert!(r.stderr.contains(want), "{yaml}\n{}", r.stderr);
        assert!(r.stderr.contains("jobs.yaml:"), "not located: {}", r.stderr);
    }
}

fn dry_run_shows_if_and_allow_failure() {
    let r = Prun::new()
        .jobfile(
            "jobs:\n  - name: a\n    if: test -d /mnt\n    allow_failure: [1, 24]\n    run: x\n",
        )
        .arg("--dry-run")
        .run();
    r.code(0);
    assert!(
        r.stdout
            .contains("if: test -d /mnt (run when it would start: not exit 0 = skipped)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("allow_failure: exit 1, 24"),
        "{}",
        r.stdout
    );
}

crate::tests!(
    max_fail_starts_nothing_after_the_nth_failure_and_says_how_many_did_not_start,
    max_fail_lets_running_jobs_finish_and_cleanup_jobs_run,
    max_fail_kill_stops_running_jobs_and_still_runs_cleanup,
    max_fail_and_fail_fast_are_checked_on_the_command_line,
    the_shards_together_run_every_job_and_bring_what_they_need,
    an_empty_shard_says_so_and_exits_0,
    bad_shards_are_usage_errors,
    a_shard_resumes_from_its_own_joblog,
    dry_run_shows_the_shard,
    a_false_if_skips_the_job_and_its_dependents_says_why_and_exits_0,
    if_runs_in_the_jobs_workdir_and_env_and_sees_what_its_needs_wrote,
    if_is_evaluated_per_matrix_expansion,
    resume_asks_a_skipped_condition_again,
    an_if_that_cannot_run_or_hangs_fails_the_job_with_the_reason,
    sigint_while_the_condition_runs_starts_nothing,
    an_allowed_failure_is_reported_failed_but_its_dependents_run_and_prun_exits_0,
    quiet_does_not_show_an_allowed_failure_nor_does_a_list_allow_other_codes,
    allow_failure_true_allows_a_timeout_but_never_an_interruption,
    allow_failure_with_retries_is_decided_by_the_last_attempt,
    allowed_failures_do_not_count_for_max_fail,
    check_refuses_bad_if_and_allow_failure_with_located_errors,
    dry_run_shows_if_and_allow_failure,
);
