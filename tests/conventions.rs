//! Fitting into a user's day (docs/jobfile.md, docs/running.md): a shell with options, and the other
//! conventions users already live in.

use crate::util::Prun;
use crate::util::facility::{Facility, need};

fn a_shell_with_options_makes_a_failing_pipe_fail_for_jobs_and_hooks() {
    for shell in ["bash -eo pipefail", "[bash, -eo, pipefail]"] {
        let p = Prun::new().jobfile(&format!(
            "shell: {shell}\njobs:\n  - name: dump\n    run: false | cat > dump.sql\n    on_complete: echo \"$-\" > hook.flags; false | cat\n  - name: flags\n    run: echo \"$-\" > job.flags\n"
        ));
        let r = p.run();
        r.code(1);
        assert!(r.stderr.contains("dump   failed"), "{shell}: {}", r.stderr);
        assert!(p.read("job.flags").contains('e'), "{shell}");
        assert!(p.read("hook.flags").contains('e'), "{shell}");
        assert!(
            r.stderr.contains("hook on_complete of 'dump' failed"),
            "{}",
            r.stderr
        );
    }
    // The default /bin/sh: the same pipe "succeeds" (the trap the option avoids).
    let p = Prun::new().jobfile("jobs:\n  - name: dump\n    run: false | cat > dump.sql\n");
    p.run().code(0);
}

fn a_shell_that_cannot_run_is_a_jobfile_error_at_check_time() {
    for (yaml, words) in [
        (
            "shell: no-such-shell -e\njobs:\n  - touch ran\n",
            "shell 'no-such-shell' was not found",
        ),
        ("shell: \"\"\njobs:\n  - touch ran\n", "`shell` is empty"),
        ("shell: []\njobs:\n  - touch ran\n", "`shell` is empty"),
    ] {
        let p = Prun::new().jobfile(yaml);
        let r = p.run_with(&["--check"]);
        r.code(2);
        assert!(r.stderr.contains(words), "{}", r.stderr);
        assert!(r.stderr.contains("jobs.yaml:1:"), "{}", r.stderr);
    }
}

fn under_github_actions_a_markdown_summary_is_appended_to_the_step_summary() {
    let yaml = "jobs:\n  - name: ok\n    run: 'true'\n  - name: bad\n    matrix: {x: ['a|b']}\n    run: printf 'first\\n```\\nthe reason it broke\\n'; exit 3\n  - name: dep\n    needs: [bad]\n    run: 'true'\n";
    let p = Prun::new().jobfile(yaml);
    std::fs::write(p.path("summary.md"), "earlier step\n").unwrap();
    let path = p.path("summary.md").to_str().unwrap().to_owned();
    let p = p
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &path);
    p.run().code(1);
    let md = p.read("summary.md");
    assert!(
        md.starts_with("earlier step\n### ❌ prun `jobs.yaml`: 1 of 3 jobs succeeded"),
        "{md}"
    );
    assert!(
        md.contains("| failed | 1 |") && md.contains("| skipped | 1 |"),
        "{md}"
    );
    // The failed job, its name's `|` escaped for the table, with its last lines in a
    // fence longer than any run of backticks they contain.
    assert!(md.contains("| `bad[x=a\\|b]` | failed | 3 | 1 |"), "{md}");
    assert!(
        md.contains("````text\nfirst\n```\nthe reason it broke\n````"),
        "{md}"
    );
    assert!(md.contains("#### Slowest jobs"), "{md}");

    // Not under GitHub Actions: the file is not touched.
    let q = Prun::new().jobfile(yaml).env("GITHUB_STEP_SUMMARY", &path);
    q.run().code(1);
    assert_eq!(p.read("summary.md"), md);
}

fn a_step_summary_that_cannot_be_written_is_said_and_fails_the_run() {
    let p = Prun::new()
        .jobfile("jobs:\n  - 'true'\n")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", "/nonexistent-dir/summary.md");
    let r = p.run();
    r.code(1);
    assert!(
        r.stderr
            .contains("cannot append the run's summary to $GITHUB_STEP_SUMMARY"),
        "{}",
        r.stderr
    );
}

fn completion_scripts_call_prun_back_and_stand_alone() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = Prun::new().args(&["--completions", shell]).run();
        r.code(0);
        assert!(r.stdout.contains("PRUN_COMPLETE"), "{shell}: {}", r.stdout);
    }
    // The bash script is valid bash.
    let r = Prun::new().args(&["--completions", "bash"]).run();
    let p = Prun::new();
    std::fs::write(p.path("prun.bash"), &r.stdout).unwrap();
    let ok = std::process::Command::new("bash")
        .args(["-n", p.path("prun.bash").to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    // They stand alone: with a jobfile they are a usage error, and nothing runs.
    let p = Prun::new().jobfile("jobs:\n  - touch ran\n").arg("--man");
    p.run().code(2);
    assert!(!p.path("ran").exists());
    Prun::new().args(&["--completions", "tcsh"]).run().code(2);
}

/// What bash offers on Tab, through the script `prun --completions bash` prints, as a
/// user's shell would run it: `words` are the command line, the last being completed.
fn bash_offers(p: &Prun, words: &[&str]) -> Vec<String> {
    let script = p.path("prun.bash");
    if !script.exists() {
        let r = Prun::new().args(&["--completions", "bash"]).run();
        std::fs::write(&script, &r.stdout).unwrap();
    }
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let bin_dir = crate::util::bin().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source prun.bash; COMP_WORDS=({}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); COMP_TYPE=9; _clap_complete_prun prun \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            quoted.join(" ")
        ))
        .current_dir(p.dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn bash_completes_job_names_tags_and_yaml_jobfiles_from_the_jobfile() {
    let p = Prun::new()
        .file(
            "hello.yaml",
            "jobs:\n  - name: dump\n    tags: [db]\n    run: x\n  - name: docs\n    tags: [web, db]\n    run: y\n  - echo bare\n",
        )
        .file("help.txt", "not a jobfile");
    assert_eq!(
        bash_offers(&p, &["prun", "he"]),
        ["hello.yaml"],
        "no `help`, no help.txt"
    );
    assert_eq!(
        bash_offers(&p, &["prun", "hello.yaml", "--job", ""]),
        ["dump", "docs"]
    );
    assert_eq!(
        bash_offers(&p, &["prun", "hello.yaml", "--job", "du"]),
        ["dump"]
    );
    assert_eq!(
        bash_offers(&p, &["prun", "hello.yaml", "--tag", ""]),
        ["db", "web"]
    );
    assert_eq!(
        bash_offers(&p, &["prun", "-j", "2", "hello.yaml", "--force=d"]),
        ["--force=dump", "--force=docs"]
    );
    assert!(bash_offers(&p, &["prun", "missing.yaml", "--job", ""]).is_empty());
}

fn man_pages_say_what_help_cannot_and_groff_finds_nothing_to_warn_about() {
    let prun = Prun::new().arg("--man").run();
    prun.code(0);
    let history = Prun::new().arg("--man=history").run();
    history.code(0);
    let page = &prun.stdout;
    for section in [
        "JOBFILE",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            page.contains(&format!(".SH {section}")),
            "{section}: {page}"
        );
    }
    assert!(
        page.contains("fail\\-fast"),
        "the options from clap: {page}"
    );
    // Every PRUN_* variable a job or a hook sees (runner/env.rs names them all).
    let env = std::fs::read_to_string(crate::util::repo().join("src/runner/env.rs")).unwrap();
    let doc: String = env.lines().take_while(|l| l.starts_with("//!")).collect();
    let mut names: Vec<&str> = doc
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("PRUN_") && w.len() > 5)
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        assert!(page.contains(name), "{name} is not in prun(1)");
    }
    for var in ["NO_COLOR", "CI", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"] {
        assert!(page.contains(var), "{var}");
    }
    // Every page it refers to is one prun prints.
    assert!(!page.contains("prun\\-help"), "{page}");
    assert!(page.contains("prun\\-history\\fR(1)"), "{page}");
    assert!(
        history.stdout.contains(".TH prun-history 1"),
        "{}",
        history.stdout
    );
    assert!(
        history.stdout.contains("prun history"),
        "{}",
        history.stdout
    );
    need(&[Facility::Reader("groff"), Facility::Reader("man")]);
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("prun.1", page), ("prun-history.1", &history.stdout)] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let out = std::process::Command::new("groff")
            .args(["-ww", "-man", "-z"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "groff on {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = std::process::Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(
            shown.status.success() && !shown.stdout.is_empty(),
            "man -l {name}"
        );
    }
}

fn colours_only_where_asked_for_never_in_a_pipe_quiet_mail_or_log_files() {
    let yaml = "jobs:\n  - name: bad\n    run: echo oops; exit 2\n  - name: good\n    run: echo fine\n  - name: after\n    needs: [bad]\n    run: 'true'\n";
    const ESC: char = '\x1b';
    // In a pipe (as here): no colour by default.
    let r = Prun::new().jobfile(yaml).run();
    assert!(!r.stdout.contains(ESC) && !r.stderr.contains(ESC));
    // Forced: failed header and row red, skipped dim, success green.
    for how in [&["--color", "always"][..], &[]] {
        let p = Prun::new()
            .jobfile(yaml)
            .args(how)
            .env("CLICOLOR_FORCE", "1");
        let r = p.run_with(&["--log-dir", "logs"]);
        r.code(1);
        assert!(
            r.stdout
                .contains("\x1b[31m── bad (failed, exit 2)\x1b[0m\n"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("── good\nfine"), "{}", r.stdout);
        assert!(r.stderr.contains("\x1b[31mbad "), "{}", r.stderr);
        assert!(r.stderr.contains("\x1b[2mafter "), "{}", r.stderr);
        assert!(r.stderr.contains("\x1b[32msuccess"), "{}", r.stderr);
        assert!(!p.read("logs/bad.log").contains(ESC));
    }
    // NO_COLOR beats CLICOLOR_FORCE; --color never beats both; --quiet never colours.
    for (args, env) in [
        (&[][..], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")][..]),
        (&["--color", "never"][..], &[("CLICOLOR_FORCE", "1")][..]),
        (&["--color", "always", "--quiet"][..], &[][..]),
    ] {
        let mut p = Prun::new().jobfile(yaml).args(args);
        for (k, v) in env {
            p = p.env(k, v);
        }
        let r = p.run();
        assert!(
            !r.stdout.contains(ESC) && !r.stderr.contains(ESC),
            "{args:?} {env:?}"
        );
    }
}

fn env_files_are_read_before_the_run_in_order_and_never_echoed() {
    use std::os::unix::fs::PermissionsExt;
    let p = Prun::new().jobfile(
        "env_file: top.env\nenv: {B: from-env}\ndefaults:\n  env_file: secrets.env\njobs:\n  - name: show\n    run: printf '%s|' \"$A\" \"$B\" \"$PASSWORD\" \"$KEY\" \"$MULTI\" > show.txt\n    on_complete: printf '%s' \"$PASSWORD\" > hook.txt\n  - name: own\n    env_file: [top.env, more.env]\n    env: {A: from-job}\n    run: printf '%s|' \"$A\" \"${PASSWORD-unset}\" \"$C\" > own.txt\n",
    );
    let write = |name: &str, text: &str, mode: u32| {
        std::fs::write(p.path(name), text).unwrap();
        std::fs::set_permissions(p.path(name), std::fs::Permissions::from_mode(mode)).unwrap();
    };
    write("top.env", "# top\nA=top\nB=from-file\n", 0o600);
    write(
        "secrets.env",
        "export PASSWORD=\"s3cr3t $(touch pwned) \\\"q\\\"\"\nKEY='$HOME' # comment\nMULTI=\"one\ntwo\"\n",
        0o600,
    );
    write("more.env", "C=more\n", 0o644);
    let r = p.run();
    r.code(0);
    assert_eq!(
        p.read("show.txt"),
        "top|from-env|s3cr3t $(touch pwned) \"q\"|$HOME|one\ntwo|"
    );
    assert_eq!(p.read("hook.txt"), "s3cr3t $(touch pwned) \"q\"");
    assert_eq!(p.read("own.txt"), "from-job|unset|more|");
    assert!(!p.path("pwned").exists());
    // Only the file others can read is warned about.
    assert!(
        r.stderr.contains("warning: env_file")
            && r.stderr
                .contains("more.env can be read by other users (mode 0644)"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("secrets.env can be read"),
        "{}",
        r.stderr
    );
    // --dry-run names the variables, never their values.
    let d = p.run_with(&["--dry-run"]);
    d.code(0);
    assert!(
        d.stdout
            .contains("env_file secrets.env: PASSWORD=…, KEY=…, MULTI=…"),
        "{}",
        d.stdout
    );
    assert!(!d.stdout.contains("s3cr3t"), "{}", d.stdout);
}

fn a_bad_env_file_is_a_jobfile_error_with_its_file_and_line() {
    let p = Prun::new().jobfile("jobs:\n  - name: a\n    env_file: bad.env\n    run: touch ran\n");
    std::fs::write(p.path("bad.env"), "A=1\nB=\"never closed\n").unwrap();
    let r = p.run();
    r.code(2);
    assert!(!p.path("ran").exists());
    assert!(r.stderr.contains("jobs.yaml:3:"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("bad.env:2: the \"quote\" opened here is never closed"),
        "{}",
        r.stderr
    );
    let p = Prun::new().jobfile("env_file: missing.env\njobs:\n  - touch ran\n");
    let r = p.run_with(&["--check"]);
    r.code(2);
    assert!(
        r.stderr.contains("missing.env: No such file or directory"),
        "{}",
        r.stderr
    );
}

fn small_things_a_failed_hook_header_dry_run_hooks_and_an_empty_run() {
    let p = Prun::new().jobfile(
        "jobs:\n  - name: a\n    run: 'true'\n    on_complete: |\n      echo hook says\n      exit 4\n",
    );
    let r = p.run();
    assert!(
        r.stdout
            .contains("── a:on_complete (failed: exit 4)\nhook says\n"),
        "{}",
        r.stdout
    );
    let d = p.run_with(&["--dry-run"]);
    assert!(
        d.stdout
            .contains("     on_complete: echo hook says\n                  exit 4\n"),
        "{}",
        d.stdout
    );
    let e = Prun::new().jobfile("jobs:\n  - name: a\n    run:\n").run();
    e.code(2);
    assert!(
        e.stderr.contains("job 'a' has an empty `run:`"),
        "{}",
        e.stderr
    );
}

fn under_an_empty_environment_as_cron_gives_the_shell_is_still_found() {
    let p = Prun::new().jobfile(
        "shell: bash -eo pipefail\njobs:\n  - name: a\n    run: echo \"$0\" > shell.txt\n",
    );
    let mut cmd = p.command();
    cmd.env_clear();
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(p.read("shell.txt").trim_end().ends_with("/bash"));
}

crate::tests!(
    a_shell_with_options_makes_a_failing_pipe_fail_for_jobs_and_hooks,
    a_shell_that_cannot_run_is_a_jobfile_error_at_check_time,
    under_github_actions_a_markdown_summary_is_appended_to_the_step_summary,
    a_step_summary_that_cannot_be_written_is_said_and_fails_the_run,
    completion_scripts_call_prun_back_and_stand_alone,
    bash_completes_job_names_tags_and_yaml_jobfiles_from_the_jobfile,
    man_pages_say_what_help_cannot_and_groff_finds_nothing_to_warn_about,
    colours_only_where_asked_for_never_in_a_pipe_quiet_mail_or_log_files,
    env_files_are_read_before_the_run_in_order_and_never_echoed,
    a_bad_env_file_is_a_jobfile_error_with_its_file_and_line,
    small_things_a_failed_hook_header_dry_run_hooks_and_an_empty_run,
    under_an_empty_environment_as_cron_gives_the_shell_is_still_found,
);
