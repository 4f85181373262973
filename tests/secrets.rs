//! `secrets:`: the values of the variables named are `***` in everything prun writes —
//! the terminal in every output mode, log files, the joblog, `--report`, JUnit, the
//! timeline, metrics, the step summary, hooks' JSON, the history, the monitor's body —
//! also when a value is split across two reads; jobs and hooks still get the real value.

use crate::util::Prun;
use crate::util::recorder::Recorder;

const SECRET: &str = "hunter2-s3cret-value";

/// A jobfile whose jobs print the secret (whole, and split by a pause), hand it back as
/// an output, and name a matrix job by it; hooks read their JSON and save their env.
fn leaky(extra: &str) -> String {
    format!(
        "secrets: [TOKEN]\n{extra}\
         jobs:\n\
         \x20 - name: leak\n\
         \x20   run: |\n\
         \x20     echo \"whole: $TOKEN\"\n\
         \x20     printf 'split: hunter2-s3'; sleep 0.3; echo 'cret-value end'\n\
         \x20     echo \"err: $TOKEN\" >&2\n\
         \x20     echo \"key=$TOKEN\" >> \"$PRUN_OUTPUT\"\n\
         \x20     echo \"$TOKEN\" > job-saw.txt\n\
         \x20     exit 1\n\
         \x20   on_failure: cat > hook-stdin.json; echo \"$TOKEN\" > hook-saw.txt; echo \"hook says $TOKEN\"\n\
         \x20 - name: named\n\
         \x20   matrix: {{ v: [\"{SECRET}\"] }}\n\
         \x20   run: echo named-job-ran\n"
    )
}

/// Every file under the temp dir prun wrote, with its text (the jobs' own excepted).
fn files(p: &Prun) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![p.dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let name = path
                    .strip_prefix(p.dir.path())
                    .unwrap()
                    .display()
                    .to_string();
                if name.ends_with("-saw.txt") || name == "jobs.yaml" || name == "env" {
                    continue;
                }
                out.push((
                    name,
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
                ));
            }
        }
    }
    out
}

fn a_secret_is_masked_everywhere_prun_writes_in_every_output_mode() {
    for mode in ["group", "line", "stream"] {
        let hc = Recorder::http();
        let p = Prun::new()
            .jobfile(&leaky(&format!(
                "env: {{ TOKEN: {SECRET} }}\nhistory: {{ dir: hist }}\nmonitor: {{ healthchecks: {} }}\n",
                hc.url("/hc")
            )))
            .file("summary.md", "");
        let summary = p.path("summary.md").display().to_string();
        let p = p
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_ACTIONS", "true");
        // One at a time: streamed output of two jobs at once would interleave.
        let r = p.run_with(&[
            "-j",
            "1",
            "--output",
            mode,
            "--report",
            "r.json",
            "--junit",
            "j.xml",
            "--timeline",
            "t.svg",
            "--metrics",
            "m.prom",
            "--log-dir",
            "logs",
            "--joblog",
            "jl",
        ]);
        r.code(1);
        // GitHub is told what to mask first (and only that line holds the value).
        let told = format!("::add-mask::{SECRET}\n");
        assert!(r.stdout.starts_with(&told), "{mode}: {}", r.stdout);
        let stdout = r.stdout[told.len()..].to_owned();
        let all = format!("{stdout}{}", r.stderr);
        assert!(!all.contains(SECRET), "{mode}: the terminal:\n{all}");
        assert!(!all.contains("hunter2-s3cret"), "{mode}: split:\n{all}");
        assert!(stdout.contains("whole: ***"), "{mode}:\n{all}");
        assert!(
            stdout.contains("split: *** end"),
            "{mode}: split across reads:\n{all}"
        );
        assert!(all.contains("err: ***"), "{mode}:\n{all}");
        assert!(
            stdout.contains("hook says ***"),
            "{mode}: the hook's output:\n{all}"
        );
        let written = files(&p);
        for must in [
            "r.json",
            "j.xml",
            "t.svg",
            "m.prom",
            "logs/leak.log",
            "jl",
            "summary.md",
            "hook-stdin.json",
        ] {
            assert!(
                written.iter().any(|(n, _)| n == must),
                "{mode}: {must} written: {:?}",
                written.iter().map(|w| &w.0).collect::<Vec<_>>()
            );
        }
        assert!(
            written
                .iter()
                .any(|(n, _)| n.starts_with("hist/") && n.ends_with("report.json"))
        );
        for (name, text) in &written {
            assert!(
                !text.contains(SECRET),
                "{mode}: {name} holds the secret:\n{text}"
            );
        }
        let report = p.read("r.json");
        assert!(
            report.contains("\"key\": \"***\""),
            "{mode}: the output masked: {report}"
        );
        assert!(report.contains("named[v=***]"), "{mode}: {report}");
        assert!(p.read("logs/leak.log").contains("split: *** end"), "{mode}");
        let bodies: Vec<String> = hc.requests().into_iter().map(|q| q.body).collect();
        assert!(
            bodies.iter().all(|b| !b.contains(SECRET)),
            "{mode}: {bodies:?}"
        );
        assert!(
            bodies.iter().any(|b| b.contains("whole: ***")),
            "{mode}: {bodies:?}"
        );
        // The job and its hook had the real value.
        assert_eq!(p.read("job-saw.txt"), format!("{SECRET}\n"));
        assert_eq!(p.read("hook-saw.txt"), format!("{SECRET}\n"));
    }
}

fn values_come_from_env_files_prun_s_environment_and_a_job_s_own_list() {
    let p = Prun::new()
        .file("secrets.env", "DB_PASS=from-env-file-pass\n")
        .jobfile(
            "secrets: [DB_PASS, API_KEY]\nenv_file: secrets.env\njobs:\n  - name: a\n    run: echo \"$DB_PASS $API_KEY\"\n  - name: b\n    secrets: [OWN]\n    env: { OWN: per-job-secret }\n    run: echo \"$OWN\"\n",
        )
        .env("API_KEY", "from-prun-environment");
    let r = p.run_with(&["--output", "line"]);
    r.code(0);
    assert!(r.stdout.contains("[a] *** ***"), "{}", r.stdout);
    assert!(r.stdout.contains("[b] ***"), "{}", r.stdout);
    for v in [
        "from-env-file-pass",
        "from-prun-environment",
        "per-job-secret",
    ] {
        assert!(
            !r.stdout.contains(v) && !r.stderr.contains(v),
            "{v}: {}{}",
            r.stdout,
            r.stderr
        );
    }
}

fn under_github_actions_each_value_is_masked_there_first() {
    let p = Prun::new()
        .jobfile(&format!(
            "secrets: [TOKEN]\nenv: {{ TOKEN: {SECRET} }}\njobs:\n  - echo hi\n"
        ))
        .env("GITHUB_ACTIONS", "true");
    let r = p.run_with(&["--output", "line"]);
    r.code(0);
    assert_eq!(
        r.stdout.lines().next(),
        Some(format!("::add-mask::{SECRET}").as_str()),
        "{}",
        r.stdout
    );
}

fn a_short_or_missing_secret_is_said_and_a_bad_name_is_a_located_error() {
    let p = Prun::new()
        .jobfile("secrets: [PIN, NOWHERE]\nenv: { PIN: '123' }\njobs:\n  - echo 123 and more\n");
    let r = p.run_with(&["--check"]);
    r.code(0);
    assert!(
        r.stderr
            .contains("secret PIN is shorter than 4 characters: it is not masked"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("secret NOWHERE is set nowhere"),
        "{}",
        r.stderr
    );
    let r = p.run_with(&["--output", "line"]);
    r.code(0);
    assert!(
        r.stdout.contains("123 and more"),
        "not masked: {}",
        r.stdout
    );
    let p = Prun::new().jobfile("secrets: [hunter2 value]\njobs:\n  - true\n");
    let r = p.run();
    r.code(2);
    assert!(r.stderr.contains("jobs.yaml:1:"), "{}", r.stderr);
    assert!(r.stderr.contains("is not a variable name"), "{}", r.stderr);
}

crate::tests!(
    a_secret_is_masked_everywhere_prun_writes_in_every_output_mode,
    values_come_from_env_files_prun_s_environment_and_a_job_s_own_list,
    under_github_actions_each_value_is_masked_there_first,
    a_short_or_missing_secret_is_said_and_a_bad_name_is_a_located_error,
);
