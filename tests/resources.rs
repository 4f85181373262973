//! Resources (`Lock`) and conditions (`when:`): units are never held twice, capacity is
//! reached, waiting holds no slot, and cleanup jobs run exactly when their condition
//! says — after failures, `--fail-fast` and a first signal — through the real binary.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::util::{Prun, gone_within};

/// A job body that records, from inside the job, when it holds which units:
/// `S|E <resource>=<units> <job> <time>` lines in `held.log`.
fn holding(resource: &str, secs: f64) -> String {
    format!(
        "echo \"S {resource}=$PRUN_RESOURCE_{resource} $PRUN_JOB $(date +%s.%N)\" >> held.log; sleep {secs}; echo \"E {resource}=$PRUN_RESOURCE_{resource} $PRUN_JOB $(date +%s.%N)\" >> held.log"
    )
}

/// The intervals each unit was held, from `held.log`: unit -> [(start, end, job)].
fn intervals(log: &str) -> HashMap<String, Vec<(f64, f64, String)>> {
    let mut open: HashMap<(String, String), f64> = HashMap::new();
    let mut out: HashMap<String, Vec<(f64, f64, String)>> = HashMap::new();
    for line in log.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (what, units, job, t) = (f[0], f[1], f[2].to_owned(), f[3].parse::<f64>().unwrap());
        let (res, list) = units.split_once('=').unwrap();
        assert!(
            !list.is_empty(),
            "{job} ran without PRUN_RESOURCE_{res}: {line}"
        );
        for u in list.split(',') {
            let unit = format!("{res}:{u}");
            match what {
                "S" => {
                    open.insert((unit, job.clone()), t);
                }
                _ => {
                    let s = open.remove(&(unit.clone(), job.clone())).unwrap();
                    out.entry(unit).or_default().push((s, t, job.clone()));
                }
            }
        }
    }
    assert!(open.is_empty(), "a unit was never given back: {open:?}");
    out
}

/// The most holders of `res` at any one time.
fn peak(units: &HashMap<String, Vec<(f64, f64, String)>>, res: &str) -> usize {
    let mut edges: Vec<(f64, i32)> = units
        .iter()
        .filter(|(u, _)| u.starts_with(&format!("{res}:")))
        .flat_map(|(_, v)| v.iter().flat_map(|&(s, e, _)| [(s, 1), (e, -1)]))
        .collect();
    edges.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (mut now, mut most) = (0, 0);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}

fn no_unit_is_ever_held_twice_capacity_is_reached_and_waiting_blocks_nothing() {
    // One NAS: four backups take turns on it (a 2 s chain) while the other jobs use the
    // three other slots alongside. In a pool of 4 the run takes about the chain, not
    // the 4.4 s that all the jobs take one after another.
    let mut jobs = String::from("resources: {nas: 1, gpu: 2}\njobs:\n");
    for i in 0..4 {
        jobs += &format!(
            "  - name: backup{i}\n    uses: nas\n    run: {}\n",
            holding("nas", 0.5)
        );
    }
    for i in 0..4 {
        jobs += &format!(
            "  - name: train{i}\n    uses: {{gpu: 1}}\n    run: {}\n",
            holding("gpu", 0.4)
        );
    }
    for i in 0..4 {
        jobs += &format!("  - name: other{i}\n    run: sleep 0.2\n");
    }
    let p = Prun::new().jobfile(&jobs).args(&["-j", "4"]);
    let r = p.run();
    r.code(0);
    let units = intervals(&p.read("held.log"));
    for (unit, mut held) in units.clone() {
        held.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for w in held.windows(2) {
            assert!(
                w[1].0 >= w[0].1,
                "{unit} held by {} and {} at once: {held:?}",
                w[0].2,
                w[1].2
            );
        }
    }
    assert_eq!(units["nas:0"].len(), 4);
    assert!(!units.contains_key("nas:1"));
    assert_eq!(peak(&units, "nas"), 1);
    assert_eq!(peak(&units, "gpu"), 2, "the 2 GPUs were never both in use");
    // Jobs ran alongside the NAS chain: the run is far shorter than the sum of its jobs.
    assert!(
        r.elapsed < Duration::from_millis(3800),
        "took {:?}: jobs waited for the NAS in slots",
        r.elapsed
    );
    let first_nas_end = units["nas:0"].iter().map(|x| x.1).fold(f64::MAX, f64::min);
    let gpu_before = units
        .iter()
        .filter(|(u, _)| u.starts_with("gpu:"))
        .flat_map(|(_, v)| v)
        .filter(|x| x.0 < first_nas_end)
        .count();
    assert!(
        gpu_before >= 1,
        "no GPU job ran while the first backup held the NAS"
    );
    // The summary says who held what.
    assert!(r.stderr.contains("RESOURCES"), "{}", r.stderr);
    assert!(r.stderr.contains("nas:0"), "{}", r.stderr);
}

fn units_are_named_to_jobs_and_hooks_and_reported() {
    let p = Prun::new().jobfile(
        "resources: {gpu: 3}\njobs:\n  - name: t\n    uses: {gpu: 2}\n    run: echo \"$PRUN_RESOURCE_gpu\" > job.txt\n    on_complete: echo \"$PRUN_RESOURCE_gpu\" > hook.txt\n  - name: plain\n    run: echo \"${PRUN_RESOURCE_gpu-unset}\" > plain.txt\n",
    );
    p.run_with(&["--report", "r.json", "--timeline", "t.svg"])
        .code(0);
    assert_eq!(p.read("job.txt"), "0,1\n");
    assert_eq!(p.read("hook.txt"), "0,1\n");
    assert_eq!(p.read("plain.txt"), "unset\n");
    let r: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    assert_eq!(
        r["jobs"][0]["resources"],
        serde_json::json!({"gpu": [0, 1]})
    );
    assert!(r["jobs"][1].get("resources").is_none());
    assert!(p.read("t.svg").contains("holding gpu:0,1"));
}

fn a_condition_that_does_not_hold_skips_without_failing_the_run() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: backup\n    run: 'true'\n  - name: restore\n    needs: [backup]\n    when: failure\n    run: touch restored\n  - name: report-restore\n    needs: [restore]\n    run: touch reported\n  - name: unmount\n    needs: [backup]\n    when: always\n    run: touch unmounted\n",
    );
    let r = p.run_with(&["--report", "r.json"]);
    r.code(0);
    assert!(p.path("unmounted").exists());
    assert!(!p.path("restored").exists() && !p.path("reported").exists());
    assert!(
        r.stderr
            .contains("skipped: when: failure, and none of its needs failed"),
        "{}",
        r.stderr
    );
    let rep: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    assert_eq!(rep["exit_code"], 0);
    assert_eq!(rep["jobs"][1]["status"], "skipped");
}

fn after_a_failure_the_cleanup_runs_and_the_run_still_fails() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: backup\n    run: exit 4\n  - name: restore\n    needs: [backup]\n    when: failure\n    run: touch restored\n  - name: verify\n    needs: [backup]\n    run: touch verified\n  - name: unmount\n    needs: [backup, verify]\n    when: always\n    run: touch unmounted\n",
    );
    p.run().code(1);
    assert!(p.path("restored").exists() && p.path("unmounted").exists());
    assert!(!p.path("verified").exists());
}

fn cleanup_jobs_run_after_fail_fast_stopped_new_work() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: snapshot\n    run: touch snap\n  - name: a\n    needs: [snapshot]\n    run: exit 1\n  - name: b\n    needs: [a]\n    run: touch b.ran\n  - name: unmount\n    needs: [snapshot, a, b]\n    when: always\n    run: rm snap\n",
    );
    let r = p.run_with(&["--fail-fast", "-j", "1"]);
    r.code(1);
    assert!(
        !p.path("snap").exists(),
        "the cleanup did not run: {}",
        r.stderr
    );
    assert!(!p.path("b.ran").exists());
}

fn a_first_signal_lets_cleanup_run_and_a_second_kills_it() {
    let yaml = "grace: 20s\njobs:\n  - name: work\n    run: touch work.started; sleep 32.0401\n  - name: cleanup\n    needs: [work]\n    when: always\n    run: touch cleanup.started; sleep ${NAP}; touch cleanup.done\n";
    // One signal: work is interrupted, cleanup runs to its end (it gets no signal).
    let p = Prun::new().jobfile(yaml).env("NAP", "0.5");
    let child = p.start_until(&["work.started"], Duration::from_secs(10));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(p.path("cleanup.done").exists(), "{stderr}");
    assert!(
        stderr.contains("1 cleanup job (when: failure/always) may start within 20s"),
        "{stderr}"
    );

    // A second signal kills the cleanup job at once.
    let p = Prun::new().jobfile(yaml).env("NAP", "32.0402");
    let child = p.start_until(&["work.started"], Duration::from_secs(10));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let wait = Instant::now();
    while !p.path("cleanup.started").exists() && wait.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        gone_within("sleep 32.0402", Duration::from_secs(2)),
        "the cleanup job survived"
    );
    assert!(!p.path("cleanup.done").exists());
}

fn cleanup_started_after_a_signal_is_killed_at_the_deadline() {
    let p = Prun::new().jobfile(
        "grace: 1s\njobs:\n  - name: work\n    run: touch work.started; sleep 32.0501\n  - name: cleanup\n    needs: [work]\n    when: always\n    run: trap '' INT TERM; sleep 32.0502; touch cleanup.done\n",
    );
    let child = p.start_until(&["work.started"], Duration::from_secs(10));
    let t = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "took {:?}",
        t.elapsed()
    );
    assert!(gone_within("sleep 32.0502", Duration::from_secs(2)));
    assert!(
        stderr.contains("cleanup") && stderr.contains("interrupted"),
        "{stderr}"
    );
}

fn dry_run_shows_resources_uses_and_conditions() {
    let r = Prun::new()
        .jobfile("resources: {nas: 2}\ndefaults:\n  uses: nas\njobs:\n  - name: a\n    run: 'true'\n  - name: b\n    needs: [a]\n    when: always\n    uses: {nas: 2}\n    run: 'true'\n")
        .arg("--dry-run")
        .run();
    r.code(0);
    assert!(
        r.stdout.contains("resources: nas (2 units)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("uses: nas x1"), "{}", r.stdout);
    assert!(r.stdout.contains("uses: nas x2"), "{}", r.stdout);
    assert!(r.stdout.contains("when: always"), "{}", r.stdout);
}

/// A jobfile error: exit 2, nothing ran, the line named, and the message's words.
#[track_caller]
fn refused(yaml: &str, line: usize, words: &[&str]) {
    let p = Prun::new().jobfile(yaml);
    let r = p.run();
    r.code(2);
    assert!(!p.path("ran").exists());
    assert!(
        r.stderr.contains(&format!(":{line}:")),
        "no line {line}: {}",
        r.stderr
    );
    for w in words {
        assert!(r.stderr.contains(w), "no '{w}': {}", r.stderr);
    }
}

fn bad_resources_and_conditions_are_jobfile_errors() {
    refused(
        "resources: {nas: 1}\njobs:\n  - name: a\n    uses: db\n    run: touch ran\n",
        4,
        &[
            "uses 'db', which is not a resource",
            "the resources are: nas",
        ],
    );
    refused(
        "jobs:\n  - name: a\n    uses: db\n    run: touch ran\n",
        3,
        &["not a resource", "resources: {db: 1}"],
    );
    refused(
        "resources: {nas: 0}\njobs:\n  - touch ran\n",
        1,
        &["capacity 0", "at least 1 unit"],
    );
    refused(
        "resources: {gpu: 2}\njobs:\n  - name: a\n    uses: {gpu: 3}\n    run: touch ran\n",
        4,
        &["asks for 3 units of 'gpu', which has 2", "at most 2"],
    );
    refused(
        "resources: {gpu: 2}\njobs:\n  - name: a\n    uses: {gpu: 0}\n    run: touch ran\n",
        4,
        &["asks for 0 units"],
    );
    refused(
        "resources: {big: 10001}\njobs:\n  - touch ran\n",
        1,
        &["more than prun's limit of 10000"],
    );
    refused(
        "resources: {my-nas: 1}\njobs:\n  - touch ran\n",
        1,
        &["'my-nas' cannot be part of a variable name"],
    );
    refused(
        "jobs:\n  - name: a\n    when: failure\n    run: touch ran\n",
        3,
        &["`when: failure` but no needs", "when: always"],
    );
    refused(
        "jobs:\n  - name: a\n    when: sometimes\n    run: touch ran\n",
        3,
        &["sometimes"],
    );
    refused(
        "defaults:\n  when: always\njobs:\n  - touch ran\n",
        2,
        &["`when` cannot be a default"],
    );
}

fn uses_in_a_sync_jobfile_is_allowed_and_satisfied() {
    let p = Prun::new().jobfile(
        "mode: sync\nresources: {db: 1}\njobs:\n  - name: a\n    uses: db\n    run: echo $PRUN_RESOURCE_db >> got\n  - name: b\n    uses: db\n    run: echo $PRUN_RESOURCE_db >> got\n",
    );
    p.run().code(0);
    assert_eq!(p.read("got"), "0\n0\n");
}

fn a_job_skipped_by_its_condition_runs_no_failure_hook() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: 'true'\n  - name: restore\n    needs: [a]\n    when: failure\n    run: 'true'\n    on_failure: touch alarm\n    on_complete: echo \"$PRUN_JOB_STATUS\" > complete\n",
    );
    p.run().code(0);
    assert!(
        !p.path("alarm").exists(),
        "a failure hook ran for a condition skip"
    );
    assert_eq!(p.read("complete"), "skipped\n");
}

fn a_job_may_hold_every_unit_of_the_largest_resource() {
    // 10,000 units named in one variable stay under Linux's 128 KiB per variable.
    let p = Prun::new().jobfile(
        "resources: {big: 10000}\njobs:\n  - name: all\n    uses: {big: 10000}\n    run: printf '%s' \"$PRUN_RESOURCE_big\" > units\n",
    );
    p.run().code(0);
    let units = p.read("units");
    assert!(units.starts_with("0,1,2,") && units.ends_with(",9998,9999"));
    assert_eq!(units.split(',').count(), 10_000);
}

crate::tests!(
    no_unit_is_ever_held_twice_capacity_is_reached_and_waiting_blocks_nothing,
    units_are_named_to_jobs_and_hooks_and_reported,
    a_condition_that_does_not_hold_skips_without_failing_the_run,
    after_a_failure_the_cleanup_runs_and_the_run_still_fails,
    cleanup_jobs_run_after_fail_fast_stopped_new_work,
    a_first_signal_lets_cleanup_run_and_a_second_kills_it,
    cleanup_started_after_a_signal_is_killed_at_the_deadline,
    dry_run_shows_resources_uses_and_conditions,
    bad_resources_and_conditions_are_jobfile_errors,
    uses_in_a_sync_jobfile_is_allowed_and_satisfied,
    a_job_skipped_by_its_condition_runs_no_failure_hook,
    a_job_may_hold_every_unit_of_the_largest_resource,
);
