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

#[test]
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

#[test]
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
