//! `--joblog FILE`: one tab-separated line per ended attempt, appended and flushed the
//! moment the attempt ends, so the file is complete up to the last attempt even after a
//! crash. `--resume` / `--resume-failed` read it back, keyed on job name *and* command:
//! a job whose command changed is not considered done.
//!
//! Format (version 1), after a `#` header line:
//! `name  attempt  start  duration  exit_code  signal  status  command`
//! with `-` for no exit code or signal, and `\t`, `\n`, `\\` escaped in the command.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{AttemptRecord, Status};
use crate::error::Error;

const HEADER: &str =
    "# prun joblog v1\tname\tattempt\tstart\tduration\texit_code\tsignal\tstatus\tcommand\n";

pub(crate) struct Joblog {
    file: File,
    path: PathBuf,
}

impl Joblog {
    /// Opens FILE for appending, writing the header if it is new or empty.
    pub(crate) fn open(path: &Path) -> Result<Joblog, Error> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::Usage(format!("cannot open the joblog {}: {e}", path.display())))?;
        let empty = file.metadata().map(|m| m.len() == 0).unwrap_or(true);
        if empty {
            file.write_all(HEADER.as_bytes())
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        }
        Ok(Joblog {
            file,
            path: path.to_owned(),
        })
    }

    /// Appends one attempt, in a single write.
    pub(crate) fn record(&mut self, a: &AttemptRecord) {
        let line = format!(
            "{}\t{}\t{}\t{:.3}\t{}\t{}\t{}\t{}\n",
            a.name,
            a.attempt,
            super::json::timestamp(a.start),
            a.duration.as_secs_f64(),
            a.exit_code.map_or("-".to_owned(), |c| c.to_string()),
            a.signal.map_or("-", crate::executor::signal_name),
            a.status.as_str(),
            escape(&a.command)
        );
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            eprintln!(
                "prun: warning: cannot append to the joblog {}: {e}",
                self.path.display()
            );
        }
    }
}

/// What an earlier run's joblog says about each (name, command): the last status seen.
pub(crate) fn read(path: &Path) -> Result<HashMap<(String, String), Status>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => {
            return Err(Error::Usage(format!(
                "cannot read the joblog {}: {e}",
                path.display()
            )));
        }
    };
    let mut last = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.splitn(8, '\t').collect();
        let status = f.get(6).and_then(|s| Status::parse(s));
        let (Some(status), Some(command)) = (status, f.get(7)) else {
            return Err(Error::Usage(format!(
                "{}:{}: not a prun joblog line; give --joblog a file prun wrote, or a new file",
                path.display(),
                n + 1
            )));
        };
        last.insert((f[0].to_owned(), unescape(command)), status);
    }
    Ok(last)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_survive_the_round_trip() {
        let cmd = "printf 'a\\tb\\n' | tr -d '\\\\'\nsecond line\twith tab";
        assert_eq!(unescape(&escape(cmd)), cmd);
        assert!(!escape(cmd).contains(['\n', '\t']));
    }
}
