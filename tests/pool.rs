//! The pool: exactly N at once, file order, sync mode, the job environment, fail-fast.

use crate::util::{Prun, parse_log, pool_counts, pool_dirs, pool_job, timed_job};

fn jobs(n: usize, cmd: &str) -> String {
    let mut y = String::from("jobs:\n");
    for i in 1..=n {
        y.push_str(&format!(
            "  - name: j{i}\n    run: '{}'\n",
            cmd.replace('\'', "''")
        ));
    }
    y
}

fn pool_never_exceeds_n_and_reaches_n() {
    // The first three wait for each other: only a pool that runs three at once ends.
    let p = Prun::new()
        .jobfile(&jobs(9, &pool_job(3)))
        .args(&["-j", "3"]);
    pool_dirs(&p);
    let r = p.run();
    r.code(0);
    let counts = pool_counts(&p);
    assert_eq!(counts.len(), 9, "{}", r.stderr);
    assert!(
        counts.iter().all(|&n| n <= 3),
        "more than 3 at once: {counts:?}"
    );
    assert!(counts.contains(&3), "{counts:?}");
    // Each job took its slot (1..=3) with `mkdir`: a slot shared by two jobs at once,
    // or one out of range, would have failed a job or left a directory.
    let left: Vec<_> = std::fs::read_dir(p.path("slots")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

fn jobfile_concurrency_is_the_default_and_dash_j_overrides_it() {
    let one = format!("concurrency: 1\n{}", jobs(6, &pool_job(1)));
    let p = Prun::new().jobfile(&one);
    pool_dirs(&p);
    p.run().code(0);
    assert!(
        pool_counts(&p).iter().all(|&n| n == 1),
        "{:?}",
        pool_counts(&p)
    );
    // With -j 6 all six must run at once: each waits for the other five.
    let six = format!("concurrency: 1\n{}", jobs(6, &pool_job(6)));
    let p = Prun::new().jobfile(&six).args(&["-j", "6"]);
    pool_dirs(&p);
    p.run().code(0);
    assert!(pool_counts(&p).contains(&6), "{:?}", pool_counts(&p));
}

fn jobs_start_in_file_order() {
    let p = Prun::new()
        .jobfile(&jobs(6, &timed_job(0.05)))
        .args(&["-j", "1"]);
    p.run().code(0);
    let starts: Vec<String> = parse_log(&p.read("log"))
        .into_iter()
        .filter(|m| m.start)
        .map(|m| m.name)
        .collect();
    assert_eq!(starts, ["j1", "j2", "j3", "j4", "j5", "j6"]);
}

fn sync_runs_job_then_its_hooks_then_the_next_job() {
    let p = Prun::new().jobfile(
        r#"
mode: sync
jobs:
  - name: a
    run: sleep 0.1; echo job a >> order
    on_success: sleep 0.3; echo success a >> order
    on_complete: echo complete a >> order
  - name: b
    run: echo job b >> order
    on_complete: echo complete b >> order
  - name: c
    run: echo job c >> order
"#,
    );
    p.run().code(0);
    assert_eq!(
        p.read("order"),
        "job a\nsuccess a\ncomplete a\njob b\ncomplete b\njob c\n"
    );
}

fn sync_mode_ignores_the_pool_size() {
    let y = format!("mode: sync\n{}", jobs(4, &pool_job(1)));
    let p = Prun::new().jobfile(&y).args(&["-j", "4"]);
    pool_dirs(&p);
    p.run().code(0);
    assert_eq!(pool_counts(&p), [1, 1, 1, 1]);
}

fn jobs_get_their_environment() {
    let p = Prun::new().jobfile(
        r#"
env: { A: top, B: top, PORT: 8080 }
defaults:
  env: { B: default, C: default }
jobs:
  - name: first
    run: echo "$PRUN_JOB $PRUN_JOB_INDEX $PRUN_SLOT $PRUN_ATTEMPT $A $B $C $PORT" > first.env
  - name: second
    env: { C: job }
    run: echo "$PRUN_JOB $PRUN_JOB_INDEX $A $B $C" > second.env; echo "$PRUN_RUN_ID" > id
"#,
    );
    p.run().code(0);
    assert_eq!(
        p.read("first.env"),
        "first 1 1 1 top default default 8080\n"
    );
    assert_eq!(p.read("second.env"), "second 2 top default job\n");
    let id = p.read("id");
    assert!(id.trim().len() > 10 && id.contains('-'), "run id {id:?}");
}

fn stdin_of_a_job_is_dev_null() {
    let p = Prun::new()
        .jobfile("jobs:\n  - cat > got; echo done\n")
        .stdin("this must not reach the job\n");
    p.run().code(0);
    assert_eq!(p.read("got"), "");
}

fn jobs_run_in_the_jobfile_directory_by_default() {
    let p = Prun::new().file("jobs.yaml", "jobs:\n  - pwd > where\n");
    let abs = p.path("jobs.yaml");
    let p = p.arg(abs.to_str().unwrap());
    let mut cmd = p.command();
    let out = cmd.current_dir("/").output().unwrap();
    assert!(out.status.success());
    let want = std::fs::canonicalize(p.dir.path()).unwrap();
    assert_eq!(p.read("where").trim(), want.to_str().unwrap());
}

fn workdir_is_relative_to_the_jobfile() {
    let p = Prun::new().jobfile("workdir: sub\njobs:\n  - name: a\n    run: pwd > ../where\n");
    std::fs::create_dir(p.path("sub")).unwrap();
    p.run().code(0);
    assert!(p.read("where").trim().ends_with("/sub"));
}

fn every_job_is_attempted_by_default() {
    let p = Prun::new()
        .jobfile("jobs:\n  - exit 1\n  - touch b\n  - touch c\n")
        .args(&["-j", "1"]);
    let r = p.run();
    r.code(1);
    assert!(p.path("b").exists() && p.path("c").exists());
    assert!(r.stderr.contains("2 succeeded, 1 failed"), "{}", r.stderr);
}

fn fail_fast_starts_nothing_after_a_failure() {
    let p = Prun::new()
        .jobfile("jobs:\n  - exit 1\n  - touch b\n  - touch c\n")
        .args(&["-j", "1", "--fail-fast"]);
    let r = p.run();
    r.code(1);
    assert!(!p.path("b").exists() && !p.path("c").exists());
    assert!(r.stderr.contains("not-run"), "{}", r.stderr);
    assert!(
        r.stderr.contains("0 succeeded, 1 failed, 2 not run"),
        "{}",
        r.stderr
    );
}

fn fail_fast_lets_running_jobs_finish() {
    let p = Prun::new()
        .jobfile("jobs:\n  - sleep 0.5; touch slow\n  - exit 1\n  - touch never\n")
        .args(&["-j", "2", "--fail-fast"]);
    p.run().code(1);
    assert!(p.path("slow").exists());
    assert!(!p.path("never").exists());
}

fn a_jobfile_can_come_from_stdin() {
    let p = Prun::new()
        .arg("-")
        .stdin("jobs:\n  - name: piped\n    run: echo from stdin > out\n");
    p.run().code(0);
    assert_eq!(p.read("out"), "from stdin\n");
}

fn exit_code_is_0_when_all_succeed_and_1_when_one_fails() {
    Prun::new()
        .jobfile("jobs:\n  - true\n  - true\n")
        .run()
        .code(0);
    Prun::new()
        .jobfile("jobs:\n  - true\n  - exit 7\n")
        .run()
        .code(1);
}

fn help_and_version() {
    let r = Prun::new().arg("--help").run();
    r.code(0);
    assert!(r.stdout.contains("--keep-order") && r.stdout.contains("JOBFILE"));
    let r = Prun::new().arg("--version").run();
    r.code(0);
    assert!(r.stdout.starts_with("prun "), "{}", r.stdout);
}

crate::tests!(
    pool_never_exceeds_n_and_reaches_n,
    jobfile_concurrency_is_the_default_and_dash_j_overrides_it,
    jobs_start_in_file_order,
    sync_runs_job_then_its_hooks_then_the_next_job,
    sync_mode_ignores_the_pool_size,
    jobs_get_their_environment,
    stdin_of_a_job_is_dev_null,
    jobs_run_in_the_jobfile_directory_by_default,
    workdir_is_relative_to_the_jobfile,
    every_job_is_attempted_by_default,
    fail_fast_starts_nothing_after_a_failure,
    fail_fast_lets_running_jobs_finish,
    a_jobfile_can_come_from_stdin,
    exit_code_is_0_when_all_succeed_and_1_when_one_fails,
    help_and_version,
);
