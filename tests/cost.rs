//! What each job cost (issue 28): CPU seconds and peak memory of real processes, in the
//! report, the hooks' environment and JSON, JUnit, `--summary wide`, the timeline and
//! the metrics; from the slot's cgroup where prun contains jobs in cgroups, else from
//! `wait4`.

use serde_json::Value;

use crate::util::Prun;
use crate::util::facility::{Facility, need};

/// A shell loop that burns about 0.3 s of CPU on this machine (at least 0.1 s anywhere).
const BURN: &str = "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done";

/// Python writing 100 MiB into memory it keeps until it exits (`mem.py`, see `with_mem`).
const HUNDRED_MIB: &str = "python3 mem.py";

/// A test dir with `mem.py`.
fn with_mem() -> Prun {
    Prun::new().file(
        "mem.py",
        "import time\nb = b'x' * (100 << 20)\ntime.sleep(0.1)\n",
    )
}

fn jobs(report: &Value) -> &Vec<Value> {
    report["jobs"].as_array().expect("jobs")
}

fn job<'a>(report: &'a Value, name: &str) -> &'a Value {
    jobs(report)
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name} in {report}"))
}

fn cgroups_here(p: &Prun) -> bool {
    let out = p.command().arg("--dry-run").output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains("containment: cgroup v2")
}

fn cpu_and_peak_memory_of_real_jobs_are_in_the_report_with_their_source() {
    let yaml = format!(
        "mode: async\njobs:\n  - name: burn\n    run: '{BURN}'\n  - name: big\n    run: \"{HUNDRED_MIB}\"\n  - name: small\n    run: 'true'\n"
    );
    for containment in ["process-group", "auto"] {
        let p = with_mem().jobfile(&yaml).args(&["-j", "3"]);
        let cgroup = containment == "auto" && cgroups_here(&p);
        p.run_with(&["--containment", containment, "--report", "r.json"])
            .code(0);
        let report: Value = serde_json::from_str(&p.read("r.json")).unwrap();
        let burn = job(&report, "burn");
        let cpu = burn["cpu_seconds"].as_f64().unwrap();
        let wall = burn["duration"].as_f64().unwrap();
        // A single-threaded loop: about as much CPU as wall time, never more.
        assert!(cpu >= 0.05 && cpu <= wall + 0.05, "{containment}: {burn}");
        let source = if cgroup { "cgroup" } else { "rusage" };
        assert_eq!(burn["cost_source"]["cpu_seconds"], source, "{burn}");
        let big = job(&report, "big");
        let rss = big["max_rss_bytes"].as_u64().unwrap();
        assert!(
            (100 << 20..400 << 20).contains(&rss),
            "{containment}: {big}"
        );
        assert_eq!(big["cost_source"]["max_rss_bytes"], "rusage", "{big}");
        // `true` is charged prun's own peak when it execs: only an upper bound.
        let small = job(&report, "small");
        assert_eq!(
            small["cost_source"]["max_rss_bytes"], "rusage-at-most",
            "{small}"
        );
        assert!(small["cpu_seconds"].as_f64().unwrap() < 0.05, "{small}");
        let attempt = &burn["attempt_details"][0];
        assert_eq!(attempt["cpu_seconds"], burn["cpu_seconds"], "{burn}");
    }
}

fn a_cgroup_counts_the_cpu_of_a_process_nobody_waited_for_and_wait4_does_not() {
    // The loop runs in the background of a shell that exits at once: it is orphaned,
    // prun (the subreaper) reaps it, so its CPU is in no rusage the job's shell gets.
    let yaml = "jobs:\n  - name: orphan\n    run: sh -c 'sh burn.sh &'; sleep 1.5\n";
    let p = Prun::new().file("burn.sh", BURN).jobfile(yaml);
    need(&[Facility::Cgroups]);
    assert!(
        cgroups_here(&p),
        "prun makes no cgroups where the tests can"
    );
    let cpu_of = |containment: &str| {
        p.run_with(&["--containment", containment, "--report", "r.json"])
            .code(0);
        let report: Value = serde_json::from_str(&p.read("r.json")).unwrap();
        let j = job(&report, "orphan").clone();
        (j["cpu_seconds"].as_f64().unwrap(), j)
    };
    let (by_cgroup, j) = cpu_of("auto");
    assert!(by_cgroup >= 0.05, "{j}");
    assert_eq!(j["cost_source"]["cpu_seconds"], "cgroup");
    let (by_rusage, j) = cpu_of("process-group");
    assert!(
        by_rusage < by_cgroup / 2.0,
        "{by_rusage} vs {by_cgroup}: {j}"
    );
    assert_eq!(j["cost_source"]["cpu_seconds"], "rusage");
}

fn hooks_see_the_cost_in_their_env_and_json_and_junit_has_it_as_properties() {
    let yaml = format!(
        "jobs:\n  - name: big\n    run: \"{HUNDRED_MIB}\"\n    on_complete: 'echo \"$PRUN_JOB_CPU_SECONDS $PRUN_JOB_MAX_RSS\" > env; cat > json'\n"
    );
    let p = with_mem().jobfile(&yaml);
    p.run_with(&["--junit", "j.xml"]).code(0);
    let env = p.read("env");
    let (cpu, rss) = env.trim().split_once(' ').expect("two values");
    let cpu: f64 = cpu.parse().unwrap();
    let rss: u64 = rss.parse().unwrap();
    assert!(cpu > 0.0 && rss >= 100 << 20, "{env}");
    let json: Value = serde_json::from_str(&p.read("json")).unwrap();
    assert_eq!(json["max_rss_bytes"], rss, "{json}");
    assert_eq!(
        format!("{:.3}", json["cpu_seconds"].as_f64().unwrap()),
        format!("{cpu:.3}")
    );
    let xml = p.read("j.xml");
    assert!(
        xml.contains(&format!(r#"/prun.max_rss_bytes" value="{rss}""#)),
        "{xml}"
    );
    assert!(xml.contains(r#"/prun.cpu_seconds""#), "{xml}");
}

fn a_retried_job_costs_all_its_attempts_together() {
    let yaml = format!(
        "jobs:\n  - name: flaky\n    retries: 1\n    run: '{BURN}; test $PRUN_ATTEMPT = 2'\n"
    );
    let p = Prun::new().jobfile(&yaml);
    p.run_with(&["--report", "r.json"]).code(0);
    let report: Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let j = job(&report, "flaky");
    let each: Vec<f64> = (j["attempt_details"].as_array().unwrap().iter())
        .map(|a| a["cpu_seconds"].as_f64().unwrap())
        .collect();
    assert_eq!(each.len(), 2, "{j}");
    assert!(each.iter().all(|&c| c >= 0.05), "{j}");
    let total = j["cpu_seconds"].as_f64().unwrap();
    assert!((total - each.iter().sum::<f64>()).abs() < 0.003, "{j}");
}

fn the_wide_summary_lists_every_job_with_its_cpu_and_memory() {
    let mut yaml = String::from("mode: async\njobs:\n");
    for i in 0..40 {
        yaml.push_str(&format!("  - name: j{i}\n    run: 'true'\n"));
    }
    let p = Prun::new().jobfile(&yaml);
    let plain = p.run();
    assert!(!plain.stderr.contains("j39"), "{}", plain.stderr);
    let wide = p.run_with(&[
        "--summary",
        "wide",
        "--timeline",
        "t.svg",
        "--metrics",
        "m.prom",
    ]);
    wide.code(0);
    let header = wide.stderr.lines().next().unwrap();
    assert!(
        header.contains("CPU") && header.contains("MAX RSS"),
        "{}",
        wide.stderr
    );
    let row = wide
        .stderr
        .lines()
        .find(|l| l.starts_with("j39 "))
        .expect("every job listed");
    assert!(row.contains('≤') && row.contains('M'), "{row}");
    assert!(wide.stderr.contains("s of CPU"), "{}", wide.stderr);
    let svg = p.read("t.svg");
    assert!(svg.contains("s of CPU, peak memory at most "), "{svg}");
    let prom = p.read("m.prom");
    assert!(
        prom.contains("prun_job_cpu_seconds{jobfile=\"")
            && prom.contains("/jobs.yaml\",prun_job=\"j0\"}"),
        "{prom}"
    );
    assert!(prom.contains("prun_job_max_rss_bytes{"), "{prom}");
    assert!(
        Prun::new()
            .jobfile(&yaml)
            .run_with(&["--summary", "tall"])
            .stderr
            .contains("wide"),
        "a bad style names the good ones"
    );
}

fn bytes_written_to_storage_are_counted() {
    // 4 MiB through the page cache to the disk (fsync), on a filesystem with a disk.
    let p = Prun::new().jobfile(
        "jobs:\n  - name: w\n    run: dd if=/dev/zero of=f bs=1M count=4 conv=fsync status=none\n",
    );
    need(&[Facility::BlockIo]);
    p.run_with(&["--report", "r.json"]).code(0);
    let report: Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let w = job(&report, "w");
    assert_eq!(w["cost_source"]["io_bytes"], "rusage", "{w}");
    let written = w["io_write_bytes"].as_u64().unwrap();
    assert!(written >= 4 << 20, "{w}");
    assert_eq!(w["attempt_details"][0]["io_write_bytes"], written, "{w}");
}

crate::tests!(
    cpu_and_peak_memory_of_real_jobs_are_in_the_report_with_their_source,
    a_cgroup_counts_the_cpu_of_a_process_nobody_waited_for_and_wait4_does_not,
    hooks_see_the_cost_in_their_env_and_json_and_junit_has_it_as_properties,
    a_retried_job_costs_all_its_attempts_together,
    the_wide_summary_lists_every_job_with_its_cpu_and_memory,
    bytes_written_to_storage_are_counted,
);
