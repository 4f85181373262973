//! Reports: the JSON report against its schema, JUnit and the timeline through a real XML
//! parser, the joblog, --log-dir, --quiet, GitHub Actions, --dry-run and --check.

use crate::util::{Prun, check_report};

const MIXED: &str = r#"
jobs:
  - name: ok
    run: echo fine
  - name: flaky
    retries: 1
    run: echo "try $PRUN_ATTEMPT"; [ $PRUN_ATTEMPT = 2 ]
  - name: broken
    run: echo "it broke"; exit 3
  - name: slow
    timeout: 300ms
    run: sleep 5
  - name: after-broken
    needs: [broken]
    run: echo never
"#;

fn the_json_report_follows_its_schema() {
    let p = Prun::new()
        .jobfile(MIXED)
        .args(&["--report", "report.json", "--log-dir", "logs"]);
    p.run().code(1);
    let report = check_report(&p.path("report.json"));
    let status: Vec<&str> = report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["success", "success", "failed", "timed-out", "skipped"]
    );
    assert_eq!(report["jobs"][1]["attempts"], 2);
    assert_eq!(report["jobs"][2]["exit_code"], 3);
    assert!(
        report["jobs"][0]["log"]
            .as_str()
            .unwrap()
            .ends_with("/logs/ok.log")
    );
    assert_eq!(report["exit_code"], 1);
    // Written atomically: no temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty());
}

fn junit_has_one_testcase_per_job_with_failures_and_skips() {
    let p = Prun::new().jobfile(MIXED).args(&["--junit", "junit.xml"]);
    p.run().code(1);
    let xml = p.read("junit.xml");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 5);
    let case = |name: &str| {
        *cases
            .iter()
            .find(|c| c.attribute("name") == Some(name))
            .unwrap()
    };
    let failure = |name: &str| case(name).children().find(|c| c.has_tag_name("failure"));
    assert!(failure("ok").is_none() && failure("flaky").is_none());
    assert_eq!(failure("broken").unwrap().attribute("type"), Some("failed"));
    assert_eq!(
        failure("slow").unwrap().attribute("type"),
        Some("timed-out")
    );
    let out = case("broken")
        .children()
        .find(|c| c.has_tag_name("system-out"))
        .unwrap();
    assert_eq!(out.text(), Some("it broke\n"));
    assert!(
        case("after-broken")
            .children()
            .any(|c| c.has_tag_name("skipped"))
    );
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("tests"), Some("5"));
    assert_eq!(suite.attribute("failures"), Some("2"));
}

fn the_timeline_has_one_bar_per_attempt() {
    let p = Prun::new()
        .jobfile(MIXED)
        .args(&["--timeline", "run.svg", "-j", "3"]);
    p.run().code(1);
    let svg = p.read("run.svg");
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let bars: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("attempt"))
        .collect();
    // ok, flaky twice, broken, slow: the skipped job never ran.
    assert_eq!(bars.len(), 5);
    let titles: Vec<String> = bars
        .iter()
        .map(|b| {
            b.children()
                .find(|c| c.has_tag_name("title"))
                .unwrap()
                .text()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("flaky (attempt 2): success")),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("slow (attempt 1): timed-out")),
        "{titles:?}"
    );
}

fn the_joblog_has_a_line_per_attempt() {
    let p = Prun::new().jobfile(MIXED).args(&["--joblog", "jobs.log"]);
    p.run().code(1);
    let log = p.read("jobs.log");
    let lines: Vec<Vec<&str>> = log
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert!(log.starts_with("# prun joblog v1\t"));
    assert_eq!(lines.len(), 5, "{log}");
    assert!(lines.iter().all(|f| f.len() == 9));
    let flaky: Vec<_> = lines.iter().filter(|f| f[0] == "flaky").collect();
    assert_eq!(
        flaky.iter().map(|f| (f[1], f[6])).collect::<Vec<_>>(),
        [("1", "failed"), ("2", "success")]
    );
    let slow = lines.iter().find(|f| f[0] == "slow").unwrap();
    assert_eq!((slow[4], slow[5], slow[6]), ("-", "SIGTERM", "timed-out"));
}

fn resume_runs_every_job_exactly_once_after_a_crash() {
    use std::time::{Duration, Instant};
    let mut y = String::from("jobs:\n");
    for i in 1..=6 {
        y.push_str(&format!(
            "  - name: j{i}\n    run: echo j{i} >> ran; sleep 0.3017\n"
        ));
    }
    let p = Prun::new()
        .jobfile(&y)
        .args(&["-j", "2", "--joblog", "jobs.log"]);
    let mut child = p
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    // Kill prun once some, but not all, jobs have ended.
    while p.read("jobs.log").lines().count() < 3 {
        assert!(t.elapsed() < Duration::from_secs(10), "no job ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The keeper stops the jobs that were running: none is left to end after the resume
    // began (and to write its line twice).
    assert!(crate::util::gone_within(
        "sleep 0.3017",
        Duration::from_secs(10)
    ));
    let done_before: Vec<String> = p
        .read("jobs.log")
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    assert!(!done_before.is_empty() && done_before.len() < 6);
    // Jobs that were running when prun died were stopped by the keeper and left no
    // success line: they run again. So "ran" may list them twice; the joblog counts.
    let p = p.arg("--resume");
    let r = p.run();
    r.code(0);
    let mut succeeded: Vec<String> = p
        .read("jobs.log")
        .lines()
        .skip(1)
        .filter(|l| l.contains("\tsuccess\t"))
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    succeeded.sort();
    assert_eq!(
        succeeded,
        ["j1", "j2", "j3", "j4", "j5", "j6"],
        "each job succeeded exactly once in all"
    );
    // The summary of a small run lists every job; those done before say so.
    let skipped = r
        .stderr
        .matches("already succeeded in an earlier run (--resume)")
        .count();
    assert_eq!(skipped, done_before.len(), "{}", r.stderr);
}

fn resume_reruns_a_job_whose_command_changed() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: echo v1 >> out\n")
        .args(&["--joblog", "jobs.log"]);
    p.run().code(0);
    let p = p.file("jobs.yaml", "jobs:\n  - name: a\n    run: echo v2 >> out\n");
    p.run().code(0); // no --resume: runs
    let p = p.arg("--resume");
    p.run().code(0);
    assert_eq!(
        p.read("out"),
        "v1\nv2\n",
        "v2 succeeded already, so --resume skipped it"
    );
}

fn resume_failed_runs_only_what_failed() {
    let y = "jobs:\n  - name: good\n    run: echo good >> ran\n  - name: bad\n    run: echo bad >> ran; test -e fixed\n";
    let p = Prun::new()
        .jobfile(y)
        .args(&["--joblog", "jobs.log", "-j", "1"]);
    p.run().code(1);
    std::fs::write(p.path("fixed"), "").unwrap();
    let p = p.arg("--resume-failed");
    p.run().code(0);
    assert_eq!(p.read("ran"), "good\nbad\nbad\n");
}

fn log_dir_keeps_each_jobs_output_as_it_comes() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: echo out; echo err >&2; echo \"$PRUN_JOB_LOG\" > /dev/null\n    on_complete: cat \"$PRUN_JOB_LOG\" > copy\n")
        .args(&["--log-dir", "logs", "--output", "none"]);
    p.run().code(0);
    assert_eq!(p.read("logs/a.log"), "out\nerr\n");
    assert_eq!(p.read("copy"), "out\nerr\n");
}

fn quiet_prints_nothing_when_all_succeed() {
    let r = Prun::new()
        .jobfile("jobs:\n  - echo hello\n  - echo world\n")
        .arg("--quiet")
        .run();
    r.code(0);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
}

fn quiet_prints_the_failed_jobs_and_the_summary_on_failure() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: fine\n    run: echo all good\n  - name: bad\n    run: echo it broke; exit 4\n")
        .arg("-q")
        .run();
    r.code(1);
    assert_eq!(r.stdout, "── bad (failed, exit 4)\nit broke\n");
    assert!(r.stderr.contains("1 succeeded, 1 failed"), "{}", r.stderr);
}

fn github_actions_get_groups_and_error_annotations() {
    let r = Prun::new()
        .jobfile(
            "jobs:\n  - name: fine\n    run: echo ok\n  - name: bad\n    run: echo no; exit 1\n",
        )
        .args(&["-j", "1"])
        .env("GITHUB_ACTIONS", "true")
        .run();
    r.code(1);
    assert_eq!(
        r.stdout,
        "::group::fine\nok\n::endgroup::\n::group::bad (failed, exit 1)\nno\n::endgroup::\n::error title=prun%3A job bad failed::failed, exit 1\n"
    );
}

fn dry_run_prints_the_plan_and_runs_nothing() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: build\n    matrix: {os: [linux, mac]}\n    run: touch ran\n  - name: ship\n    needs: [build]\n    run: touch ran\n")
        .arg("--dry-run")
        .run();
    r.code(0);
    insta::assert_snapshot!(r.stdout.lines().skip(3).collect::<Vec<_>>().join("\n"));
}

fn check_validates_only() {
    let p = Prun::new().jobfile("jobs:\n  - touch ran\n").arg("--check");
    p.run().code(0);
    assert!(!p.path("ran").exists());
    Prun::new()
        .jobfile("jobs: []\n")
        .arg("--check")
        .run()
        .code(2);
}

crate::tests!(
    the_json_report_follows_its_schema,
    junit_has_one_testcase_per_job_with_failures_and_skips,
    the_timeline_has_one_bar_per_attempt,
    the_joblog_has_a_line_per_attempt,
    resume_runs_every_job_exactly_once_after_a_crash,
    resume_reruns_a_job_whose_command_changed,
    resume_failed_runs_only_what_failed,
    log_dir_keeps_each_jobs_output_as_it_comes,
    quiet_prints_nothing_when_all_succeed,
    quiet_prints_the_failed_jobs_and_the_summary_on_failure,
    github_actions_get_groups_and_error_annotations,
    dry_run_prints_the_plan_and_runs_nothing,
    check_validates_only,
);
