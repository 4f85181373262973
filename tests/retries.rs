//! Retries: attempts are counted, visible, delayed, and filtered by exit code.

use std::time::Duration;

use crate::util::Prun;

/// A job that fails until its `n`th attempt.
fn flaky(n: u32) -> String {
    format!(
        "c=$(cat count 2>/dev/null || echo 0); c=$((c+1)); echo $c > count; echo \"attempt $PRUN_ATTEMPT\" >> attempts; [ $c -ge {n} ]"
    )
}

fn a_flaky_job_succeeds_on_its_third_attempt() {
    let p = Prun::new().jobfile(&format!(
        "jobs:\n  - name: flaky\n    retries: 3\n    run: '{}'\n    on_success: echo $PRUN_JOB_ATTEMPTS > hook.attempts\n",
        flaky(3)
    ));
    let r = p.run();
    r.code(0);
    assert_eq!(p.read("attempts"), "attempt 1\nattempt 2\nattempt 3\n");
    assert_eq!(p.read("hook.attempts"), "3\n");
    assert!(
        r.stderr.contains("attempt 1/4 failed, exit 1; retrying"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("attempt 2/4 failed, exit 1; retrying"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("flaky  success"), "{}", r.stderr);
}

fn when_retries_run_out_the_job_fails_with_every_attempt_counted() {
    let p = Prun::new().jobfile(&format!(
        "jobs:\n  - name: broken\n    retries: 2\n    run: '{}'\n    on_failure: echo $PRUN_JOB_ATTEMPTS > hook.attempts\n",
        flaky(99)
    ));
    let r = p.run();
    r.code(1);
    assert_eq!(p.read("attempts").lines().count(), 3);
    assert_eq!(p.read("hook.attempts"), "3\n");
}

fn exponential_backoff_waits_longer_each_time() {
    let p = Prun::new().jobfile(&format!(
        "jobs:\n  - name: f\n    retries: 2\n    retry_delay: 300ms\n    backoff: exponential\n    run: '{}'\n",
        flaky(3)
    ));
    let r = p.run();
    r.code(0);
    // 300 ms then 600 ms.
    assert!(
        r.elapsed >= Duration::from_millis(900),
        "took {:?}",
        r.elapsed
    );
    assert!(
        r.stderr.contains("retrying in 300ms") && r.stderr.contains("retrying in 600ms"),
        "{}",
        r.stderr
    );
}

fn retry_on_exit_retries_only_the_listed_codes() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    retries: 3\n    retry_on_exit: [75]\n    run: echo x >> tries; exit 3\n",
    );
    p.run().code(1);
    assert_eq!(p.read("tries"), "x\n");
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    retries: 2\n    retry_on_exit: [75]\n    run: echo x >> tries; exit 75\n",
    );
    p.run().code(1);
    assert_eq!(p.read("tries"), "x\nx\nx\n");
}

fn a_timed_out_attempt_is_retried() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: slow-first\n    retries: 1\n    timeout: 500ms\n    run: echo x >> tries; [ $PRUN_ATTEMPT = 2 ] || sleep 30.9911\n",
    );
    p.run().code(0);
    assert_eq!(p.read("tries"), "x\nx\n");
}

fn defaults_give_every_job_retries() {
    let p = Prun::new().jobfile(&format!(
        "defaults:\n  retries: 1\njobs:\n  - name: f\n    run: '{}'\n",
        flaky(2)
    ));
    p.run().code(0);
}

fn a_due_retry_waiting_for_a_slot_does_not_spin() {
    // flaky's retry is due after 0.1 s, while `long` holds the only slot for 2 s: prun
    // must sleep until the slot frees, not wake over and over (it used to burn a core).
    let p = Prun::new().jobfile(
        "jobs:\n  - {name: flaky, run: exit 1, retries: 1, retry_delay: 0.1s}\n  - {name: long, run: touch long.started; sleep 2}\n",
    );
    let child = p
        .command()
        .args(["-j", "1", "--output", "none"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // From when `long` holds the slot (flaky's retry is then due, or soon is), for a
    // second: prun's CPU time over that second.
    let t = std::time::Instant::now();
    while !p.path("long.started").exists() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "long never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let cpu = |pid: u32| -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // utime and stime, in clock ticks (fields 14 and 15; the name may hold spaces).
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let ticks: u64 = after_name
            .split(' ')
            .skip(11)
            .take(2)
            .map(|x| x.parse::<u64>().unwrap())
            .sum();
        // SAFETY: sysconf has no preconditions.
        ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
    };
    let before = cpu(child.id());
    std::thread::sleep(std::time::Duration::from_secs(1));
    let used = cpu(child.id()) - before;
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // A spinning prun uses most of a core in that second.
    assert!(used < 0.3, "prun used {used:.2} s of CPU in 1 s of waiting");
}

crate::tests!(
    a_flaky_job_succeeds_on_its_third_attempt,
    when_retries_run_out_the_job_fails_with_every_attempt_counted,
    exponential_backoff_waits_longer_each_time,
    retry_on_exit_retries_only_the_listed_codes,
    a_timed_out_attempt_is_retried,
    defaults_give_every_job_retries,
    a_due_retry_waiting_for_a_slot_does_not_spin,
);
