//! A shared machine (issue "no other user, file, name or signal can hang, crash, forge or
//! read prun's run"): each test is named after what it found, and drives the real binary.

use crate::util::Prun;

/// `monitor: {timeout: '500000000000y'}` passed `--check`, then panicked on an Instant
/// overflow; a huge `ready.interval` panicked too. Durations are bounded when read.
#[test]
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
