//! `needs`: a job starts only after what it needs succeeded; otherwise it is skipped,
//! and so are its dependents, while independent jobs run on.

use crate::util::{Prun, parse_log, timed_job};

fn a_diamond_with_a_failure_in_the_middle() {
    let p = Prun::new()
        .jobfile(
            r#"
defaults:
  on_complete: echo "$PRUN_JOB $PRUN_JOB_STATUS" >> hooks
jobs:
  - name: top
    run: touch top
  - name: left
    needs: [top]
    run: exit 1
  - name: right
    needs: [top]
    run: touch right
  - name: bottom
    needs: [left, right]
    run: touch bottom
  - name: below-bottom
    needs: [bottom]
    run: touch below
  - name: independent
    run: sleep 0.3; touch independent
"#,
        )
        .args(&["-j", "4"]);
    let r = p.run();
    r.code(1);
    assert!(p.path("top").exists() && p.path("right").exists() && p.path("independent").exists());
    assert!(!p.path("bottom").exists() && !p.path("below").exists());
    assert!(
        r.stderr.contains("skipped: needs 'left', which failed"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("skipped: needs 'bottom', which was skipped"),
        "{}",
        r.stderr
    );
    let hooks = p.read("hooks");
    assert!(
        hooks.contains("bottom skipped\n") && hooks.contains("below-bottom skipped\n"),
        "{hooks}"
    );
    assert!(
        r.stderr.contains("3 succeeded, 1 failed, 2 skipped"),
        "{}",
        r.stderr
    );
}

fn a_job_waits_for_what_it_needs_even_when_that_comes_later() {
    let p = Prun::new()
        .jobfile(&format!(
            "jobs:\n  - name: late\n    needs: [early]\n    run: '{0}'\n  - name: early\n    run: '{0}'\n",
            timed_job(0.2)
        ))
        .args(&["-j", "2"]);
    p.run().code(0);
    let marks = parse_log(&p.read("log"));
    let order: Vec<String> = marks
        .iter()
        .map(|m| format!("{}{}", if m.start { "S" } else { "E" }, m.name))
        .collect();
    assert_eq!(order, ["Searly", "Eearly", "Slate", "Elate"]);
}

fn sync_mode_only_checks_and_skips() {
    let p = Prun::new().jobfile(
        "mode: sync\njobs:\n  - name: a\n    run: exit 1\n  - name: b\n    needs: [a]\n    run: touch b\n  - name: c\n    run: touch c\n",
    );
    let r = p.run();
    r.code(1);
    assert!(!p.path("b").exists() && p.path("c").exists());
    assert!(
        r.stderr.contains("skipped: needs 'a', which failed"),
        "{}",
        r.stderr
    );
}

crate::tests!(
    a_diamond_with_a_failure_in_the_middle,
    a_job_waits_for_what_it_needs_even_when_that_comes_later,
    sync_mode_only_checks_and_skips,
);
