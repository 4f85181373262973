//! Outputs: jobs pass results to their hooks, to the jobs that need them, to the reports
//! and to the run-level hooks (`PRUN_OUTPUT`, `${{ needs.J.outputs.K }}`, `PRUN_NEEDS`).

use std::path::Path;

use serde_json::Value;

use crate::util::Prun;

fn report(p: &Prun, file: &str) -> Value {
    serde_json::from_str(&p.read(file)).unwrap()
}

fn outputs_reach_hooks_reports_run_level_hooks_and_junit() {
    let p = Prun::new().jobfile(
        r#"on_complete: cat "$PRUN_REPORT" > run.json
jobs:
  - name: list
    run: |
      echo "dbs=app,users" >> "$PRUN_OUTPUT"
      printf 'notes<<EOF\nline one\nline two\nEOF\n' >> "$PRUN_OUTPUT"
    on_success: cat > hook.json
  - name: plain
    run: 'true'
"#,
    );
    p.run_with(&["--report", "r.json", "--junit", "j.xml"])
        .code(0);
    let hook: Value = serde_json::from_str(&p.read("hook.json")).unwrap();
    assert_eq!(hook["outputs"]["dbs"], "app,users");
    assert_eq!(hook["outputs"]["notes"], "line one\nline two");
    let r = report(&p, "r.json");
    assert_eq!(r["jobs"][0]["outputs"]["dbs"], "app,users");
    assert_eq!(r["jobs"][1]["outputs"], serde_json::json!({}));
    assert_eq!(r["outputs"]["list"]["notes"], "line one\nline two");
    assert!(r["outputs"].get("plain").is_none());
    let run = report(&p, "run.json");
    assert_eq!(run["outputs"]["list"]["dbs"], "app,users");
    let xml = p.read("j.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let prop = doc
        .descendants()
        .find(|n| {
            n.has_tag_name("property")
                && n.attribute("name")
                    .is_some_and(|a| a.ends_with("/output.dbs"))
        })
        .expect("a JUnit property for the output");
    assert_eq!(prop.attribute("value"), Some("app,users"));
}

fn outputs_reach_dependents_as_data_never_as_code() {
    let p = Prun::new().jobfile(
        r#"jobs:
  - name: make
    run: |
      printf 'evil=$(touch pwned) `touch pwned2` '"'"'quoted'"'"' "dq"\n' >> "$PRUN_OUTPUT"
      printf 'multi<<END\nfirst\n$(touch pwned3)\nEND\n' >> "$PRUN_OUTPUT"
  - name: use
    needs: [make]
    env:
      EVIL: "${{ needs.make.outputs.evil }}"
      BOTH: "<${{ needs.make.outputs.multi }}>"
    run: printf '%s|%s' "$EVIL" "$BOTH" > got; cat "$PRUN_NEEDS" > needs.json
"#,
    );
    p.run().code(0);
    assert_eq!(
        p.read("got"),
        "$(touch pwned) `touch pwned2` 'quoted' \"dq\"|<first\n$(touch pwned3)>"
    );
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(!p.path(f).exists(), "{f} was created: a value ran as code");
    }
    let needs: Value = serde_json::from_str(&p.read("needs.json")).unwrap();
    assert_eq!(needs["make"]["status"], "success");
    assert_eq!(needs["make"]["outputs"]["multi"], "first\n$(touch pwned3)");
}

fn a_missing_output_fails_the_dependent_before_it_starts() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: 'true'\n  - name: b\n    needs: [a]\n    env: {V: '${{ needs.a.outputs.nope }}'}\n    run: touch ran\n",
    );
    let r = p.run();
    r.code(1);
    assert!(!p.path("ran").exists());
    assert!(
        r.stderr
            .contains("its env V uses output 'nope' of 'a', which 'a' did not write"),
        "{}",
        r.stderr
    );
}

fn a_malformed_output_file_fails_the_job_with_the_line_and_reason() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: bad\n    run: printf 'ok=1\\nnot a pair\\n' >> \"$PRUN_OUTPUT\"\n",
    );
    let r = p.run_with(&["--report", "r.json"]);
    r.code(1);
    assert!(
        r.stderr
            .contains("PRUN_OUTPUT line 2: 'not a pair' is neither key=value"),
        "{}",
        r.stderr
    );
    assert_eq!(report(&p, "r.json")["jobs"][0]["status"], "failed");
    let big = Prun::new().jobfile(
        "jobs:\n  - name: big\n    run: head -c 1100000 /dev/zero | tr '\\0' a | sed 's/^/k=/' >> \"$PRUN_OUTPUT\"\n",
    );
    let r = big.run();
    r.code(1);
    assert!(r.stderr.contains("bigger than 1024 KiB"), "{}", r.stderr);
    // A FIFO left at the path must not hang prun, and a link is not followed.
    let odd = Prun::new().jobfile(
        "jobs:\n  - name: fifo\n    run: mkfifo \"$PRUN_OUTPUT\"\n  - name: link\n    run: ln -s /etc/hostname \"$PRUN_OUTPUT\"\n",
    );
    let r = odd.run_with(&["--report", "r.json"]);
    r.code(1);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    let jobs = &report(&odd, "r.json")["jobs"];
    assert_eq!(
        (jobs[0]["status"].as_str(), jobs[1]["status"].as_str()),
        (Some("failed"), Some("failed"))
    );
}

fn references_that_cannot_work_are_jobfile_errors() {
    for (yaml, want) in [
        (
            "jobs:\n  - name: a\n    run: 'true'\n  - name: b\n    env: {V: '${{ needs.a.outputs.k }}'}\n    run: 'true'\n",
            "uses outputs of 'a', which it does not need",
        ),
        (
            "jobs:\n  - name: m\n    matrix: {x: [1, 2]}\n    run: 'true'\n  - name: b\n    needs: [m]\n    env: {V: '${{ needs.m.outputs.k }}'}\n    run: 'true'\n",
            "'m' is a matrix",
        ),
        (
            "jobs:\n  - name: a\n    run: 'true'\n  - name: b\n    needs: [a]\n    env: {V: '${{ needs.a.output.k }}'}\n    run: 'true'\n",
            "is not a reference to an output",
        ),
        (
            "env: {V: '${{ needs.a.outputs.k }}'}\njobs:\n  - name: a\n    run: 'true'\n",
            "only a job's own `env` can use outputs",
        ),
    ] {
        let r = Prun::new().jobfile(yaml).arg("--check").run();
        r.code(2);
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
        assert!(r.stderr.contains("jobs.yaml:"), "not located: {}", r.stderr);
    }
}

fn dry_run_shows_env_values_filled_in_from_outputs() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: a\n    run: 'true'\n  - name: b\n    needs: [a]\n    env: {V: 'x-${{ needs.a.outputs.k }}'}\n    run: 'true'\n")
        .arg("--dry-run")
        .run();
    r.code(0);
    assert!(
        r.stdout
            .contains("env V: at start, x-${{ needs.a.outputs.k }}"),
        "{}",
        r.stdout
    );
}

fn resume_restores_the_outputs_of_the_jobs_it_skips() {
    let p = Prun::new()
        .jobfile(
            "jobs:\n  - name: a\n    run: echo \"v=$PRUN_RUN_ID\" >> \"$PRUN_OUTPUT\"\n  - name: b\n    needs: [a]\n    env: {V: '${{ needs.a.outputs.v }}'}\n    run: echo \"$V\" >> seen; test -e fixed\n",
        )
        .args(&["--joblog", "jl"]);
    p.run().code(1);
    std::fs::write(p.path("fixed"), "").unwrap();
    p.run_with(&["--resume"]).code(0);
    let seen: Vec<String> = p.read("seen").lines().map(str::to_owned).collect();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1], "b saw another value after the resume");
}

fn an_unusable_tmpdir_stops_the_run_before_anything_runs() {
    let p = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .env("TMPDIR", "/nonexistent-prun-tmp");
    let r = p.run();
    r.code(2);
    assert!(!p.path("ran").exists());
    assert!(
        r.stderr.contains("$TMPDIR) /nonexistent-prun-tmp"),
        "{}",
        r.stderr
    );
}

/// The jobs of the run-files tests: one writes an output, one reads it through env and
/// `PRUN_NEEDS`, and both say where their files are.
const RUN_FILES: &str = "jobs:\n  - name: a\n    run: echo k=v >> \"$PRUN_OUTPUT\"; echo \"$PRUN_OUTPUT\" > a.path\n  - name: b\n    needs: [a]\n    env: {K: \"${{ needs.a.outputs.k }}\"}\n    run: echo \"$K\" > b.k; echo \"$PRUN_NEEDS\" > b.path\n";

/// The uid prun runs as here.
fn uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

fn run_files_go_in_the_users_private_directory_and_are_gone_after_the_run() {
    let p = Prun::new().jobfile(RUN_FILES);
    let tmp = p.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let p = p.env("TMPDIR", tmp.to_str().unwrap());
    p.run().code(0);
    assert_eq!(p.read("b.k"), "v\n");
    let shared = tmp.join(format!("prun-{}", uid()));
    for file in ["a.path", "b.path"] {
        let path = p.read(file);
        assert!(
            path.starts_with(&format!("{}/", shared.display())),
            "{file}: {path}"
        );
    }
    let meta = std::fs::symlink_metadata(&shared).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    let left: Vec<_> = std::fs::read_dir(&shared).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

fn a_planted_or_open_run_directory_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    for plant in ["link", "open"] {
        let p = Prun::new().jobfile(RUN_FILES);
        let tmp = p.path("tmp");
        let elsewhere = p.path("elsewhere");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::create_dir(&elsewhere).unwrap();
        let shared = tmp.join(format!("prun-{}", uid()));
        if plant == "link" {
            std::os::unix::fs::symlink(&elsewhere, &shared).unwrap();
        } else {
            std::fs::create_dir(&shared).unwrap();
            std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let p = p.env("TMPDIR", tmp.to_str().unwrap());
        p.run().code(0);
        assert_eq!(p.read("b.k"), "v\n", "{plant}");
        // A directory of the run's own instead, removed (by the keeper) just after.
        let path = p.read("a.path");
        assert!(
            path.starts_with(&format!("{}/prun-run-", tmp.display())),
            "{plant}: {path}"
        );
        let own = Path::new(path.trim_end()).parent().unwrap().to_path_buf();
        let t = std::time::Instant::now();
        while own.exists() && t.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!own.exists(), "{plant}: {} was left", own.display());
        assert!(
            std::fs::read_dir(&elsewhere).unwrap().next().is_none(),
            "{plant}: prun wrote through the link"
        );
    }
}

fn after_a_sigkill_the_keeper_removes_the_runs_files() {
    let yaml = "jobs:\n  - name: a\n    run: echo k=v >> \"$PRUN_OUTPUT\"\n  - name: b\n    needs: [a]\n    run: touch started; sleep 30\n";
    let p = Prun::new().jobfile(yaml);
    let tmp = p.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let p = p.env("TMPDIR", tmp.to_str().unwrap());
    let mut child = p
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while !p.path("started").exists() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "b never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let shared = tmp.join(format!("prun-{}", uid()));
    let files = || std::fs::read_dir(&shared).unwrap().count();
    assert_eq!(files(), 1, "b's PRUN_NEEDS file is there while it runs");
    child.kill().unwrap();
    child.wait().unwrap();
    // The keeper stops b (SIGTERM, then SIGKILL after the grace period), then removes.
    let t = std::time::Instant::now();
    while files() > 0 && t.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(files(), 0, "the run's files were left behind");
}

crate::tests!(
    outputs_reach_hooks_reports_run_level_hooks_and_junit,
    outputs_reach_dependents_as_data_never_as_code,
    a_missing_output_fails_the_dependent_before_it_starts,
    a_malformed_output_file_fails_the_job_with_the_line_and_reason,
    references_that_cannot_work_are_jobfile_errors,
    dry_run_shows_env_values_filled_in_from_outputs,
    resume_restores_the_outputs_of_the_jobs_it_skips,
    an_unusable_tmpdir_stops_the_run_before_anything_runs,
    run_files_go_in_the_users_private_directory_and_are_gone_after_the_run,
    a_planted_or_open_run_directory_is_not_used,
    after_a_sigkill_the_keeper_removes_the_runs_files,
);
