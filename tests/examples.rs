//! Every jobfile in `jobfiles/` runs, and does what its comments say.

use crate::util::facility::{Facility, need};
use crate::util::{Prun, max_concurrency, parse_log, repo};

fn example(name: &str) -> String {
    repo()
        .join("jobfiles")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn every_example_is_tested() {
    let mut found: Vec<String> = std::fs::read_dir(repo().join("jobfiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "backup-each-db.yaml",
            "backup.yaml",
            "ci.yaml",
            "hello.yaml",
            "integration-tests.yaml",
            "nas-backup.yaml",
            "nightly.yaml"
        ],
        "add a test for new examples"
    );
}

fn backup_each_db() {
    let r = Prun::new()
        .arg(&example("backup-each-db.yaml"))
        .args(&["--report", "r.json"])
        .run();
    r.code(0);
    for db in ["app", "logs", "users"] {
        assert!(
            r.stdout.contains(&format!(
                "/tmp/prun-each-db-demo/dumps/{db}.tgz is readable"
            )),
            "{}",
            r.stdout
        );
    }
    // The run-level hook "mails" the merged outputs: every dump's file.
    let mail = r.stdout.split("Subject:").nth(1).expect("the mail");
    assert!(
        mail.contains("/tmp/prun-each-db-demo/dumps/app.tgz\n/tmp/prun-each-db-demo/dumps/logs.tgz\n/tmp/prun-each-db-demo/dumps/users.tgz"),
        "{mail}"
    );
    assert!(r.stderr.contains("8 jobs"), "{}", r.stderr);
}

fn hello() {
    let r = Prun::new().arg(&example("hello.yaml")).run();
    r.code(0);
    assert!(
        r.stdout.contains("hello from greet, running in slot 1"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("── greet:on_success"), "{}", r.stdout);
    assert!(
        r.stdout.contains("run finished: 4 of 4 jobs succeeded"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("4 succeeded, 0 failed"), "{}", r.stderr);
}

fn backup() {
    let p = Prun::new();
    let tmp = p.dir.path().to_str().unwrap().to_owned();
    let p = p.env("TMPDIR", &tmp).arg(&example("backup.yaml"));
    let r = p.run();
    r.code(0);
    for job in ["prepare", "documents", "photos", "database", "verify"] {
        assert!(
            r.stdout.contains(&format!("backup {job} done in ")),
            "{}",
            r.stdout
        );
    }
    let backups = p.path("prun-backup-demo/backups");
    let runs: Vec<_> = std::fs::read_dir(&backups).unwrap().collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].as_ref().unwrap().path();
    for f in ["documents.tar.gz", "photos.tar", "app.sql.gz", "SHA256SUMS"] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    // No off-site disk: skipped, with the reason, and the run succeeded.
    assert!(
        r.stderr.contains("job 'offsite' skipped: if: `test -n"),
        "{}",
        r.stderr
    );
    // With one, the run's backup is copied there.
    let offsite = p.path("offsite");
    std::fs::create_dir_all(&offsite).unwrap();
    let p = p.env("OFFSITE_DISK", offsite.to_str().unwrap());
    let r = p.run();
    r.code(0);
    let copied = std::fs::read_dir(&offsite).unwrap().count();
    assert_eq!(copied, 1, "{}", r.stderr);
}

fn backup_failure_reaches_the_run_level_hook() {
    // A read-only backups directory makes every archive job fail.
    let p = Prun::new();
    let tmp = p.dir.path().to_str().unwrap().to_owned();
    std::fs::create_dir_all(p.path("prun-backup-demo")).unwrap();
    std::fs::write(p.path("prun-backup-demo/backups"), "not a directory").unwrap();
    let r = p.env("TMPDIR", &tmp).arg(&example("backup.yaml")).run();
    r.code(1);
    assert!(r.stderr.contains("backup FAILED"), "{}", r.stderr);
    assert!(
        r.stderr.contains("backup prepare FAILED with exit 1"),
        "{}",
        r.stderr
    );
}

fn ci() {
    let p = Prun::new()
        .arg(&example("ci.yaml"))
        .args(&["--state-dir", "state"]);
    let r = p.run();
    r.code(0);
    assert!(r.stderr.contains("6 succeeded, 0 failed"), "{}", r.stderr);
    // The checks with `sources:` have nothing new to check.
    let r = p.run();
    r.code(0);
    assert!(
        r.stderr.contains("4 succeeded, 2 up to date, 0 failed"),
        "{}",
        r.stderr
    );
    assert!(p.path("state/shell-syntax.json").exists());
}

fn nas_backup() {
    let p = Prun::new();
    let tmp = p.dir.path().to_str().unwrap().to_owned();
    let p = p
        .env("TMPDIR", &tmp)
        .arg(&example("nas-backup.yaml"))
        .args(&["-j", "4"]);
    let r = p.run();
    r.code(0);
    let demo = p.path("prun-nas-demo");
    for host in ["web1", "web2", "db1", "db2", "mail"] {
        assert!(demo.join(format!("nas/{host}.tar")).exists(), "{host}");
    }
    assert!(
        !demo.join("snapshot").exists(),
        "the snapshot was not released"
    );
    let log = std::fs::read_to_string(demo.join("nas.log")).unwrap();
    let marks = parse_log(&log);
    assert_eq!(marks.len(), 10);
    assert_eq!(max_concurrency(&marks), 2, "{log}");
    assert!(
        r.stderr.contains("alert") && r.stderr.contains("skipped"),
        "{}",
        r.stderr
    );

    // A failed host: the snapshot is still released, and the alert goes out.
    let r = p.env("FAIL_HOST", "db1").run();
    r.code(1);
    assert!(!demo.join("snapshot").exists());
    assert!(r.stdout.contains("ALERT - a backup failed"), "{}", r.stdout);
}

fn integration_tests_against_a_real_postgresql() {
    need(&[Facility::Postgres]);
    let p = Prun::new()
        .arg(&example("integration-tests.yaml"))
        .args(&["--report", "r.json"]);
    let r = p.run();
    r.code(0);
    assert!(
        r.stdout.contains("3 backups, 2400 bytes in all: ok"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("service 'db' ready after"),
        "{}",
        r.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let db = &report["jobs"][0];
    assert_eq!(db["name"], "db");
    assert_eq!(db["status"], "success", "stopped by prun: {db}");
    assert!(db["ready_after"].as_f64().unwrap() > 0.0, "{db}");
    // Nothing of the database is left: no process, no data directory.
    let dir = std::env::temp_dir().join(format!("prun-pg-{}", report["run_id"].as_str().unwrap()));
    let dir = dir.to_str().unwrap();
    let left = std::process::Command::new("pgrep")
        .args(["-f", dir])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "left running: {left:?}");
    assert!(!std::path::Path::new(dir).exists(), "{dir} left behind");
}

fn nightly() {
    use crate::util::facility::{Facility, need};
    need(&[Facility::Healthchecks]);
    let hc = crate::util::healthchecks::server().unwrap();
    let p = Prun::new();
    let hist = p.path("history").display().to_string();
    let prom = p.path("nightly.prom").display().to_string();
    let work = p.path("work").display().to_string();
    let args = ["--history", hist.as_str(), "--metrics", prom.as_str()];
    // The example's monitor is healthchecks.io: here a real Healthchecks server on
    // loopback stands in for it, in a copy of the jobfile that differs only in the URL.
    let slug = format!("nightly-example-{}", std::process::id());
    let check = hc.check(&slug);
    let text = std::fs::read_to_string(example("nightly.yaml")).unwrap();
    let url = "https://hc-ping.com/0c8f7a3e-5b1d-4c2e-9f0a-2d6b8e4c1a77";
    assert!(text.contains(url));
    let text = text
        .replace(url, &check)
        .replace("WORK: /tmp/prun-nightly/work", &format!("WORK: {work}"));
    let p = p.file("nightly.yaml", &text);
    let r = p.run_with(&[&["nightly.yaml"][..], &args].concat());
    r.code(0);
    assert!(
        r.stdout.contains("connecting as backup with password ***"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("dumped 7 lines") && r.stdout.contains("dump verified"),
        "{}",
        r.stdout
    );
    assert!(!format!("{}{}", r.stdout, r.stderr).contains("demo-Passw0rd"));
    let got = hc.pings(&slug);
    let pings = got["pings"].as_array().unwrap();
    assert_eq!(pings.len(), 2, "{got}");
    assert_eq!(pings[0]["kind"], "start", "{got}");
    assert_eq!(pings[1]["kind"], "success", "{got}");
    assert_eq!(pings[1]["exit_status"], 0, "{got}");
    assert!(
        !pings[1]["body"].as_str().unwrap().contains("demo-Passw0rd"),
        "{got}"
    );
    assert!(
        p.read("nightly.prom")
            .contains("prun_run_success{jobfile=\"nightly\"} 1")
    );
    let h = p.run_with(&["history", &hist]);
    h.code(0);
    assert_eq!(h.stdout.lines().count(), 2, "{}", h.stdout);
    assert!(h.stdout.contains("success"), "{}", h.stdout);
    let latest = p.path("history/latest");
    let log = std::fs::read_to_string(latest.join("logs/dump.log")).unwrap();
    assert!(
        log.contains("password ***") && !log.contains("demo-Passw0rd"),
        "{log}"
    );
    // The example itself, as shipped, runs on a clean machine (.ci/run runs it so).
    p.run_with(&[example("nightly.yaml").as_str(), "--no-monitor", "--quiet"])
        .code(0);
}

crate::tests!(
    every_example_is_tested,
    backup_each_db,
    hello,
    backup,
    backup_failure_reaches_the_run_level_hook,
    ci,
    nas_backup,
    integration_tests_against_a_real_postgresql,
    nightly,
);
