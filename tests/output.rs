//! Output: grouped blocks never mix, lines are never torn, --keep-order, large output.

use crate::util::Prun;
use crate::util::facility::{Facility, need};

/// Splits grouped output into (header, body lines) blocks.
fn blocks(stdout: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in stdout.lines() {
        if let Some(h) = line.strip_prefix("── ") {
            out.push((h.to_owned(), Vec::new()));
        } else {
            out.last_mut()
                .expect("output before any header")
                .1
                .push(line.to_owned());
        }
    }
    out
}

fn grouped_blocks_never_mix() {
    let mut y = String::from("jobs:\n");
    for name in ["a", "b", "c", "d"] {
        y.push_str(&format!(
            "  - name: {name}\n    run: for i in $(seq 150); do echo {name}-$i; [ $((i % 30)) = 0 ] && sleep 0.05; done; true\n"
        ));
    }
    let r = Prun::new().jobfile(&y).args(&["-j", "4"]).run();
    r.code(0);
    let b = blocks(&r.stdout);
    assert_eq!(b.len(), 4, "{}", r.stdout);
    for (head, lines) in b {
        let want: Vec<String> = (1..=150).map(|i| format!("{head}-{i}")).collect();
        assert_eq!(lines, want);
    }
}

fn a_failed_job_block_says_how_it_ended() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: x\n    run: echo out; exit 3\n")
        .run();
    r.code(1);
    assert_eq!(r.stdout, "── x (failed, exit 3)\nout\n");
}

fn line_mode_prefixes_every_line_and_never_tears_one() {
    // Each line is written in two halves of 3000 bytes, so a torn line would show.
    let mut y = String::from("jobs:\n");
    for (name, ch) in [("a", 'x'), ("b", 'y'), ("c", 'z')] {
        y.push_str(&format!(
            "  - name: {name}\n    run: h=$(head -c 3000 /dev/zero | tr '\\0' {ch}); for i in $(seq 200); do printf %s \"$h\"; printf '%s\\n' \"$h\"; done\n"
        ));
    }
    let r = Prun::new()
        .jobfile(&y)
        .args(&["-j", "3", "--output", "line"])
        .run();
    r.code(0);
    let mut counts = std::collections::HashMap::new();
    for line in r.stdout.lines() {
        let (name, ch) = match &line[..4] {
            "[a] " => ("a", 'x'),
            "[b] " => ("b", 'y'),
            "[c] " => ("c", 'z'),
            other => panic!("unprefixed line starting {other:?}"),
        };
        let body = &line[4..];
        assert_eq!(body.len(), 6000, "torn line in {name}");
        assert!(body.chars().all(|c| c == ch), "mixed line in {name}");
        *counts.entry(name).or_insert(0) += 1;
    }
    assert_eq!(
        counts.values().copied().collect::<Vec<_>>(),
        [200, 200, 200]
    );
}

fn line_mode_ends_an_unterminated_last_line() {
    let r = Prun::new()
        .jobfile("jobs:\n  - name: n\n    run: printf 'one\\ntwo'\n")
        .args(&["--output", "line"])
        .run();
    r.code(0);
    assert_eq!(r.stdout, "[n] one\n[n] two\n");
}

/// Jobs that end in the reverse of file order, whatever the machine's load: each waits
/// until the one after it has ended (its last act is to touch a file), then a moment.
const REVERSED: &str = "jobs:
  - name: a
    run: until [ -e b.done ]; do sleep 0.01; done; sleep 0.2; echo a
  - name: b
    run: until [ -e c.done ]; do sleep 0.01; done; sleep 0.2; echo b; touch b.done
  - name: c
    run: echo c; touch c.done
";

fn blocks_come_in_completion_order_unless_keep_order() {
    let r = Prun::new().jobfile(REVERSED).args(&["-j", "3"]).run();
    r.code(0);
    assert_eq!(r.stdout, "── c\nc\n── b\nb\n── a\na\n");
    let r = Prun::new()
        .jobfile(REVERSED)
        .args(&["-j", "3", "--keep-order"])
        .run();
    r.code(0);
    assert_eq!(r.stdout, "── a\na\n── b\nb\n── c\nc\n");
}

fn keep_order_works_in_line_mode() {
    let r = Prun::new()
        .jobfile(REVERSED)
        .args(&["-j", "3", "--keep-order", "--output", "line"])
        .run();
    r.code(0);
    assert_eq!(r.stdout, "[a] a\n[b] b\n[c] c\n");
}

fn output_none_discards_and_stream_passes_through() {
    let y = "jobs:\n  - name: a\n    run: echo to-stdout; echo to-stderr >&2\n";
    let r = Prun::new().jobfile(y).args(&["--output", "none"]).run();
    r.code(0);
    assert_eq!(r.stdout, "");
    assert!(!r.stderr.contains("to-stderr"));
    let r = Prun::new().jobfile(y).args(&["--output", "stream"]).run();
    r.code(0);
    assert_eq!(r.stdout, "to-stdout\n");
    assert!(r.stderr.starts_with("to-stderr\n"), "{}", r.stderr);
}

fn sync_mode_streams_by_default() {
    let r = Prun::new()
        .jobfile("mode: sync\njobs:\n  - echo plain\n")
        .run();
    r.code(0);
    assert_eq!(r.stdout, "plain\n");
}

/// Tens of MB per job pass through every mode without loss or deadlock.
fn large_output_passes_whole_in_every_mode() {
    const MB: usize = 1 << 20;
    let y = format!(
        "jobs:\n  - name: a\n    run: head -c {n} /dev/zero | tr '\\0' a; echo\n  - name: b\n    run: head -c {n} /dev/zero | tr '\\0' b; echo\n",
        n = 24 * MB
    );
    for mode in ["group", "line", "stream"] {
        let p = Prun::new().jobfile(&y).args(&["-j", "2", "--output", mode]);
        let out = p.command().output().unwrap();
        assert!(out.status.success(), "{mode}");
        let a = out.stdout.iter().filter(|&&c| c == b'a').count();
        let b = out.stdout.iter().filter(|&&c| c == b'b').count();
        // Headers and prefixes add a few of each letter at most (line mode prints a line
        // longer than 1 MiB in prefixed pieces).
        assert!((24 * MB..24 * MB + 64).contains(&a), "{mode}: {a} a's");
        assert!((24 * MB..24 * MB + 64).contains(&b), "{mode}: {b} b's");
    }
}

fn keep_order_with_stream_is_a_usage_error() {
    let r = Prun::new()
        .jobfile("jobs:\n  - touch ran\n")
        .args(&["--keep-order", "--output", "stream"])
        .run();
    r.code(2);
    assert!(r.stderr.contains("--keep-order"), "{}", r.stderr);
}

/// prun's own peak memory (VmHWM) while it runs, read from /proc until it exits.
fn peak_rss_kib(pid: u32, done: &std::sync::atomic::AtomicBool) -> u64 {
    let mut peak = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            peak = peak.max(kib);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    peak
}

/// Two jobs each writing 1 GB in group mode: every byte arrives, and prun's memory stays
/// bounded because output past 1 MiB per job is spilled to a temporary file.
fn two_jobs_writing_a_gigabyte_each_pass_in_bounded_memory() {
    use std::io::Read;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    const GB: u64 = 1_000_000_000;
    let p = Prun::new()
        .jobfile(&format!("jobs:\n  - name: a\n    run: head -c {GB} /dev/zero\n  - name: b\n    run: head -c {GB} /dev/zero\n"))
        .args(&["-j", "2", "--output", "group"]);
    let mut child = p
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let (pid, flag) = (child.id(), Arc::clone(&done));
    let watcher = std::thread::spawn(move || peak_rss_kib(pid, &flag));
    let mut stdout = child.stdout.take().unwrap();
    let (mut total, mut zeros) = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
        zeros += buf[..n].iter().filter(|&&b| b == 0).count() as u64;
    }
    let status = child.wait().unwrap();
    done.store(true, Ordering::SeqCst);
    let peak = watcher.join().unwrap();
    assert!(status.success());
    assert_eq!(zeros, 2 * GB, "bytes lost or added");
    // Two headers, and a newline after each block (the zeros end without one).
    assert_eq!(total - zeros, "── a\n\n── b\n\n".len() as u64);
    assert!(peak > 0 && peak < 64 * 1024, "peak RSS {peak} KiB");
}

/// Big blocks are printed as they come when nothing else is being printed; every other
/// block waits, whole: they never mix.
fn big_blocks_streamed_through_never_mix() {
    let mut y = String::from("jobs:\n");
    for (name, ch) in [("a", 'x'), ("b", 'y')] {
        y.push_str(&format!(
            "  - name: {name}\n    run: for i in $(seq 40); do head -c 20000 /dev/zero | tr '\\0' {ch}; echo; sleep 0.01; done\n"
        ));
    }
    y.push_str("  - name: c\n    run: sleep 0.1; echo small\n");
    let r = Prun::new().jobfile(&y).args(&["-j", "3"]).run();
    r.code(0);
    let b = blocks(&r.stdout);
    assert_eq!(b.len(), 3, "{}", &r.stdout[..200.min(r.stdout.len())]);
    for (head, lines) in b {
        match head.as_str() {
            "a" | "b" => {
                let ch = if head == "a" { 'x' } else { 'y' };
                assert_eq!(lines.len(), 40, "{head}");
                assert!(
                    lines
                        .iter()
                        .all(|l| l.len() == 20000 && l.chars().all(|c| c == ch)),
                    "{head} mixed"
                );
            }
            "c" => assert_eq!(lines, ["small"]),
            other => panic!("unexpected block {other}"),
        }
    }
}

/// Big blocks are written by their job's own worker once they own stdout: every line
/// arrives, in order, in its own block, with the block's end status after it.
fn big_blocks_printed_by_their_worker_keep_every_line_in_order() {
    let y = "jobs:
  - name: a
    run: seq 1 300000
  - name: b
    run: seq 2000000 2300000
  - name: c
    run: seq 3000000 3200000; printf no-newline; exit 3
";
    for _ in 0..3 {
        let r = Prun::new().jobfile(y).args(&["-j", "3"]).run();
        r.code(1);
        let mut b = blocks(&r.stdout);
        // c's block: printed as it came, its header before its status was known and a
        // status line after it; or printed whole after waiting, the status in its header.
        if let Some(i) = b.iter().position(|x| x.0 == "c") {
            assert_eq!(b[i + 1], ("c (failed, exit 3)".to_owned(), Vec::new()));
            b.remove(i + 1);
            b[i].0 = "c (failed, exit 3)".to_owned();
        }
        let mut heads: Vec<&str> = b.iter().map(|x| x.0.as_str()).collect();
        heads.sort_unstable();
        assert_eq!(heads, ["a", "b", "c (failed, exit 3)"]);
        for (head, lines) in &b {
            let want: Vec<String> = match head.as_str() {
                "a" => (1..=300000).map(|i| i.to_string()).collect(),
                "b" => (2000000..=2300000).map(|i| i.to_string()).collect(),
                _ => (3000000..=3200000)
                    .map(|i| i.to_string())
                    .chain(["no-newline".to_owned()])
                    .collect(),
            };
            assert!(*lines == want, "block {head} differs");
        }
    }
}

/// While a big block is printed as it comes, nothing else lands inside it: another job's
/// block, its hook's block and its GitHub `::error` annotation all wait until it ends.
fn nothing_lands_inside_a_block_printed_as_it_comes() {
    let y = "jobs:
  - name: big
    run: seq 1 200000; sleep 1; seq 200001 300000
  - name: small
    run: sleep 0.3; echo small; exit 4
    on_complete: echo hook-out
";
    let r = Prun::new()
        .jobfile(y)
        .args(&["-j", "2"])
        .env("GITHUB_ACTIONS", "true")
        .run();
    r.code(1);
    let start = r.stdout.find("::group::big\n").expect("big's group") + "::group::big\n".len();
    let end = start + r.stdout[start..].find("::endgroup::\n").expect("big's end");
    let want: String = (1..=300000).map(|i| format!("{i}\n")).collect();
    assert!(r.stdout[start..end] == want, "big's block was interrupted");
    for other in [
        "::group::small (failed, exit 4)\nsmall\n",
        "hook-out\n",
        "::error title=prun%3A job small failed::",
    ] {
        let at = r
            .stdout
            .find(other)
            .unwrap_or_else(|| panic!("{other:?} missing"));
        assert!(at > end, "{other:?} printed inside big's block");
    }
}

/// In a real terminal (a pty from util-linux `script`) the progress bar is drawn for
/// grouped output, but not when streamed jobs write to that terminal themselves: the bar
/// would be left behind in pieces between their lines.
fn the_progress_bar_stays_out_of_streamed_output_in_a_terminal() {
    need(&[Facility::Script]);
    let in_terminal = |mode: &str| {
        let p = Prun::new().jobfile(&format!(
            "mode: {mode}\njobs:\n  - sleep 0.3; echo one\n  - sleep 0.3; echo two\n"
        ));
        let cmd = format!(
            "{} {}",
            crate::util::bin().display(),
            p.path("jobs.yaml").display()
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .expect("script runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let grouped = in_terminal("async");
    assert!(
        grouped.contains("] 2/2"),
        "no bar in a terminal: {grouped:?}"
    );
    let streamed = in_terminal("sync");
    assert!(
        !streamed.contains("] 0/2") && !streamed.contains("] 1/2"),
        "{streamed:?}"
    );
    assert!(streamed.contains("one\r\ntwo\r\n"), "{streamed:?}");
}

fn the_summary_table_aligns_names_by_their_width_on_screen_not_their_bytes() {
    // `été` is 3 columns and 5 bytes; `日本` is 4 columns and 6 bytes.
    let p = Prun::new()
        .jobfile("jobs:\n  - name: m\n    matrix: {x: [été, abcd, 日本]}\n    run: 'true'\n");
    let r = p.run();
    r.code(0);
    let columns: Vec<usize> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("m["))
        .map(|l| {
            let at = l.find("success").expect("a success row");
            unicode_width::UnicodeWidthStr::width(&l[..at])
        })
        .collect();
    assert_eq!(columns.len(), 3, "{}", r.stderr);
    assert!(
        columns.iter().all(|&c| c == columns[0]),
        "{columns:?}\n{}",
        r.stderr
    );
}

crate::tests!(
    grouped_blocks_never_mix,
    a_failed_job_block_says_how_it_ended,
    line_mode_prefixes_every_line_and_never_tears_one,
    line_mode_ends_an_unterminated_last_line,
    blocks_come_in_completion_order_unless_keep_order,
    keep_order_works_in_line_mode,
    output_none_discards_and_stream_passes_through,
    sync_mode_streams_by_default,
    large_output_passes_whole_in_every_mode,
    keep_order_with_stream_is_a_usage_error,
    two_jobs_writing_a_gigabyte_each_pass_in_bounded_memory,
    big_blocks_streamed_through_never_mix,
    big_blocks_printed_by_their_worker_keep_every_line_in_order,
    nothing_lands_inside_a_block_printed_as_it_comes,
    the_progress_bar_stays_out_of_streamed_output_in_a_terminal,
    the_summary_table_aligns_names_by_their_width_on_screen_not_their_bytes,
);
