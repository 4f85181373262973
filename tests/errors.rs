//! Every jobfile and usage error: exit 2, nothing runs, and the message (snapshotted)
//! says what is wrong, where, and how to fix it.

use crate::util::Prun;

/// Runs prun on `yaml`, which would `touch ran` if anything ran; checks exit 2, that
/// nothing ran and nothing went to stdout; returns stderr for the snapshot.
#[track_caller]
fn refused(yaml: &str, args: &[&str]) -> String {
    let p = Prun::new().jobfile(yaml).args(args);
    let r = p.run();
    r.code(2);
    assert!(!p.path("ran").exists(), "a job ran");
    assert_eq!(r.stdout, "");
    r.stderr
}

macro_rules! error_case {
    ($name:ident, $yaml:expr) => {
        error_case!($name, $yaml, &[]);
    };
    ($name:ident, $yaml:expr, $args:expr) => {
        fn $name() {
            insta::assert_snapshot!(refused($yaml, $args));
        }
    };
}

error_case!(
    unknown_key_suggests_the_right_one,
    "jobs:\n  - name: a\n    run: touch ran\n    hook_timout: 5m\n"
);
error_case!(
    unknown_top_level_key,
    "concurency: 2\njobs:\n  - touch ran\n"
);
error_case!(
    duplicate_key,
    "jobs:\n  - name: a\n    run: touch ran\n    run: touch ran\n"
);
error_case!(
    duplicate_key_in_env,
    "jobs:\n  - name: a\n    run: touch ran\n    env:\n      DEST: /a\n      DEST: /b\n"
);
error_case!(
    duplicate_job_name,
    "jobs:\n  - name: db\n    run: touch ran\n  - name: db\n    run: touch ran\n"
);
error_case!(
    duplicate_name_of_a_bare_job,
    "jobs:\n  - touch ran\n  - name: job-1\n    run: touch ran\n"
);
error_case!(
    bare_job_named_like_an_earlier_name,
    "jobs:\n  - name: job-01\n    run: touch ran\n  - name: job-3\n    run: touch ran\n  - touch ran\n"
);
error_case!(wrong_type, "concurrency: many\njobs:\n  - touch ran\n");
error_case!(bad_mode, "mode: paralel\njobs:\n  - touch ran\n");
error_case!(unclosed_quote, "jobs:\n  - name: a\n    run: 'touch ran\n");
error_case!(tab_indentation, "jobs:\n\t- touch ran\n");
error_case!(colon_in_plain_value, "jobs:\n  - echo a: b; touch ran\n");
error_case!(empty_jobs, "jobs: []\n");
error_case!(missing_jobs, "mode: sync\n");
error_case!(bad_version, "version: 2\njobs:\n  - touch ran\n");
error_case!(empty_file, "");
error_case!(only_comments, "# nothing here\n");
error_case!(a_list_instead_of_a_mapping, "- touch ran\n- touch ran\n");
error_case!(job_without_run, "jobs:\n  - name: a\n    env: {A: b}\n");
error_case!(job_with_empty_run, "jobs:\n  - name: a\n    run: ''\n");
error_case!(
    invalid_job_name,
    "jobs:\n  - name: nightly backup\n    run: touch ran\n"
);
error_case!(job_that_is_a_list, "jobs:\n  - [touch, ran]\n");
error_case!(
    unknown_executor,
    "jobs:\n  - name: a\n    run: touch ran\n    executor: kubernetes\n"
);
error_case!(
    unknown_slurm_option,
    "jobs:\n  - name: a\n    run: touch ran\n    executor: slurm\n    slurm: {partiton: debug}\n"
);
error_case!(
    name_cannot_be_a_default,
    "defaults:\n  name: x\njobs:\n  - touch ran\n"
);
error_case!(
    bad_duration,
    "hook_timeout: 5 parsecs\njobs:\n  - touch ran\n"
);
error_case!(zero_concurrency, "concurrency: 0\njobs:\n  - touch ran\n");
error_case!(
    missing_shell,
    "shell: /no/such/shell\njobs:\n  - touch ran\n"
);
error_case!(
    an_output_written_in_run,
    "jobs:\n  - name: a\n    run: echo port=1 >> \"$PRUN_OUTPUT\"; touch ran\n  - name: b\n    needs: [a]\n    run: touch ran; echo ${{ needs.a.outputs.port }}\n"
);
error_case!(
    an_output_written_in_a_default_hook,
    "defaults:\n  on_failure: echo ${{needs.a.outputs.port}}\njobs:\n  - name: a\n    run: touch ran\n"
);
error_case!(
    an_output_written_in_a_status_check,
    "jobs:\n  - name: a\n    run: touch ran\n  - name: b\n    needs: [a]\n    run: touch ran\n    status: [true, 'test -f ${{ needs.a.outputs.file }}']\n"
);
error_case!(
    an_output_written_in_a_run_hook,
    "on_complete: echo ${{ needs.a.outputs.port }}\njobs:\n  - name: a\n    run: touch ran\n"
);
error_case!(dash_j_zero, "jobs:\n  - touch ran\n", &["-j", "0"]);
error_case!(
    dash_j_not_a_number,
    "jobs:\n  - touch ran\n",
    &["-j", "lots"]
);
error_case!(
    bad_output_mode,
    "jobs:\n  - touch ran\n",
    &["--output", "grouped"]
);

fn missing_file() {
    let r = Prun::new().arg("no-such.yaml").run();
    r.code(2);
    insta::assert_snapshot!(r.stderr);
}

fn a_directory() {
    let r = Prun::new().arg(".").run();
    r.code(2);
    insta::assert_snapshot!(r.stderr);
}

fn invalid_utf8() {
    let p = Prun::new().arg("bad.yaml");
    std::fs::write(p.path("bad.yaml"), b"jobs:\n  - echo caf\xe9\n").unwrap();
    let r = p.run();
    r.code(2);
    insta::assert_snapshot!(r.stderr);
}

/// As root every file is readable, so the check runs prun as `nobody` (setpriv, from
/// util-linux) when the tests run as root.
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let p = Prun::new().jobfile("jobs:\n  - touch ran\n");
    let path = p.path("jobs.yaml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(p.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: geteuid has no preconditions.
    let out = if unsafe { libc::geteuid() } == 0 {
        crate::util::as_user(65_534)
            .arg(crate::util::bin())
            .arg(&path)
            .output()
            .expect("setpriv (util-linux) is needed to test as root")
    } else {
        std::process::Command::new(crate::util::bin())
            .arg(&path)
            .output()
            .unwrap()
    };
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr).replace(path.to_str().unwrap(), "JOBFILE");
    insta::assert_snapshot!(stderr);
}

fn no_arguments_is_a_usage_error() {
    let r = Prun::new().run();
    r.code(2);
    assert!(r.stderr.contains("JOBFILE"), "{}", r.stderr);
}

error_case!(
    dependency_cycle_is_named,
    "jobs:\n  - name: a\n    needs: [c]\n    run: touch ran\n  - name: b\n    needs: [a]\n    run: touch ran\n  - name: c\n    needs: [b]\n    run: touch ran\n"
);
error_case!(
    unknown_need,
    "jobs:\n  - name: build\n    run: touch ran\n  - name: test\n    needs: [biuld]\n    run: touch ran\n"
);
error_case!(
    a_job_needing_itself,
    "jobs:\n  - name: a\n    needs: [a]\n    run: touch ran\n"
);
error_case!(
    negative_retries,
    "jobs:\n  - name: a\n    retries: -2\n    run: touch ran\n"
);
error_case!(
    unknown_backoff,
    "jobs:\n  - name: a\n    retries: 2\n    backoff: linear\n    run: touch ran\n"
);
error_case!(
    retry_delay_max_without_exponential,
    "jobs:\n  - name: a\n    retries: 2\n    retry_delay_max: 1m\n    run: touch ran\n"
);
error_case!(
    retry_on_exit_zero,
    "jobs:\n  - name: a\n    retries: 2\n    retry_on_exit: [0, 75]\n    run: touch ran\n"
);
error_case!(
    bad_grace_flag,
    "jobs:\n  - touch ran\n",
    &["--grace", "soon"]
);
error_case!(pool_too_big, "concurrency: 100000\njobs:\n  - touch ran\n");
error_case!(dash_j_too_big, "jobs:\n  - touch ran\n", &["-j", "100000"]);
error_case!(
    zero_hook_timeout,
    "jobs:\n  - name: a\n    hook_timeout: 0s\n    run: touch ran\n"
);
error_case!(
    missing_workdir,
    "workdir: no/such/dir\njobs:\n  - touch ran\n"
);
error_case!(
    bad_env_name,
    "jobs:\n  - name: a\n    env:\n      'A=B': x\n    run: touch ran\n"
);
error_case!(
    nul_in_run,
    "jobs:\n  - name: a\n    run: \"touch ran\\0\"\n"
);
error_case!(
    bad_lock_wait,
    "jobs:\n  - touch ran\n",
    &["--lock", "x.lock", "--lock-wait", "forever"]
);

/// A generated jobfile of 51,000 mapping jobs has 255,000 YAML nodes, over serde-saphyr's
/// default budget of 250,000: prun's budget grows with the file, so it is accepted.
fn a_jobfile_past_the_yaml_default_node_budget_is_accepted() {
    let mut y = String::from("jobs:\n");
    for i in 1..=51_000 {
        y.push_str(&format!("  - name: j{i}\n    run: echo {i}\n"));
    }
    let r = Prun::new().jobfile(&y).arg("--check").run();
    r.code(0);
    assert!(r.stderr.contains("valid, 51000 job(s)"), "{}", r.stderr);
}

crate::tests!(
    missing_file,
    a_directory,
    invalid_utf8,
    unreadable_file,
    no_arguments_is_a_usage_error,
    a_jobfile_past_the_yaml_default_node_budget_is_accepted,
    unknown_key_suggests_the_right_one,
    unknown_top_level_key,
    duplicate_key,
    duplicate_key_in_env,
    duplicate_job_name,
    duplicate_name_of_a_bare_job,
    bare_job_named_like_an_earlier_name,
    wrong_type,
    bad_mode,
    unclosed_quote,
    tab_indentation,
    colon_in_plain_value,
    empty_jobs,
    missing_jobs,
    bad_version,
    empty_file,
    only_comments,
    a_list_instead_of_a_mapping,
    job_without_run,
    job_with_empty_run,
    invalid_job_name,
    job_that_is_a_list,
    unknown_executor,
    unknown_slurm_option,
    name_cannot_be_a_default,
    bad_duration,
    zero_concurrency,
    missing_shell,
    an_output_written_in_run,
    an_output_written_in_a_default_hook,
    an_output_written_in_a_status_check,
    an_output_written_in_a_run_hook,
    dash_j_zero,
    dash_j_not_a_number,
    bad_output_mode,
    dependency_cycle_is_named,
    unknown_need,
    a_job_needing_itself,
    negative_retries,
    unknown_backoff,
    retry_delay_max_without_exponential,
    retry_on_exit_zero,
    bad_grace_flag,
    pool_too_big,
    dash_j_too_big,
    zero_hook_timeout,
    missing_workdir,
    bad_env_name,
    nul_in_run,
    bad_lock_wait,
);
