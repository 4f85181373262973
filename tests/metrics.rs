//! `--metrics FILE.prom` / `metrics:`: node_exporter's textfile-collector format, parsed
//! back here: every sample, its labels (escaped), no timestamps, the last success carried
//! over a failed run, written whole (a temporary file, then a rename).

use std::collections::HashMap;

use crate::util::Prun;

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

#[test]
fn a_run_s_metrics_parse_back_and_a_failed_job_keeps_its_last_success() {
    let p = Prun::new().file(
        "jobs.yaml",
        "metrics: out.prom\njobs:\n  - name: db\n    run: test -f ok && sleep 0.2\n  - name: files\n    run: echo files\n  - name: skipped\n    needs: [db]\n    run: echo never\n",
    );
    std::fs::write(p.path("ok"), "").unwrap();
    let before = now();
    p.run_with(&["jobs.yaml"]).code(0);
    let first = parse(&p.read("out.prom"));
    let f = [("jobfile", "jobs.yaml")];
    assert_eq!(get(&first, "prun_run_success", &f), Some(1.0));
    let db = [("jobfile", "jobs.yaml"), ("job", "db")];
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
    let files = [("jobfile", "jobs.yaml"), ("job", "files")];
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

#[test]
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
        .map(|(_, l, _)| l["job"].clone())
        .collect();
    names.sort();
    assert_eq!(
        names, want,
        "the names as the report has them, read back exactly"
    );
    assert!(names.iter().any(|n| n.contains('"')), "{names:?}");
    assert!(names.iter().any(|n| n.contains('\\')), "{names:?}");
}

#[test]
fn a_metrics_file_that_cannot_be_written_stops_the_run_before_it_starts() {
    let p = Prun::new().jobfile("jobs:\n  - touch ran\n");
    let r = p.run_with(&["--metrics", "no/such/dir/x.prom"]);
    r.code(2);
    assert!(r.stderr.contains("--metrics"), "{}", r.stderr);
    assert!(!p.path("ran").exists());
}
