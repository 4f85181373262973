//! Up-to-date jobs (`sources`, `generates`, `status`, `--force`, `--state-dir`): real
//! files hashed, real state files, and the reason said every time a job is skipped or
//! runs.

use serde_json::Value;

use crate::util::Prun;

const BUILD: &str = r#"
jobs:
  - name: build
    sources: [src, Cargo.lock]
    generates: [out/app]
    env: { FLAG: "-O2" }
    run: |
      echo ran >> runs
      mkdir -p out && cat src/a.rs src/sub/b.rs Cargo.lock > out/app
      echo "bytes=$(wc -c < out/app | tr -d ' ')" >> "$PRUN_OUTPUT"
  - name: use
    needs: [build]
    env: { N: "${{ needs.build.outputs.bytes }}" }
    run: echo "$N" > seen
"#;

fn project() -> Prun {
    let p = Prun::new()
        .jobfile(BUILD)
        .file("src/a.rs", "a")
        .file("Cargo.lock", "lock");
    std::fs::create_dir_all(p.path("src/sub")).unwrap();
    std::fs::write(p.path("src/sub/b.rs"), "b").unwrap();
    p
}

fn runs(p: &Prun) -> usize {
    p.read("runs").lines().count()
}

fn report(p: &Prun) -> Value {
    serde_json::from_str(&p.read("r.json")).unwrap()
}

fn a_second_run_skips_with_the_reason_and_replays_the_outputs() {
    let p = project().args(&["--report", "r.json"]);
    let r = p.run();
    r.code(0);
    assert!(
        r.stderr.contains("job 'build' runs: no fingerprint yet"),
        "{}",
        r.stderr
    );
    assert_eq!(runs(&p), 1);
    assert_eq!(p.read("seen"), "6\n");
    std::fs::remove_file(p.path("seen")).unwrap();
    let r = p.run();
    r.code(0);
    assert_eq!(runs(&p), 1, "up to date: not run");
    assert!(
        r.stderr
            .contains("job 'build': up to date: 3 sources unchanged since 20"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("1 succeeded, 1 up to date, 0 failed"),
        "{}",
        r.stderr
    );
    assert_eq!(
        p.read("seen"),
        "6\n",
        "the dependent sees the saved outputs"
    );
    let rep = report(&p);
    assert_eq!(rep["jobs"][0]["status"], "up-to-date");
    assert_eq!(rep["totals"]["up_to_date"], 1);
    assert!(
        rep["jobs"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("up to date: 3 sources")
    );
}

fn touch_without_change_stays_up_to_date_and_each_change_says_what() {
    let p = project();
    p.run().code(0);
    // Same bytes, new mtime: still up to date (a checksum, not a timestamp).
    std::fs::write(p.path("src/a.rs"), "a").unwrap();
    p.run().code(0);
    assert_eq!(runs(&p), 1);
    type Change<'a> = &'a dyn Fn(&Prun);
    let cases: [(Change, &str); 5] = [
        (
            &|p| std::fs::write(p.path("src/a.rs"), "A").unwrap(),
            "src/a.rs changed",
        ),
        (
            &|p| std::fs::write(p.path("src/new.rs"), "n").unwrap(),
            "src/new.rs added",
        ),
        (
            &|p| std::fs::remove_file(p.path("src/sub/b.rs")).unwrap(),
            "src/sub/b.rs removed",
        ),
        (
            &|p| std::fs::remove_file(p.path("out/app")).unwrap(),
            "out/app missing",
        ),
        (
            &|p| std::fs::write(p.path("Cargo.lock"), "lock2").unwrap(),
            "Cargo.lock changed",
        ),
    ];
    for (i, (change, why)) in cases.iter().enumerate() {
        change(&p);
        let r = p.run();
        r.code(0);
        assert!(
            r.stderr.contains(&format!("job 'build' runs: {why}")),
            "{why}: {}",
            r.stderr
        );
        assert_eq!(runs(&p), 2 + i, "{why}");
        p.run().code(0);
        assert_eq!(runs(&p), 2 + i, "{why}: up to date again after its run");
    }
}

fn run_text_env_and_output_dependent_env_changes_run_it_again() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: gen
    run: echo "v=$V" >> "$PRUN_OUTPUT"
    env: { V: "1" }
  - name: build
    needs: [gen]
    sources: [in.txt]
    env: { FROM_GEN: "${{ needs.gen.outputs.v }}", TOKEN: "secret-1" }
    run: echo ran >> runs
"#,
        )
        .file("in.txt", "x");
    p.run().code(0);
    p.run().code(0);
    assert_eq!(runs(&p), 1);
    let state = std::fs::read_to_string(p.path(".prun/build.json")).unwrap();
    assert!(
        !state.contains("secret-1"),
        "env values are kept as hashes only\n{state}"
    );
    // An env value of its own.
    let yaml = p.read("jobs.yaml").replace("secret-1", "secret-2");
    std::fs::write(p.path("jobs.yaml"), &yaml).unwrap();
    let r = p.run();
    assert!(r.stderr.contains("runs: env TOKEN changed"), "{}", r.stderr);
    // An env value made from a need's outputs.
    std::fs::write(p.path("jobs.yaml"), yaml.replace("V: \"1\"", "V: \"2\"")).unwrap();
    let r = p.run();
    assert!(
        r.stderr.contains("runs: env FROM_GEN changed"),
        "{}",
        r.stderr
    );
    // The run text.
    let yaml = p
        .read("jobs.yaml")
        .replace("echo ran >> runs", "echo ran >> runs; true");
    std::fs::write(p.path("jobs.yaml"), yaml).unwrap();
    let r = p.run();
    assert!(r.stderr.contains("runs: run text changed"), "{}", r.stderr);
    assert_eq!(runs(&p), 4);
}

fn a_matrix_keeps_a_fingerprint_per_value_and_runs_only_the_changed_one() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: pkg
    matrix: { name: [a, b, "c*"] }
    sources: ["pkgs/${{ matrix.name }}.txt"]
    run: echo "$name" >> runs
"#,
        )
        .file("pkgs/a.txt", "1")
        .file("pkgs/b.txt", "1")
        .file("pkgs/c*.txt", "1")
        .file("pkgs/cx.txt", "1");
    p.run().code(0);
    assert_eq!(runs(&p), 3);
    p.run().code(0);
    assert_eq!(runs(&p), 3, "all three up to date");
    std::fs::write(p.path("pkgs/b.txt"), "2").unwrap();
    // A value is a name, not a pattern: `c*` does not see cx.txt.
    std::fs::write(p.path("pkgs/cx.txt"), "2").unwrap();
    let r = p.run();
    r.code(0);
    let mut lines: Vec<String> = p.read("runs").lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["a", "b", "b", "c*"], "{}", r.stderr);
    assert!(
        r.stderr
            .contains("job 'pkg[name=b]' runs: pkgs/b.txt changed"),
        "{}",
        r.stderr
    );
    for v in ["a", "b", "c*"] {
        assert!(p.path(&format!(".prun/pkg[name={v}].json")).exists(), "{v}");
    }
}

fn a_failure_or_a_check_or_a_dry_run_never_writes_a_fingerprint() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: build
    sources: [in.txt]
    run: echo ran >> runs; test -e ok
"#,
        )
        .file("in.txt", "x");
    p.run_with(&["--check"]).code(0);
    let r = p.run_with(&["--dry-run"]);
    r.code(0);
    assert!(
        r.stdout.contains("would run: no fingerprint yet"),
        "{}",
        r.stdout
    );
    assert!(
        !p.path(".prun").exists(),
        "--check and --dry-run write nothing"
    );
    p.run().code(1);
    p.run().code(1);
    assert_eq!(runs(&p), 2, "a failed run saves nothing: it runs again");
    assert!(!p.path(".prun/build.json").exists());
    std::fs::write(p.path("ok"), "").unwrap();
    p.run().code(0);
    let r = p.run_with(&["--dry-run"]);
    assert!(
        r.stdout
            .contains("would skip: up to date: 1 source unchanged"),
        "{}",
        r.stdout
    );
    p.run().code(0);
    assert_eq!(runs(&p), 3);
}

fn force_runs_all_or_one_and_refreshes_the_fingerprint() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: a
    sources: [in.txt]
    run: echo a >> runs
  - name: b
    sources: [in.txt]
    run: echo b >> runs
"#,
        )
        .file("in.txt", "x");
    p.run().code(0);
    let r = p.run_with(&["--force=b"]);
    r.code(0);
    assert!(r.stderr.contains("job 'b' runs: --force"), "{}", r.stderr);
    assert_eq!(
        p.read("runs").matches('b').count(),
        2,
        "b ran again, a did not"
    );
    assert_eq!(runs(&p), 3);
    p.run_with(&["--force"]).code(0);
    assert_eq!(runs(&p), 5);
    let r = p.run_with(&["--force=nope"]);
    r.code(2);
    assert!(r.stderr.contains("no job is named 'nope'"), "{}", r.stderr);
}

fn a_corrupt_or_foreign_state_file_is_ignored_with_a_warning() {
    let p = Prun::new()
        .jobfile("jobs:\n  - name: build\n    sources: [in.txt]\n    run: echo ran >> runs\n")
        .file("in.txt", "x")
        .file(".prun/build.json", "{ not json");
    let r = p.run();
    r.code(0);
    assert!(
        r.stderr
            .contains("runs: its saved fingerprint is unreadable"),
        "{}",
        r.stderr
    );
    p.run().code(0);
    assert_eq!(runs(&p), 1, "the corrupt file was replaced by a good one");
}

fn status_commands_and_an_empty_glob() {
    let p = Prun::new().jobfile(
        r#"
jobs:
  - name: fetch
    status: test -e fetched
    run: echo f >> runs; touch fetched
  - name: globbed
    sources: ["nothing/*.c"]
    run: echo g >> runs
"#,
    );
    let r = p.run();
    r.code(0);
    assert!(
        r.stderr
            .contains("job 'fetch' runs: status `test -e fetched` ended with exit 1"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("job 'globbed' runs: no file matches its sources glob 'nothing/*.c'"),
        "{}",
        r.stderr
    );
    let r = p.run();
    assert!(
        r.stderr
            .contains("job 'fetch': up to date: its status commands exited 0"),
        "{}",
        r.stderr
    );
    let mut lines: Vec<String> = p.read("runs").lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["f", "g", "g"]);
}

fn two_runs_at_once_on_one_state_dir_leave_whole_state_files() {
    let mut yaml = String::from("jobs:\n");
    for i in 0..40 {
        yaml.push_str(&format!(
            "  - name: j{i}\n    sources: [in.txt]\n    run: 'true'\n"
        ));
    }
    let p = Prun::new().jobfile(&yaml).file("in.txt", "x");
    let a = p.command().args(["--force", "-j", "4"]).spawn().unwrap();
    let b = p.command().args(["--force", "-j", "4"]).spawn().unwrap();
    assert!(a.wait_with_output().unwrap().status.success());
    assert!(b.wait_with_output().unwrap().status.success());
    for i in 0..40 {
        let text = std::fs::read_to_string(p.path(&format!(".prun/j{i}.json"))).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("j{i}: {e}\n{text}"));
        assert_eq!(v["job"], format!("j{i}"));
    }
    let r = p.run();
    assert!(r.stderr.contains("40 up to date"), "{}", r.stderr);
}

fn check_refuses_bad_up_to_date_keys() {
    let cases = [
        (
            "jobs:\n  - name: a\n    sources: []\n    run: 'true'\n",
            "`sources:` is empty",
        ),
        (
            "jobs:\n  - name: a\n    sources: ['/abs/*']\n    run: 'true'\n",
            "an absolute path",
        ),
        (
            "jobs:\n  - name: a\n    sources: ['src/[']\n    run: 'true'\n",
            "glob 'src/['",
        ),
        (
            "jobs:\n  - name: a\n    generates: [x]\n    run: 'true'\n",
            "no `sources:` or `status:`",
        ),
        (
            "jobs:\n  - name: a\n    status: ''\n    run: 'true'\n",
            "empty command",
        ),
        (
            "jobs:\n  - name: s\n    service: true\n    sources: [x]\n    run: sleep 1\n  - name: a\n    needs: [s]\n    run: 'true'\n",
            "a service is never up to date",
        ),
    ];
    for (yaml, want) in cases {
        let p = Prun::new().jobfile(yaml).arg("--check");
        let r = p.run();
        assert_eq!(r.code, 2, "{yaml}\n{}", r.stderr);
        assert!(r.stderr.contains(want), "{yaml}\nwant {want}\n{}", r.stderr);
        assert!(r.stderr.contains("jobs.yaml:"), "not located\n{}", r.stderr);
    }
}

fn resume_trusts_a_success_in_the_joblog_and_checks_an_up_to_date_job_again() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: build
    sources: [in.txt]
    run: echo ran >> runs
  - name: flaky
    needs: [build]
    run: test -e ok
"#,
        )
        .file("in.txt", "x")
        .args(&["--joblog", "joblog", "--resume"]);
    p.run().code(1);
    assert_eq!(runs(&p), 1);
    // build succeeded in the joblog: --resume wins, it is neither run nor checked.
    std::fs::write(p.path("in.txt"), "changed").unwrap();
    std::fs::write(p.path("ok"), "").unwrap();
    let r = p.run();
    r.code(0);
    assert_eq!(runs(&p), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("already succeeded in an earlier run"),
        "{}",
        r.stderr
    );
    // A fresh joblog: build runs for its change; flaky fails.
    std::fs::remove_file(p.path("joblog")).unwrap();
    std::fs::remove_file(p.path("ok")).unwrap();
    p.run().code(1);
    assert_eq!(runs(&p), 2);
    // Another: build is up to date, recorded so; flaky fails again...
    std::fs::remove_file(p.path("joblog")).unwrap();
    p.run().code(1);
    assert_eq!(runs(&p), 2);
    assert!(p.read("joblog").contains("up-to-date"));
    // ... and checked again, not trusted, once its source changes.
    std::fs::write(p.path("in.txt"), "again").unwrap();
    std::fs::write(p.path("ok"), "").unwrap();
    let r = p.run();
    r.code(0);
    assert!(
        r.stderr.contains("job 'build' runs: in.txt changed"),
        "{}",
        r.stderr
    );
    assert_eq!(runs(&p), 3);
}

fn dry_run_shows_globs_that_leave_the_workdir_and_the_verdict() {
    let p = Prun::new()
        .jobfile(
            r#"
jobs:
  - name: build
    workdir: sub
    sources: [../shared.txt, a.txt]
    generates: [out]
    run: "true"
"#,
        )
        .file("shared.txt", "s")
        .file("sub/a.txt", "a");
    let r = p.run_with(&["--dry-run"]);
    r.code(0);
    assert!(
        r.stdout.contains("outside its workdir: ../shared.txt"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("would run: no fingerprint yet"),
        "{}",
        r.stdout
    );
}

crate::tests!(
    a_second_run_skips_with_the_reason_and_replays_the_outputs,
    touch_without_change_stays_up_to_date_and_each_change_says_what,
    run_text_env_and_output_dependent_env_changes_run_it_again,
    a_matrix_keeps_a_fingerprint_per_value_and_runs_only_the_changed_one,
    a_failure_or_a_check_or_a_dry_run_never_writes_a_fingerprint,
    force_runs_all_or_one_and_refreshes_the_fingerprint,
    a_corrupt_or_foreign_state_file_is_ignored_with_a_warning,
    status_commands_and_an_empty_glob,
    two_runs_at_once_on_one_state_dir_leave_whole_state_files,
    check_refuses_bad_up_to_date_keys,
    resume_trusts_a_success_in_the_joblog_and_checks_an_up_to_date_job_again,
    dry_run_shows_globs_that_leave_the_workdir_and_the_verdict,
);
