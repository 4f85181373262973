//! The Slurm executor against a real Slurm cluster (`scripts/slurm-single-node.sh`
//! starts one on this machine; `.ci/run` does). Without a reachable cluster these tests
//! say they were skipped and return, unless `PRUN_REQUIRE=all` (as in CI): then they
//! fail (`util::facility`).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::facility::{Facility, need};
use crate::util::{Prun, max_concurrency, parse_log};

/// The Slurm jobs prun started that are still known to the controller.
fn prun_jobs_in_squeue(tag: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i %j %T"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("prun:{tag}")))
        .map(str::to_owned)
        .collect()
}

fn gone_from_squeue(tag: &str, limit: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if prun_jobs_in_squeue(tag).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn six_jobs_at_j3_run_as_steps_with_at_most_three_in_flight() {
    need(&[Facility::Slurm]);
    let mut y = String::from("executor: slurm\njobs:\n");
    for i in 1..=6 {
        y.push_str(&format!(
            "  - name: six{i}\n    run: echo \"S $PRUN_JOB $(date +%s.%N)\" >> log; echo \"$PRUN_JOB $SLURM_JOB_ID $PRUN_SLOT\" >> ids; sleep 1; echo \"E $PRUN_JOB $(date +%s.%N)\" >> log\n    on_complete: echo \"$PRUN_JOB [${{SLURM_JOB_ID:-}}] $PRUN_JOB_STATUS\" >> hooks\n"
        ));
    }
    let p = Prun::new().jobfile(&y).args(&["-j", "3"]);
    let r = p.run();
    r.code(0);
    let marks = parse_log(&p.read("log"));
    assert_eq!(marks.len(), 12);
    assert!(max_concurrency(&marks) <= 3, "{marks:?}");
    let ids = p.read("ids");
    assert_eq!(ids.lines().count(), 6);
    assert!(
        ids.lines()
            .all(|l| l.split(' ').nth(1).is_some_and(|id| !id.is_empty())),
        "not run by Slurm: {ids}"
    );
    // Hooks ran here, by prun, outside Slurm.
    let hooks = p.read("hooks");
    assert_eq!(hooks.lines().count(), 6);
    assert!(hooks.lines().all(|l| l.contains(" [] success")), "{hooks}");
}

fn a_timed_out_step_is_cancelled() {
    need(&[Facility::Slurm]);
    let p = Prun::new()
        .jobfile("jobs:\n  - name: slurm-timeout\n    timeout: 3s\n    run: sleep 120\n")
        .args(&["--executor", "slurm", "--grace", "2s"]);
    let r = p.run();
    r.code(1);
    assert!(r.stderr.contains("timed out after 3s"), "{}", r.stderr);
    assert!(
        gone_from_squeue("slurm-timeout", Duration::from_secs(20)),
        "{:?}",
        prun_jobs_in_squeue("slurm-timeout")
    );
}

fn ctrl_c_leaves_no_step_running() {
    need(&[Facility::Slurm]);
    let p = Prun::new()
        .jobfile("jobs:\n  - name: slurm-int-a\n    run: touch a; sleep 120\n  - name: slurm-int-b\n    run: touch b; sleep 120\n")
        .args(&["--executor", "slurm", "-j", "2"]);
    let child = p.start_until(&["a", "b"], Duration::from_secs(60));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        gone_from_squeue("slurm-int", Duration::from_secs(20)),
        "{:?}",
        prun_jobs_in_squeue("slurm-int")
    );
}

fn a_bad_partition_is_a_clear_per_job_error() {
    need(&[Facility::Slurm]);
    let p = Prun::new().jobfile(
        "executor: slurm\njobs:\n  - name: lost\n    slurm: {partition: no-such-partition}\n    run: touch ran\n  - name: fine\n    run: touch fine\n",
    );
    let r = p.run();
    r.code(1);
    assert!(p.path("fine").exists() && !p.path("ran").exists());
    assert!(r.stdout.contains("invalid partition"), "{}", r.stdout);
    assert!(
        r.stderr.contains("lost") && r.stderr.contains("failed"),
        "{}",
        r.stderr
    );
}

fn the_job_environment_reaches_the_step() {
    need(&[Facility::Slurm]);
    let p = Prun::new().jobfile(
        "executor: slurm\nenv: {GREETING: hello}\njobs:\n  - name: envcheck\n    run: echo \"$GREETING $PRUN_JOB $PRUN_SLOT $PRUN_ATTEMPT\" > env.out\n",
    );
    p.run().code(0);
    assert_eq!(p.read("env.out"), "hello envcheck 1 1\n");
}

fn outputs_of_a_step_reach_the_steps_that_need_it() {
    need(&[Facility::Slurm]);
    let p = Prun::new().jobfile(
        "executor: slurm\njobs:\n  - name: make\n    run: echo \"host=$(hostname)\" >> \"$PRUN_OUTPUT\"\n  - name: use\n    needs: [make]\n    env: {H: '${{ needs.make.outputs.host }}'}\n    matrix: {n: '${{ needs.make.outputs.host }}'}\n    run: echo \"$H $n\" > used\n",
    );
    p.run().code(0);
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    let host = host.trim();
    assert_eq!(p.read("used"), format!("{host} {host}\n"));
}

fn inside_an_allocation_jobs_are_steps_of_it() {
    need(&[Facility::Slurm]);
    let p = Prun::new().jobfile(
        "executor: slurm\njobs:\n  - name: step-a\n    run: echo \"$SLURM_JOB_ID $SLURM_STEP_ID\" > a\n  - name: step-b\n    run: echo \"$SLURM_JOB_ID $SLURM_STEP_ID\" > b\n",
    );
    let out = Command::new("timeout")
        .args([
            "120",
            "salloc",
            "--quiet",
            "--job-name=prun:alloc",
            "--ntasks=2",
        ])
        .arg(crate::util::bin())
        .args([p.path("jobs.yaml").to_str().unwrap(), "-j", "2"])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, b) = (p.read("a"), p.read("b"));
    let (ja, sa) = a.trim().split_once(' ').unwrap();
    let (jb, sb) = b.trim().split_once(' ').unwrap();
    assert_eq!(ja, jb, "both steps belong to the one allocation");
    assert_ne!(sa, sb, "two different steps");
}

fn resources_bound_slurm_steps_as_they_bound_local_jobs() {
    need(&[Facility::Slurm]);
    // Four steps on one "license": never two at once, though the pool has room for 3,
    // and each step is told its unit inside the allocation.
    let mut y = String::from("executor: slurm\nresources: {license: 1}\njobs:\n");
    for i in 1..=4 {
        y.push_str(&format!(
            "  - name: lic{i}\n    uses: license\n    run: echo \"S $PRUN_JOB $(date +%s.%N)\" >> log; echo \"$PRUN_RESOURCE_license $SLURM_JOB_ID\" >> units; sleep 0.5; echo \"E $PRUN_JOB $(date +%s.%N)\" >> log\n"
        ));
    }
    let p = Prun::new().jobfile(&y).args(&["-j", "3"]);
    p.run().code(0);
    let marks = parse_log(&p.read("log"));
    assert_eq!(marks.len(), 8);
    assert_eq!(max_concurrency(&marks), 1, "{marks:?}");
    let units = p.read("units");
    assert_eq!(units.lines().count(), 4);
    assert!(
        units.lines().all(|l| l.starts_with("0 ") && l.len() > 2),
        "{units}"
    );
}

fn each_job_of_a_matrix_is_a_slurm_job_of_its_own_name() {
    need(&[Facility::Slurm]);
    // A matrix written out, and one found at run time: squeue and sacct show each job by
    // its own name, as prun's report does, not by the matrix's.
    let p = Prun::new().jobfile(
        r#"executor: slurm
jobs:
  - name: list
    run: printf 'a\nb\n' > items
  - name: fixed
    matrix: { n: [1, 2] }
    run: echo "$SLURM_JOB_NAME" > "fixed-$n"
  - name: found
    needs: [list]
    matrix: { item: { lines: items } }
    run: echo "$SLURM_JOB_NAME" > "found-$item"
"#,
    );
    p.run_with(&["-j", "2"]).code(0);
    assert_eq!(p.read("fixed-1").trim(), "prun:fixed[n=1]");
    assert_eq!(p.read("fixed-2").trim(), "prun:fixed[n=2]");
    assert_eq!(p.read("found-a").trim(), "prun:found[item=a]");
    assert_eq!(p.read("found-b").trim(), "prun:found[item=b]");
}

fn after_ctrl_c_the_cleanup_job_runs_as_a_slurm_job_and_nothing_is_left() {
    need(&[Facility::Slurm]);
    // The nightly shape: work is interrupted (its step cancelled), the `when: always`
    // cleanup still runs - under Slurm, as every job of the run - and prun exits 130.
    let p = Prun::new()
        .jobfile(
            "grace: 20s\nexecutor: slurm\njobs:\n  - name: slurm-clean-work\n    run: touch work.started; sleep 120\n  - name: slurm-clean-up\n    needs: [slurm-clean-work]\n    when: always\n    run: echo \"$SLURM_JOB_NAME $SLURM_JOB_ID\" > cleaned\n",
        )
        .args(&["--report", "r.json"]);
    let child = p.start_until(&["work.started"], Duration::from_secs(60));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let cleaned = p.read("cleaned");
    let (name, id) = cleaned.trim().split_once(' ').unwrap_or_default();
    assert_eq!(name, "prun:slurm-clean-up", "{stderr}");
    assert!(!id.is_empty(), "not run by Slurm: {cleaned:?}");
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let status = |i: usize| report["jobs"][i]["status"].as_str().unwrap().to_owned();
    assert_eq!(
        (status(0), status(1)),
        ("interrupted".to_owned(), "success".to_owned()),
        "{report}"
    );
    assert!(
        gone_from_squeue("slurm-clean", Duration::from_secs(20)),
        "{:?}",
        prun_jobs_in_squeue("slurm-clean")
    );
}

fn limits_become_mem_and_cpus_per_task_and_no_cost_is_made_up() {
    need(&[Facility::Slurm]);
    // limits × Slurm: Slurm enforces memory and cpus; pids cannot be, and prun says so.
    // What srun cost here is not the job's: the report has no figures.
    let p = Prun::new().jobfile(
        "executor: slurm\njobs:\n  - name: slurm-limits\n    limits: {memory: 300M, cpus: 1, pids: 20}\n    run: echo \"$(scontrol show job $SLURM_JOB_ID | grep -o MinMemoryNode=[0-9]*M) $SLURM_CPUS_PER_TASK\" > seen\n",
    );
    let r = p.run_with(&["--report", "r.json"]);
    r.code(0);
    assert_eq!(p.read("seen").trim(), "MinMemoryNode=300M 1");
    assert!(
        r.stderr.contains("pids (not applied under Slurm)"),
        "{}",
        r.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let j = &report["jobs"][0];
    assert_eq!(j["limits_enforced"], false, "{j}");
    assert!(
        j["cpu_seconds"].is_null() && j["max_rss_bytes"].is_null(),
        "{j}"
    );
}

crate::tests!(
    six_jobs_at_j3_run_as_steps_with_at_most_three_in_flight,
    a_timed_out_step_is_cancelled,
    ctrl_c_leaves_no_step_running,
    a_bad_partition_is_a_clear_per_job_error,
    the_job_environment_reaches_the_step,
    outputs_of_a_step_reach_the_steps_that_need_it,
    inside_an_allocation_jobs_are_steps_of_it,
    resources_bound_slurm_steps_as_they_bound_local_jobs,
    each_job_of_a_matrix_is_a_slurm_job_of_its_own_name,
    after_ctrl_c_the_cleanup_job_runs_as_a_slurm_job_and_nothing_is_left,
    limits_become_mem_and_cpus_per_task_and_no_cost_is_made_up,
);
