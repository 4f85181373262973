//! Dynamic matrices: jobs made at run time from a glob, a file's lines or a needed job's
//! output, each expansion a job of its own (names, logs, needs, resume, order).

use serde_json::Value;

use crate::util::Prun;

fn report(p: &Prun) -> Value {
    serde_json::from_str(&p.read("r.json")).unwrap()
}

fn names(r: &Value) -> Vec<String> {
    r["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap().to_owned())
        .collect()
}

fn a_glob_makes_one_job_per_file_and_its_dependents_wait_for_all() {
    let p = Prun::new().jobfile(
        r#"jobs:
  - name: make
    run: mkdir -p photos/sub && touch photos/b.jpg photos/a.jpg photos/sub/c.jpg photos/x.png
  - name: resize
    needs: [make]
    matrix: { file: { glob: "photos/**/*.jpg" } }
    run: echo "$file" >> done; touch "$file.small"
  - name: after
    needs: [resize]
    run: cat done | sort > after
"#,
    );
    p.run_with(&["--report", "r.json", "--log-dir", "logs", "-j", "2"])
        .code(0);
    let r = report(&p);
    assert_eq!(
        names(&r),
        [
            "make",
            "resize[file=photos/a.jpg]",
            "resize[file=photos/b.jpg]",
            "resize[file=photos/sub/c.jpg]",
            "after"
        ]
    );
    assert_eq!(
        p.read("after"),
        "photos/a.jpg\nphotos/b.jpg\nphotos/sub/c.jpg\n"
    );
    assert!(p.path("photos/sub/c.jpg.small").exists());
    assert!(
        p.path("logs/resize[file=photos%2Fsub%2Fc.jpg].log")
            .exists()
    );
}

fn values_from_lines_and_from_outputs_in_each_form() {
    for (write, want) in [
        (r#"printf 'list=["a b", "c"]\n'"#, vec!["a b", "c"]),
        (r#"printf 'list<<E\none\ntwo\nE\n'"#, vec!["one", "two"]),
        (r#"printf 'list=x, y,z\n'"#, vec!["x", "y", "z"]),
    ] {
        let p = Prun::new().jobfile(&format!(
            "jobs:\n  - name: src\n    run: {write} >> \"$PRUN_OUTPUT\"\n  - name: each\n    needs: [src]\n    matrix: {{v: \"${{{{ needs.src.outputs.list }}}}\"}}\n    run: printf '%s\\n' \"$v\" >> got\n"
        ));
        p.run_with(&["-j", "1"]).code(0);
        let got: Vec<String> = p.read("got").lines().map(str::to_owned).collect();
        assert_eq!(got, want, "{write}");
    }
    let p = Prun::new()
        .file("hosts.txt", "web1\n\ndb1\n")
        .jobfile("jobs:\n  - name: ping\n    matrix: {host: {lines: hosts.txt}, n: [1, 2]}\n    run: echo \"$host-$n\" >> got\n");
    p.run_with(&["-j", "1", "--report", "r.json"]).code(0);
    assert_eq!(p.read("got"), "web1-1\nweb1-2\ndb1-1\ndb1-2\n");
    assert_eq!(names(&report(&p))[0], "ping[host=web1,n=1]");
}

fn an_empty_matrix_makes_no_jobs_and_says_so() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: each\n    matrix: {f: {glob: '*.none'}}\n    run: touch ran\n  - name: after\n    needs: [each]\n    run: touch after\n",
    );
    let r = p.run_with(&["--report", "r.json"]);
    r.code(0);
    assert!(!p.path("ran").exists());
    assert!(p.path("after").exists());
    assert!(
        r.stderr
            .contains("matrix of 'each' has no values (f from glob '*.none'): it makes no jobs"),
        "{}",
        r.stderr
    );
    assert_eq!(names(&report(&p)), ["after"]);
}

fn values_that_cannot_be_found_fail_the_matrix_and_skip_its_dependents() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: each\n    matrix: {h: {lines: missing.txt}}\n    run: touch ran\n  - name: after\n    needs: [each]\n    run: touch after\n",
    );
    let r = p.run_with(&["--report", "r.json"]);
    r.code(1);
    assert!(
        r.stderr.contains("cannot read the lines of"),
        "{}",
        r.stderr
    );
    let rep = report(&p);
    assert_eq!(rep["jobs"][0]["name"], "each");
    assert_eq!(rep["jobs"][0]["status"], "failed");
    assert_eq!(rep["jobs"][1]["status"], "skipped");
    assert!(!p.path("after").exists());
}

fn hostile_values_stay_data_and_their_names_stay_safe() {
    let p = Prun::new().jobfile(
        r#"jobs:
  - name: src
    run: printf 'v<<E\n$(touch pwned)\n../../escape\n\033[31mred\nE\n' >> "$PRUN_OUTPUT"
  - name: each
    needs: [src]
    matrix: { v: "${{ needs.src.outputs.v }}" }
    run: printf '%s\n' "$v" >> got
"#,
    );
    let r = p.run_with(&["--log-dir", "logs", "-j", "1"]);
    r.code(0);
    assert!(!p.path("pwned").exists());
    assert_eq!(p.read("got"), "$(touch pwned)\n../../escape\n\x1b[31mred\n");
    assert!(!r.stderr.contains('\x1b') && !r.stdout.contains("each[v=\x1b"));
    assert!(p.path("logs/each[v=..%2F..%2Fescape].log").exists());
}

fn keep_order_shows_the_jobs_of_a_matrix_where_it_is() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: first\n    run: sleep 0.3; echo first\n  - name: each\n    matrix: {n: {lines: n.txt}}\n    run: echo \"each $n\"\n  - name: last\n    run: echo last\n",
    );
    std::fs::write(p.path("n.txt"), "1\n2\n").unwrap();
    let r = p.run_with(&["-j", "3", "--keep-order", "--output", "line"]);
    r.code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "[first] first",
            "[each[n=1]] each 1",
            "[each[n=2]] each 2",
            "[last] last"
        ]
    );
}

fn resume_reruns_only_the_expansions_that_did_not_succeed() {
    let p = Prun::new()
        .file("n.txt", "1\n2\n3\n")
        .jobfile("jobs:\n  - name: each\n    matrix: {n: {lines: n.txt}}\n    run: echo $n >> ran; test $n != 2 || test -e fixed\n")
        .args(&["--joblog", "jl", "-j", "1"]);
    p.run().code(1);
    std::fs::write(p.path("fixed"), "").unwrap();
    p.run_with(&["--resume"]).code(0);
    assert_eq!(p.read("ran"), "1\n2\n3\n2\n");
}

fn a_dynamic_matrix_is_shown_by_dry_run_and_refused_when_it_cannot_work() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: each\n    matrix: {f: {glob: 'in/*.txt'}}\n    run: 'true'\n")
        .arg("--dry-run")
        .run();
    r.code(0);
    assert!(
        r.stdout.contains(
            "matrix, expanded at run time once its needs succeeded: f from glob 'in/*.txt'"
        ),
        "{}",
        r.stdout
    );
    for (yaml, want) in [
        (
            "jobs:\n  - name: a\n    run: 'true'\n  - name: e\n    matrix: {v: '${{ needs.a.outputs.k }}'}\n    run: 'true'\n",
            "which it does not need",
        ),
        (
            "jobs:\n  - name: e\n    matrix: {v: plain}\n    run: 'true'\n",
            "is not a list of values",
        ),
        (
            "jobs:\n  - name: e\n    matrix: {v: {files: x}}\n    run: 'true'\n",
            "unknown source 'files'",
        ),
    ] {
        let r = Prun::new().jobfile(yaml).arg("--check").run();
        r.code(2);
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
    }
}

/// Regression: a jobfile whose only job is a dynamic matrix ran its jobs one at a time
/// whatever `-j` said (the pool was sized to the one written job).
fn the_jobs_of_a_dynamic_matrix_use_every_slot() {
    // Each job waits until all four have started: with fewer than four slots the
    // first never sees the others, and fails after 10 s.
    let run = "touch \"started-$x\"; i=0; while [ \"$(ls started-* | wc -l)\" -lt 4 ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 1; sleep 0.01; done";
    let yaml =
        format!("jobs:\n  - name: m\n    matrix: {{x: {{lines: vals.txt}}}}\n    run: '{run}'\n");
    let p = Prun::new().jobfile(&yaml).file("vals.txt", "a\nb\nc\nd\n");
    let r = p.run_with(&["-j", "4"]);
    r.code(0);
    assert!(r.stderr.contains("4 succeeded"), "{}", r.stderr);
}

crate::tests!(
    a_glob_makes_one_job_per_file_and_its_dependents_wait_for_all,
    values_from_lines_and_from_outputs_in_each_form,
    an_empty_matrix_makes_no_jobs_and_says_so,
    values_that_cannot_be_found_fail_the_matrix_and_skip_its_dependents,
    hostile_values_stay_data_and_their_names_stay_safe,
    keep_order_shows_the_jobs_of_a_matrix_where_it_is,
    resume_reruns_only_the_expansions_that_did_not_succeed,
    a_dynamic_matrix_is_shown_by_dry_run_and_refused_when_it_cannot_work,
    the_jobs_of_a_dynamic_matrix_use_every_slot,
);
