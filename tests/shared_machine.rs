//! A shared machine (issue "no other user, file, name or signal can hang, crash, forge or
//! read prun's run"): each test is named after what it found, and drives the real binary.

use crate::util::Prun;
use crate::util::facility::{Facility, need};

/// `monitor: {timeout: '500000000000y'}` passed `--check`, then panicked on an Instant
/// overflow; a huge `ready.interval` panicked too. Durations are bounded when read.
fn a_monitor_timeout_of_500000000000y_is_a_located_error_not_a_panic() {
    for (yaml, line) in [
        (
            "monitor: {success: 'http://127.0.0.1:9/x', timeout: '500000000000y'}\njobs:\n  - touch ran\n",
            "jobs.yaml:1:",
        ),
        (
            "jobs:\n  - name: db\n    service: true\n    run: sleep 9\n    ready: {exec: 'true', interval: 500000000000y}\n  - name: a\n    needs: [db]\n    run: touch ran\n",
            "jobs.yaml:5:",
        ),
        (
            "jobs:\n  - run: touch ran\n    timeout: 11y\n",
            "jobs.yaml:3:",
        ),
    ] {
        for check in [true, false] {
            let p = Prun::new().jobfile(yaml);
            let r = if check {
                p.run_with(&["--check"])
            } else {
                p.run()
            };
            r.code(2);
            assert!(r.stderr.contains(line), "{yaml}\n{}", r.stderr);
            assert!(r.stderr.contains("at most 10years"), "{}", r.stderr);
            assert!(!p.path("ran").exists());
        }
    }
    let p = Prun::new().jobfile("jobs:\n  - touch ran\n");
    let r = p.run_with(&["--grace", "500000000000y"]);
    r.code(2);
    assert!(r.stderr.contains("--grace"), "{}", r.stderr);
    assert!(!p.path("ran").exists());
}

/// A joblog whose last line was cut (no newline) got the next run's record glued onto
/// it, and every later `--resume` exited 2 "not a prun joblog line".
fn a_joblog_cut_mid_line_is_repaired_onto_a_new_line_and_resume_still_reads_it() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: echo a >> ran\n  - name: b\n    run: echo b >> ran\n",
    );
    p.run_with(&["--joblog", "log", "--job", "a"]).code(0);
    // prun killed while writing b's record: half a line, no newline.
    let mut text = p.read("log");
    text.push_str("b\t1\t2026-12-07T00:00:00.000Z\t0.0");
    std::fs::write(p.path("log"), &text).unwrap();
    p.run_with(&["--joblog", "log", "--resume"]).code(0);
    assert_eq!(p.read("ran"), "a\nb\n", "a resumed, b run");
    let log = p.read("log");
    assert!(
        log.contains("0.0\n# prun: the line above was cut short"),
        "{log}"
    );
    // Every later --resume reads it: nothing runs again.
    p.run_with(&["--joblog", "log", "--resume"]).code(0);
    assert_eq!(p.read("ran"), "a\nb\n");
}

/// Two secrets, one a prefix of the other (`abcd`, `abcdefgh`): a read that ended after
/// the shorter printed the rest of the longer in clear, `x ***efgh y`.
fn a_secret_that_starts_with_another_is_masked_whole_across_two_reads() {
    let p = Prun::new().jobfile(
        "secrets: [SHORT, LONG]\nenv: { SHORT: abcd, LONG: abcdefgh }\njobs:\n  - name: leak\n    run: printf 'x abcd'; sleep 0.3; printf 'efgh y\\n'; printf 'and abcd alone\\n'\n",
    );
    let r = p.args(&["--output", "line"]).run();
    r.code(0);
    assert!(r.stdout.contains("x *** y"), "{}", r.stdout);
    assert!(r.stdout.contains("and *** alone"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("efgh") && !r.stdout.contains("abcd"),
        "{}",
        r.stdout
    );
}

/// `nobody`.
const NOBODY: u32 = 65_534;

/// The lock files prun creates were 0644: any user could `flock -s` them, and root's
/// next run waited (a history's lock, ignoring SIGTERM) or exited 75 (`--lock`).
fn a_lock_prun_creates_is_0600_so_no_other_user_can_hold_it() {
    use std::os::unix::fs::PermissionsExt;
    need(&[Facility::Root]);
    let p = Prun::new().jobfile("jobs:\n  - 'true'\n").args(&[
        "--lock",
        "run.lock",
        "--history",
        "hist",
    ]);
    p.open_to_all();
    p.run().code(0);
    for lock in ["run.lock", "hist/.prun-history.lock"] {
        let mode = std::fs::metadata(p.path(lock))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{lock}");
    }
    std::fs::set_permissions(p.path("hist"), std::fs::Permissions::from_mode(0o755)).unwrap();
    for lock in ["run.lock", "hist/.prun-history.lock"] {
        let held = crate::util::as_user(NOBODY)
            .args(["flock", "-s", "-n"])
            .arg(p.path(lock))
            .arg("true")
            .output()
            .unwrap();
        assert!(!held.status.success(), "nobody could flock {lock}");
    }
    // An older prun's 0644 lock is narrowed on the next run.
    std::fs::set_permissions(p.path("run.lock"), std::fs::Permissions::from_mode(0o644)).unwrap();
    p.run().code(0);
    let mode = std::fs::metadata(p.path("run.lock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A user's shared lock on a `--lock` file they made in a directory others can write
/// made root's runs exit 75: a lock file of another user is refused, with how to fix it.
fn a_lock_file_another_user_made_is_refused_not_waited_on() {
    need(&[Facility::Root]);
    let p = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--lock", "run.lock"]);
    p.open_to_all();
    let made = crate::util::as_user(NOBODY)
        .args(["sh", "-c", "umask 022; touch run.lock"])
        .current_dir(p.dir.path())
        .status()
        .unwrap();
    assert!(made.success());
    let r = p.run();
    r.code(2);
    assert!(
        r.stderr.contains("belongs to another user (uid 65534)"),
        "{}",
        r.stderr
    );
    assert!(!p.path("ran").exists());
}

/// Runs prun as `p` would, but gives up (and fails the test) after `limit`: what a hang
/// used to do here must not hang the test suite.
fn run_within(p: &Prun, extra: &[&str], limit: std::time::Duration) -> crate::util::Run {
    use std::process::Stdio;
    let start = std::time::Instant::now();
    let mut child = p
        .command()
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("prun still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    crate::util::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

const UP_TO_DATE: &str = "jobs:\n  - name: build\n    sources: ['src/*']\n    run: touch built\n";

/// A FIFO inside a `sources:` glob blocked prun in `open()` until SIGKILL; a link to
/// `/dev/zero` among them was read forever at 100 % CPU. Only regular files are read.
fn a_fifo_or_a_link_to_dev_zero_among_the_sources_is_refused_not_read() {
    let limit = std::time::Duration::from_secs(20);
    for plant in ["mkfifo src/pipe", "ln -s /dev/zero src/zero"] {
        let p = Prun::new()
            .jobfile(UP_TO_DATE)
            .file("src/a.rs", "fn main() {}\n");
        let made = std::process::Command::new("sh")
            .args(["-c", plant])
            .current_dir(p.dir.path())
            .status()
            .unwrap();
        assert!(made.success());
        let r = run_within(&p, &[], limit);
        assert!(
            r.stderr.contains("is not a regular file"),
            "{plant}: {}",
            r.stderr
        );
    }
}

/// A FIFO at a state file (`.prun/build.json`) hung prun in `open()`; a 4 GB sparse state
/// file took 4.2 GB of memory and 21 s. Neither is read: the job runs, saying why.
fn a_fifo_or_a_huge_state_file_is_not_read_and_the_job_runs_saying_why() {
    let limit = std::time::Duration::from_secs(20);
    let p = Prun::new()
        .jobfile(UP_TO_DATE)
        .file("src/a.rs", "fn main() {}\n");
    std::fs::create_dir_all(p.path(".prun")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(p.path(".prun/build.json"))
        .status()
        .unwrap();
    assert!(made.success());
    let r = run_within(&p, &[], limit);
    r.code(0);
    assert!(p.path("built").exists(), "the job ran");
    assert!(r.stderr.contains("is not a regular file"), "{}", r.stderr);
    std::fs::remove_file(p.path("built")).unwrap();
    // A sparse file far past the cap, where the run above saved its state.
    let _ = std::fs::remove_file(p.path(".prun/build.json"));
    let f = std::fs::File::create(p.path(".prun/build.json")).unwrap();
    f.set_len(4 << 30).unwrap();
    let r = run_within(&p, &[], limit);
    r.code(0);
    assert!(p.path("built").exists(), "the job ran");
    assert!(
        r.stderr
            .contains("is larger than prun reads there (64 MiB at most)"),
        "{}",
        r.stderr
    );
}

/// A non-UTF-8 file name where a dynamic matrix globs (`g/bad\377.jpg`) crashed prun
/// with SIGSEGV after `--check` said valid; under `sources:` the job failed as an
/// internal error, and `--dry-run` exited 101. Now each says which name, and why.
fn a_non_utf8_name_in_a_glob_is_a_located_refusal_not_a_crash() {
    use std::os::unix::ffi::OsStrExt;
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: resize\n    matrix: { f: {glob: 'g/*.jpg'} }\n    run: echo \"$f\"\n  - name: build\n    sources: ['g/*']\n    run: touch built\n",
        )
        .file("g/ok.jpg", "");
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff.jpg");
    std::fs::write(p.path("g").join(bad), "").unwrap();
    p.run_with(&["--check"]).code(0);
    let dry = p.run_with(&["--dry-run"]);
    assert!(dry.code == 0, "{}", dry.stderr);
    let r = p.run();
    r.code(1);
    assert!(r.stderr.contains("not valid UTF-8"), "{}", r.stderr);
    assert!(r.stderr.contains("bad\\xff.jpg"), "{}", r.stderr);
    assert!(
        p.path("built").exists(),
        "the job with sources ran, saying why"
    );
}

/// An exec `ready:` probe, an `if:` or a `status:` that starts `setsid sleep 99 &` left
/// one daemon per try, outside every cgroup (7 after a normal run); hooks were
/// contained. Now each runs in a cgroup whose leftovers are stopped when it ends.
fn daemons_started_by_probes_conditions_and_status_checks_do_not_outlive_the_run() {
    need(&[Facility::Cgroups]);
    let p = Prun::new().jobfile(
        "jobs:\n  - name: db\n    service: true\n    run: sleep 0.6; touch up; sleep 30\n    ready: { exec: 'setsid sleep 61.71 >/dev/null 2>&1 & test -e up', interval: 100ms }\n  - name: use\n    needs: [db]\n    if: 'setsid sleep 61.72 >/dev/null 2>&1 & true'\n    run: 'true'\n  - name: check\n    status: 'setsid sleep 61.73 >/dev/null 2>&1 & false'\n    run: 'true'\n",
    );
    p.run().code(0);
    for marker in ["sleep 61.71", "sleep 61.72", "sleep 61.73"] {
        assert!(
            crate::util::gone_within(marker, std::time::Duration::from_secs(5)),
            "{marker} left running"
        );
    }
}

/// A service needed only by a dynamic matrix that expands to nothing (or fails to
/// expand) was never stopped: prun waited for it forever.
fn a_service_needed_only_by_a_matrix_that_became_nothing_is_stopped() {
    for list in ["'true'", "'echo items= >> \"$PRUN_OUTPUT\"'"] {
        let p = Prun::new().jobfile(&format!(
            "jobs:\n  - name: list\n    run: {list}\n  - name: db\n    service: true\n    run: sleep 30\n  - name: each\n    needs: [list, db]\n    matrix: {{ x: \"${{{{ needs.list.outputs.items }}}}\" }}\n    run: echo $x\n"
        ));
        let r = run_within(&p, &[], std::time::Duration::from_secs(20));
        assert!(
            r.elapsed < std::time::Duration::from_secs(10),
            "{:?}",
            r.elapsed
        );
        assert!(r.stderr.contains("db "), "{}", r.stderr);
        assert!(!r.stderr.contains("interrupted"), "{}", r.stderr);
    }
}

/// A `.prun` symlink planted beside a jobfile in a shared directory was followed: root
/// wrote fingerprints into the link's target. A state directory that is a link, or
/// another user's, or writable by others, is not used: the job runs, saying why.
fn a_state_dir_planted_as_a_link_by_another_user_is_never_followed() {
    need(&[Facility::Root]);
    let p = Prun::new()
        .jobfile(UP_TO_DATE)
        .file("src/a.rs", "fn main() {}\n");
    p.open_to_all();
    std::fs::create_dir(p.path("victim")).unwrap();
    let planted = crate::util::as_user(NOBODY)
        .args(["ln", "-s", "victim", ".prun"])
        .current_dir(p.dir.path())
        .status()
        .unwrap();
    assert!(planted.success());
    let r = p.run();
    r.code(0);
    assert!(p.path("built").exists());
    assert!(r.stderr.contains("is a symbolic link"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(p.path("victim")).unwrap().count(),
        0,
        "nothing written through the link"
    );
}

/// In a history directory another user could write, their fake runs (dated 2099) made
/// root's next run delete the real ones, point `latest` at a fake and set
/// `PRUN_PREVIOUS_RESULT`; 100 planted names made it refuse to start. Such a directory is
/// refused before anything runs, saying why.
fn a_history_dir_other_users_can_write_is_refused_before_anything_runs() {
    use std::os::unix::fs::PermissionsExt;
    need(&[Facility::Root]);
    let p = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--history", "hist"]);
    std::fs::create_dir(p.path("hist")).unwrap();
    std::fs::set_permissions(p.path("hist"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let r = p.run();
    r.code(2);
    assert!(
        r.stderr.contains("can be written by other users"),
        "{}",
        r.stderr
    );
    assert!(!p.path("ran").exists());
    // Made prun's own again, it is used.
    std::fs::set_permissions(p.path("hist"), std::fs::Permissions::from_mode(0o755)).unwrap();
    p.run().code(0);
    assert!(p.path("ran").exists());
}

/// Up-to-date fingerprints stored the workdir as written: `cd sub && prun ../u.yaml`
/// after `prun u.yaml` reran every job ("workdir changed"), and so did `prun $PWD/u.yaml`.
fn the_workdir_in_a_fingerprint_is_canonical_however_the_jobfile_is_named() {
    let p = Prun::new()
        .file("u.yaml", UP_TO_DATE)
        .file("src/a.rs", "fn main() {}\n");
    std::fs::create_dir(p.path("sub")).unwrap();
    p.run_with(&["u.yaml"]).code(0);
    std::fs::remove_file(p.path("built")).unwrap();
    let full = p.path("u.yaml").display().to_string();
    p.run_with(&[&full]).code(0);
    assert!(!p.path("built").exists(), "up to date by its full path");
    let r = p
        .command()
        .arg("../u.yaml")
        .current_dir(p.path("sub"))
        .output()
        .unwrap();
    assert!(r.status.success());
    assert!(
        !p.path("built").exists(),
        "up to date from a subdirectory: {}",
        String::from_utf8_lossy(&r.stderr)
    );
}

/// `--resume` restored a job's outputs from the masked joblog: its dependent got `***`.
/// Outputs that hold a secret are not kept; the job runs again to have them.
fn resume_never_hands_a_dependent_a_masked_output() {
    let p = Prun::new().jobfile(
        "secrets: [TOKEN]\nenv: { TOKEN: s3cr3t-value }\njobs:\n  - name: login\n    run: echo \"token=$TOKEN\" >> \"$PRUN_OUTPUT\"; echo ran >> login.ran\n  - name: use\n    needs: [login]\n    env: { T: '${{ needs.login.outputs.token }}' }\n    run: echo \"$T\" > got; test \"$T\" = s3cr3t-value\n",
    );
    p.run_with(&["--joblog", "log", "--job", "login"]).code(0);
    let log = p.read("log");
    assert!(
        !log.contains("s3cr3t-value") && log.contains("!masked"),
        "{log}"
    );
    p.run_with(&["--joblog", "log", "--resume"]).code(0);
    assert_eq!(p.read("got"), "s3cr3t-value\n");
    assert_eq!(
        p.read("login.ran"),
        "ran\nran\n",
        "login ran again to have its outputs"
    );
}

/// While the end ping waited on a server that never answers, two SIGTERMs were ignored
/// and prun exited 0 18 s later. A signal now ends the wait: exit 143, said.
fn a_sigterm_while_the_end_ping_waits_ends_prun_at_once_with_143() {
    use crate::util::recorder::Recorder;
    let m = Recorder::http();
    let p = Prun::new()
        .jobfile(&format!(
            "monitor:\n  success: {}\n  timeout: 30s\njobs:\n  - touch ran\n",
            m.url("/hang")
        ))
        .args(&["--report", "r.json"]);
    let child = p.start_until(&["ran"], std::time::Duration::from_secs(10));
    // The job is done; give prun a moment to be in the end ping.
    std::thread::sleep(std::time::Duration::from_millis(700));
    let sent = std::time::Instant::now();
    // SAFETY: kill with a pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("the end ping was given up: SIGTERM"),
        "{stderr}"
    );
    let report = p.read("r.json");
    assert!(report.contains("given up"), "{report}");
}

/// Every panic outside a worker ended in SIGSEGV: no message, no report, no summary, no
/// end ping. A panic (a bug, injected by a debug build's `PRUN_TEST_PANIC`) on the driver,
/// on the hook thread or in a job's worker ends prun with exit 70 and a message, after
/// every job was stopped, the report written (it says so) and the end ping sent — as the
/// real Healthchecks records it: a failure with exit status 70.
fn a_panic_in_prun_ends_it_with_exit_70_after_the_report_and_the_end_ping() {
    need(&[Facility::Healthchecks]);
    let hc = crate::util::healthchecks::server().expect("the server is up");
    for at in ["driver", "hooks", "worker"] {
        let slug = format!("panic-{at}-{}", std::process::id());
        let monitor = format!("monitor:\n  healthchecks: {}\n", hc.check(&slug));
        let p = Prun::new()
            .jobfile(&format!(
                "{monitor}jobs:\n  - name: long\n    run: sleep 39.39\n  - name: quick\n    run: 'true'\n    on_success: echo hook ran\n  - name: later\n    needs: [quick]\n    run: sleep 39.39\n"
            ))
            .env("PRUN_TEST_PANIC", at);
        let r = run_within(
            &p,
            &["-j", "2", "--report", "r.json"],
            std::time::Duration::from_secs(20),
        );
        assert_eq!(r.code, 70, "{at}: {}", r.stderr);
        assert!(
            r.stderr.contains("prun: internal error (a bug in prun")
                && r.stderr.contains(&format!("PRUN_TEST_PANIC={at}")),
            "{at}: {}",
            r.stderr
        );
        assert!(
            crate::util::gone_within("sleep 39.39", std::time::Duration::from_secs(10)),
            "{at}: a job outlived prun"
        );
        // As its reader sees it: check-jsonschema against the report's schema.
        let report = crate::util::check_report(&p.path("r.json"));
        assert_eq!(report["exit_code"], 70, "{at}: {report}");
        assert!(
            report["internal_error"]
                .as_str()
                .is_some_and(|e| e.contains(&format!("PRUN_TEST_PANIC={at}"))),
            "{at}: {report}"
        );
        assert_eq!(report["jobs"].as_array().unwrap().len(), 3, "{report}");
        let got = hc.pings(&slug);
        let last = got["pings"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], "fail", "{at}: {got}");
        assert_eq!(last["exit_status"], 70, "{at}: {got}");
        assert!(
            last["body"].as_str().unwrap().contains("internal error"),
            "{at}: {got}"
        );
    }
}

/// A panic while the run-level hooks ran lost every job's result: the summary was taken
/// again from a core that had handed them over ("0 jobs"). The jobs keep what they did.
fn a_panic_in_the_run_level_hooks_keeps_the_jobs_results() {
    let p = Prun::new()
        .jobfile("on_complete: echo run done\njobs:\n  - name: a\n    run: 'true'\n  - name: b\n    run: exit 3\n")
        .env("PRUN_TEST_PANIC", "hooks");
    let r = run_within(
        &p,
        &["--report", "r.json"],
        std::time::Duration::from_secs(20),
    );
    assert_eq!(r.code, 70, "{}", r.stderr);
    let report = crate::util::check_report(&p.path("r.json"));
    let jobs = report["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{report}");
    assert_eq!(
        (jobs[0]["status"].as_str(), jobs[1]["status"].as_str()),
        (Some("success"), Some("failed")),
        "{report}"
    );
    assert!(!r.stderr.contains("index out of bounds"), "{}", r.stderr);
}

/// A job name built from a secret (a dynamic matrix over outputs) put the secret in log
/// file names (`--log-dir`, a history's `logs/`) and GitHub annotations, and the report's
/// `log` path (masked) named a file that did not exist.
fn a_job_name_made_from_a_secret_shows_it_nowhere_and_its_log_path_is_true() {
    let p = Prun::new()
        .jobfile(
            "secrets: [TOKEN]\nenv: { TOKEN: s3cr3t-value }\njobs:\n  - name: list\n    run: echo \"items=$TOKEN\" >> \"$PRUN_OUTPUT\"\n  - name: use\n    needs: [list]\n    matrix: { t: \"${{ needs.list.outputs.items }}\" }\n    run: echo hi; exit 1\n",
        )
        .env("GITHUB_ACTIONS", "true")
        .args(&["--log-dir", "logs", "--report", "r.json"]);
    let r = p.run();
    r.code(1);
    let out: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert!(!out.join("\n").contains("s3cr3t"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("::error title=prun%3A job use[t=***] failed"),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("s3cr3t"), "{}", r.stderr);
    let logs: Vec<String> = std::fs::read_dir(p.path("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(logs.iter().all(|l| !l.contains("s3cr3t")), "{logs:?}");
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    for job in report["jobs"].as_array().unwrap() {
        let log = job["log"].as_str().unwrap();
        assert!(std::path::Path::new(log).exists(), "{log} is not there");
    }
}

/// An env_file error quoted the line it could not read, which may hold a secret.
fn an_env_file_error_never_quotes_the_value_it_found() {
    let p = Prun::new()
        .jobfile("secrets: [TOKEN]\nenv_file: secrets.env\njobs:\n  - touch ran\n")
        .file("secrets.env", "TOKEN=\"s3cr3t\" tail-of-s3cr3t\n");
    let r = p.run();
    r.code(2);
    assert!(r.stderr.contains("secrets.env:1"), "{}", r.stderr);
    assert!(!r.stderr.contains("s3cr3t"), "{}", r.stderr);
    let p = Prun::new()
        .jobfile("env_file: secrets.env\njobs:\n  - touch ran\n")
        .file("secrets.env", "ghp_s3cr3tTokenPastedAlone\n");
    let r = p.run();
    r.code(2);
    assert!(!r.stderr.contains("s3cr3t"), "{}", r.stderr);
}

/// `timeout: 1ns` on `true` reported `timed-out` with exit 0 (12 of 20 such jobs with the
/// old build): killed by prun as if alive, though it had ended by itself. A command whose
/// deadline has come is now stopped (SIGSTOP) to ask whether it ended by itself, which
/// leaves no race: each of 200 either succeeded (it had ended) or was timed out and ended
/// by the SIGTERM (it was alive: even `true` takes longer than 1ns to run). One alive at
/// its deadline is timed out — also one that exits 0 on the SIGTERM — and one stopped to
/// be asked goes on to meet the signal (SIGCONT).
fn a_job_that_ended_by_itself_is_never_timed_out_and_one_alive_always_is() {
    let mut jobs: String = (0..200)
        .map(|i| format!("  - name: t{i}\n    run: 'true'\n    timeout: 1ns\n"))
        .collect();
    jobs.push_str("  - name: slow\n    run: sleep 30\n    timeout: 100ms\n");
    jobs.push_str(
        "  - name: trapper\n    run: trap 'exit 0' TERM; sleep 30 & wait\n    timeout: 100ms\n",
    );
    let p = Prun::new()
        .jobfile(&format!("jobs:\n{jobs}"))
        .args(&["--report", "r.json", "-j", "4"]);
    let r = run_within(&p, &[], std::time::Duration::from_secs(30));
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let jobs = report["jobs"].as_array().unwrap();
    let lies: Vec<&serde_json::Value> = (jobs.iter().take(200))
        .filter(|j| {
            let ended = j["status"] == "success" && j["exit_code"] == 0;
            let cut = j["status"] == "timed-out" && j["signal"] == "SIGTERM";
            !(ended || cut)
        })
        .collect();
    assert!(lies.is_empty(), "{lies:?}\n{}", r.stderr);
    for name in ["slow", "trapper"] {
        let j = jobs.iter().find(|j| j["name"] == name).unwrap();
        assert_eq!(j["status"], "timed-out", "{j}");
        assert!(j["duration"].as_f64().unwrap() < 10.0, "{j}");
    }
}

/// "SIGKILL in 1s" was printed when a service's `stop_grace: 30s` made the end 30 s
/// away: the notice now says the services' own grace.
fn the_stop_notice_says_the_services_stop_grace_not_only_the_jobs_grace() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: db\n    service: true\n    stop_grace: 2s\n    run: trap '' TERM; touch up; while :; do sleep 0.1; done\n  - name: a\n    needs: [db]\n    run: touch started; sleep 60\n",
        )
        .args(&["--grace", "1s"]);
    let child = p.start_until(&["started"], std::time::Duration::from_secs(10));
    // SAFETY: kill with a pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("SIGKILL in 1s"), "{stderr}");
    assert!(
        stderr.contains(
            "1 service stopped after the jobs, SIGKILL after its stop_grace (2s at most)"
        ),
        "{stderr}"
    );
}

/// A hanging probe's timeout said only "not ready after 1s": nothing of the probe.
fn a_hanging_probe_s_timeout_says_its_probe_gave_no_answer() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: db\n    service: true\n    run: sleep 30\n    ready: { exec: 'sleep 100', timeout: 1s }\n  - name: a\n    needs: [db]\n    run: 'true'\n",
    );
    let r = run_within(&p, &[], std::time::Duration::from_secs(20));
    r.code(1);
    assert!(
        r.stderr
            .contains("not ready after 1s: its probe gave no answer in that time"),
        "{}",
        r.stderr
    );
}

/// A jobfile error quoted the secret value on the line it pointed at: said before the
/// masker was set up. The values `secrets:` names are masked in it too, also in a YAML
/// syntax error, found before the jobfile is read at all (the names and values are then
/// found in its text and in prun's environment).
fn a_jobfile_error_never_quotes_a_secret_value() {
    let cases = [
        "secrets: [TOKEN]\njobs:\n  - name: a\n    env: { TOKEN: s3cr3t-value, 'A=B': x }\n    run: echo hi\n",
        "secrets: [TOKEN]\nenv:\n  TOKEN: \"s3cr3t-value\njobs:\n  - run: echo hi\n",
        "secrets:\n  - TOKEN\nenv:\n  TOKEN: s3cr3t: value\njobs:\n  - run: echo hi\n",
        "secrets: [TOKEN, 'OTHER']\nenv: { TOKEN: s3cr3t-value, B: [ }\njobs:\n  - run: echo hi\n",
        "secrets: [PASS]\njobs:\n  - run: echo s3cr3t-from-env: oops\n",
    ];
    for jobfile in cases {
        let p = Prun::new().jobfile(jobfile).env("PASS", "s3cr3t-from-env");
        let r = p.run_with(&["--check"]);
        r.code(2);
        assert!(r.stderr.contains("jobs.yaml:"), "{}", r.stderr);
        assert!(!r.stderr.contains("s3cr3t"), "{jobfile}\n{}", r.stderr);
        assert!(r.stderr.contains("***"), "{jobfile}\n{}", r.stderr);
    }
}

crate::tests!(
    a_monitor_timeout_of_500000000000y_is_a_located_error_not_a_panic,
    a_joblog_cut_mid_line_is_repaired_onto_a_new_line_and_resume_still_reads_it,
    a_secret_that_starts_with_another_is_masked_whole_across_two_reads,
    a_lock_prun_creates_is_0600_so_no_other_user_can_hold_it,
    a_lock_file_another_user_made_is_refused_not_waited_on,
    a_fifo_or_a_link_to_dev_zero_among_the_sources_is_refused_not_read,
    a_fifo_or_a_huge_state_file_is_not_read_and_the_job_runs_saying_why,
    a_non_utf8_name_in_a_glob_is_a_located_refusal_not_a_crash,
    daemons_started_by_probes_conditions_and_status_checks_do_not_outlive_the_run,
    a_service_needed_only_by_a_matrix_that_became_nothing_is_stopped,
    a_state_dir_planted_as_a_link_by_another_user_is_never_followed,
    a_history_dir_other_users_can_write_is_refused_before_anything_runs,
    the_workdir_in_a_fingerprint_is_canonical_however_the_jobfile_is_named,
    resume_never_hands_a_dependent_a_masked_output,
    a_sigterm_while_the_end_ping_waits_ends_prun_at_once_with_143,
    a_panic_in_prun_ends_it_with_exit_70_after_the_report_and_the_end_ping,
    a_panic_in_the_run_level_hooks_keeps_the_jobs_results,
    a_job_name_made_from_a_secret_shows_it_nowhere_and_its_log_path_is_true,
    an_env_file_error_never_quotes_the_value_it_found,
    a_job_that_ended_by_itself_is_never_timed_out_and_one_alive_always_is,
    the_stop_notice_says_the_services_stop_grace_not_only_the_jobs_grace,
    a_hanging_probe_s_timeout_says_its_probe_gave_no_answer,
    a_jobfile_error_never_quotes_a_secret_value,
);
