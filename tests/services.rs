//! Services (`service: true`, `ready:`): real servers on loopback (python3's
//! http.server, a TCP listener that picks its own port), real probes, and what must hold
//! around them: no -j slot taken, dependents started once ready and seeing the service's
//! outputs, failures with their reasons, stopped as soon as no job needs them (in reverse
//! order of needs), and no service process left behind whatever ends the run.

use std::time::Duration;

use serde_json::Value;

use crate::util::facility::{Facility, need};
use crate::util::{Prun, alive, gone_within};

/// A loopback port nothing listens on right now (bound, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A TCP listener on a port the kernel picks: writes `port=N` to `$PRUN_OUTPUT`, then
/// prints `listening on N` and accepts connections until stopped (marker `MARK`).
const LISTENER: &str = r#"python3 -u -c '
import os, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
port = s.getsockname()[1]
open(os.environ["PRUN_OUTPUT"], "a").write("port=%d\n" % port)
print("listening on %d" % port)
while True:
    c, _ = s.accept(); c.sendall(b"hello\n"); c.close()
' MARK"#;

/// A job that connects to the port in `$PORT` and writes what it read to `got`.
const CLIENT: &str = r#"python3 -c '
import os, socket
c = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=5)
open("got", "a").write(c.recv(100).decode())
'"#;

fn report(p: &Prun) -> Value {
    serde_json::from_str(&p.read("report.json")).expect("report.json")
}

fn job<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name} in {report}"))
}

/// A duration for `sleep` that no other process on the machine uses, so `pgrep -f` finds
/// this test's sleepers (and the shells that run them) and nothing else.
fn marker(_: &Prun) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "3000.{}{:03}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn http_service_serves_its_dependent_with_one_slot_and_is_stopped_after() {
    let port = free_port();
    let p = Prun::new();
    std::fs::write(p.path("index.html"), "served by prun\n").unwrap();
    let p = p
        .jobfile(&format!(
            r#"
jobs:
  - name: web
    service: true
    run: exec python3 -m http.server {port} --bind 127.0.0.1
    ready: {{ http: "http://127.0.0.1:{port}/", interval: 50ms, timeout: 20s }}
  - name: fetch
    needs: [web]
    run: python3 -c 'import urllib.request; open("got", "w").write(urllib.request.urlopen("http://127.0.0.1:{port}/index.html").read().decode())'
"#
        ))
        .args(&["-j", "1", "--report", "report.json"]);
    let run = p.run();
    run.code(0);
    assert_eq!(p.read("got"), "served by prun\n");
    let r = report(&p);
    let web = job(&r, "web");
    assert_eq!(web["status"], "success", "{web}");
    let after = web["ready_after"].as_f64().expect("ready_after");
    assert!(after > 0.0 && after < 20.0, "{after}");
    assert_eq!(job(&r, "fetch")["status"], "success");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the web server still answers after prun ended"
    );
}

fn log_probe_and_outputs_a_listener_picked_its_own_port() {
    let p = Prun::new();
    let m = marker(&p);
    let p = p
        .jobfile(&format!(
            r#"
jobs:
  - name: svc
    service: true
    run: |
      {listener}
    ready: {{ log: "^listening on \\d+$" }}
  - name: client
    needs: [svc]
    env: {{ PORT: "${{{{ needs.svc.outputs.port }}}}" }}
    run: |
      {client}
      cat "$PRUN_NEEDS" > needs.json
"#,
            listener = LISTENER.replace("MARK", &m).replace('\n', "\n      "),
            client = CLIENT.replace('\n', "\n      "),
        ))
        .args(&["--report", "report.json", "--output", "line"]);
    let run = p.run();
    run.code(0);
    assert_eq!(p.read("got"), "hello\n");
    let needs: Value = serde_json::from_str(&p.read("needs.json")).unwrap();
    let port = needs["svc"]["outputs"]["port"].as_str().unwrap();
    assert!(port.parse::<u16>().is_ok(), "{needs}");
    // The service's own lines are shown like a job's in line mode.
    assert!(
        run.stdout.contains(&format!("[svc] listening on {port}")),
        "{}",
        run.stdout
    );
    assert!(gone_within(&m, Duration::from_secs(5)), "listener left");
}

fn not_ready_in_time_fails_with_the_probe_reason_and_skips_what_needs_it() {
    let port = free_port();
    let p = Prun::new();
    let m = marker(&p);
    let p = p
        .jobfile(&format!(
            r#"
jobs:
  - name: db
    service: true
    run: exec sleep {m}
    ready: {{ tcp: "127.0.0.1:{port}", interval: 100ms, timeout: 1s }}
  - name: tests
    needs: [db]
    run: touch ran
  - name: other
    run: touch other
"#
        ))
        .args(&["--report", "report.json"]);
    let run = p.run();
    run.code(1);
    let r = report(&p);
    let db = job(&r, "db");
    assert_eq!(db["status"], "failed");
    assert_eq!(
        db["reason"],
        format!("not ready after 1s: tcp 127.0.0.1:{port} refused"),
        "{db}"
    );
    assert_eq!(job(&r, "tests")["status"], "skipped");
    assert!(!p.path("ran").exists());
    assert!(p.path("other").exists(), "an unrelated job must still run");
    assert!(
        run.stdout.contains("refused") || run.stderr.contains("refused"),
        "the probe's last failure is shown\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(gone_within(&m, Duration::from_secs(5)), "service left");
}

fn a_hanging_exec_probe_is_cut_by_its_own_timeout_and_leaves_nothing() {
    let p = Prun::new();
    let m = marker(&p);
    let p = p
        .jobfile(&format!(
            r#"
jobs:
  - name: svc
    service: true
    run: exec sleep {m}1
    ready: {{ exec: "sleep {m}2", interval: 100ms, timeout: 1s }}
  - name: user
    needs: [svc]
    run: touch ran
"#
        ))
        .args(&["--report", "report.json"]);
    let run = p.run();
    run.code(1);
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
    let r = report(&p);
    let svc = job(&r, "svc");
    assert_eq!(svc["status"], "failed");
    let reason = svc["reason"].as_str().unwrap();
    assert!(reason.starts_with("not ready after 1s"), "{reason}");
    assert!(!p.path("ran").exists());
    assert!(
        gone_within(&m, Duration::from_secs(5)),
        "probe or service left"
    );
}

fn exited_before_ready_and_exited_while_needed_say_so() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: early
    service: true
    run: exit 3
    ready: { log: "never printed", timeout: 20s }
  - name: a
    needs: [early]
    run: touch a
  - name: flaky
    service: true
    run: sleep 0.5; exit 1
  - name: first
    needs: [flaky]
    run: sleep 3
  - name: second
    needs: [first, flaky]
    run: touch second
"#,
        )
        .args(&["--report", "report.json"]);
    let run = p.run();
    run.code(1);
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
    let r = report(&p);
    assert_eq!(job(&r, "early")["status"], "failed");
    assert_eq!(job(&r, "early")["reason"], "exited before ready: exit 3");
    assert_eq!(job(&r, "a")["status"], "skipped");
    assert_eq!(job(&r, "flaky")["status"], "failed");
    assert_eq!(job(&r, "flaky")["reason"], "exited while needed: exit 1");
    // `first` was already running; `second` had not started and is skipped.
    assert_eq!(job(&r, "second")["status"], "skipped");
    assert!(!p.path("a").exists() && !p.path("second").exists());
}

fn sigint_while_the_probe_polls_stops_everything() {
    let p = Prun::new();
    let m = marker(&p);
    let p = p.jobfile(&format!(
        r#"
jobs:
  - name: svc
    service: true
    run: touch started; exec sleep {m}
    ready: {{ exec: "false", interval: 50ms, timeout: 60s }}
  - name: user
    needs: [svc]
    run: touch ran
"#
    ));
    let child = p.start_until(&["started"], Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!p.path("ran").exists());
    assert!(gone_within(&m, Duration::from_secs(5)), "service left");
}

fn a_matrix_needs_one_service_which_stops_after_the_last_expansion() {
    let p = Prun::new();
    let m = marker(&p);
    let p = p
        .jobfile(&format!(
            r#"
jobs:
  - name: svc
    service: true
    run: |
      trap 'echo stopped >> events; exit 0' TERM
      echo up > up
      sleep {m} &
      wait
    ready: {{ exec: "test -e up", interval: 20ms }}
  - name: test
    needs: [svc]
    matrix: {{ n: [1, 2, 3] }}
    run: test -e up && echo "test $PRUN_MATRIX_N" >> events
"#
        ))
        .args(&["-j", "2"]);
    p.run().code(0);
    let events = p.read("events");
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 4, "{events}");
    assert_eq!(
        lines[3], "stopped",
        "the service stops after every test\n{events}"
    );
    assert!(
        gone_within(&m, Duration::from_secs(5)),
        "service child left"
    );
}

fn chained_services_stop_in_reverse_order_as_soon_as_no_job_needs_them() {
    let p = Prun::new().jobfile(
        r#"
jobs:
  - name: db
    service: true
    run: |
      trap 'echo db-stop >> order; exit 0' TERM
      touch db-up
      while :; do sleep 0.05; done
    ready: { exec: "test -e db-up", interval: 20ms }
  - name: api
    service: true
    needs: [db]
    run: |
      trap 'echo api-stop >> order; exit 0' TERM
      touch api-up
      while :; do sleep 0.05; done
    ready: { exec: "test -e api-up", interval: 20ms }
  - name: test
    needs: [api]
    run: echo test >> order
  - name: later
    run: |
      # Not at the end of the run: both services are stopped while this job runs.
      i=0; while ! grep -q db-stop order 2>/dev/null; do
        i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.05; done
      echo later >> order
"#,
    );
    p.run().code(0);
    assert_eq!(p.read("order"), "test\napi-stop\ndb-stop\nlater\n");
}

fn a_dependent_that_times_out_is_killed_and_the_service_stopped() {
    let p = Prun::new();
    let m = marker(&p);
    let p = p
        .jobfile(&format!(
            r#"
jobs:
  - name: svc
    service: true
    run: exec sleep {m}1
  - name: slow
    needs: [svc]
    timeout: 1s
    run: exec sleep {m}2
"#
        ))
        .args(&["--report", "report.json"]);
    let run = p.run();
    run.code(1);
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
    let r = report(&p);
    assert_eq!(job(&r, "slow")["status"], "timed-out");
    assert_eq!(job(&r, "svc")["status"], "success", "prun stopped it");
    assert!(gone_within(&m, Duration::from_secs(5)), "something left");
}

fn keep_order_with_a_service_prints_blocks_in_jobfile_order() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: first
    run: sleep 0.5; echo one
  - name: svc
    service: true
    run: echo service-up; exec sleep 300
    ready: { log: service-up }
  - name: uses
    needs: [svc]
    run: echo three
  - name: last
    run: echo four
"#,
        )
        .args(&["--keep-order", "--output", "group", "-j", "3"]);
    let run = p.run();
    run.code(0);
    let at = |s: &str| {
        run.stdout
            .find(s)
            .unwrap_or_else(|| panic!("no {s} in\n{}", run.stdout))
    };
    assert!(at("one") < at("service-up"), "{}", run.stdout);
    assert!(at("service-up") < at("three"), "{}", run.stdout);
    assert!(at("three") < at("four"), "{}", run.stdout);
}

fn an_always_cleanup_that_needs_the_service_finds_it_still_running() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: svc
    service: true
    run: echo $$ > svc.pid; exec sleep 300
    ready: { exec: "test -s svc.pid", interval: 20ms }
  - name: test
    needs: [svc]
    run: exit 1
  - name: cleanup
    needs: [test, svc]
    when: always
    run: kill -0 "$(cat svc.pid)" && touch cleaned
"#,
        )
        .args(&["--report", "report.json"]);
    p.run().code(1);
    assert!(
        p.path("cleaned").exists(),
        "cleanup ran without its service"
    );
    let r = report(&p);
    assert_eq!(job(&r, "cleanup")["status"], "success");
    assert_eq!(job(&r, "svc")["status"], "success");
}

fn resume_starts_a_service_again_only_when_a_job_that_needs_it_runs() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: svc
    service: true
    run: echo start >> starts; echo up; exec sleep 300
    ready: { log: "^up$" }
  - name: a
    needs: [svc]
    run: touch a
  - name: b
    needs: [svc]
    run: test -e fixed
"#,
        )
        .args(&["--joblog", "joblog", "--resume"]);
    p.run().code(1);
    assert_eq!(p.read("starts").lines().count(), 1);
    std::fs::write(p.path("fixed"), "").unwrap();
    std::fs::remove_file(p.path("a")).unwrap();
    p.run().code(0);
    assert_eq!(p.read("starts").lines().count(), 2, "b runs: svc again");
    assert!(!p.path("a").exists(), "a succeeded before: not run again");
    p.run().code(0);
    assert_eq!(
        p.read("starts").lines().count(),
        2,
        "nothing left to run: the service is not started"
    );
}

fn a_daemonizing_service_leaves_nothing_behind() {
    // A daemon leaves its process group: only the slot's cgroup still holds it.
    need(&[Facility::Cgroups]);
    let p = Prun::new();
    let m = marker(&p);
    let p = p.jobfile(&format!(
        r#"
jobs:
  - name: daemon
    service: true
    run: |
      (setsid sleep {m} &) ; touch up; exec sleep {m}
    ready: {{ exec: "test -e up", interval: 20ms }}
  - name: user
    needs: [daemon]
    run: "true"
"#
    ));
    p.run().code(0);
    assert!(gone_within(&m, Duration::from_secs(5)), "daemon left");
}

fn group_mode_shows_the_service_output_when_it_ends() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: svc
    service: true
    run: echo from-the-service; exec sleep 300
    ready: { log: from-the-service }
  - name: user
    needs: [svc]
    run: echo from-the-user
"#,
        )
        .args(&["--output", "group"]);
    let run = p.run();
    run.code(0);
    let svc = run.stdout.find("from-the-service").expect(&run.stdout);
    let user = run.stdout.find("from-the-user").expect(&run.stdout);
    assert!(
        user < svc,
        "the service's block comes when it ends\n{}",
        run.stdout
    );
}

fn check_refuses_bad_services_with_located_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "jobs:\n  - name: s\n    service: true\n    run: sleep 9\n  - name: a\n    run: 'true'\n",
            "is needed by no job",
        ),
        (
            "jobs:\n  - name: s\n    service: true\n    run: sleep 9\n    ready: { ping: x }\n  - name: a\n    needs: [s]\n    run: 'true'\n",
            "ping",
        ),
        (
            "jobs:\n  - name: s\n    service: true\n    run: sleep 9\n    ready: { http: 'not a url' }\n  - name: a\n    needs: [s]\n    run: 'true'\n",
            "bad `http:` URL",
        ),
        (
            "jobs:\n  - name: s\n    service: true\n    run: sleep 9\n    ready: { tcp: 'localhost' }\n  - name: a\n    needs: [s]\n    run: 'true'\n",
            "bad `tcp:` address",
        ),
        (
            "jobs:\n  - name: s\n    service: true\n    run: sleep 9\n    ready: { log: '(' }\n  - name: a\n    needs: [s]\n    run: 'true'\n",
            "not a valid regex",
        ),
        (
            "jobs:\n  - name: s\n    service: true\n    retries: 2\n    run: sleep 9\n  - name: a\n    needs: [s]\n    run: 'true'\n",
            "a service is not retried",
        ),
        (
            "jobs:\n  - name: s\n    ready: { tcp: '127.0.0.1:1' }\n    run: sleep 9\n",
            "not a service",
        ),
        (
            "executor: slurm\njobs:\n  - name: s\n    service: true\n    run: sleep 9\n  - name: a\n    needs: [s]\n    run: 'true'\n",
            "not supported",
        ),
    ];
    for (yaml, want) in cases {
        let p = Prun::new().jobfile(yaml).arg("--check");
        let run = p.run();
        assert_eq!(run.code, 2, "{yaml}\n{}", run.stderr);
        assert!(
            run.stderr.contains(want),
            "{yaml}\nwant {want}\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("jobs.yaml:"),
            "error not located\n{}",
            run.stderr
        );
    }
}

fn dry_run_shows_each_service_its_probe_and_who_waits() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: db
    service: true
    run: exec postgres
    ready: { tcp: "127.0.0.1:5433" }
  - name: migrate
    needs: [db]
    run: touch ran
"#,
        )
        .arg("--dry-run");
    let run = p.run();
    run.code(0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("tcp 127.0.0.1:5433"), "{all}");
    assert!(all.contains("migrate"), "{all}");
    assert!(!p.path("ran").exists());
}

fn fail_fast_stops_the_service_and_starts_nothing_more() {
    let p = Prun::new();
    let m = marker(&p);
    let p = p
        .jobfile(&format!(
            r#"
jobs:
  - name: svc
    service: true
    run: exec sleep {m}
  - name: bad
    needs: [svc]
    run: exit 4
  - name: later
    needs: [bad]
    when: success
    run: touch later
  - name: other
    needs: [svc]
    run: sleep 0.3; touch other
"#
        ))
        .args(&["-j", "1", "--fail-fast", "--report", "report.json"]);
    let run = p.run();
    run.code(1);
    assert!(!p.path("later").exists());
    assert!(!p.path("other").exists(), "{}", run.stderr);
    assert!(gone_within(&m, Duration::from_secs(5)), "service left");
    let r = report(&p);
    assert_eq!(job(&r, "bad")["status"], "failed");
    assert_eq!(job(&r, "svc")["status"], "success", "stopped by prun");
}

/// `--max-fail 2:kill` with a service: after the second failure the running job gets
/// SIGTERM, the cleanup job that needs the service still finds it, and then the service
/// is stopped and nothing of it is left.
fn max_fail_kill_stops_the_running_job_then_the_service_after_cleanup() {
    let p = Prun::new();
    let (m, s) = (marker(&p), marker(&p));
    let p = p
        .jobfile(&format!(
            r#"
jobs:
  - name: svc
    service: true
    run: touch svc-up; exec sleep {m}
  - name: slow
    needs: [svc]
    run: exec sleep {s}
  - name: bad1
    needs: [svc]
    run: sleep 0.2; exit 1
  - name: bad2
    needs: [bad1]
    when: always
    run: exit 2
  - name: tidy
    needs: [svc, slow, bad2]
    when: always
    run: pgrep -f 'sleep {m}' > /dev/null && touch tidy-saw-svc
"#
        ))
        .args(&[
            "-j",
            "2",
            "--max-fail",
            "2:kill",
            "--grace",
            "3s",
            "--report",
            "report.json",
        ]);
    let t = std::time::Instant::now();
    let run = p.run();
    run.code(1);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert!(p.path("tidy-saw-svc").exists(), "{}", run.stderr);
    assert!(gone_within(&m, Duration::from_secs(5)), "service left");
    assert!(gone_within(&s, Duration::from_secs(5)), "job left");
    let r = report(&p);
    assert_eq!(job(&r, "slow")["status"], "interrupted", "{}", run.stderr);
    assert_eq!(job(&r, "bad2")["status"], "failed");
    assert_eq!(job(&r, "svc")["status"], "success", "stopped by prun");
    assert!(
        run.stderr
            .contains("--max-fail 2 stopped the run after 2 failures")
            || run.stderr.contains("--max-fail 2:kill"),
        "{}",
        run.stderr
    );
}

fn sigkill_of_prun_leaves_no_service_and_no_daemon_of_it() {
    need(&[Facility::Cgroups]);
    let p = Prun::new();
    let (m, d) = (marker(&p), marker(&p));
    let p = p.jobfile(&format!(
        r#"
jobs:
  - name: svc
    service: true
    run: |
      (setsid sleep {d} &)
      touch started
      exec sleep {m}
  - name: user
    needs: [svc]
    run: sleep 300
"#
    ));
    let mut child = p.start_until(&["started"], Duration::from_secs(10));
    assert!(alive(&m) && alive(&d), "the service and its daemon run");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(gone_within(&m, Duration::from_secs(10)), "service left");
    assert!(gone_within(&d, Duration::from_secs(10)), "its daemon left");
}

crate::tests!(
    http_service_serves_its_dependent_with_one_slot_and_is_stopped_after,
    log_probe_and_outputs_a_listener_picked_its_own_port,
    not_ready_in_time_fails_with_the_probe_reason_and_skips_what_needs_it,
    a_hanging_exec_probe_is_cut_by_its_own_timeout_and_leaves_nothing,
    exited_before_ready_and_exited_while_needed_say_so,
    sigint_while_the_probe_polls_stops_everything,
    a_matrix_needs_one_service_which_stops_after_the_last_expansion,
    chained_services_stop_in_reverse_order_as_soon_as_no_job_needs_them,
    a_dependent_that_times_out_is_killed_and_the_service_stopped,
    keep_order_with_a_service_prints_blocks_in_jobfile_order,
    an_always_cleanup_that_needs_the_service_finds_it_still_running,
    resume_starts_a_service_again_only_when_a_job_that_needs_it_runs,
    a_daemonizing_service_leaves_nothing_behind,
    group_mode_shows_the_service_output_when_it_ends,
    check_refuses_bad_services_with_located_errors,
    dry_run_shows_each_service_its_probe_and_who_waits,
    fail_fast_stops_the_service_and_starts_nothing_more,
    max_fail_kill_stops_the_running_job_then_the_service_after_cleanup,
    sigkill_of_prun_leaves_no_service_and_no_daemon_of_it,
);
