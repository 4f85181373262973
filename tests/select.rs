//! matrix, --tag and --job.

use crate::util::Prun;

fn a_2x2_matrix_makes_four_jobs_with_the_values_in_the_environment() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: build\n    matrix:\n      os: [linux, \"mac os\"]\n      arch: [x86, arm]\n    run: echo \"$PRUN_JOB $os $arch\" >> built\n",
    );
    p.run().code(0);
    let mut built: Vec<String> = p.read("built").lines().map(str::to_owned).collect();
    built.sort();
    assert_eq!(
        built,
        [
            "build[os=linux,arch=arm] linux arm",
            "build[os=linux,arch=x86] linux x86",
            "build[os=mac os,arch=arm] mac os arm",
            "build[os=mac os,arch=x86] mac os x86",
        ]
    );
}

fn matrix_values_are_never_pasted_into_the_command() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: t\n    matrix: {x: [\"$(touch pwned)\"]}\n    run: echo \"$x\" > got\n",
    );
    p.run().code(0);
    assert_eq!(p.read("got"), "$(touch pwned)\n");
    assert!(!p.path("pwned").exists());
}

const TAGGED: &str = r#"
jobs:
  - name: setup
    run: echo setup >> ran
  - name: unit
    tags: [fast]
    needs: [setup]
    run: echo unit >> ran
  - name: e2e
    tags: [slow]
    run: echo e2e >> ran
  - name: lint
    tags: [fast]
    run: echo lint >> ran
"#;

fn tag_selects_jobs_and_pulls_in_what_they_need() {
    let p = Prun::new()
        .jobfile(TAGGED)
        .args(&["--tag", "fast", "-j", "1"]);
    p.run().code(0);
    assert_eq!(p.read("ran"), "setup\nunit\nlint\n");
}

fn job_selects_by_name_and_is_repeatable() {
    let p = Prun::new()
        .jobfile(TAGGED)
        .args(&["--job", "e2e", "--job", "lint", "-j", "1"]);
    p.run().code(0);
    assert_eq!(p.read("ran"), "e2e\nlint\n");
}

fn an_unknown_job_or_tag_is_a_usage_error() {
    let r = Prun::new().jobfile(TAGGED).args(&["--job", "unti"]).run();
    r.code(2);
    assert!(
        r.stderr
            .contains("no job is named 'unti' (did you mean 'unit'?)"),
        "{}",
        r.stderr
    );
    let r = Prun::new()
        .jobfile(TAGGED)
        .args(&["--tag", "nightly"])
        .run();
    r.code(2);
    assert!(
        r.stderr
            .contains("the tags in this jobfile are: fast, slow"),
        "{}",
        r.stderr
    );
}

crate::tests!(
    a_2x2_matrix_makes_four_jobs_with_the_values_in_the_environment,
    matrix_values_are_never_pasted_into_the_command,
    tag_selects_jobs_and_pulls_in_what_they_need,
    job_selects_by_name_and_is_repeatable,
    an_unknown_job_or_tag_is_a_usage_error,
);
