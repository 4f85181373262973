//! The fast path against serde-saphyr: wherever the fast path reads a jobfile, it must
//! give exactly what serde-saphyr gives (values, types and every position); everywhere
//! else it must give up. Jobfiles are generated from pieces chosen to sit on both sides
//! of every rule of the subset.

use super::parse;

/// What serde-saphyr makes of `text`, and what the fast path does (if it reads it).
fn both(text: &str) -> (String, Option<String>) {
    let slow = match crate::input::jobfile::from_yaml(text, text.len()) {
        Ok(jf) => format!("{jf:#?}"),
        Err(e) => format!("error: {e}"),
    };
    (slow, parse(text).map(|jf| format!("{jf:#?}")))
}

/// Asserts the fast path agrees with serde-saphyr, and says whether it read `text`.
fn agrees(text: &str) -> bool {
    let (slow, fast) = both(text);
    if let Some(fast) = &fast {
        assert_eq!(&slow, fast, "the fast path differs on:\n{text}");
    }
    fast.is_some()
}

#[test]
fn the_shapes_generators_write_take_the_fast_path_and_agree() {
    for text in [
        "jobs:\n  - true\n  - \"true\"\n  - echo 1\n",
        "jobs:\n- echo a\n- 'echo b'\n",
        "mode: async\njobs:\n  - name: job1\n    run: echo 1\n    timeout: 1m\n",
        "jobs:\n  - name: b\n    run: make\n    needs: [a, c]\n    tags:\n      - nightly\n  - {run: x}\n"
            .replace("  - {run: x}\n", "  - run: x\n    when: always\n    needs:\n    - b\n")
            .as_str(),
        "# generated\njobs:   # the work\n\n  - echo a  # first\n  # between\n  -   echo b\nconcurrency: 3\n",
        "jobs:\n  - run: cp a b\n    retries: 2\n    retry_delay: 5s\n    uses: db\n    on_success: echo ok\n",
        "defaults:\n  timeout: 1h\njobs:\n  - name: 'it''s'\n    run: \"echo é\"\n    workdir: sub\n",
    ] {
        assert!(agrees(text), "the fast path gave up on:\n{text}");
    }
}

#[test]
fn what_yaml_reads_otherwise_is_left_to_serde_saphyr() {
    for text in [
        // types YAML infers, nulls, escapes, anchors, tags, block scalars, flow mappings
        "jobs:\n  - 1\n",
        "jobs:\n  - 010\n",
        "jobs:\n  - ~\n",
        "jobs:\n  - yes\n",
        "jobs:\n  - \"a\\tb\"\n",
        "jobs:\n  - &a x\n  - *a\n",
        "jobs:\n  - !!str 1\n",
        "jobs:\n  - |\n    echo\n",
        "jobs:\n  - {run: x}\n",
        "jobs:\n  - [a]\n",
        // multi-line plain scalars, tabs, CRLF, mapping-looking text, a comment without space
        "jobs:\n  - echo a\n    b\n",
        "jobs:\n  - echo\ta\n",
        "jobs:\r\n  - a\r\n",
        "jobs:\n  - echo a: b\n",
        "jobs:\n  - \"a\"#b\n",
        "jobs:\n  - run: x\n    env: {A: 1}\n",
        // keys twice, unknown keys, values the key's type refuses
        "jobs:\n  - run: x\n    run: y\n",
        "jobs:\n  - run: x\n    nmae: y\n",
        "jobs:\n  - run: x\n    timeout: soon\n",
        "jobs:\n  - run: x\n    retries: 03\n",
        "jobs:\n  - run: x\n    when: never\n",
        "jobs:\n  - run:\n",
        "jobs:\n  - run: ~\n",
        // no list, an empty list, two lists, a flow list, more documents
        "jobs: []\n",
        "jobs:\nmode: sync\n",
        "jobs:\n  - a\njobs:\n  - b\n",
        "jobs: [a]\n",
        "jobs:\n  - a\n---\njobs:\n  - b\n",
    ] {
        assert!(!agrees(text), "the fast path read:\n{text}");
    }
}

/// A small deterministic generator (xorshift), so a failure is reproducible by its seed;
/// `odd` is how often (1 in `odd`) a value is taken from the edges.
struct Rng(u64, usize);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    /// Mostly a value the fast path reads, sometimes one at its edges.
    fn value(&mut self) -> &'static str {
        if self.below(self.1) == 0 {
            self.pick(SCALARS)
        } else {
            self.pick(GOOD)
        }
    }
}

/// Values the fast path reads (for some keys), and values at or over its edges.
const GOOD: &[&str] = &[
    "echo hi",
    "true",
    "false",
    "x",
    "\"quoted\"",
    "'x'",
    "'it''s'",
    "1m",
    "90s",
    "1h 30m",
    "3",
    "success",
    "failure",
    "always",
    "db",
    "echo a#b",
    "echo a:b",
    "x  # comment",
    "é",
];

const SCALARS: &[&str] = &[
    "true",
    "false",
    "True",
    "TRUE",
    "yes",
    "No",
    "on",
    "null",
    "Null",
    "~",
    "1",
    "010",
    "0x1F",
    "1.10",
    "1e3",
    ".inf",
    "-x",
    "+1",
    "2026-11-29",
    "echo hi",
    "echo a: b",
    "echo a:b",
    "echo a #c",
    "echo a#b",
    "echo x:",
    "\"quoted\"",
    "\"a \\\" b\"",
    "\"a\\tb\"",
    "'it''s'",
    "'x'",
    "\"x\" # c",
    "\"x\"#c",
    "'x' #c",
    "echo é",
    "echo \"a #b\"",
    "&a x",
    "*a",
    "!tag x",
    "|",
    ">",
    "[a, b]",
    "{a: b}",
    "echo {}",
    "echo [x]",
    "% x",
    "@x",
    "`x`",
    "?x",
    "? x",
    ":x",
    ",x",
    "echo  two  spaces",
    "trail   ",
    "",
    "- nested",
    "a\tb",
    "1m",
    "0s",
    "90s",
    "1h 30m",
    "bogus",
    "3",
    "-1",
    "03",
    "success",
    "failure",
    "always",
    "db",
    "\"\"",
    "''",
    "x  # comment",
    "\"1m\"",
    "'3'",
    "é",
    "\u{85}x",
    "x\u{7f}",
];

const KEYS: &[&str] = &[
    "name",
    "run",
    "timeout",
    "retries",
    "needs",
    "tags",
    "when",
    "uses",
    "workdir",
    "env",
    "executor",
    "backoff",
    "on_success",
    "on_failure",
    "on_complete",
    "hook_timeout",
    "retry_delay",
    "retry_delay_max",
    "nmae",
    "matrix",
];

const LISTS: &[&str] = &[
    "[a, b]",
    "[]",
    "[a,b]",
    "[ a , b ]",
    "[a, ]",
    "[a, [b]]",
    "[true]",
    "[1]",
    "[a b]",
    "[é]",
    "[a] # c",
    "[a]#c",
    "[-a]",
    "[a: b]",
    "[yes]",
];

/// One job entry at indentation `ind`, as a few lines.
fn entry(rng: &mut Rng, ind: usize) -> String {
    let pad = " ".repeat(ind);
    let gap = " ".repeat(1 + usize::from(rng.below(6) == 0) * 2);
    if rng.below(3) == 0 {
        let mut s = format!("{pad}-{gap}{}\n", rng.value());
        if rng.below(15) == 0 {
            s.push_str(&format!("{pad}    continued\n"));
        }
        return s;
    }
    let col = ind + 1 + gap.len();
    let inner = " ".repeat(col + usize::from(rng.below(25) == 0));
    let mut s = format!("{pad}-{gap}");
    let mut first = true;
    let keys = 1 + rng.below(4);
    for k in 0..keys {
        let key = if k == 0 && rng.below(2) == 0 {
            "run"
        } else if rng.below(6) == 0 {
            rng.pick(KEYS)
        } else {
            rng.pick(&KEYS[..9])
        };
        if !first {
            s.push_str(&inner);
        }
        first = false;
        match rng.below(6) {
            0 => s.push_str(&format!("{key}: {}\n", rng.pick(LISTS))),
            1 => {
                s.push_str(&format!("{key}:\n"));
                let li = " ".repeat(col + 2 * rng.below(2));
                for _ in 0..1 + rng.below(3) {
                    s.push_str(&format!("{li}- {}\n", rng.value()));
                }
            }
            _ => s.push_str(&format!("{key}: {}\n", rng.value())),
        }
        if rng.below(12) == 0 {
            s.push_str(&format!("{inner}# a comment\n\n"));
        }
    }
    s
}

#[test]
fn generated_jobfiles_read_alike_on_both_paths() {
    // Set PRUN_FAST_SEED to explore (`cargo test --release` runs 40,000 in two seconds).
    let seed = std::env::var("PRUN_FAST_SEED").map_or(0x9e37_79b9_7f4a_7c15, |s| {
        s.parse().expect("PRUN_FAST_SEED is a number")
    });
    let mut rng = Rng(seed, 8);
    let (mut read, total) = (0, 4000);
    for _ in 0..total {
        rng.1 = if rng.below(2) == 0 { 8 } else { 1000 };
        let mut text = String::new();
        if rng.below(3) == 0 {
            text.push_str(rng.pick(&["mode: sync\n", "---\n", "# c\n", "concurrency: 2\n"]));
        }
        text.push_str(rng.pick(&["jobs:\n", "jobs:   # c\n", "jobs:\n\n", "jobs: #c\n"]));
        let ind = rng.pick(&["0", "2", "2", "4"]).parse().unwrap();
        for _ in 0..1 + rng.below(4) {
            text.push_str(&entry(&mut rng, ind));
        }
        if rng.below(3) == 0 {
            text.push_str(rng.pick(&[
                "mode: sync\n",
                "...\n",
                "# end\n",
                "  - stray\n",
                "grace: 5s\n",
            ]));
        }
        if agrees(&text) {
            read += 1;
        }
    }
    // Both sides of the rules are exercised: neither path is taken every time.
    assert!(
        read > total / 10 && read < total * 9 / 10,
        "fast path read {read} of {total}"
    );
}
