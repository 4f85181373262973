//! Hooks: run by prun after the job, one at a time, in completion order, never blocking
//! the pool, with the result in variables and as JSON on stdin.

use std::time::Duration;

use serde_json::Value;

use crate::util::{Prun, gone_within, max_concurrency, parse_log};

fn a_hook_sees_status_exit_code_and_the_json_result() {
    let p = Prun::new().jobfile(
        r#"
jobs:
  - name: broken
    run: echo oops; exit 3
    on_failure: |
      echo "$PRUN_JOB $PRUN_JOB_STATUS $PRUN_JOB_EXIT_CODE [$PRUN_JOB_SIGNAL] $PRUN_JOB_ATTEMPTS $PRUN_SLOT" > hook.env
      echo "$PRUN_JOB_DURATION" > hook.duration
      cat > hook.json
    on_success: touch wrong-hook
"#,
    );
    p.run().code(1);
    assert_eq!(p.read("hook.env"), "broken failed 3 [] 1 1\n");
    let d: f64 = p.read("hook.duration").trim().parse().unwrap();
    assert!((0.0..5.0).contains(&d));
    let v: Value = serde_json::from_str(&p.read("hook.json")).unwrap();
    assert_eq!(v["name"], "broken");
    assert_eq!(v["status"], "failed");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["attempts"], 1);
    assert_eq!(v["index"], 1);
    assert_eq!(v["command"], "echo oops; exit 3");
    assert!(v["signal"].is_null());
    assert!(!p.path("wrong-hook").exists());
}

fn a_job_killed_by_a_signal_is_failed_and_hooks_see_the_signal() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: k\n    run: kill -KILL $$\n    on_complete: echo \"$PRUN_JOB_STATUS [$PRUN_JOB_EXIT_CODE] $PRUN_JOB_SIGNAL\" > hook.env\n",
    );
    let r = p.run();
    r.code(1);
    assert_eq!(p.read("hook.env"), "failed [] SIGKILL\n");
    assert!(r.stderr.contains("SIGKILL"), "{}", r.stderr);
}

fn hooks_never_overlap_and_run_in_completion_order() {
    let hook = r#"echo "S $PRUN_JOB $(date +%s.%N)" >> hooks; sleep 0.2; echo "E $PRUN_JOB $(date +%s.%N)" >> hooks"#;
    let mut y = format!("defaults:\n  on_complete: '{hook}'\njobs:\n");
    // All four start at once and end in the order a, b, c, d, each waiting until the
    // one before it has ended (its last act is to touch a file): an order kept under
    // any load, unlike one made of sleeps of different lengths.
    for (name, after) in [("d", "c"), ("c", "b"), ("b", "a"), ("a", "")] {
        let wait = if after.is_empty() {
            String::new()
        } else {
            format!("until [ -e {after}.done ]; do sleep 0.01; done; sleep 0.1; ")
        };
        y.push_str(&format!(
            "  - name: {name}\n    run: {wait}touch {name}.done\n"
        ));
    }
    let p = Prun::new().jobfile(&y).args(&["-j", "4"]);
    p.run().code(0);
    let marks = parse_log(&p.read("hooks"));
    assert_eq!(marks.len(), 8);
    assert_eq!(max_concurrency(&marks), 1, "{marks:#?}");
    let order: Vec<&str> = marks
        .iter()
        .filter(|m| m.start)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(order, ["a", "b", "c", "d"]);
}

fn a_slow_hook_does_not_hold_up_the_pool() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: first
    run: "true"
    on_success: sleep 1.5; echo "E hook $(date +%s.%N)" >> log
  - name: second
    run: echo "S second $(date +%s.%N)" >> log
"#,
        )
        .args(&["-j", "1"]);
    p.run().code(0);
    let marks = parse_log(&p.read("log"));
    let names: Vec<&str> = marks.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["second", "hook"],
        "second must start while the hook still runs"
    );
}

fn a_failed_hook_keeps_the_job_status_and_makes_the_exit_code_1() {
    let p = Prun::new().jobfile("jobs:\n  - name: a\n    run: 'true'\n    on_success: exit 4\n");
    let r = p.run();
    r.code(1);
    assert!(
        r.stderr.contains("hook on_success of 'a' failed: exit 4"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("1 succeeded, 0 failed; 1 hook failed"),
        "{}",
        r.stderr
    );
}

fn a_hook_that_runs_too_long_is_killed_and_reported() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: 'true'\n    hook_timeout: 1s\n    on_success: sleep 30.0417\n",
    );
    let r = p.run();
    r.code(1);
    assert!(r.elapsed < Duration::from_secs(10), "took {:?}", r.elapsed);
    assert!(r.stderr.contains("timed out after 1s"), "{}", r.stderr);
    assert!(gone_within("sleep 30.0417", Duration::from_secs(2)));
}

fn run_level_hooks_see_the_counters_and_the_report() {
    let p = Prun::new().jobfile(
        r#"
env: { WHO: ops }
jobs:
  - name: ok
    run: "true"
    on_complete: echo job-hook >> order
  - name: bad
    run: exit 2
on_success: touch wrong-hook
on_failure: |
  echo "$WHO $PRUN_TOTAL $PRUN_SUCCEEDED $PRUN_FAILED $PRUN_SKIPPED" > counters
  cp "$PRUN_REPORT" report.json
  echo "$PRUN_REPORT" > report.path
  cat > stdin.json
  echo run-hook >> order
on_complete: echo complete >> order
"#,
    );
    p.run().code(1);
    assert_eq!(p.read("counters"), "ops 2 1 1 0\n");
    assert_eq!(p.read("order"), "job-hook\nrun-hook\ncomplete\n");
    assert!(!p.path("wrong-hook").exists());
    let report: Value = serde_json::from_str(&p.read("report.json")).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["totals"]["total"], 2);
    assert_eq!(report["totals"]["failed"], 1);
    assert_eq!(report["jobs"][1]["name"], "bad");
    assert_eq!(report["jobs"][1]["exit_code"], 2);
    assert_eq!(
        report,
        serde_json::from_str::<Value>(&p.read("stdin.json")).unwrap()
    );
    let path = p.read("report.path");
    assert!(
        !std::path::Path::new(path.trim()).exists(),
        "report file left behind"
    );
}

fn a_failed_job_hook_sends_the_run_to_on_failure() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: 'true'\n    on_success: exit 1\non_success: touch ok\non_failure: touch failed\n",
    );
    p.run().code(1);
    assert!(p.path("failed").exists() && !p.path("ok").exists());
}

crate::tests!(
    a_hook_sees_status_exit_code_and_the_json_result,
    a_job_killed_by_a_signal_is_failed_and_hooks_see_the_signal,
    hooks_never_overlap_and_run_in_completion_order,
    a_slow_hook_does_not_hold_up_the_pool,
    a_failed_hook_keeps_the_job_status_and_makes_the_exit_code_1,
    a_hook_that_runs_too_long_is_killed_and_reported,
    run_level_hooks_see_the_counters_and_the_report,
    a_failed_job_hook_sends_the_run_to_on_failure,
);
