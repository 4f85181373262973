//! Honest outcomes: prun never reports work it did not do, never rewrites a value, and
//! never loses output without saying so. Each test is named after the bug it pins down.

use std::process::Stdio;

use serde_json::Value;

use crate::util::Prun;

/// a ok, b fails until `fixed` exists, c plain, d needs b; one slot.
const ABCD: &str = "concurrency: 1
jobs:
  - name: a
    run: echo a >> ran
  - name: b
    run: echo b >> ran; test -e fixed
  - name: c
    run: echo c >> ran
  - name: d
    needs: [b]
    run: echo d >> ran
";

fn resume_failed_after_fail_fast_runs_the_jobs_that_never_ran() {
    let p = Prun::new()
        .jobfile(ABCD)
        .args(&["--joblog", "jl", "--report", "r1.json"]);
    p.run_with(&["--fail-fast"]).code(1);
    assert_eq!(p.read("ran"), "a\nb\n");
    // b still fails: c runs, d is skipped again; nothing is "success" without running.
    let r = p.run_with(&["--resume-failed"]);
    r.code(1);
    assert_eq!(p.read("ran"), "a\nb\nb\nc\n");
    let report: Value = serde_json::from_str(&p.read("r1.json")).unwrap();
    let status = |name: &str| {
        report["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["name"] == name)
            .map(|j| j["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(
        ["a", "b", "c", "d"].map(status),
        ["success", "failed", "success", "skipped"]
    );
    assert!(r.stderr.contains("already succeeded in an earlier run"));
    // Fixed: only b and d are left, and then everything succeeded once.
    std::fs::write(p.path("fixed"), "").unwrap();
    p.run_with(&["--resume"]).code(0);
    assert_eq!(p.read("ran"), "a\nb\nb\nc\nb\nd\n");
}

fn resume_reruns_a_failed_job_whose_command_was_edited() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: echo v1 >> ran; false\n")
        .args(&["--joblog", "jl"]);
    p.run().code(1);
    let p = p.file("jobs.yaml", "jobs:\n  - name: a\n    run: echo v2 >> ran\n");
    p.run_with(&["--resume-failed"]).code(0);
    assert_eq!(p.read("ran"), "v1\nv2\n");
}

fn a_job_is_done_only_if_its_last_record_is_a_success_of_its_command() {
    // v1 succeeds, then v2 fails, then the command goes back to v1: its last record is
    // a failure, so it is not done.
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: echo v1 >> ran\n")
        .args(&["--joblog", "jl"]);
    p.run().code(0);
    let p = p.file(
        "jobs.yaml",
        "jobs:\n  - name: a\n    run: echo v2 >> ran; false\n",
    );
    p.run().code(1);
    let p = p.file("jobs.yaml", "jobs:\n  - name: a\n    run: echo v1 >> ran\n");
    p.run_with(&["--resume"]).code(0);
    assert_eq!(p.read("ran"), "v1\nv2\nv1\n");
}

fn keep_order_with_resume_prints_every_block() {
    for mode in ["group", "line"] {
        for flag in ["--resume", "--resume-failed"] {
            let p = Prun::new()
                .jobfile(
                    "jobs:\n  - name: one\n    run: echo one\n  - name: two\n    run: echo two; test -e fixed\n  - name: three\n    run: echo three\n",
                )
                .args(&["--joblog", "jl", "-j", "3", "--output", mode, "--keep-order"]);
            p.run().code(1);
            std::fs::write(p.path("fixed"), "").unwrap();
            let r = p.run_with(&[flag]);
            r.code(0);
            assert!(r.stdout.contains("two"), "{mode} {flag}: {}", r.stdout);
        }
    }
}

fn keep_order_prints_what_ended_after_a_job_that_never_started() {
    // `later` waits for `slow-dep`, `fast` ends early but after `later` in file order;
    // --fail-fast stops the run before `later` starts: `fast`'s block must still show.
    let r = Prun::new()
        .jobfile(
            "jobs:\n  - name: boom\n    run: sleep 0.3; exit 1\n  - name: slow-dep\n    run: sleep 1\n  - name: later\n    needs: [slow-dep]\n    run: echo later\n  - name: fast\n    run: echo fast-output\n",
        )
        .args(&["-j", "3", "--keep-order", "--fail-fast"])
        .run();
    r.code(1);
    assert!(r.stdout.contains("fast-output"), "{}", r.stdout);
}

fn values_reach_jobs_exactly_as_written() {
    let p = Prun::new().jobfile(
        r#"env:
  A: 1.10
  B: 010
  C: 0x1F
  D: yes
  E: ~
  F: 1e3
  G: .inf
  H: 2026-11-29
  I: "quoted 1.10"
  J:
jobs:
  - name: py
    matrix: { py: [3.10, 3.9, 010, on, 2026-11-29] }
    run: printf '%s\n' "$py" >> "m.$PRUN_JOB_INDEX"
  - name: env
    run: printf '%s|' "$A" "$B" "$C" "$D" "$E" "$F" "$G" "$H" "$I" "$J" > env.out
  - yes | head -n 1 > yes.out
"#,
    );
    p.run_with(&["-j", "1"]).code(0);
    assert_eq!(
        p.read("env.out"),
        "1.10|010|0x1F|yes|~|1e3|.inf|2026-11-29|quoted 1.10||"
    );
    assert_eq!(p.read("m.1"), "3.10\n3.9\n010\non\n2026-11-29\n");
    assert_eq!(p.read("yes.out"), "y\n");
}

/// A matrix whose values hold `/`, `..`, tabs, newlines and an escape sequence.
const HOSTILE: &str = "jobs:
  - name: r
    matrix:
      f: [\"photos/a.jpg\", \"/../../escaped\", \"a\\tb\\nc\", \"\\e[31mred\", \".hidden\"]
    run: echo \"$f\"; echo \"$PRUN_JOB_LOG\" > \"log-path.$PRUN_JOB_INDEX.$(printf %s \"$f\" | md5sum | cut -c1-8)\"
";

fn hostile_matrix_values_keep_logs_joblog_and_terminal_intact() {
    let p = Prun::new().jobfile(HOSTILE).args(&[
        "--log-dir",
        "logs",
        "--joblog",
        "jl",
        "--report",
        "r.json",
        "-j",
        "2",
    ]);
    // A directory that `r[f=/../../escaped]` would reach if `/` were kept.
    std::fs::create_dir_all(p.path("logs/r[f=")).unwrap();
    let r = p.run();
    r.code(0);
    // No escape character reaches the terminal from a name.
    assert!(!r.stdout.contains("── r[f=\x1b"), "{:?}", r.stdout);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    assert!(r.stdout.contains("── r[f=\\x1b[31mred]"), "{}", r.stdout);
    assert!(r.stdout.contains("── r[f=a\\tb\\nc]"), "{}", r.stdout);
    // Every job has its log inside logs/, where the report and PRUN_JOB_LOG say.
    let report: Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let mut logs = Vec::new();
    for j in report["jobs"].as_array().unwrap() {
        let log = j["log"].as_str().unwrap();
        assert!(
            std::path::Path::new(log).parent() == Some(&p.path("logs")),
            "{log}"
        );
        assert!(std::fs::metadata(log).is_ok(), "{log} missing");
        assert_eq!(j["log_complete"], true);
        logs.push(log.to_owned());
    }
    logs.sort();
    logs.dedup();
    assert_eq!(logs.len(), 5, "two jobs share a log file: {logs:?}");
    assert!(!p.path("escaped.log").exists() && !p.path("logs/escaped].log").exists());
    assert!(
        std::fs::read_dir(p.path("logs")).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.')),
        "a log became a dot file"
    );
    // The joblog reads back: --resume finds all five done, twice over.
    for _ in 0..2 {
        let r = p.run_with(&["--resume"]);
        r.code(0);
        assert_eq!(
            r.stderr
                .matches("already succeeded in an earlier run")
                .count(),
            5,
            "{}",
            r.stderr
        );
    }
}

fn a_crafted_value_cannot_forge_a_joblog_record() {
    // The value spells a whole joblog line for `victim`, which never succeeded.
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: m\n    matrix: {v: [\"x\\nvictim\\t1\\t2026-01-01T00:00:00.000Z\\t0.001\\t0\\t-\\tsuccess\\techo victim >> ran\"]}\n    run: 'true'\n  - name: victim\n    run: echo victim >> ran; test -e fixed\n",
        )
        .args(&["--joblog", "jl"]);
    p.run().code(1);
    std::fs::write(p.path("fixed"), "").unwrap();
    p.run_with(&["--resume"]).code(0);
    assert_eq!(p.read("ran"), "victim\nvictim\n", "victim was not rerun");
}

fn a_full_stdout_is_reported_once_and_every_job_still_runs() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: echo a; touch a.ran\n    on_complete: touch a.hook\n  - name: b\n    run: seq 100000; touch b.ran\n",
    );
    for mode in ["group", "line"] {
        let out = p
            .command()
            .args(["--output", mode])
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mode}: {stderr}");
        assert_eq!(
            stderr.matches("cannot write to stdout").count(),
            1,
            "{stderr}"
        );
        for f in ["a.ran", "a.hook", "b.ran"] {
            assert!(p.path(f).exists(), "{mode}: {f} missing");
            std::fs::remove_file(p.path(f)).unwrap();
        }
    }
}

fn a_reader_that_left_does_not_fail_the_run() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: seq 100000; touch a.ran\n  - name: b\n    run: sleep 0.2; echo b; touch b.ran\n",
    );
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = p
        .command()
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("closed by its reader").count(),
        1,
        "{stderr}"
    );
    assert!(p.path("a.ran").exists() && p.path("b.ran").exists());
}

fn dry_run_into_a_closed_pipe_or_a_full_disk_does_not_panic() {
    let p = Prun::new().jobfile("jobs:\n  - echo one\n  - echo two\n");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = p
        .command()
        .arg("--dry-run")
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = p
        .command()
        .arg("--dry-run")
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("No space left"));
}

fn a_log_that_cannot_be_written_is_reported_and_fails_the_run() {
    // A file size limit makes writes past 64 KiB fail, as a full disk would.
    let p = Prun::new().jobfile(
        "jobs:\n  - name: big\n    run: seq 100000\n  - name: small\n    run: echo small\n",
    );
    let out = std::process::Command::new("prlimit")
        .arg("--fsize=65536")
        .arg(crate::util::bin())
        .args([
            "jobs.yaml",
            "--log-dir",
            "logs",
            "--report",
            "r.json",
            "--output",
            "none",
        ])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("job 'big': its log") && stderr.contains("is incomplete"),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let jobs = report["jobs"].as_array().unwrap();
    assert_eq!(jobs[0]["status"], "success");
    assert_eq!(jobs[0]["log_complete"], false);
    assert!(
        jobs[0]["log_error"]
            .as_str()
            .unwrap()
            .contains("File too large")
    );
    assert_eq!(jobs[1]["log_complete"], true);
    assert_eq!(report["output_errors"].as_array().unwrap().len(), 1);
    assert_eq!(p.read("logs/small.log"), "small\n");
}

fn a_log_file_planted_as_a_link_is_refused_not_followed() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: echo secret\n")
        .args(&["--log-dir", "logs"]);
    std::fs::create_dir(p.path("logs")).unwrap();
    std::fs::write(p.path("victim"), "keep").unwrap();
    std::os::unix::fs::symlink(p.path("victim"), p.path("logs/a.log")).unwrap();
    let r = p.run();
    r.code(1);
    assert_eq!(p.read("victim"), "keep");
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
}

fn report_paths_are_checked_before_anything_runs() {
    for flag in ["--report", "--junit", "--timeline"] {
        let p = Prun::new()
            .jobfile("jobs:\n  - touch ran\n")
            .args(&[flag, "no/such/dir/out"]);
        let r = p.run();
        r.code(2);
        assert!(!p.path("ran").exists(), "{flag}: a job ran");
        assert_eq!(
            r.stderr.matches("no/such/dir/out").count(),
            1,
            "{}",
            r.stderr
        );
    }
}

fn a_report_that_cannot_be_written_at_the_end_is_said_once() {
    // The directory exists when the run starts and is gone when the report is written.
    let p = Prun::new()
        .jobfile("jobs:\n  - rmdir out\n")
        .args(&["--report", "out/r.json"]);
    std::fs::create_dir(p.path("out")).unwrap();
    let r = p.run();
    r.code(1);
    assert_eq!(r.stderr.matches("out/r.json").count(), 1, "{}", r.stderr);
}

fn fail_fast_says_it_cancelled_a_jobs_retries() {
    let r = Prun::new()
        .jobfile(
            "jobs:\n  - name: flaky\n    retries: 3\n    retry_delay: 2s\n    run: exit 1\n  - name: boom\n    run: sleep 0.3; exit 2\n",
        )
        .args(&["-j", "2", "--fail-fast"])
        .run();
    r.code(1);
    assert!(
        r.stderr
            .contains("its retries were cancelled after attempt 1/4: --fail-fast stopped the run"),
        "{}",
        r.stderr
    );
}

fn a_retried_jobs_duration_spans_every_attempt() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: flaky\n    retries: 1\n    retry_delay: 500ms\n    run: sleep 0.2; test $PRUN_ATTEMPT = 2\n    on_complete: echo $PRUN_JOB_DURATION > dur\n",
        )
        .args(&["--report", "r.json"]);
    p.run().code(0);
    let report: Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let job = &report["jobs"][0];
    let d = job["duration"].as_f64().unwrap();
    assert!(d >= 0.85, "duration {d} is not the whole span");
    let details = job["attempt_details"].as_array().unwrap();
    assert_eq!(details.len(), 2);
    assert_eq!(
        (&details[0]["status"], &details[1]["status"]),
        (&Value::from("failed"), &Value::from("success"))
    );
    let hook: f64 = p.read("dur").trim().parse().unwrap();
    assert!(hook >= 0.85, "hook saw {hook}");
}

fn github_annotations_escape_matrix_names_and_cover_failed_hooks() {
    let r = Prun::new()
        .jobfile(
            "jobs:\n  - name: t\n    matrix: {os: [\"a:b,c\"]}\n    run: exit 1\n    on_failure: exit 3\n",
        )
        .env("GITHUB_ACTIONS", "true")
        .run();
    r.code(1);
    assert!(
        r.stdout
            .contains("::error title=prun%3A job t[os=a%3Ab%2Cc] failed::failed, exit 1\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "::error title=prun%3A hook on_failure of job t[os=a%3Ab%2Cc] failed::exit 3\n"
        ),
        "{}",
        r.stdout
    );
}

mod hooks_and_signals {
    use std::time::{Duration, Instant};

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    use crate::util::Prun;

    /// 600 jobs make the run-level report (on the hooks' stdin) well over 64 KiB, more
    /// than a pipe holds.
    fn many_jobs(hook: &str) -> String {
        let mut y = format!("hook_timeout: 2s\non_success: {hook}\njobs:\n");
        for i in 0..600 {
            y.push_str(&format!(
                "  - name: job-with-a-longish-name-{i}\n    run: 'true'\n"
            ));
        }
        y
    }

    fn a_hook_that_does_not_read_its_stdin_neither_hangs_nor_times_out() {
        let p = Prun::new().jobfile(&many_jobs("sleep 0.5; touch hook.done"));
        let r = p.run_with(&["-j", "4"]);
        r.code(0);
        assert!(p.path("hook.done").exists(), "{}", r.stderr);
        assert!(!r.stderr.contains("timed out"), "{}", r.stderr);
    }

    fn a_hook_that_never_reads_nor_exits_is_stopped_at_its_timeout() {
        let p = Prun::new().jobfile(&many_jobs("exec sleep 31.8181"));
        let r = p.run_with(&["-j", "4", "--grace", "1s"]);
        r.code(1);
        assert!(r.elapsed < Duration::from_secs(8), "took {:?}", r.elapsed);
        assert!(
            r.stderr.contains("timed out after 2s (hook_timeout)"),
            "{}",
            r.stderr
        );
    }

    fn a_hooks_stdin_is_one_line_ending_in_a_newline() {
        let p = Prun::new().jobfile(
            "jobs:\n  - name: a\n    run: 'true'\n    on_success: read -r line && printf '%s' \"$line\" > got\n",
        );
        p.run().code(0);
        let v: serde_json::Value = serde_json::from_str(&p.read("got")).unwrap();
        assert_eq!(v["name"], "a");
    }

    fn huge_durations_neither_panic_nor_wrap_around() {
        let p = Prun::new().jobfile(
            "jobs:\n  - name: a\n    timeout: 30d\n    run: sleep 0.2; touch a.ran\n  - name: b\n    timeout: 3650d\n    retries: 1\n    retry_delay: 3650d\n    run: touch b.ran\n",
        );
        // Ten years, the longest prun takes, as every duration it waits on at once.
        let r = p.run_with(&["--grace", "3650d", "--lock", "l", "--lock-wait", "3650d"]);
        r.code(0);
        assert!(p.path("a.ran").exists() && p.path("b.ran").exists());
        // Longer ones are refused when read (tests/shared_machine.rs has the jobfile's).
        let r = p.run_with(&["--lock-wait", "100000000d"]);
        r.code(2);
        assert!(r.stderr.contains("at most 10years"), "{}", r.stderr);
    }

    fn a_first_signal_while_only_hooks_run_gives_them_the_grace_period() {
        let p = Prun::new()
            .jobfile(
                "jobs:\n  - name: a\n    run: 'true'\n    on_complete: touch hook.started; exec sleep 31.7171\n",
            )
            .args(&["--grace", "1s"]);
        let child = p.start_until(&["hook.started"], Duration::from_secs(10));
        let sent = Instant::now();
        kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let took = sent.elapsed();
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "took {took:?}"
        );
        assert!(!stderr.contains("second signal"), "{stderr}");
        assert!(
            stderr.contains("stopped after the grace period (1s)"),
            "{stderr}"
        );
    }

    fn hooks_after_a_first_signal_get_the_grace_period_not_hook_timeout() {
        let p = Prun::new()
            .jobfile(
                "jobs:\n  - name: a\n    run: touch started; sleep 31.6161\n    on_failure: sleep 31.6162\n",
            )
            .args(&["--grace", "1s"]);
        let child = p.start_until(&["started"], Duration::from_secs(10));
        let sent = Instant::now();
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(143), "{stderr}");
        assert!(
            sent.elapsed() < Duration::from_secs(6),
            "took {:?}",
            sent.elapsed()
        );
        assert!(
            stderr.contains("each hook still to run gets at most 1s"),
            "{stderr}"
        );
    }

    fn two_signals_back_to_back_count_as_two() {
        let p = Prun::new()
            .jobfile(
                "jobs:\n  - name: stubborn\n    run: trap '' TERM INT; touch started; sleep 31.5151\n",
            )
            .args(&["--grace", "60s"]);
        let child = p.start_until(&["started"], Duration::from_secs(10));
        let sent = Instant::now();
        let pid = Pid::from_raw(child.id() as i32);
        kill(pid, Signal::SIGINT).unwrap();
        kill(pid, Signal::SIGTERM).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Which of the two is handled first is up to the kernel.
        assert!(matches!(out.status.code(), Some(130 | 143)), "{stderr}");
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "took {:?}",
            sent.elapsed()
        );
        assert!(stderr.contains("a second signal"), "{stderr}");
    }

    crate::tests!(
        a_hook_that_does_not_read_its_stdin_neither_hangs_nor_times_out,
        a_hook_that_never_reads_nor_exits_is_stopped_at_its_timeout,
        a_hooks_stdin_is_one_line_ending_in_a_newline,
        huge_durations_neither_panic_nor_wrap_around,
        a_first_signal_while_only_hooks_run_gives_them_the_grace_period,
        hooks_after_a_first_signal_get_the_grace_period_not_hook_timeout,
        two_signals_back_to_back_count_as_two
    );
}

fn a_sync_need_on_a_later_job_is_a_jobfile_error() {
    let p = Prun::new().jobfile(
        "mode: sync\njobs:\n  - name: a\n    needs: [b]\n    run: touch ran\n  - name: b\n    run: touch ran\n",
    );
    let r = p.run();
    r.code(2);
    assert!(
        r.stderr.contains("jobs.yaml:4:") && r.stderr.contains("comes later in a sync jobfile"),
        "{}",
        r.stderr
    );
    assert!(!p.path("ran").exists());
    // The same jobfile run async is fine; `--mode sync` on the command line is not.
    Prun::new()
        .jobfile(
            "jobs:\n  - name: a\n    needs: [b]\n    run: 'true'\n  - name: b\n    run: 'true'\n",
        )
        .args(&["--mode", "sync", "--check"])
        .run()
        .code(2);
}

fn a_long_run_stopped_early_does_not_list_every_job_that_did_not_run() {
    let mut y = String::from("jobs:\n  - name: boom\n    run: exit 1\n");
    for i in 0..200 {
        y.push_str(&format!("  - name: rest-{i}\n    run: 'true'\n"));
    }
    let r = Prun::new()
        .jobfile(&y)
        .args(&["-j", "1", "--fail-fast"])
        .run();
    r.code(1);
    assert!(r.stderr.lines().count() < 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("(not listed: 200 not run)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("boom"), "{}", r.stderr);
}

fn an_error_in_a_huge_line_shows_only_part_of_it() {
    let long = "x".repeat(5_000_000);
    let r = Prun::new()
        .jobfile(&format!(
            "jobs:\n  - name: a\n    run: 'true'\n    timout: {long}\n"
        ))
        .run();
    r.code(2);
    assert!(r.stderr.len() < 2_000, "{} bytes of stderr", r.stderr.len());
    assert!(r.stderr.contains("unknown key 'timout'"), "{}", r.stderr);
}

fn a_jobfile_without_end_is_refused_before_it_fills_memory() {
    let r = Prun::new().arg("/dev/zero").run();
    r.code(2);
    assert!(
        r.elapsed < std::time::Duration::from_secs(3),
        "{:?}",
        r.elapsed
    );
    let p = Prun::new();
    let big = std::fs::File::create(p.path("big.yaml")).unwrap();
    big.set_len(300 << 20).unwrap();
    let r = p.arg("big.yaml").run();
    r.code(2);
    assert!(r.stderr.contains("bigger than 256 MiB"), "{}", r.stderr);
}

fn a_jobfile_from_a_pipe_still_works() {
    let p = Prun::new();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} <(printf 'jobs:\\n  - touch ran\\n')",
            crate::util::bin().display()
        ))
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(p.path("ran").exists());
}

fn the_lock_file_is_never_written_and_its_holder_is_named() {
    let p = Prun::new()
        .jobfile("jobs:\n  - touch started; sleep 1\n")
        .args(&["--lock", "run.lock"]);
    std::fs::write(p.path("run.lock"), "someone's data\n").unwrap();
    let holder = p.start_until(&["started"], std::time::Duration::from_secs(10));
    let r = p.run();
    r.code(75);
    assert!(
        r.stderr
            .contains(&format!("held by pid {} (prun)", holder.id())),
        "{}",
        r.stderr
    );
    assert!(holder.wait_with_output().unwrap().status.success());
    assert_eq!(p.read("run.lock"), "someone's data\n");
}

crate::tests!(
    resume_failed_after_fail_fast_runs_the_jobs_that_never_ran,
    resume_reruns_a_failed_job_whose_command_was_edited,
    a_job_is_done_only_if_its_last_record_is_a_success_of_its_command,
    keep_order_with_resume_prints_every_block,
    keep_order_prints_what_ended_after_a_job_that_never_started,
    values_reach_jobs_exactly_as_written,
    hostile_matrix_values_keep_logs_joblog_and_terminal_intact,
    a_crafted_value_cannot_forge_a_joblog_record,
    a_full_stdout_is_reported_once_and_every_job_still_runs,
    a_reader_that_left_does_not_fail_the_run,
    dry_run_into_a_closed_pipe_or_a_full_disk_does_not_panic,
    a_log_that_cannot_be_written_is_reported_and_fails_the_run,
    a_log_file_planted_as_a_link_is_refused_not_followed,
    report_paths_are_checked_before_anything_runs,
    a_report_that_cannot_be_written_at_the_end_is_said_once,
    fail_fast_says_it_cancelled_a_jobs_retries,
    a_retried_jobs_duration_spans_every_attempt,
    github_annotations_escape_matrix_names_and_cover_failed_hooks,
    a_sync_need_on_a_later_job_is_a_jobfile_error,
    a_long_run_stopped_early_does_not_list_every_job_that_did_not_run,
    an_error_in_a_huge_line_shows_only_part_of_it,
    a_jobfile_without_end_is_refused_before_it_fills_memory,
    a_jobfile_from_a_pipe_still_works,
    the_lock_file_is_never_written_and_its_holder_is_named;
    mod hooks_and_signals
);
