//! The overlap lock: a second run exits 75 at once, or waits with --lock-wait; the lock
//! never outlives the run that holds it, even one killed with SIGKILL.

use std::process::Child;
use std::time::Duration;

use crate::util::Prun;

const SLOW: &str = "jobs:\n  - name: hold\n    run: touch started; sleep 1.5\n";

fn start_holder(p: &Prun) -> Child {
    p.start_until(&["started"], Duration::from_secs(10))
}

fn a_second_run_on_the_same_lock_exits_75_at_once() {
    let p = Prun::new().jobfile(SLOW).args(&["--lock", "run.lock"]);
    let mut holder = start_holder(&p);
    let second = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--lock", p.path("run.lock").to_str().unwrap()]);
    let r = second.run();
    r.code(75);
    assert!(r.elapsed < Duration::from_secs(1), "took {:?}", r.elapsed);
    assert!(
        r.stderr.contains("run.lock") && r.stderr.contains("held by pid"),
        "{}",
        r.stderr
    );
    assert!(!second.path("ran").exists());
    assert!(holder.wait().unwrap().success());
}

fn lock_wait_waits_for_the_holder() {
    let p = Prun::new().jobfile(SLOW).arg("--lock=run.lock");
    let mut holder = start_holder(&p);
    let lock = p.path("run.lock");
    let r = Prun::new()
        .jobfile("jobs:\n  - 'true'\n")
        .args(&["--lock", lock.to_str().unwrap(), "--lock-wait", "20s"])
        .run();
    r.code(0);
    assert!(holder.wait().unwrap().success());
    let r = Prun::new()
        .jobfile("jobs:\n  - 'true'\n")
        .args(&["--lock", lock.to_str().unwrap(), "--lock-wait", "10ms"])
        .run();
    r.code(0);
}

fn a_lock_wait_that_runs_out_exits_75() {
    let p = Prun::new().jobfile(SLOW).arg("--lock=run.lock");
    let mut holder = start_holder(&p);
    let r = Prun::new()
        .jobfile("jobs:\n  - 'true'\n")
        .args(&[
            "--lock",
            p.path("run.lock").to_str().unwrap(),
            "--lock-wait",
            "300ms",
        ])
        .run();
    r.code(75);
    assert!(r.elapsed >= Duration::from_millis(300));
    assert!(r.stderr.contains("after waiting 300ms"), "{}", r.stderr);
    holder.wait().unwrap();
}

fn the_lock_is_free_at_once_after_its_holder_is_killed() {
    let p = Prun::new().jobfile(SLOW).arg("--lock=run.lock");
    let mut holder = start_holder(&p);
    holder.kill().unwrap();
    holder.wait().unwrap();
    let r = Prun::new()
        .jobfile("jobs:\n  - 'true'\n")
        .args(&["--lock", p.path("run.lock").to_str().unwrap()])
        .run();
    r.code(0);
}

fn the_jobfile_can_name_the_lock_relative_to_itself() {
    let p = Prun::new().file(
        "jobs.yaml",
        "lock: jobs.lock\njobs:\n  - name: hold\n    run: test -e jobs.lock\n",
    );
    let abs = p.path("jobs.yaml");
    let p = p.arg(abs.to_str().unwrap());
    let mut cmd = p.command();
    let out = cmd.current_dir("/").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn lock_wait_without_a_lock_is_a_usage_error() {
    let r = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--lock-wait", "1s"])
        .run();
    r.code(2);
    assert!(
        r.stderr.contains("--lock-wait needs a lock"),
        "{}",
        r.stderr
    );
}

fn a_lock_in_a_missing_directory_is_a_usage_error() {
    let r = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--lock", "/no/such/dir/x.lock"])
        .run();
    r.code(2);
    assert!(
        r.stderr
            .contains("cannot open the lock file /no/such/dir/x.lock"),
        "{}",
        r.stderr
    );
}

crate::tests!(
    a_second_run_on_the_same_lock_exits_75_at_once,
    lock_wait_waits_for_the_holder,
    a_lock_wait_that_runs_out_exits_75,
    the_lock_is_free_at_once_after_its_holder_is_killed,
    the_jobfile_can_name_the_lock_relative_to_itself,
    lock_wait_without_a_lock_is_a_usage_error,
    a_lock_in_a_missing_directory_is_a_usage_error,
);
