//! Limits that hold, or are said not to (issue 28): `limits: {memory, cpus, pids}`,
//! `nice`, `io`, `hook_nice`, on real processes. On a machine whose cgroup v2 offers
//! the memory, cpu and pids controllers they are the slot cgroup's; where it does not
//! (this one: the controllers are bound to cgroup v1), memory is RLIMIT_AS and cpus and
//! pids are reported as not enforced — both cases are asserted, whichever holds here.

use serde_json::Value;

use crate::util::facility::{Facility, need};
use crate::util::{Prun, bin};

/// Python writing `mib` MiB into memory.
fn alloc(mib: u32) -> String {
    format!("python3 -c \"b = b'x' * ({mib} << 20)\"")
}

fn report(p: &Prun) -> Value {
    serde_json::from_str(&p.read("r.json")).expect("report")
}

fn job<'a>(report: &'a Value, name: &str) -> &'a Value {
    (report["jobs"].as_array().unwrap().iter())
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name}"))
}

fn a_memory_limit_fails_the_job_that_goes_over_it_with_a_reason_that_names_it() {
    let yaml = format!(
        "defaults:\n  limits: {{memory: 200M}}\njobs:\n  - name: hog\n    retries: 1\n    run: {}\n  - name: modest\n    run: {}\n",
        alloc(400),
        alloc(20)
    );
    let p = Prun::new().jobfile(&yaml);
    let r = p.run_with(&["--report", "r.json"]);
    r.code(1);
    let rep = report(&p);
    let hog = job(&rep, "hog");
    assert_eq!(hog["status"], "failed", "{hog}");
    // limits × retries: every attempt ran under the limit.
    assert_eq!(hog["attempts"], 2, "{hog}");
    let reason = hog["reason"].as_str().unwrap();
    assert!(
        reason.contains("memory") && reason.contains("200M"),
        "{reason}"
    );
    assert_eq!(job(&rep, "modest")["status"], "success");
    assert_eq!(hog["limits"]["memory_bytes"], 200 << 20);
    if hog["limits_enforced"] == true {
        // A cgroup memory controller: the OOM killer.
        assert!(reason.contains("OOM killer"), "{reason}");
    } else {
        // No controller: RLIMIT_AS, said at the start (once) and in the report.
        assert!(reason.contains("RLIMIT_AS"), "{reason}");
        let why = hog["limits_not_enforced"].as_str().unwrap();
        assert!(
            why.contains("RLIMIT_AS") && why.contains("address space"),
            "{why}"
        );
        let warnings: Vec<&str> = (r.stderr.lines())
            .filter(|l| l.contains("limits not enforced here"))
            .collect();
        assert_eq!(warnings.len(), 1, "{}", r.stderr);
        assert!(warnings[0].contains("'hog', 'modest'"), "{}", r.stderr);
    }
}

fn cpus_and_pids_are_enforced_by_a_cgroup_or_reported_as_not() {
    let yaml = "jobs:\n  - name: capped\n    limits: {cpus: 0.5, pids: 64}\n    run: 'true'\n";
    let p = Prun::new().jobfile(yaml);
    let r = p.run_with(&["--report", "r.json"]);
    r.code(0);
    let rep = report(&p);
    let j = job(&rep, "capped");
    assert_eq!(j["limits"]["cpus"], 0.5);
    assert_eq!(j["limits"]["pids"], 64);
    match j["limits_enforced"].as_bool().unwrap() {
        true => assert!(!r.stderr.contains("not enforced"), "{}", r.stderr),
        false => {
            let why = j["limits_not_enforced"].as_str().unwrap();
            assert!(why.contains("cpus") && why.contains("pids"), "{why}");
            assert!(
                r.stderr
                    .contains("limits not enforced here for job 'capped'"),
                "{}",
                r.stderr
            );
        }
    }
}

fn a_pids_limit_in_a_cgroup_stops_a_fork_bomb_where_the_controller_is_there() {
    // Only where cgroup v2 offers the pids controller to prun (not on this machine,
    // where it is bound to cgroup v1): there 40 sleeps cannot start under `pids: 10`.
    need(&[Facility::Cgroups, Facility::PidsController]);
    let yaml = "jobs:\n  - name: many\n    limits: {pids: 10}\n    run: 'for i in $(seq 40); do sleep 2 & done; wait'\n";
    let p = Prun::new().jobfile(yaml);
    let r = p.run_with(&["--report", "r.json"]);
    let rep = report(&p);
    assert_eq!(job(&rep, "many")["limits_enforced"], true, "{rep}");
    assert!(
        r.stdout.contains("fork") || r.stdout.contains("resource"),
        "{}",
        r.stdout
    );
}

fn nice_and_io_are_set_on_the_job_and_hooks_keep_prun_s_priority_unless_asked() {
    let stat = r#"cut -d" " -f19 /proc/self/stat"#;
    let yaml = format!(
        "jobs:\n  - name: low\n    nice: 7\n    io: idle\n    run: 'echo \"$({stat}) $(ionice -p $$)\" > job'\n    on_success: 'echo $({stat}) > hook'\n  - name: low-hook\n    nice: 5\n    hook_nice: 3\n    run: 'true'\n    on_success: 'echo $({stat}) > hook2'\n  - name: plain\n    run: 'echo $({stat}) > plain'\n"
    );
    let p = Prun::new().jobfile(&yaml);
    p.run_with(&["--report", "r.json"]).code(0);
    let own = std::fs::read_to_string("/proc/self/stat").unwrap();
    let own_nice = own
        .rsplit(')')
        .next()
        .unwrap()
        .split(' ')
        .nth(17)
        .unwrap()
        .to_owned();
    let job_line = p.read("job");
    assert!(job_line.starts_with("7 "), "{job_line}");
    assert!(job_line.contains("idle"), "{job_line}");
    assert_eq!(
        p.read("hook").trim(),
        own_nice,
        "a job's nice reached its hook"
    );
    assert_eq!(p.read("hook2").trim(), "3");
    assert_eq!(p.read("plain").trim(), own_nice);
    let rep = report(&p);
    assert_eq!(job(&rep, "low")["limits"]["io"], "idle");
    assert_eq!(job(&rep, "low")["limits_enforced"], true);
}

fn a_nice_below_prun_s_own_without_privilege_fails_the_job_saying_why() {
    need(&[Facility::Root]);
    let p = Prun::new().jobfile("jobs:\n  - name: eager\n    nice: -5\n    run: 'true'\n");
    p.open_to_all();
    let out = crate::util::as_user(65_534)
        .arg(bin())
        .arg("jobs.yaml")
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot set nice -5") && err.contains("CAP_SYS_NICE"),
        "{err}"
    );
}

fn bad_limits_are_located_errors_that_say_what_is_accepted() {
    for (yaml, words) in [
        (
            "jobs:\n  - name: a\n    limits: { memory: lots }\n    run: x\n",
            &["jobs.yaml:3:", "invalid size 'lots'", "512M"][..],
        ),
        (
            "jobs:\n  - name: a\n    limits: { cpus: many }\n    run: x\n",
            &["jobs.yaml:3:", "invalid cpus 'many'", "1.5"],
        ),
        (
            "jobs:\n  - name: a\n    limits: { pids: 0 }\n    run: x\n",
            &["jobs.yaml:3:", "pids must be 1 or more"],
        ),
        (
            "defaults:\n  nice: 30\njobs:\n  - x\n",
            &["jobs.yaml:2:", "between -20 and 19"],
        ),
        (
            "jobs:\n  - name: a\n    io: fast\n    run: x\n",
            &["jobs.yaml:3:", "unknown io 'fast'", "best-effort:N"],
        ),
        (
            "jobs:\n  - name: a\n    limits: { mem: 1G }\n    run: x\n",
            &["jobs.yaml:3:", "mem"],
        ),
    ] {
        let r = Prun::new().jobfile(yaml).run();
        r.code(2);
        for w in words {
            assert!(r.stderr.contains(w), "{w} not in: {}", r.stderr);
        }
    }
}

fn quiet_runs_that_succeed_print_nothing_even_with_limits_not_enforced() {
    // Cron mails any output: the warning is in the report, not in a green night's mail.
    let p =
        Prun::new().jobfile("jobs:\n  - name: capped\n    limits: {cpus: 0.5}\n    run: 'true'\n");
    let r = p.run_with(&["--quiet", "--report", "r.json"]);
    r.code(0);
    assert_eq!(r.stderr, "", "quiet");
    let rep = report(&p);
    let j = job(&rep, "capped");
    if j["limits_enforced"] == false {
        assert!(
            j["limits_not_enforced"].as_str().unwrap().contains("cpus"),
            "{j}"
        );
    }
}

crate::tests!(
    a_memory_limit_fails_the_job_that_goes_over_it_with_a_reason_that_names_it,
    cpus_and_pids_are_enforced_by_a_cgroup_or_reported_as_not,
    a_pids_limit_in_a_cgroup_stops_a_fork_bomb_where_the_controller_is_there,
    nice_and_io_are_set_on_the_job_and_hooks_keep_prun_s_priority_unless_asked,
    a_nice_below_prun_s_own_without_privilege_fails_the_job_saying_why,
    bad_limits_are_located_errors_that_say_what_is_accepted,
    quiet_runs_that_succeed_print_nothing_even_with_limits_not_enforced,
);
