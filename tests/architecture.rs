//! The shape of the source tree, checked (docs/ARCHITECTURE.md, "Layers"): each module of
//! `src/` uses only modules of the layers below its own, no two files import each other
//! however indirectly, no file outside tests is over 600 lines, and the `PRUN_*`
//! variables jobs and hooks see are named in one place. Read from the source text: every
//! `crate::a::b` and `super::x` path in non-test code is an import of the file that
//! defines it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first, as `src/lib.rs` lists them: a module may use the modules
/// of earlier layers, and its own submodules.
const LAYERS: &[&[&str]] = &[
    &["exit"],
    &["alloc", "files", "mask", "names", "sizes", "times"],
    &["input"],
    &["executor"],
    &["plan"],
    &["outcome"],
    &["schedule"],
    &["output"],
    &["state"],
    &["report"],
    &["error"],
    &["runner"],
    &["docs"],
    &["", "main"],
];

/// The longest a source file may be (tests excepted).
const MAX_LINES: usize = 600;

/// Every `.rs` file under `src/`, by module path (`plan::jobs`; `""` for lib.rs).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
                parts.pop();
            }
            (parts.join("::"), p)
        })
        .collect()
}

/// The code of a file without comments and without its tests (an inline `mod tests`,
/// and files named `tests.rs`).
fn code(module: &str, text: &str) -> String {
    if module == "tests" || module.ends_with("::tests") {
        return String::new();
    }
    // An inline `mod tests { … }` ends the file's code (a `mod tests;` does not).
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules `code` (of `module`) names with `crate::` and `super::` paths, each
/// resolved to the longest prefix that is a file of its own.
fn imports(
    module: &str,
    is_mod_rs: bool,
    code: &str,
    all: &BTreeMap<String, PathBuf>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let start_ok = i == 0 || !word(bytes[i - 1]);
        let (base, skip) = if start_ok && rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if start_ok && rest.starts_with("super::") {
            // In `a::b` (a file `a/b.rs`), `super` is `a`; in `a/mod.rs`, it is the root.
            let mut parts: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
            parts.pop();
            (
                parts.iter().map(|s| s.to_string()).collect(),
                "super::".len(),
            )
        } else {
            i += 1;
            continue;
        };
        let tree = use_tree(&rest[skip..]);
        for path in expand(&tree) {
            let mut parts = base.clone();
            parts.extend(
                path.split("::")
                    .filter(|p| !p.is_empty() && *p != "self")
                    .map(str::to_owned),
            );
            while !parts.is_empty() {
                let candidate = parts.join("::");
                if all.contains_key(&candidate) {
                    if candidate != module {
                        out.insert(candidate);
                    }
                    break;
                }
                parts.pop();
            }
        }
        let path = tree;
        i += skip + path.len();
    }
    // A module's own submodules, named without `crate::` (`jobs::JobContext` in
    // plan/mod.rs).
    if is_mod_rs {
        for line in code.lines() {
            let l = line.trim();
            let Some(child) = l
                .strip_prefix("mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("pub mod "))
                .and_then(|c| c.strip_suffix(';'))
            else {
                continue;
            };
            let full = if module.is_empty() {
                child.to_owned()
            } else {
                format!("{module}::{child}")
            };
            let named = code
                .match_indices(&format!("{child}::"))
                .any(|(at, _)| at == 0 || !(word(bytes[at - 1]) || bytes[at - 1] == b':'));
            if named && all.contains_key(&full) {
                out.insert(full);
            }
        }
    }
    out
}

/// The path or use tree at the start of `text`: `a::b`, `a::{b, c::{d, e}}`.
fn use_tree(text: &str) -> String {
    let mut depth = 0usize;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            c if depth > 0 || c.is_ascii_alphanumeric() || c == '_' || c == ':' => {}
            _ => break,
        }
        end = i + c.len_utf8();
        if depth == 0 && c == '}' {
            break;
        }
    }
    text[..end].to_owned()
}

/// The paths of a use tree: `a::{b, c::{d}}` is `a::b`, `a::c::d`.
fn expand(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.trim_end_matches(':').to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

fn layer(module: &str) -> usize {
    let top = module.split("::").next().unwrap_or_default();
    LAYERS
        .iter()
        .position(|l| l.contains(&top))
        .unwrap_or_else(|| {
            panic!("module `{top}` is in no layer: add it to LAYERS and to docs/ARCHITECTURE.md")
        })
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let all = modules();
    all.iter()
        .map(|(m, p)| {
            let text = std::fs::read_to_string(p).unwrap();
            let is_mod_rs = p
                .file_name()
                .is_some_and(|f| f == "mod.rs" || f == "lib.rs");
            (m.clone(), imports(m, is_mod_rs, &code(m, &text), &all))
        })
        .collect()
}

fn each_layer_uses_only_the_layers_below_it() {
    let mut wrong = Vec::new();
    for (from, tos) in graph() {
        for to in tos {
            let same_module = from.split("::").next() == to.split("::").next();
            if !same_module && layer(&to) >= layer(&from) {
                wrong.push(format!("{from} uses {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a lower layer uses a higher one (docs/ARCHITECTURE.md, \"Layers\"):\n  {}",
        wrong.join("\n  ")
    );
}

fn no_files_import_each_other() {
    let g = graph();
    // Tarjan's strongly connected components.
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in &t.g[v] {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g: &g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    let circles: Vec<String> = t.out.iter().map(|c| c.join(", ")).collect();
    assert!(
        circles.is_empty(),
        "files that import each other, directly or through others:\n  {}",
        circles.join("\n  ")
    );
}

fn no_source_file_is_longer_than_600_lines_outside_tests() {
    let mut long = Vec::new();
    for (m, p) in modules() {
        let text = std::fs::read_to_string(&p).unwrap();
        let n = code(&m, &text).lines().count();
        if n > MAX_LINES {
            long.push(format!("{} ({n} lines)", p.display()));
        }
    }
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

fn the_prun_variables_jobs_and_hooks_see_are_named_in_one_place() {
    let mut elsewhere = Vec::new();
    for (m, p) in modules() {
        if m == "runner::env" {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for (n, line) in code(&m, &text).lines().enumerate() {
            // prun's own knobs, read from its environment and never set for a job.
            let names_one = line.match_indices("\"PRUN_").any(|(at, _)| {
                let name: String = line[at + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                let after = line[at + 1 + name.len()..].chars().next();
                !matches!(
                    name.as_str(),
                    "PRUN_NO_CLONE3" | "PRUN_COMPLETE" | "PRUN_TEST_PANIC" | "PRUN_TEST_NOW"
                ) && matches!(after, Some('"' | '{'))
            });
            if names_one {
                elsewhere.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        elsewhere.is_empty(),
        "PRUN_* variables named outside src/runner/env.rs:\n  {}",
        elsewhere.join("\n  ")
    );
}

/// CHANGELOG.md in Keep a Changelog's form: each release (`## `) has at most one heading
/// of each kind (`### Added`, `Changed`, ...), of the kinds it names, and every entry
/// under one is a bullet.
fn the_changelog_has_one_heading_of_each_kind_per_release() {
    let text = std::fs::read_to_string(crate::util::repo().join("CHANGELOG.md")).unwrap();
    let kinds = [
        "Added",
        "Changed",
        "Deprecated",
        "Removed",
        "Fixed",
        "Security",
    ];
    let mut seen: Vec<&str> = Vec::new();
    let mut wrong = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("## ") {
            seen.clear();
        } else if let Some(kind) = line.strip_prefix("### ") {
            if !kinds.contains(&kind) || seen.contains(&kind) {
                wrong.push(format!("line {}: {line}", n + 1));
            }
            seen.push(kind);
        } else if !seen.is_empty()
            && !line.is_empty()
            && !line.starts_with("- ")
            && !line.starts_with("  ")
        {
            wrong.push(format!("line {}: not a bullet: {line}", n + 1));
        }
    }
    assert!(wrong.is_empty(), "CHANGELOG.md:\n  {}", wrong.join("\n  "));
}

/// The integration tests run on libtest-mimic (`harness = false`): a `#[test]` there is
/// compiled out without a word, so a test written so would never run. Each module lists
/// its tests with `crate::tests!` instead (tests/util/trials.rs).
fn no_integration_test_is_marked_test_where_it_would_never_run() {
    let dir = crate::util::repo().join("tests");
    let mut marked = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for d in [dir.clone(), dir.join("util")] {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim() == "#[test]" {
                marked.push(format!("{}:{}", p.display(), n + 1));
            }
        }
    }
    assert!(
        marked.is_empty(),
        "#[test] in the integration tests (list the test in its module's crate::tests! instead):\n  {}",
        marked.join("\n  ")
    );
}

crate::tests!(
    no_integration_test_is_marked_test_where_it_would_never_run,
    the_changelog_has_one_heading_of_each_kind_per_release,
    each_layer_uses_only_the_layers_below_it,
    no_files_import_each_other,
    no_source_file_is_longer_than_600_lines_outside_tests,
    the_prun_variables_jobs_and_hooks_see_are_named_in_one_place,
);
