//! Files: no link, hard link or file planted where prun writes can turn prun's writes
//! against another file, and nothing prun creates is world-writable.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use crate::util::Prun;

/// A file some other user cares about, and a link to it where prun will write.
fn plant(p: &Prun, at: &str) {
    std::fs::write(p.path("victim"), "precious\n").unwrap();
    if let Some(dir) = Path::new(at).parent() {
        std::fs::create_dir_all(p.path(&dir.to_string_lossy())).unwrap();
    }
    symlink(p.path("victim"), p.path(at)).unwrap();
}

fn reports_replace_a_planted_link_instead_of_following_it() {
    for flag in ["--report", "--junit", "--timeline"] {
        let p = Prun::new()
            .jobfile("jobs:\n  - echo hi\n")
            .args(&[flag, "out"]);
        plant(&p, "out");
        p.run().code(0);
        assert_eq!(
            p.read("victim"),
            "precious\n",
            "{flag} wrote through the link"
        );
        let meta = std::fs::symlink_metadata(p.path("out")).unwrap();
        assert!(
            meta.is_file(),
            "{flag}: the report is not a file of its own"
        );
    }
}

fn the_joblog_and_the_lock_are_never_opened_through_a_link() {
    for (args, at) in [
        (&["--joblog", "jl"][..], "jl"),
        (&["--lock", "run.lock"][..], "run.lock"),
    ] {
        let p = Prun::new().jobfile("jobs:\n  - touch ran\n").args(args);
        plant(&p, at);
        let r = p.run();
        r.code(2);
        assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
        assert!(!p.path("ran").exists(), "a job ran");
        assert_eq!(p.read("victim"), "precious\n");
    }
}

fn a_joblog_with_another_hard_link_is_refused() {
    let p = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--joblog", "jl"]);
    std::fs::write(p.path("victim"), "precious\n").unwrap();
    std::fs::hard_link(p.path("victim"), p.path("jl")).unwrap();
    let r = p.run();
    r.code(2);
    assert!(r.stderr.contains("hard links"), "{}", r.stderr);
    assert_eq!(p.read("victim"), "precious\n");
}

fn files_prun_creates_are_not_world_writable_even_with_umask_0() {
    let p = Prun::new().jobfile(
        "on_complete: stat -c %a \"$PRUN_REPORT\" > report.mode; basename \"$PRUN_REPORT\" > report.name\njobs:\n  - name: a\n    run: echo hi\n",
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 0 && exec {} jobs.yaml --log-dir logs --joblog jl --report r.json --junit j.xml --timeline t.svg --lock l",
            crate::util::bin().display()
        ))
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for f in ["logs", "logs/a.log", "jl", "r.json", "j.xml", "t.svg", "l"] {
        let mode = std::fs::metadata(p.path(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o022, 0, "{f} is {mode:o}");
    }
    assert_eq!(p.read("report.mode"), "600\n");
    let name = p.read("report.name");
    // Not `prun-<run id>-report.json` (a run id is a time and a pid: guessable).
    assert!(
        name.starts_with("prun-report-")
            && name.trim_end().ends_with(".json")
            && !name.contains("Z-"),
        "{name}"
    );
}

crate::tests!(
    reports_replace_a_planted_link_instead_of_following_it,
    the_joblog_and_the_lock_are_never_opened_through_a_link,
    a_joblog_with_another_hard_link_is_refused,
    files_prun_creates_are_not_world_writable_even_with_umask_0,
);
