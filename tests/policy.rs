//! The failure policy: `--max-fail N[:kill]` (and `--fail-fast`, its `1`), `allow_failure`,
//! `if:` preconditions, `--shard`.

use std::time::{Duration, Instant};

use crate::util::Prun;

#[test]
fn max_fail_starts_nothing_after_the_nth_failure_and_says_how_many_did_not_start() {
    let p = Prun::new()
        .jobfile("jobs:\n  - exit 1\n  - touch b\n  - exit 2\n  - touch d\n  - touch e\n")
        .args(&["-j", "1", "--max-fail", "2"]);
    let r = p.run();
    r.code(1);
    assert!(p.path("b").exists(), "the first failure stopped the run");
    assert!(!p.path("d").exists() && !p.path("e").exists());
    assert!(
        r.stderr
            .contains("--max-fail 2: 2 jobs failed: starting no new jobs"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("1 succeeded, 2 failed, 2 not run"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("--max-fail 2 stopped the run after 2 failures"),
        "{}",
        r.stderr
    );
}

#[test]
fn max_fail_lets_running_jobs_finish_and_cleanup_jobs_run() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: slow\n    run: sleep 0.5; touch slow\n  - name: boom\n    run: exit 1\n  - name: never\n    run: touch never\n  - name: tidy\n    when: always\n    needs: [slow, boom, never]\n    run: touch tidy\n",
        )
        .args(&["-j", "2", "--max-fail", "1"]);
    let r = p.run();
    r.code(1);
    assert!(
        p.path("slow").exists() && p.path("tidy").exists(),
        "{}",
        r.stderr
    );
    assert!(!p.path("never").exists());
    assert!(
        r.stderr.contains("the running job finishes"),
        "{}",
        r.stderr
    );
}

/// `N:kill`: the running job gets SIGTERM (its trap runs), the cleanup job still runs
/// after it, and prun does not wait for the running job's sleep.
#[test]
fn max_fail_kill_stops_running_jobs_and_still_runs_cleanup() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: slow\n    run: trap 'touch termed; exit 143' TERM; sleep 30 & wait\n  - name: boom\n    run: sleep 0.3; exit 1\n  - name: tidy\n    when: always\n    needs: [slow, boom]\n    run: touch tidy\n",
        )
        .args(&["-j", "2", "--max-fail", "1:kill", "--grace", "5s"]);
    let t = Instant::now();
    let r = p.run();
    r.code(1);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(p.path("termed").exists(), "{}", r.stderr);
    assert!(p.path("tidy").exists(), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--max-fail 1:kill: a job failed: starting no new jobs; sent SIGTERM to 1 running job, SIGKILL in 5s"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("interrupted"), "{}", r.stderr);
}

#[test]
fn max_fail_and_fail_fast_are_checked_on_the_command_line() {
    for (args, says) in [
        (&["--max-fail", "0"][..], "0 failures would stop the run"),
        (&["--max-fail", "two"][..], "'two' is not a whole number"),
        (&["--max-fail", "2:now"][..], "'now' is not a way to stop"),
        (
            &["--max-fail", "2", "--fail-fast"][..],
            "cannot be used with",
        ),
    ] {
        let p = Prun::new().jobfile("jobs:\n  - touch ran\n").args(args);
        let r = p.run();
        r.code(2);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(!p.path("ran").exists());
    }
}

/// Every job runs in exactly one of the shards (a needed one in each shard that needs
/// it), whichever way they are cut.
#[test]
fn the_shards_together_run_every_job_and_bring_what_they_need() {
    let y = "jobs:\n  - name: build\n    run: echo x >> build\n  - name: test\n    needs: [build]\n    matrix: { n: [1, 2, 3, 4, 5] }\n    run: echo x >> test-$n\n  - name: lint\n    run: echo x >> lint\n";
    for way in ["", "hash:"] {
        let p = Prun::new().jobfile(y);
        for m in 1..=3 {
            let shard = format!("{way}{m}/3");
            let r = p.run_with(&["--shard", &shard, "-j", "2"]);
            r.code(0);
        }
        for n in 1..=5 {
            assert_eq!(p.read(&format!("test-{n}")), "x\n", "{way} test {n}");
        }
        assert_eq!(p.read("lint"), "x\n", "{way}");
    }
}

#[test]
fn an_empty_shard_says_so_and_exits_0() {
    let p = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--shard", "2/2"]);
    let r = p.run();
    r.code(0);
    assert!(
        r.stderr
            .contains("shard 2/2 is empty (1 job in 2 shards): nothing to run"),
        "{}",
        r.stderr
    );
    assert!(!p.path("ran").exists());
}

#[test]
fn bad_shards_are_usage_errors() {
    for (shard, says) in [
        ("0/2", "shard 0/2 does not exist"),
        ("3/2", "shard 3/2 does not exist"),
        ("1/0", "shard 1/0 does not exist"),
        ("half", "'half' is not a shard"),
        ("hash:1", "'hash:1' is not a shard"),
    ] {
        let p = Prun::new()
            .jobfile("jobs:\n  - touch ran\n")
            .args(&["--shard", shard]);
        let r = p.run();
        r.code(2);
        assert!(r.stderr.contains(says), "{shard}: {}", r.stderr);
        assert!(!p.path("ran").exists());
    }
}

/// A shard's own joblog resumes that shard: what succeeded, needs included, is not run
/// again, what failed is.
#[test]
fn a_shard_resumes_from_its_own_joblog() {
    let y = "jobs:\n  - name: build\n    run: echo x >> build\n  - name: a\n    run: echo x >> a\n  - name: b\n    needs: [build]\n    run: echo x >> b; test -f fixed\n";
    let p = Prun::new().jobfile(y);
    let args = ["--shard", "2/2", "--joblog", "log"];
    p.run_with(&args).code(1);
    assert!(!p.path("a").exists(), "a is in shard 1/2");
    std::fs::write(p.path("fixed"), "").unwrap();
    let r = p.run_with(&[&args[..], &["--resume"]].concat());
    r.code(0);
    assert_eq!(p.read("build"), "x\n", "build ran again: {}", r.stderr);
    assert_eq!(p.read("b"), "x\nx\n");
}

#[test]
fn dry_run_shows_the_shard() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: build\n    run: x\n  - name: a\n    needs: [build]\n    run: x\n  - name: b\n    run: x\n")
        .args(&["--shard", "2/3", "--dry-run"]);
    let r = p.run();
    r.code(0);
    assert!(
        r.stdout.contains("shard 2/3: 1 of 3 jobs, and 1 they need"),
        "{}",
        r.stdout
    );
}
