//! `env_file:` (docs/jobfile.md, "Secrets in env files"): dotenv files, read before anything runs. The syntax, one
//! variable per line:
//!
//! - blank lines and lines starting with `#` are ignored; `export ` before a name is
//!   allowed (so the file can also be `source`d);
//! - `NAME=value`: the name is `[A-Za-z_][A-Za-z0-9_]*`, spaces around `=` are allowed;
//! - an unquoted value ends at the line's end or at ` #` (a comment), trailing spaces
//!   trimmed;
//! - `'single quoted'` is taken as it is, and may span lines;
//! - `"double quoted"` may span lines and understands `\n`, `\t`, `\"`, `\\` and `\$`;
//! - nothing is expanded: `$HOME` stays `$HOME` (values are data, as everywhere in prun).
//!
//! A small parser rather than a crate: the well-kept one (dotenvy) expands `${VAR}` from
//! prun's own environment and reports errors by position within a line, where prun
//! wants values taken as written and errors as `file:line`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::{Paths, Sp};

/// The largest env file prun reads.
const MAX: u64 = 1 << 20;

/// The variables of the files an `env_file:` names, in order, and the names each file
/// gave (for `--dry-run`, which shows names, never values).
pub(crate) type FromFiles = (Vec<(String, String)>, Vec<(String, Vec<String>)>);

/// Files already read (a default's `env_file` is read once, not once per job), and the
/// warnings to print before the run.
#[derive(Default)]
pub(crate) struct Cache {
    read: HashMap<PathBuf, Vec<(String, String)>>,
    pub(crate) warnings: Vec<String>,
}

impl Cache {
    /// The warnings, each said once, in the order they came.
    pub(crate) fn distinct_warnings(&mut self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.retain(|w| seen.insert(w.clone()));
        warnings
    }
}

/// Reads the files `written` names (relative to `base`); errors point at `written` and
/// say the file, line and reason.
pub(crate) fn read(
    src: &Source,
    base: &Path,
    written: &Sp<Paths>,
    cache: &mut Cache,
) -> Result<FromFiles, Diagnostic> {
    let mut vars = Vec::new();
    let mut shown = Vec::new();
    for name in &written.value.0 {
        let path = base.join(name);
        if !cache.read.contains_key(&path) {
            let loaded = load(&path, &mut cache.warnings).map_err(|why| {
                Diagnostic::at(src, written.referenced, format!("env_file {why}"))
                    .help("fix the file, or the path (relative to the jobfile's directory)")
            })?;
            cache.read.insert(path.clone(), loaded);
        }
        let these = &cache.read[&path];
        shown.push((name.clone(), these.iter().map(|(k, _)| k.clone()).collect()));
        vars.extend(these.iter().cloned());
    }
    Ok((vars, shown))
}

/// One file's variables; a file others may read gets a warning (it may hold secrets).
fn load(path: &Path, warnings: &mut Vec<String>) -> Result<Vec<(String, String)>, String> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown}: not a regular file"));
    }
    if meta.len() > MAX {
        return Err(format!("{shown}: bigger than {} KiB", MAX >> 10));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o044 != 0 {
        warnings.push(format!(
            "env_file {shown} can be read by other users (mode {mode:04o}); if it holds secrets: chmod 600 {shown}"
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{shown}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown}: not valid UTF-8"))?;
    parse(&text).map_err(|(line, why)| format!("{shown}:{line}: {why}"))
}

/// The variables of dotenv `text`, in order; `Err((line, reason))` at the first line that
/// breaks the syntax.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((name, rest)) = line.split_once('=') else {
            // Not quoted: a line of an env_file may be a secret (a token pasted alone).
            return Err((
                n,
                format!(
                    "expected NAME=value, found a line of {} characters without '='",
                    line.chars().count()
                ),
            ));
        };
        let name = name.trim_end();
        if !crate::names::is_variable_name(name) {
            return Err((
                n,
                format!(
                    "'{}' is not a variable name (letters, digits and _, not starting with a digit)",
                    shorten(name)
                ),
            ));
        }
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => quoted(q, &rest[1..], n, &mut lines)?,
            _ => unquoted(rest),
        };
        if value.contains('\0') {
            return Err((n, format!("the value of {name} has a NUL character")));
        }
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

/// An unquoted value: up to ` #`, trailing spaces trimmed.
fn unquoted(rest: &str) -> String {
    let end = rest
        .char_indices()
        .find(|&(i, c)| c == '#' && (i == 0 || rest[..i].ends_with([' ', '\t'])))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].trim_end().to_owned()
}

/// A quoted value starting after its opening quote `q`, on line `n` and maybe the next.
fn quoted<'a>(
    q: char,
    first: &'a str,
    n: usize,
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Result<String, (usize, String)> {
    let mut value = String::new();
    let mut line = first;
    loop {
        let mut chars = line.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if q == '"' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, 'r')) => value.push('\r'),
                    Some((_, e @ ('"' | '\\' | '$'))) => value.push(e),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    None => value.push('\\'),
                },
                c if c == q => {
                    let after = line[i + 1..].trim_start();
                    if !(after.is_empty() || after.starts_with('#')) {
                        // Not quoted: it may be the rest of a secret.
                        return Err((
                            n,
                            format!(
                                "{} characters after the closing quote (put the whole value inside the quotes)",
                                after.chars().count()
                            ),
                        ));
                    }
                    return Ok(value);
                }
                c => value.push(c),
            }
        }
        match lines.next() {
            Some((_, next)) => {
                value.push('\n');
                line = next;
            }
            None => return Err((n, format!("the {q}quote{q} opened here is never closed"))),
        }
    }
}

fn shorten(s: &str) -> String {
    let s: String = s.chars().take(40).collect();
    crate::names::printable(&s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn each_form_of_a_line() {
        let text = "# a comment\n\nA=1\nexport B=two words  \nC = spaced\nD=x # a comment\nE=x#not a comment\nF=\nG='single $HOME \\n'\nH=\"double \\\"q\\\" \\n \\$HOME \\\\\"\nI=\"multi\nline\"\nJ='a\nb'  # after\n  K=indented\n";
        assert_eq!(
            vars(text),
            kv(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "spaced"),
                ("D", "x"),
                ("E", "x#not a comment"),
                ("F", ""),
                ("G", "single $HOME \\n"),
                ("H", "double \"q\" \n $HOME \\"),
                ("I", "multi\nline"),
                ("J", "a\nb"),
                ("K", "indented"),
            ])
        );
    }

    #[test]
    fn errors_name_the_line_and_the_reason() {
        let err = |t: &str| parse(t).unwrap_err();
        assert_eq!(err("A=1\nnot a pair\n").0, 2);
        assert!(err("A=1\nnot a pair\n").1.contains("expected NAME=value"));
        assert_eq!(
            err("1A=x\n"),
            (
                1,
                "'1A' is not a variable name (letters, digits and _, not starting with a digit)"
                    .into()
            )
        );
        let (n, why) = err("A=1\nB=\"open\nC=2\n");
        assert_eq!(n, 2);
        assert!(why.contains("never closed"), "{why}");
        // Neither quotes what it found: it may be a secret.
        let why = err("A='x' s3cr3t\n").1;
        assert!(
            why.contains("6 characters after the closing quote") && !why.contains("s3cr3t"),
            "{why}"
        );
        let why = err("s3cr3t-token\n").1;
        assert!(
            why.contains("without '='") && !why.contains("s3cr3t"),
            "{why}"
        );
    }
}
