//! Job outputs (docs/jobs-together.md, `Queue`/`Pipe`): every attempt of a job gets `PRUN_OUTPUT`,
//! the path of a file it may write `key=value` lines to, or multi-line values as
//! `key<<DELIM` … `DELIM` — the `$GITHUB_OUTPUT` format. The file need not exist: a job
//! that writes none has no outputs, and costs one failed `open` per attempt.
//!
//! Rules: a key is `[A-Za-z_][A-Za-z0-9_]*`; a later value of a key replaces an earlier
//! one; blank lines are ignored; a value is the rest of its line as written (nothing
//! trimmed), or the lines between `key<<DELIM` and a line that is exactly `DELIM`,
//! joined with newlines. The file may be at most `MAX` bytes, valid UTF-8, without NUL.
//! Anything else fails the job, with the file's line and the reason.
//!
//! The files live in a directory private to prun's user (`RunDir`), in `$TMPDIR`, and
//! are removed as they are read and at the end. A job its executor runs on another node
//! must see the same path: on a multi-node cluster, point `TMPDIR` at a shared directory.

use std::io::Read;
use std::path::Path;

/// The largest output file prun reads: 1 MiB per job (per attempt).
pub(crate) const MAX: u64 = 1 << 20;

/// A job's outputs, in the order their keys were first written.
pub(crate) type Outputs = Vec<(String, String)>;

/// The outputs an attempt wrote to `path` (none if it wrote no file); the file is
/// removed. `Err` says, in words, why the file is not valid.
pub(crate) fn take(path: &Path) -> Result<Outputs, String> {
    read(path, true)
}

/// What a service wrote to `PRUN_OUTPUT` so far (when it is seen ready), by the same
/// rules as `take`; the file stays for the rest.
pub(crate) fn peek(path: &Path) -> Result<Outputs, String> {
    read(path, false)
}

fn read(path: &Path, remove: bool) -> Result<Outputs, String> {
    // Not blocking (a FIFO there must not hang prun), not following a link, and only a
    // regular file is read.
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .and_then(|f| {
            if f.metadata()?.is_file() {
                Ok(f)
            } else {
                Err(std::io::Error::other("it is not a regular file"))
            }
        });
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(format!(
                "cannot read its PRUN_OUTPUT file {}: {e}",
                path.display()
            ));
        }
    };
    let mut bytes = Vec::new();
    let read = file.take(MAX + 1).read_to_end(&mut bytes);
    if remove {
        let _ = std::fs::remove_file(path);
    }
    if let Err(e) = read {
        return Err(format!(
            "cannot read its PRUN_OUTPUT file {}: {e}",
            path.display()
        ));
    }
    if bytes.len() as u64 > MAX {
        return Err(format!(
            "its PRUN_OUTPUT file is bigger than {} KiB, the limit for a job's outputs",
            MAX >> 10
        ));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            return Err(format!("PRUN_OUTPUT line {line}: not valid UTF-8"));
        }
    };
    parse(&text).map_err(|(line, why)| format!("PRUN_OUTPUT line {line}: {why}"))
}

/// Parses outputs text; `Err((line, reason))` at the first line that breaks the rules.
pub(crate) fn parse(text: &str) -> Result<Outputs, (usize, String)> {
    let mut out: Outputs = Vec::new();
    let mut lines = text.split('\n').enumerate();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = if let Some((key, delim)) = heredoc(line) {
            check_key(key).map_err(|why| (n, why))?;
            if delim.is_empty() {
                return Err((n, format!("'{key}<<' needs a delimiter, e.g. {key}<<EOF")));
            }
            let mut value: Vec<&str> = Vec::new();
            loop {
                match lines.next() {
                    Some((_, l)) if l == delim => break,
                    Some((_, l)) => value.push(l),
                    None => {
                        return Err((
                            n,
                            format!(
                                "the value of '{key}' is not closed: no line '{delim}' follows"
                            ),
                        ));
                    }
                }
            }
            (key, value.join("\n"))
        } else if let Some((key, value)) = line.split_once('=') {
            check_key(key).map_err(|why| (n, why))?;
            (key, value.to_owned())
        } else {
            return Err((
                n,
                format!(
                    "'{}' is neither key=value nor key<<DELIMITER",
                    crate::names::printable(shorten(line))
                ),
            ));
        };
        if value.contains('\0') {
            return Err((n, format!("the value of '{key}' holds a NUL character")));
        }
        match out.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => out.push((key.to_owned(), value)),
        }
    }
    Ok(out)
}

/// `key<<DELIM` (a key, then `<<` before any `=`).
fn heredoc(line: &str) -> Option<(&str, &str)> {
    let (key, delim) = line.split_once("<<")?;
    (!key.contains('=')).then_some((key, delim))
}

fn check_key(key: &str) -> Result<(), String> {
    let ok = crate::names::is_variable_name(key);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a key: use letters, digits and '_', not starting with a digit",
            crate::names::printable(shorten(key))
        ))
    }
}

/// At most 60 characters of `s`, for messages.
fn shorten(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `outputs` as a JSON object.
pub(crate) fn json(outputs: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        outputs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Outputs {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn both_forms_and_the_rules() {
        let text = "dbs=app,users\n\nlist<<EOF\na b\n\n  c\nEOF\nempty=\nx=1=2\ndbs=again\n";
        assert_eq!(
            parse(text).unwrap(),
            kv(&[
                ("dbs", "again"),
                ("list", "a b\n\n  c"),
                ("empty", ""),
                ("x", "1=2")
            ])
        );
        assert_eq!(
            parse("a=$(touch pwned) 'q' \"d\"").unwrap()[0].1,
            "$(touch pwned) 'q' \"d\""
        );
    }

    #[test]
    fn malformed_files_say_which_line_and_why() {
        let err = |t: &str| parse(t).unwrap_err();
        assert_eq!(err("ok=1\njust text\n").0, 2);
        assert!(err("1x=2").1.contains("not a key"));
        assert!(err("a b=2").1.contains("not a key"));
        assert!(err("v<<EOF\nline\n").1.contains("not closed"));
        assert!(err("v<<\nx\n").1.contains("needs a delimiter"));
        assert!(err("v=a\0b").1.contains("NUL"));
    }

    #[test]
    fn a_missing_file_is_no_outputs_and_a_big_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(take(&dir.path().join("none")).unwrap(), Vec::new());
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; (MAX + 1) as usize]).unwrap();
        assert!(take(&big).unwrap_err().contains("bigger than 1024 KiB"));
        let ok = dir.path().join("ok");
        std::fs::write(&ok, "k=v\n").unwrap();
        assert_eq!(take(&ok).unwrap(), kv(&[("k", "v")]));
        assert!(!ok.exists(), "the file is removed once read");
    }
}
