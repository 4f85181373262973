//! `history:`: each run kept in `DIR/<start>-<id>/` with its logs, report and joblog,
//! `latest`, retention (`keep`, `keep_days`) that touches only prun's runs, runs at
//! once, a killed run, `PRUN_PREVIOUS_RESULT` and `on_recover:`, and `prun history`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::util::Prun;

/// The run directories in `dir`, oldest first.
fn runs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.as_bytes().first().is_some_and(u8::is_ascii_digit) && n.contains('T'))
        .collect();
    names.sort();
    names
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn each_run_is_kept_whole_and_latest_points_at_the_newest() {
    let p = Prun::new().file(
        "jobs.yaml",
        "history: { dir: hist }\njobs:\n  - name: dump\n    run: echo dumped by $PRUN_RUN_ID\n  - name: second\n    run: echo second\n",
    );
    p.run_with(&["jobs.yaml"]).code(0);
    p.next_second();
    p.run_with(&["jobs.yaml"]).code(0);
    let hist = p.path("hist");
    let kept = runs(&hist);
    assert_eq!(kept.len(), 2, "{kept:?}");
    let newest = &kept[1];
    assert_eq!(
        std::fs::read_link(hist.join("latest")).unwrap(),
        PathBuf::from(newest)
    );
    let run = hist.join(newest);
    let report = json(&std::fs::read_to_string(run.join("report.json")).unwrap());
    assert_eq!(
        report["run_id"],
        newest.as_str(),
        "the run id is the directory's name"
    );
    assert_eq!(report["exit_code"], 0);
    let log = std::fs::read_to_string(run.join("logs/dump.log")).unwrap();
    assert_eq!(log, format!("dumped by {newest}\n"));
    assert!(run.join("logs").read_dir().unwrap().count() == 2);
    let joblog = std::fs::read_to_string(run.join("joblog")).unwrap();
    assert!(joblog.starts_with("# prun joblog"), "{joblog}");
    assert_eq!(joblog.lines().count(), 3, "{joblog}");
    // Each run has its own: the first run's log is its own.
    let first = std::fs::read_to_string(hist.join(&kept[0]).join("logs/dump.log")).unwrap();
    assert_eq!(first, format!("dumped by {}\n", kept[0]));
}

fn retention_keeps_the_newest_n_and_never_touches_what_prun_did_not_make() {
    let p = Prun::new()
        .file(
            "jobs.yaml",
            "history: { dir: hist, keep: 2 }\njobs:\n  - echo hi\n",
        )
        .file("hist/notes/keep.txt", "mine")
        .file("hist/20200101T000000Z-1/data", "not prun's: no marker")
        .file("outside/20200101T000000Z-9/.prun-run", "x")
        .file("outside/20200101T000000Z-9/precious", "x");
    std::os::unix::fs::symlink(
        p.path("outside/20200101T000000Z-9"),
        p.path("hist/20200101T000000Z-9"),
    )
    .unwrap();
    for i in 0..4 {
        if i > 0 {
            p.next_second();
        }
        p.run_with(&["jobs.yaml"]).code(0);
    }
    let hist = p.path("hist");
    let kept = runs(&hist);
    let prun_made: Vec<&String> = kept.iter().filter(|n| n.starts_with("2026")).collect();
    assert_eq!(prun_made.len(), 2, "{kept:?}");
    assert!(hist.join("notes/keep.txt").exists());
    assert!(hist.join("20200101T000000Z-1/data").exists());
    assert!(std::fs::symlink_metadata(hist.join("20200101T000000Z-9")).is_ok());
    assert!(p.path("outside/20200101T000000Z-9/precious").exists());
    assert_eq!(
        std::fs::read_link(hist.join("latest")).unwrap(),
        PathBuf::from(prun_made[1])
    );
}

fn keep_days_removes_runs_older_than_that_and_keep_from_the_command_line_wins() {
    let p = Prun::new()
        .file(
            "jobs.yaml",
            "history: { dir: hist, keep_days: 30 }\njobs:\n  - echo hi\n",
        )
        .file("hist/20200101T000000Z-1/.prun-run", "20200101T000000Z-1\n")
        .file("hist/20200101T000000Z-1/report.json", "{}");
    p.run_with(&["jobs.yaml"]).code(0);
    let hist = p.path("hist");
    assert_eq!(
        runs(&hist).len(),
        1,
        "the 2020 run is gone: {:?}",
        runs(&hist)
    );
    p.next_second();
    p.run_with(&["jobs.yaml", "--keep", "1"]).code(0);
    assert_eq!(runs(&hist).len(), 1, "{:?}", runs(&hist));
    let r = p.run_with(&["jobs.yaml", "--keep", "0"]);
    r.code(2);
    assert!(r.stderr.contains("1 or more"), "{}", r.stderr);
}

fn a_bad_history_is_a_located_error_or_a_usage_error_and_nothing_runs() {
    let p = Prun::new().file(
        "jobs.yaml",
        "history: { dir: hist, keep: 0 }\njobs:\n  - touch ran\n",
    );
    let r = p.run_with(&["jobs.yaml"]);
    r.code(2);
    assert!(r.stderr.contains("jobs.yaml:1:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("`history.keep` must be 1 or more"),
        "{}",
        r.stderr
    );
    let p = Prun::new().file("jobs.yaml", "history: { keep: 3 }\njobs:\n  - touch ran\n");
    let r = p.run_with(&["jobs.yaml"]);
    r.code(2);
    assert!(r.stderr.contains("dir"), "{}", r.stderr);
    let p = Prun::new().file("jobs.yaml", "jobs:\n  - touch ran\n");
    let r = p.run_with(&["jobs.yaml", "--keep", "3"]);
    r.code(2);
    assert!(
        r.stderr.contains("--keep and --keep-days need a history"),
        "{}",
        r.stderr
    );
    assert!(!p.path("ran").exists());
    // A history that cannot be made: a file where its directory would be.
    let p = Prun::new().file("hist", "a file").file(
        "jobs.yaml",
        "history: { dir: hist }\njobs:\n  - touch ran\n",
    );
    let r = p.run_with(&["jobs.yaml"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("cannot keep the run in the history"),
        "{}",
        r.stderr
    );
    assert!(!p.path("ran").exists());
    // --check and --dry-run make no history.
    let p = Prun::new().file(
        "jobs.yaml",
        "history: { dir: hist }\njobs:\n  - touch ran\n",
    );
    p.run_with(&["jobs.yaml", "--check"]).code(0);
    p.run_with(&["jobs.yaml", "--dry-run"]).code(0);
    assert!(!p.path("hist").exists());
}

fn hooks_see_the_previous_result_and_on_recover_runs_only_after_a_failed_run() {
    let p = Prun::new().file(
        "jobs.yaml",
        "history: { dir: hist }\n\
         on_failure: echo \"failure after '$PRUN_PREVIOUS_RESULT'\" >> hooks.txt\n\
         on_success: echo \"success after '$PRUN_PREVIOUS_RESULT'\" >> hooks.txt\n\
         on_recover: echo recovered >> hooks.txt\n\
         jobs:\n  - name: check\n    run: test -f ok\n",
    );
    p.run_with(&["jobs.yaml"]).code(1);
    p.next_second();
    p.run_with(&["jobs.yaml"]).code(1);
    p.next_second();
    std::fs::write(p.path("ok"), "").unwrap();
    p.run_with(&["jobs.yaml"]).code(0);
    p.next_second();
    p.run_with(&["jobs.yaml"]).code(0);
    assert_eq!(
        p.read("hooks.txt"),
        "failure after ''\nfailure after 'failure'\nsuccess after 'failure'\nrecovered\nsuccess after 'success'\n"
    );
}

fn on_recover_without_a_history_is_a_warning() {
    let p = Prun::new().jobfile("on_recover: echo back\njobs:\n  - true\n");
    let r = p.run_with(&["--check"]);
    r.code(0);
    assert!(
        r.stderr
            .contains("`on_recover:` never runs without a history"),
        "{}",
        r.stderr
    );
}

fn a_killed_run_is_incomplete_and_counts_as_a_failure_for_the_next() {
    let p = Prun::new().file(
        "jobs.yaml",
        "history: { dir: hist }\non_success: echo \"after '$PRUN_PREVIOUS_RESULT'\" > hook.txt\n\
         on_recover: echo recovered >> hook.txt\n\
         jobs:\n  - name: slow\n    run: touch started; sleep 30\n",
    );
    let mut child = (p.command().arg("jobs.yaml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::util::wait_for_file(&p.path("started"), "the job never started");
    // While it runs, prun history says so.
    let r = p.run_with(&["history", "hist"]);
    r.code(0);
    assert!(r.stdout.contains("running"), "{}", r.stdout);
    child.kill().unwrap();
    child.wait().unwrap();
    // Its job goes with it (the keeper), and its lock on its directory with prun.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = p.run_with(&["history", "hist", "--json"]);
        if json(&r.stdout)[0]["result"] == "incomplete" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", r.stdout);
        std::thread::sleep(Duration::from_millis(100));
    }
    p.next_second();
    let p2 = p.file(
        "jobs.yaml",
        "history: { dir: hist }\non_success: echo \"after '$PRUN_PREVIOUS_RESULT'\" > hook.txt\n\
         on_recover: echo recovered >> hook.txt\n\
         jobs:\n  - true\n",
    );
    p2.run_with(&["jobs.yaml"]).code(0);
    assert_eq!(p2.read("hook.txt"), "after 'failure'\nrecovered\n");
}

fn prun_history_lists_runs_newest_first_and_one_job_across_runs() {
    let p = Prun::new().file(
        "jobs.yaml",
        "history: { dir: hist }\njobs:\n  - name: db\n    run: test -f ok\n  - name: files\n    matrix: { n: [1, 2] }\n    run: echo $n\n",
    );
    p.run_with(&["jobs.yaml"]).code(1);
    p.next_second();
    std::fs::write(p.path("ok"), "").unwrap();
    p.run_with(&["jobs.yaml"]).code(0);
    let kept = runs(&p.path("hist"));
    let r = p.run_with(&["history", "hist"]);
    r.code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    for col in ["RUN", "START", "DURATION", "RESULT", "FAILED"] {
        assert!(lines[0].contains(col), "{}", r.stdout);
    }
    assert!(lines[1].starts_with(&kept[1]), "newest first: {}", r.stdout);
    assert!(lines[1].contains("success"), "{}", r.stdout);
    assert!(
        lines[2].contains("failure (1)") && lines[2].ends_with("db"),
        "{}",
        r.stdout
    );
    let all = json(&p.run_with(&["history", "hist", "--json"]).stdout);
    assert_eq!(all[0]["run"], kept[1].as_str());
    assert_eq!(all[0]["result"], "success");
    assert_eq!(all[1]["result"], "failure");
    assert_eq!(all[1]["failed"], serde_json::json!(["db"]));
    assert_eq!(all[1]["jobs"], 3);
    let r = p.run_with(&["history", "hist", "--job", "db"]);
    r.code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(
        lines[1].contains("success") && lines[2].contains("failed"),
        "{}",
        r.stdout
    );
    let files = json(
        &p.run_with(&["history", "hist", "--job", "files", "--json"])
            .stdout,
    );
    assert_eq!(
        files.as_array().unwrap().len(),
        4,
        "two runs of two: {files}"
    );
    assert_eq!(files[0]["status"], "success");
    let r = p.run_with(&["history", "hist", "--job", "nope"]);
    r.code(1);
    assert!(
        r.stderr
            .contains("no ended run in hist has a job named 'nope'"),
        "{}",
        r.stderr
    );
    let r = p.run_with(&["history", "missing"]);
    r.code(2);
    assert!(
        r.stderr.contains("the history directory missing"),
        "{}",
        r.stderr
    );
    // An empty history is an empty list.
    std::fs::create_dir(p.path("empty")).unwrap();
    let r = p.run_with(&["history", "empty", "--json"]);
    r.code(0);
    assert_eq!(r.stdout.trim(), "[]");
}

fn two_runs_at_once_share_a_history_and_a_running_one_is_never_removed() {
    let p = Prun::new()
        .file(
            "slow.yaml",
            "history: { dir: hist, keep: 1 }\njobs:\n  - name: slow\n    run: touch started; sleep 2; echo slow done\n",
        )
        .file(
            "quick.yaml",
            "history: { dir: hist, keep: 1 }\njobs:\n  - name: quick\n    run: echo quick\n",
        );
    let slow = p
        .command()
        .arg("slow.yaml")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::util::wait_for_file(&p.path("started"), "the slow job never started");
    // Quick runs, at once and twice, each with keep: 1, while slow runs.
    let quick: Vec<_> = (0..2)
        .map(|_| {
            p.command()
                .arg("quick.yaml")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for q in quick {
        let out = q.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains("warning"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = slow.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hist = p.path("hist");
    let all = json(&p.run_with(&["history", "hist", "--json"]).stdout);
    let slow_run = all.as_array().unwrap().iter().find(|r| {
        let dir = hist.join(r["run"].as_str().unwrap());
        std::fs::read_to_string(dir.join("logs/slow.log")).is_ok_and(|l| l == "slow done\n")
    });
    assert!(
        slow_run.is_some(),
        "the slow run, running while the quick ones removed old runs, is whole: {all}"
    );
    for r in all.as_array().unwrap() {
        assert_eq!(r["result"], "success", "{all}");
    }
    let latest = std::fs::read_link(hist.join("latest")).unwrap();
    assert!(
        hist.join(&latest).join("report.json").exists(),
        "{latest:?}"
    );
}

fn logs_and_a_joblog_asked_for_elsewhere_are_also_kept() {
    let p = Prun::new().file(
        "jobs.yaml",
        "history: { dir: hist }\njobs:\n  - name: a\n    run: echo alpha\n",
    );
    p.run_with(&[
        "jobs.yaml",
        "--log-dir",
        "logs",
        "--joblog",
        "my.joblog",
        "--report",
        "r.json",
    ])
    .code(0);
    assert_eq!(p.read("logs/a.log"), "alpha\n");
    assert!(p.read("my.joblog").contains("\na\t1\t"));
    let run = p.path("hist").join(&runs(&p.path("hist"))[0]);
    assert_eq!(
        std::fs::read_to_string(run.join("logs/a.log")).unwrap(),
        "alpha\n"
    );
    assert!(
        std::fs::read_to_string(run.join("joblog"))
            .unwrap()
            .contains("\na\t1\t")
    );
    assert_eq!(
        json(&std::fs::read_to_string(run.join("report.json")).unwrap())["run_id"],
        json(&p.read("r.json"))["run_id"]
    );
}

/// A failed `on_recover` is in the report's `hook_failures` as such: the report's schema
/// listed only the three job hooks, so check-jsonschema refused the report.
fn a_failed_on_recover_hook_is_in_a_report_its_reader_accepts() {
    let p = Prun::new().file(
        "jobs.yaml",
        "history: { dir: hist }\non_recover: exit 4\njobs:\n  - name: a\n    run: test -f ok\n",
    );
    p.run_with(&["jobs.yaml"]).code(1);
    p.next_second();
    std::fs::write(p.path("ok"), "").unwrap();
    p.run_with(&["jobs.yaml", "--report", "r.json"]).code(1);
    let report = crate::util::check_report(&p.path("r.json"));
    assert_eq!(report["hook_failures"][0]["hook"], "on_recover", "{report}");
}

crate::tests!(
    a_failed_on_recover_hook_is_in_a_report_its_reader_accepts,
    each_run_is_kept_whole_and_latest_points_at_the_newest,
    retention_keeps_the_newest_n_and_never_touches_what_prun_did_not_make,
    keep_days_removes_runs_older_than_that_and_keep_from_the_command_line_wins,
    a_bad_history_is_a_located_error_or_a_usage_error_and_nothing_runs,
    hooks_see_the_previous_result_and_on_recover_runs_only_after_a_failed_run,
    on_recover_without_a_history_is_a_warning,
    a_killed_run_is_incomplete_and_counts_as_a_failure_for_the_next,
    prun_history_lists_runs_newest_first_and_one_job_across_runs,
    two_runs_at_once_share_a_history_and_a_running_one_is_never_removed,
    logs_and_a_joblog_asked_for_elsewhere_are_also_kept,
);
