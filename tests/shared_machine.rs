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

/// A joblog whose last line was cut (no newline) got the next run's record glued onto
/// it, and every later `--resume` exited 2 "not a prun joblog line".
#[test]
fn a_joblog_cut_mid_line_is_repaired_onto_a_new_line_and_resume_still_reads_it() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: echo a >> ran\n  - name: b\n    run: echo b >> ran\n",
    );
    p.run_with(&["--joblog", "log", "--job", "a"]).code(0);
    // prun killed while writing b's record: half a line, no newline.
    let mut text = p.read("log");
    text.push_str("b\t1\t2026-12-07T00:00:00.000Z\t0.0");
    std::fs::write(p.path("log"), &text).unwrap();
    p.run_with(&["--joblog", "log", "--resume"]).code(0);
    assert_eq!(p.read("ran"), "a\nb\n", "a resumed, b run");
    let log = p.read("log");
    assert!(
        log.contains("0.0\n# prun: the line above was cut short"),
        "{log}"
    );
    // Every later --resume reads it: nothing runs again.
    p.run_with(&["--joblog", "log", "--resume"]).code(0);
    assert_eq!(p.read("ran"), "a\nb\n");
}

/// Two secrets, one a prefix of the other (`abcd`, `abcdefgh`): a read that ended after
/// the shorter printed the rest of the longer in clear, `x ***efgh y`.
#[test]
fn a_secret_that_starts_with_another_is_masked_whole_across_two_reads() {
    let p = Prun::new().jobfile(
        "secrets: [SHORT, LONG]\nenv: { SHORT: abcd, LONG: abcdefgh }\njobs:\n  - name: leak\n    run: printf 'x abcd'; sleep 0.3; printf 'efgh y\\n'; printf 'and abcd alone\\n'\n",
    );
    let r = p.args(&["--output", "line"]).run();
    r.code(0);
    assert!(r.stdout.contains("x *** y"), "{}", r.stdout);
    assert!(r.stdout.contains("and *** alone"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("efgh") && !r.stdout.contains("abcd"),
        "{}",
        r.stdout
    );
}
