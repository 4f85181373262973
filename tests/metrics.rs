//! `--metrics FILE.prom` / `metrics:`: node_exporter's textfile-collector format, parsed
//! back here: every sample, its labels (escaped), no timestamps, the last success carried
//! over a failed run, written whole (a temporary file, then a rename).

use std::collections::HashMap;

use std::process::Command;

use crate::util::Prun;
use crate::util::facility::{Facility, need};

/// One sample: name, labels, value.
type Sample = (String, HashMap<String, String>, f64);

/// Parses the text format as node_exporter reads it (the subset prun writes), failing the
/// test on any line it would refuse.
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge", "{line}");
            typed.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let open = line
            .find('{')
            .unwrap_or_else(|| panic!("no labels: {line}"));
        let name = &line[..open];
        assert!(
            typed.iter().any(|t| t == name),
            "sample before its TYPE: {line}"
        );
        let mut labels = HashMap::new();
        let b = line.as_bytes();
        let mut i = open + 1;
        while b[i] != b'}' {
            let eq = line[i..].find("=\"").unwrap() + i;
            let key = line[i..eq].to_owned();
            let mut value = String::new();
            let mut j = eq + 2;
            while b[j] != b'"' {
                if b[j] == b'\\' {
                    value.push(match b[j + 1] {
                        b'n' => '\n',
                        c => c as char,
                    });
                    j += 2;
                } else {
                    let c = line[j..].chars().next().unwrap();
                    value.push(c);
                    j += c.len_utf8();
                }
            }
            labels.insert(key, value);
            i = j + 1;
            if b[i] == b',' {
                i += 1;
            }
        }
        let rest: Vec<&str> = line[i + 1..].split_whitespace().collect();
        assert_eq!(rest.len(), 1, "a value and no timestamp: {line}");
        out.push((name.to_owned(), labels, rest[0].parse().unwrap()));
    }
    out
}

fn get(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn a_run_s_metrics_parse_back_and_a_failed_job_keeps_its_last_success() {
    let p = Prun::new().file(
        "jobs.yaml",
        "metrics: out.prom\njobs:\n  - name: db\n    run: test -f ok && sleep 0.2\n  - name: files\n    run: echo files\n  - name: skipped\n    needs: [db]\n    run: echo never\n",
    );
    std::fs::write(p.path("ok"), "").unwrap();
    let before = now();
    p.run_with(&["jobs.yaml"]).code(0);
    let first = parse(&p.read("out.prom"));
    // The jobfile's canonical path: two jobs.yaml elsewhere are other series.
    let canonical = std::fs::canonicalize(p.path("jobs.yaml")).unwrap();
    let jobfile = canonical.to_str().unwrap();
    let f = [("jobfile", jobfile)];
    assert_eq!(get(&first, "prun_run_success", &f), Some(1.0));
    let db = [("jobfile", jobfile), ("prun_job", "db")];
    assert_eq!(get(&first, "prun_job_success", &db), Some(1.0));
    assert!(get(&first, "prun_job_duration_seconds", &db).unwrap() >= 0.2);
    let db_last = get(&first, "prun_job_last_success_timestamp_seconds", &db).unwrap();
    assert!(db_last >= before && db_last <= now() + 1.0, "{db_last}");
    assert_eq!(
        get(&first, "prun_jobs", &[("status", "success")]),
        Some(3.0)
    );
    assert_eq!(get(&first, "prun_jobs", &[("status", "failed")]), Some(0.0));
    // Now db fails: its last success is the first run's, files' is new.
    std::fs::remove_file(p.path("ok")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.run_with(&["jobs.yaml"]).code(1);
    let second = parse(&p.read("out.prom"));
    assert_eq!(get(&second, "prun_run_success", &f), Some(0.0));
    assert_eq!(get(&second, "prun_job_success", &db), Some(0.0));
    assert_eq!(
        get(&second, "prun_job_last_success_timestamp_seconds", &db),
        Some(db_last),
        "carried over"
    );
    let files = [("jobfile", jobfile), ("prun_job", "files")];
    assert!(
        get(&second, "prun_job_last_success_timestamp_seconds", &files).unwrap()
            > get(&first, "prun_job_last_success_timestamp_seconds", &files).unwrap()
    );
    assert_eq!(
        get(&second, "prun_jobs", &[("status", "failed")]),
        Some(1.0)
    );
    assert_eq!(
        get(&second, "prun_jobs", &[("status", "skipped")]),
        Some(1.0)
    );
    assert_eq!(
        get(&second, "prun_run_last_success_timestamp_seconds", &f),
        get(&first, "prun_run_last_success_timestamp_seconds", &f)
    );
    // Written whole: nothing left beside it.
    let left: Vec<_> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn label_values_are_escaped_and_the_command_line_wins() {
    let p = Prun::new().file(
        "jobs.yaml",
        "metrics: ignored.prom\njobs:\n  - name: m\n    matrix: { v: ['a\"b', 'c\\d'] }\n    run: \"true\"\n",
    );
    p.run_with(&["jobs.yaml", "--metrics", "cli.prom", "--report", "r.json"])
        .code(0);
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let mut want: Vec<String> = (report["jobs"].as_array().unwrap().iter())
        .map(|j| j["name"].as_str().unwrap().to_owned())
        .collect();
    want.sort();
    assert!(!p.path("ignored.prom").exists());
    let s = parse(&p.read("cli.prom"));
    let mut names: Vec<String> = s
        .iter()
        .filter(|(n, _, _)| n == "prun_job_success")
        .map(|(_, l, _)| l["prun_job"].clone())
        .collect();
    names.sort();
    assert_eq!(
        names, want,
        "the names as the report has them, read back exactly"
    );
    assert!(names.iter().any(|n| n.contains('"')), "{names:?}");
    assert!(names.iter().any(|n| n.contains('\\')), "{names:?}");
}

fn a_metrics_file_that_cannot_be_written_stops_the_run_before_it_starts() {
    let p = Prun::new().jobfile("jobs:\n  - touch ran\n");
    let r = p.run_with(&["--metrics", "no/such/dir/x.prom"]);
    r.code(2);
    assert!(r.stderr.contains("--metrics"), "{}", r.stderr);
    assert!(!p.path("ran").exists());
}

/// A run with every kind of job an alert must tell apart, and its metrics file.
fn varied_metrics(name: &str) -> Prun {
    let p = Prun::new().jobfile(&format!(
        "{name}metrics: out.prom\njobs:\n  - name: ok\n    run: 'true'\n  - name: broken\n    run: exit 3\n  - name: unwanted\n    if: 'false'\n    run: 'true'\n  - name: vanished\n    run: exit 24\n    allow_failure: [24]\n"
    ));
    p.run().code(1);
    p
}

fn promtool_checks_the_metrics_file() {
    need(&[Facility::Reader("promtool")]);
    let p = varied_metrics("");
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(p.path("out.prom")).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        p.read("out.prom")
    );
    let text = p.read("out.prom");
    assert!(
        !text.contains(",job=\"") && !text.contains("{job=\""),
        "{text}"
    );
    assert!(!text.contains("instance=\""), "{text}");
}

/// An alert on `prun_job_success == 0`, fed the series of a real run: it fires for the
/// failed job and the allowed failure (which says `allowed="true"`), never for the job
/// its `if:` skipped; `allowed!="true"` leaves the real failure alone.
fn promtool_test_rules_fires_the_failure_alert_for_failures_only() {
    need(&[Facility::Reader("promtool")]);
    let p = varied_metrics("");
    let text = p.read("out.prom");
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("prun_job_success{"))
        .collect();
    assert_eq!(
        series.len(),
        3,
        "ok, broken, vanished; not `unwanted`: {text}"
    );
    let mut input = String::new();
    for line in &series {
        let (s, v) = line.rsplit_once(' ').unwrap();
        input.push_str(&format!(
            "      - series: '{s}'\n        values: '{v} {v} {v}'\n"
        ));
    }
    let jobfile = std::fs::canonicalize(p.path("jobs.yaml")).unwrap();
    let jobfile = jobfile.display();
    std::fs::write(
        p.path("rules.yaml"),
        "groups:\n  - name: prun\n    rules:\n      - alert: JobFailed\n        expr: prun_job_success == 0\n      - alert: JobFailedNotAllowed\n        expr: prun_job_success{allowed!=\"true\"} == 0\n",
    )
    .unwrap();
    std::fs::write(
        p.path("tests.yaml"),
        format!(
            "rule_files: [rules.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{input}    alert_rule_test:\n      - eval_time: 2m\n        alertname: JobFailed\n        exp_alerts:\n          - exp_labels: {{ jobfile: '{jobfile}', prun_job: broken }}\n          - exp_labels: {{ jobfile: '{jobfile}', prun_job: vanished, allowed: 'true' }}\n      - eval_time: 2m\n        alertname: JobFailedNotAllowed\n        exp_alerts:\n          - exp_labels: {{ jobfile: '{jobfile}', prun_job: broken }}\n"
        ),
    )
    .unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules", "tests.yaml"])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two `backup.yaml` in different directories, one textfile-collector directory: a real
/// node_exporter reads both without a collision, and each keeps its own series.
fn node_exporter_scrapes_two_same_named_jobfiles_side_by_side() {
    need(&[Facility::Reader("prometheus-node-exporter")]);
    let collect = tempfile::tempdir().unwrap();
    let yaml = "jobs:\n  - name: dump\n    run: 'true'\n  - name: files\n    run: exit 1\n";
    let mut paths = Vec::new();
    // Each run as `prun backup.yaml` from its own directory, as cron would.
    for host in ["db1", "db2"] {
        let p = Prun::new().file("backup.yaml", yaml);
        let out = collect.path().join(format!("{host}.prom"));
        p.run_with(&["backup.yaml", "--metrics", out.to_str().unwrap()])
            .code(1);
        paths.push(std::fs::canonicalize(p.path("backup.yaml")).unwrap());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = collect.path().join("node_exporter.log");
    let mut node = Command::new("prometheus-node-exporter")
        .args([
            "--collector.disable-defaults",
            "--collector.textfile",
            &format!(
                "--collector.textfile.directory={}",
                collect.path().display()
            ),
            &format!("--web.listen-address=127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let body = scrape(port);
    let _ = node.kill();
    let _ = node.wait();
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(!said.contains("collected before"), "{said}");
    assert!(body.contains("node_textfile_scrape_error 0"), "{body}");
    for path in &paths {
        let want = format!(
            "prun_job_success{{jobfile=\"{}\",prun_job=\"files\"}} 0",
            path.display()
        );
        assert!(body.contains(&want), "{want} in:\n{body}");
    }
}

/// node_exporter's /metrics, once it answers (within 10 s).
fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let mut body = String::new();
            s.read_to_string(&mut body).unwrap();
            return body;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("node_exporter did not answer on port {port}");
}

fn name_is_the_jobfile_label_and_a_name_that_is_no_label_value_is_a_located_error() {
    let p = Prun::new().jobfile("name: backup-db01\nmetrics: out.prom\njobs:\n  - 'true'\n");
    p.run().code(0);
    assert!(
        p.read("out.prom")
            .contains("prun_run_success{jobfile=\"backup-db01\"} 1"),
        "{}",
        p.read("out.prom")
    );
    for bad in ["'nightly backup'", "''", "\"a\\tb\""] {
        let p = Prun::new().jobfile(&format!("name: {bad}\njobs:\n  - touch ran\n"));
        let r = p.run();
        r.code(2);
        assert!(r.stderr.contains("jobs.yaml:1:"), "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("`name:`"), "{bad}: {}", r.stderr);
        assert!(!p.path("ran").exists());
    }
}

/// A job `--resume` skipped did not succeed at this run's end: its last success stays the
/// earlier run's, not now.
fn a_resumed_job_keeps_the_last_success_of_the_run_that_ran_it() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: 'true'\n  - name: b\n    run: test -f ok\n");
    let args = ["--joblog", "log", "--metrics", "m.prom"];
    p.run_with(&args).code(1);
    let canonical = std::fs::canonicalize(p.path("jobs.yaml")).unwrap();
    let a = [("jobfile", canonical.to_str().unwrap()), ("prun_job", "a")];
    let first = get(
        &parse(&p.read("m.prom")),
        "prun_job_last_success_timestamp_seconds",
        &a,
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(p.path("ok"), "").unwrap();
    p.run_with(&[&args[..], &["--resume"]].concat()).code(0);
    let second = get(
        &parse(&p.read("m.prom")),
        "prun_job_last_success_timestamp_seconds",
        &a,
    )
    .unwrap();
    assert_eq!(second, first, "resumed, not run again");
}

crate::tests!(
    a_run_s_metrics_parse_back_and_a_failed_job_keeps_its_last_success,
    label_values_are_escaped_and_the_command_line_wins,
    a_metrics_file_that_cannot_be_written_stops_the_run_before_it_starts,
    promtool_checks_the_metrics_file,
    promtool_test_rules_fires_the_failure_alert_for_failures_only,
    node_exporter_scrapes_two_same_named_jobfiles_side_by_side,
    name_is_the_jobfile_label_and_a_name_that_is_no_label_value_is_a_located_error,
    a_resumed_job_keeps_the_last_success_of_the_run_that_ran_it,
);
