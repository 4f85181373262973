//! `matrix:` expansion: a map of lists becomes one job per combination, named
//! `name[key=value,...]`, with each value passed as an environment variable `key` —
//! never pasted into the command text, so values need no quoting. In the name a value is
//! shown escaped ([`names::escape_value`](crate::names::escape_value)); the variable gets it exactly as written.
//!
//! A key's values may also be found when the job is about to run — a *dynamic* matrix:
//! `{glob: PATTERN}` (the matching paths, sorted, relative to the job's workdir, `**`
//! for any depth), `{lines: FILE}` (the file's non-empty lines) or
//! `"${{ needs.J.outputs.K }}"` (a JSON array, else one value per line, else per comma).
//! Such a job is expanded once every job it needs has succeeded (`Dynamic::combinations`).

use std::path::Path;
use std::sync::Arc;

use super::template::{self, Part, Template};
use crate::input::diagnostic::{Diagnostic, Pos, Source};
use crate::input::jobfile::{Matrix, MatrixValues, Sp};

/// At most this many jobs from a matrix written out, to catch a runaway product.
const MAX_COMBINATIONS: usize = 10_000;
/// At most this many jobs from a dynamic matrix (a glob of a big directory).
pub(crate) const MAX_DYNAMIC: usize = 1_000_000;

/// One combination: the name suffix (`[os=linux,v=1]`) and the variables.
pub(crate) struct Combination {
    pub(crate) suffix: String,
    pub(crate) values: Box<[(Arc<str>, Arc<str>)]>,
}

/// The values of each key of a matrix: the combinations they make are made one at a
/// time (`get`), so that a glob of a million files does not hold a million of them.
pub(crate) struct Lists {
    keys: Vec<(Arc<str>, Vec<Arc<str>>)>,
    len: usize,
}

impl Lists {
    fn new(keys: Vec<(Arc<str>, Vec<Arc<str>>)>) -> Lists {
        let len = keys
            .iter()
            .fold(1usize, |t, (_, v)| t.saturating_mul(v.len()));
        Lists { keys, len }
    }

    /// How many combinations there are (none when a key has no values).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether two combinations can have the same name: only with several keys, when
    /// values holding `,` and `=` spell other keys (one key's values are unique, and
    /// [`names::escape_value`](crate::names::escape_value) keeps them apart).
    pub(crate) fn may_repeat_names(&self) -> bool {
        self.keys.len() > 1
    }

    /// Combination `i` (below `len`), the first key varying slowest.
    pub(crate) fn get(&self, i: usize) -> Combination {
        let mut picks = vec![0; self.keys.len()];
        let mut rest = i;
        for (pick, (_, values)) in picks.iter_mut().zip(&self.keys).rev() {
            *pick = rest % values.len();
            rest /= values.len();
        }
        let values: Box<[(Arc<str>, Arc<str>)]> = self
            .keys
            .iter()
            .zip(picks)
            .map(|((k, v), p)| (Arc::clone(k), Arc::clone(&v[p])))
            .collect();
        let mut suffix = String::from("[");
        for (n, (k, v)) in values.iter().enumerate() {
            if n > 0 {
                suffix.push(',');
            }
            suffix.push_str(k);
            suffix.push('=');
            suffix.push_str(&crate::names::escape_value(v));
        }
        suffix.push(']');
        Combination { suffix, values }
    }
}

/// What a matrix makes: its jobs, or the recipe for them when its values are found at
/// run time.
pub(crate) enum Expansion {
    Static(Vec<Combination>),
    Dynamic(Dynamic),
}

/// A matrix with values found at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dynamic {
    pub(crate) keys: Vec<(Arc<str>, Values)>,
}

/// Where one key's values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Values {
    Listed(Vec<String>),
    Glob(String),
    Lines(String),
    /// A reference to one output of a job it needs (resolved like `env` templates).
    Output(Template),
}

/// Checks the matrix and expands it (now, or says how at run time).
pub(crate) fn expand(src: &Source, m: &Sp<Matrix>) -> Result<Expansion, Diagnostic> {
    let fail = |msg: String, help: &str| Err(Diagnostic::at(src, m.referenced, msg).help(help));
    if m.value.0.is_empty() {
        return fail(
            "`matrix` is empty".into(),
            "give at least one key with a list of values, or remove `matrix:`",
        );
    }
    let mut keys = Vec::with_capacity(m.value.0.len());
    for (key, values) in &m.value.0 {
        if !crate::names::is_variable_name(key) {
            return fail(
                format!("matrix key '{key}' cannot be an environment variable name"),
                "use letters, digits and '_', not starting with a digit, e.g. `os` or `PY_VERSION`",
            );
        }
        let values = match values {
            MatrixValues::List(v) => {
                let v: Vec<String> = v.iter().map(|s| s.0.clone()).collect();
                check_listed(key, &v)
                    .map_err(|(msg, help)| Diagnostic::at(src, m.referenced, msg).help(help))?;
                Values::Listed(v)
            }
            MatrixValues::Glob(p) => Values::Glob(p.clone()),
            MatrixValues::Lines(f) => Values::Lines(f.clone()),
            MatrixValues::Output(text) => Values::Output(output_ref(src, m.referenced, key, text)?),
        };
        keys.push((Arc::from(key.as_str()), values));
    }
    if keys.iter().any(|(_, v)| !matches!(v, Values::Listed(_))) {
        return Ok(Expansion::Dynamic(Dynamic { keys }));
    }
    let lists = Lists::new(
        keys.into_iter()
            .map(|(k, v)| match v {
                Values::Listed(v) => (k, v.into_iter().map(Arc::from).collect()),
                _ => unreachable!("all listed"),
            })
            .collect(),
    );
    let total = lists.len();
    if total > MAX_COMBINATIONS {
        return fail(
            format!("this matrix makes {total} jobs, more than prun's limit of {MAX_COMBINATIONS}"),
            "split it into several jobs or fewer values",
        );
    }
    combinations(&lists).map(Expansion::Static).map_err(|msg| {
        Diagnostic::at(src, m.referenced, msg)
            .help("values containing ',' and '=' can read as other keys; change them")
    })
}

/// A written list: not empty, no value twice.
fn check_listed(key: &str, values: &[String]) -> Result<(), (String, &'static str)> {
    if values.is_empty() {
        return Err((
            format!("matrix key '{key}' has no values"),
            "list at least one value, e.g. `os: [linux]`",
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err((
                format!("matrix key '{key}' lists '{v}' twice"),
                "remove the repeated value",
            ));
        }
    }
    Ok(())
}

/// `"${{ needs.J.outputs.K }}"`: exactly one reference.
fn output_ref(src: &Source, at: Pos, key: &str, text: &str) -> Result<Template, Diagnostic> {
    let help = "give a list (`[a, b]`), `{glob: PATTERN}`, `{lines: FILE}` or \"${{ needs.JOB.outputs.KEY }}\"";
    let parts = match template::parse(text.trim()) {
        Ok(Some(parts)) => parts,
        Ok(None) => {
            return Err(Diagnostic::at(
                src,
                at,
                format!("matrix key '{key}': '{text}' is not a list of values"),
            )
            .help(help));
        }
        Err(why) => {
            return Err(Diagnostic::at(src, at, format!("matrix key '{key}': {why}")).help(help));
        }
    };
    if !matches!(parts[..], [Part::Output { .. }]) {
        return Err(Diagnostic::at(
            src,
            at,
            format!("matrix key '{key}': the values come from one output, and nothing else"),
        )
        .help("write only \"${{ needs.JOB.outputs.KEY }}\""));
    }
    Ok(Template {
        var: key.to_owned(),
        parts,
        at,
    })
}

/// Every combination of `lists`, checked to have unique names.
fn combinations(lists: &Lists) -> Result<Vec<Combination>, String> {
    let combos: Vec<Combination> = (0..lists.len()).map(|i| lists.get(i)).collect();
    if lists.may_repeat_names() {
        let mut seen = std::collections::HashSet::with_capacity(combos.len());
        for c in &combos {
            if !seen.insert(c.suffix.as_str()) {
                return Err(format!("this matrix makes two jobs named '{}'", c.suffix));
            }
        }
    }
    Ok(combos)
}

impl Dynamic {
    /// The values found now (globs and files read in `workdir`, outputs looked up with
    /// `output(job, key)`), which make the combinations. `Err` says why there are none.
    pub(crate) fn lists<'a>(
        &self,
        workdir: &Path,
        output: impl Fn(usize, &str) -> Option<&'a str>,
    ) -> Result<Lists, String> {
        let mut lists = Vec::with_capacity(self.keys.len());
        let mut total: usize = 1;
        for (key, source) in &self.keys {
            let values = match source {
                Values::Listed(v) => v.clone(),
                // Sorted paths: a repeat would be next to itself, and there is none.
                Values::Glob(p) => {
                    glob(workdir, p).map_err(|e| format!("matrix key '{key}': {e}"))?
                }
                Values::Lines(f) => {
                    lines(workdir, f).map_err(|e| format!("matrix key '{key}': {e}"))?
                }
                Values::Output(t) => {
                    let text = t.render(&output).map_err(|(name, k)| {
                        format!("matrix key '{key}' uses output '{k}' of '{name}', which '{name}' did not write")
                    })?;
                    split_list(&text)
                }
            };
            if !matches!(source, Values::Glob(_)) {
                let mut unique = std::collections::HashSet::with_capacity(values.len());
                if let Some(v) = values.iter().find(|v| !unique.insert(v.as_str())) {
                    return Err(format!(
                        "matrix key '{key}' has the value '{}' twice",
                        crate::names::printable(v)
                    ));
                }
            }
            total = total.saturating_mul(values.len());
            if total > MAX_DYNAMIC {
                return Err(format!(
                    "this matrix makes more than {MAX_DYNAMIC} jobs, prun's limit"
                ));
            }
            lists.push((Arc::clone(key), values.into_iter().map(Arc::from).collect()));
        }
        Ok(Lists::new(lists))
    }

    /// Where the values come from, in words (for `--dry-run` and notices).
    pub(crate) fn describe(&self) -> String {
        self.keys
            .iter()
            .map(|(k, v)| match v {
                Values::Listed(l) => format!("{k} = {}", l.join(", ")),
                Values::Glob(p) => format!("{k} from glob '{p}'"),
                Values::Lines(f) => format!("{k} from the lines of '{f}'"),
                Values::Output(t) => format!("{k} from {}", t.written()),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Its output references, to resolve like `env` templates.
    pub(crate) fn templates_mut(&mut self) -> impl Iterator<Item = &mut Template> {
        self.keys.iter_mut().filter_map(|(_, v)| match v {
            Values::Output(t) => Some(t),
            _ => None,
        })
    }
}

/// The paths under `workdir` that match `pattern` (relative to it; `**` for any number
/// of directories), sorted. Dot files match only a pattern that starts them with `.`.
/// A name that is not UTF-8 is an error that names it (the glob crate's own walk
/// panicked on one, and skipping it would drop a file from a backup unsaid).
pub(crate) fn glob(workdir: &Path, pattern: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = pattern
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let (start, rel) = if pattern.starts_with('/') {
        (Path::new("/").to_path_buf(), "/".to_owned())
    } else {
        (workdir.to_path_buf(), String::new())
    };
    let mut out = Vec::new();
    walk_glob(&start, &rel, &parts, pattern, &mut out)?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// How a name is matched: `*` never crosses `/` nor matches a leading `.`.
const MATCH: ::glob::MatchOptions = ::glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// Matches `parts` (what is left of the pattern) under `dir`, which `rel` names.
fn walk_glob(
    dir: &Path,
    rel: &str,
    parts: &[&str],
    pattern: &str,
    out: &mut Vec<String>,
) -> Result<(), String> {
    let Some((&part, rest)) = parts.split_first() else {
        if !rel.is_empty() {
            out.push(rel.to_owned());
        }
        return Ok(());
    };
    let join = |name: &str| {
        if rel.is_empty() || rel.ends_with('/') {
            format!("{rel}{name}")
        } else {
            format!("{rel}/{name}")
        }
    };
    if !part.contains(['*', '?', '[']) {
        let path = dir.join(part);
        if (rest.is_empty() && std::fs::symlink_metadata(&path).is_ok()) || path.is_dir() {
            walk_glob(&path, &join(part), rest, pattern, out)?;
        }
        return Ok(());
    }
    if part == "**" {
        // No directory, then each directory below that is not hidden (links to
        // directories are not followed: a loop would never end).
        walk_glob(dir, rel, rest, pattern, out)?;
        for (name, path) in entries(dir) {
            let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            if is_dir && !lossy(&name).starts_with('.') {
                walk_glob(
                    &path,
                    &join(utf8(&name, dir, pattern)?),
                    parts,
                    pattern,
                    out,
                )?;
            }
        }
        return Ok(());
    }
    let matcher = ::glob::Pattern::new(part)
        .map_err(|e| format!("the glob '{pattern}' is not valid: {e}"))?;
    for (name, path) in entries(dir) {
        if matcher.matches_with(&lossy(&name), MATCH) && (rest.is_empty() || path.is_dir()) {
            walk_glob(&path, &join(utf8(&name, dir, pattern)?), rest, pattern, out)?;
        }
    }
    Ok(())
}

/// The entries of `dir` (none when it cannot be read): names and paths.
fn entries(dir: &Path) -> Vec<(std::ffi::OsString, std::path::PathBuf)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .map(|e| (e.file_name(), e.path()))
        .collect()
}

fn lossy(name: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    name.to_string_lossy()
}

/// A name the glob matched, as text: one that is not UTF-8 is an error that names it.
fn utf8<'a>(name: &'a std::ffi::OsStr, dir: &Path, pattern: &str) -> Result<&'a str, String> {
    name.to_str().ok_or_else(|| {
        // Its bytes as they are: the valid text, and `\xff` for each byte that is not.
        let mut shown = String::new();
        for chunk in name.as_encoded_bytes().utf8_chunks() {
            shown.push_str(&crate::names::printable(chunk.valid()));
            chunk.invalid().iter().for_each(|b| shown.push_str(&format!("\\x{b:02x}")));
        }
        format!(
            "glob '{pattern}' matches a name in {} that is not valid UTF-8 ({shown}): rename it, or narrow the glob",
            dir.display(),
        )
    })
}

/// The non-empty lines of `file` (relative to `workdir`), as written.
fn lines(workdir: &Path, file: &str) -> Result<Vec<String>, String> {
    let path = workdir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the lines of {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

/// An output as a list: a JSON array (its strings; numbers and booleans as written),
/// else one value per non-empty line, else one per comma (spaces around trimmed).
pub(crate) fn split_list(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    if trimmed.starts_with('[')
        && let Ok(items) = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(trimmed)
    {
        return items
            .into_iter()
            .map(|raw| {
                serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_owned())
            })
            .collect();
    }
    if trimmed.contains('\n') {
        return text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
    }
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(',').map(|v| v.trim().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_list_is_json_else_lines_else_commas() {
        assert_eq!(
            split_list(r#"["a b", 1.10, true]"#),
            ["a b", "1.10", "true"]
        );
        assert_eq!(split_list("one\ntwo\n\nthree\n"), ["one", "two", "three"]);
        assert_eq!(split_list("app, users,logs"), ["app", "users", "logs"]);
        assert!(split_list("  ").is_empty());
        assert_eq!(split_list("[not json"), ["[not json"]);
    }

    #[test]
    fn a_glob_is_sorted_relative_and_skips_dot_files() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "b.jpg",
            "a.jpg",
            ".hidden.jpg",
            "sub/c.jpg",
            "sub/deep/d.jpg",
            "x.png",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        assert_eq!(glob(dir.path(), "*.jpg").unwrap(), ["a.jpg", "b.jpg"]);
        assert_eq!(
            glob(dir.path(), "**/*.jpg").unwrap(),
            ["a.jpg", "b.jpg", "sub/c.jpg", "sub/deep/d.jpg"]
        );
        assert!(glob(dir.path(), "*.none").unwrap().is_empty());
        assert!(glob(dir.path(), "[").is_err());
        assert_eq!(glob(dir.path(), "sub/*.jpg").unwrap(), ["sub/c.jpg"]);
        assert_eq!(glob(dir.path(), "sub").unwrap(), ["sub"]);
        assert_eq!(glob(dir.path(), ".*.jpg").unwrap(), [".hidden.jpg"]);
        let name = std::ffi::OsStr::from_bytes(b"bad\xff.jpg");
        std::fs::write(dir.path().join("sub").join(name), "").unwrap();
        let other = std::ffi::OsStr::from_bytes(b"odd\xff.txt");
        std::fs::write(dir.path().join(other), "").unwrap();
        assert_eq!(
            glob(dir.path(), "*.jpg").unwrap(),
            ["a.jpg", "b.jpg"],
            "not matched: no matter"
        );
        let err = glob(dir.path(), "sub/*.jpg").unwrap_err();
        assert!(
            err.contains("not valid UTF-8") && err.contains("bad\\xff.jpg"),
            "{err}"
        );
    }
}
