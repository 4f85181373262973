//! Throttles for a busy machine (`--delay`, `delay:`): real jobs, real clocks, bounds
//! that only a wrong scheduler can break (a start is never earlier than the delay).

use crate::util::Prun;

/// The jobs' start times, as each wrote it, in order.
fn starts(p: &Prun) -> Vec<f64> {
    let mut t: Vec<f64> = p
        .read("starts")
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    t.sort_by(f64::total_cmp);
    t
}

const JOBS: &str =
    "jobs:\n  - date +%s.%N >> starts\n  - date +%s.%N >> starts\n  - date +%s.%N >> starts\n";

fn delay_spaces_job_starts_even_with_free_slots() {
    let p = Prun::new().jobfile(JOBS);
    p.run_with(&["-j", "3", "--delay", "400ms"]).code(0);
    let t = starts(&p);
    assert_eq!(t.len(), 3);
    for w in t.windows(2) {
        // The job's own `date` runs a little after prun starts it, so allow the
        // spawn's jitter, never a start as early as half the delay.
        assert!(w[1] - w[0] >= 0.3, "starts {t:?}");
    }
    // The jobfile's `delay:`, and --delay 0 over it.
    let p = Prun::new().jobfile(&format!("delay: 400ms\n{JOBS}"));
    p.run_with(&["-j", "3"]).code(0);
    let t = starts(&p);
    assert!(t[2] - t[0] >= 0.7, "starts {t:?}");
    let p = Prun::new().jobfile(&format!("delay: 5s\n{JOBS}"));
    let r = p.run_with(&["-j", "3", "--delay", "0s"]);
    r.code(0);
    assert!(
        r.elapsed < std::time::Duration::from_secs(4),
        "{:?}",
        r.elapsed
    );
}

fn a_delay_that_is_not_a_duration_is_a_located_error() {
    let p = Prun::new().jobfile("delay: soon\njobs:\n  - touch ran\n");
    let r = p.run();
    r.code(2);
    assert!(r.stderr.contains("jobs.yaml:1:"), "{}", r.stderr);
    assert!(!p.path("ran").exists());
    let r = Prun::new().jobfile(JOBS).run_with(&["--delay", "soon"]);
    r.code(2);
    assert!(r.stderr.contains("not a duration"), "{}", r.stderr);
}

/// MemAvailable of this machine now, bytes.
fn mem_available() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib = text
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .unwrap();
    kib.trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .unwrap()
        * 1024
}

fn memfree_holds_jobs_back_says_why_every_minute_after_the_warning_time_and_in_the_report() {
    // More memory than any machine has: the jobs never start. SIGTERM ends the run.
    let p = Prun::new()
        .jobfile("memfree: 100T\nthrottle_warn: 1s\njobs:\n  - touch ran\n")
        .args(&["--report", "r.json"]);
    let mut child = p
        .command()
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    // SAFETY: kill with a pid we own and a valid signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(!p.path("ran").exists(), "a held job ran");
    // The note came once (after 1 s; the next is a minute later), with the reason.
    let notes: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("still waiting"))
        .collect();
    assert_eq!(notes.len(), 1, "{err}");
    assert!(notes[0].contains("free < 100T"), "{err}");
    assert!(err.contains("throttled: jobs waited"), "{err}");
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let t = &report["throttled"];
    assert!(t["seconds"].as_f64().unwrap() >= 2.0, "{t}");
    assert!(t["why"].as_str().unwrap().contains("< 100T"), "{t}");
}

fn throttles_the_machine_meets_hold_nothing_back() {
    // Half of what is available now, and a load no machine reaches: all run at once.
    let half = format!("{}", mem_available() / 2);
    let p = Prun::new()
        .jobfile(JOBS)
        .args(&["-j", "3", "--report", "r.json"]);
    let r = p.run_with(&["--memfree", &half, "--load", "1000"]);
    r.code(0);
    assert_eq!(starts(&p).len(), 3);
    assert!(!r.stderr.contains("throttled"), "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    assert!(report.get("throttled").is_none(), "{report}");
}

fn throttles_with_resources_and_a_service_still_run_everything() {
    // throttles × uses × services: the service and the jobs that share a unit all run
    // under throttles the machine meets.
    let yaml = "memfree: 1M\nmax_load: 1000\nresources: {db: 1}\njobs:\n  - name: svc\n    service: true\n    run: sleep 30\n    ready: {exec: 'true', interval: 100ms}\n  - name: a\n    needs: [svc]\n    uses: db\n    run: date +%s.%N >> starts\n  - name: b\n    needs: [svc]\n    uses: db\n    run: date +%s.%N >> starts\n";
    let p = Prun::new().jobfile(yaml);
    p.run_with(&["-j", "3"]).code(0);
    assert_eq!(starts(&p).len(), 2);
}

fn bad_throttles_are_clear_errors() {
    let r = Prun::new()
        .jobfile("memfree: lots\njobs:\n  - 'true'\n")
        .run();
    r.code(2);
    assert!(
        r.stderr.contains("jobs.yaml:1:") && r.stderr.contains("invalid size 'lots'"),
        "{}",
        r.stderr
    );
    let r = Prun::new()
        .jobfile("max_load: -1\njobs:\n  - 'true'\n")
        .run();
    r.code(2);
    assert!(r.stderr.contains("invalid max_load"), "{}", r.stderr);
    for (flag, value) in [("--load", "0"), ("--memfree", "2X")] {
        let r = Prun::new()
            .jobfile("jobs:\n  - 'true'\n")
            .run_with(&[flag, value]);
        r.code(2);
        assert!(r.stderr.contains(value), "{}", r.stderr);
    }
}

crate::tests!(
    delay_spaces_job_starts_even_with_free_slots,
    a_delay_that_is_not_a_duration_is_a_located_error,
    memfree_holds_jobs_back_says_why_every_minute_after_the_warning_time_and_in_the_report,
    throttles_the_machine_meets_hold_nothing_back,
    throttles_with_resources_and_a_service_still_run_everything,
    bad_throttles_are_clear_errors,
);
