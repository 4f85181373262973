//! `--joblog FILE`: one tab-separated line per ended attempt, appended by the job's worker
//! the moment it has reaped the job, so the file is complete up to the last ended attempt
//! even after a crash. `--resume` reads it back (see `resume.rs`).
//!
//! Format (version 1), after a `#` header line:
//! `name  attempt  start  duration  exit_code  signal  status  command  outputs`
//! with `-` for no exit code, signal or outputs; `outputs` is the attempt's outputs as
//! one JSON object (which never holds a tab or a newline), so `--resume` can restore them
//! (an older joblog without the field reads as no outputs). Text fields (name, command)
//! are escaped so a record is always one line of nine fields and reads back exactly: `\\`
//! for a backslash, `\t`, `\n`, `\r`, and `\xHH` for any other control character. A value
//! written into a job's name or command can therefore never add a line or a field (and
//! never forge a record).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::exit;
use crate::files::{self, InPlace};
use crate::outcome::Status;
use crate::outcome::attempt::AttemptRecord;
use crate::outcome::outputs::Outputs;

/// A joblog that cannot be opened or read back.
#[derive(Debug, thiserror::Error)]
pub enum JoblogError {
    #[error("cannot open the joblog: {0}")]
    Open(#[source] io::Error),
    #[error("cannot write the joblog {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the joblog {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path}:{line}: not a prun joblog line; give --joblog a file prun wrote, or a new file"
    )]
    NotAJoblog { path: String, line: usize },
}

impl JoblogError {
    pub(crate) fn prun_exit(&self) -> u8 {
        match self {
            JoblogError::Open(e) | JoblogError::Read { source: e, .. } => exit::for_io(e),
            JoblogError::Write { .. } => exit::FAILURE,
            JoblogError::NotAJoblog { .. } => exit::USAGE,
        }
    }
}

const HEADER: &str = "# prun joblog v1\tname\tattempt\tstart\tduration\texit_code\tsignal\tstatus\tcommand\toutputs\n";

pub(crate) struct Joblog {
    file: File,
    path: PathBuf,
    /// The first write that failed: the joblog is incomplete from there on.
    failed: OnceLock<String>,
}

impl Joblog {
    /// Opens FILE for appending (never through a link), writing the header if it is new
    /// or empty.
    pub(crate) fn open(path: &Path) -> Result<Joblog, JoblogError> {
        let mut file = files::open_in_place(path, InPlace::Append).map_err(JoblogError::Open)?;
        let len = file.metadata().map_or(0, |m| m.len());
        // A last line cut short (prun killed while writing it, a full disk) is closed
        // and marked, so this run's first record starts on a line of its own.
        let start: &[u8] = match (len, last_byte(&file, len)) {
            (0, _) => HEADER.as_bytes(),
            (_, Some(b'\n')) | (_, None) => b"",
            _ => CUT.as_bytes(),
        };
        file.write_all(start).map_err(|source| JoblogError::Write {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Joblog {
            file,
            path: path.to_owned(),
            failed: OnceLock::new(),
        })
    }

    /// Appends one attempt of the job whose command is `command`, in a single write
    /// (several workers append at once: one `write(2)` to an `O_APPEND` file never
    /// interleaves with another).
    pub(crate) fn record(&self, a: &AttemptRecord, command: &str, outputs: &[(String, String)]) {
        let outputs = if outputs.is_empty() {
            "-".to_owned()
        } else {
            let json = crate::outcome::outputs::json(outputs).to_string();
            // Outputs that hold a secret are not kept (masked, they would reach the
            // dependents of a resumed job as `***`): `--resume` runs such a job again.
            match crate::mask::current().text(&json) {
                std::borrow::Cow::Borrowed(_) => json,
                std::borrow::Cow::Owned(_) => MASKED.to_owned(),
            }
        };
        let line = format!(
            "{}\t{}\t{}\t{:.3}\t{}\t{}\t{}\t{}\t{outputs}\n",
            escape(&a.name),
            a.attempt,
            crate::times::timestamp(a.start),
            a.duration.as_secs_f64(),
            a.ending.code().map_or("-".to_owned(), |c| c.to_string()),
            a.ending
                .signal()
                .map_or("-", crate::executor::finished::signal_name),
            a.status.as_str(),
            escape(command)
        );
        let line = crate::mask::current().text(&line);
        if let Err(e) = (&self.file).write_all(line.as_bytes()) {
            let _ = self.failed.set(format!(
                "the joblog {} is incomplete: writing it failed ({e}); a later --resume will run those jobs again",
                self.path.display()
            ));
        }
    }

    /// Why the joblog is incomplete, if a write failed.
    pub(crate) fn failure(&self) -> Option<&str> {
        self.failed.get().map(String::as_str)
    }
}

/// Written after a last line that was cut short: it closes that line and says so, and
/// `parse` skips the line it marks.
const CUT: &str = "\n# prun: the line above was cut short (prun stopped while writing it)\n";

/// The last byte of `file` (`len` long), read without moving its offset.
fn last_byte(file: &File, len: u64) -> Option<u8> {
    let mut b = [0u8; 1];
    let n = std::os::unix::fs::FileExt::read_at(file, &mut b, len.checked_sub(1)?).ok()?;
    (n == 1).then_some(b[0])
}

/// The outputs field of a record whose outputs held a secret.
const MASKED: &str = "!masked";

/// A job's last record in a joblog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LastRecord {
    pub(crate) status: Status,
    pub(crate) command: String,
    pub(crate) outputs: Outputs,
    /// Its outputs held a secret and were not kept: it must run again to have them.
    pub(crate) outputs_masked: bool,
}

/// What an earlier run's joblog says about each job name: its last record.
pub(crate) fn read(path: &Path) -> Result<HashMap<String, LastRecord>, JoblogError> {
    // Only a regular file, never through a link, at most 4 GiB (millions of records).
    let text = match files::read_capped(path, 4 << 30) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(source) => {
            return Err(JoblogError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let text = String::from_utf8_lossy(&text);
    parse(&text).map_err(|line| JoblogError::NotAJoblog {
        path: path.display().to_string(),
        line,
    })
}

/// Parses joblog text; `Err(n)` names the first line (1-based) that is not a record. A
/// last line without its newline (prun killed in the middle of writing it, or a full
/// disk) is not a record, and is ignored.
fn parse(text: &str) -> Result<HashMap<String, LastRecord>, usize> {
    let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
    let mut last = HashMap::new();
    let lines: Vec<&str> = complete.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        // A line `CUT` marks is the part of a record a killed prun wrote.
        let cut = lines.get(n + 1) == Some(&CUT.trim());
        if line.starts_with('#') || line.is_empty() || cut {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        // A field that is not escaped as this prun escapes (an older prun's joblog) is
        // taken as it stands.
        let text = |f: &str| unescape(f).unwrap_or_else(|| f.to_owned());
        let record = (f.len() == 8 || f.len() == 9)
            .then(|| {
                let outputs = match f.get(8) {
                    None | Some(&"-") | Some(&MASKED) => Vec::new(),
                    Some(json) => read_outputs(json)?,
                };
                Some((text(f[0]), Status::parse(f[6])?, text(f[7]), outputs))
            })
            .flatten();
        let Some((name, status, command, outputs)) = record else {
            return Err(n + 1);
        };
        last.insert(
            name,
            LastRecord {
                status,
                command,
                outputs,
                outputs_masked: f.get(8) == Some(&MASKED),
            },
        );
    }
    Ok(last)
}

/// Outputs as the joblog keeps them (a JSON object of strings).
fn read_outputs(json: &str) -> Option<Outputs> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    map.into_iter()
        .map(|(k, v)| Some((k, v.as_str()?.to_owned())))
        .collect()
}

/// `s` as one joblog field: no tab, newline or other control character (the escaping
/// of names, [`names::escape_value`](crate::names::escape_value), which `unescape` undoes).
pub(crate) fn escape(s: &str) -> String {
    crate::names::escape_value(s)
}

/// The text `escape` was given, or `None` if `s` is not its output.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                let b = u8::from_str_radix(&hex, 16).ok().filter(u8::is_ascii)?;
                out.push(char::from(b));
            }
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_survive_the_round_trip() {
        for s in [
            "printf 'a\\tb\\n' | tr -d '\\\\'\nsecond line\twith tab",
            "esc \x1b[31m red \x07 bell \r\n del \x7f",
            "bidi \u{202e}txt and C1 \u{9b}2J",
            "build[v=a\tb\n-\tsuccess\tforged]",
            "plain",
            "",
        ] {
            let e = escape(s);
            assert!(!e.contains(|c: char| c.is_ascii_control()), "{e:?}");
            assert_eq!(unescape(&e).as_deref(), Some(s));
        }
    }

    #[test]
    fn a_crafted_name_cannot_forge_a_record() {
        let forged = "x\t1\tT\t0.1\t0\t-\tsuccess\tcmd\nvictim";
        let line = format!("{}\t1\tT\t0.1\t1\t-\tfailed\tcmd\n", escape(forged));
        let text = format!("{HEADER}{line}");
        let got = parse(&text).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[forged].status, Status::Failed);
        assert!(!got.contains_key("victim"));
    }

    #[test]
    fn the_last_record_of_a_name_wins_and_a_torn_last_line_is_ignored() {
        let text = format!(
            "{HEADER}a\t1\tT\t0.1\t1\t-\tfailed\tv1\na\t2\tT\t0.1\t0\t-\tsuccess\tv1\nb\t1\tT\t0.1\t0\t-\tsucc"
        );
        let got = parse(&text).unwrap();
        assert_eq!(got["a"].status, Status::Success);
        assert!(!got.contains_key("b"));
        assert_eq!(parse("a\tb\n"), Err(1));
    }
}
