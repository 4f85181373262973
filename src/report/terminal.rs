//! Job and hook output on prun's stdout, in the chosen `--output` form: `group` prints a
//! job's output as one block headed by its name when the job ends, `line` prefixes each
//! line with `[name] ` as it comes (lines are never torn), `stream` never comes here (jobs
//! inherit prun's stdout), `none` discards. `--keep-order` holds blocks (or, in line mode,
//! the lines of every job but the oldest running one) until the jobs before them are done.
//!
//! Only the scheduler calls this, so nothing here needs a lock.

use std::io::{self, Write};

use crate::cli::OutputMode;
use crate::report::spool::Spool;

/// A line longer than this is printed in pieces (line mode), to bound memory.
const MAX_LINE: usize = 1 << 20;

/// One job's held output, for `--keep-order`.
#[derive(Default)]
struct Held {
    bytes: Spool,
    ended: bool,
}

pub(crate) struct Terminal {
    mode: OutputMode,
    keep_order: bool,
    names: Vec<String>,
    held: Vec<Held>,
    /// With `--keep-order`: the first job whose output has not all been printed.
    head: usize,
    /// Line mode: a job's last incomplete line, kept until its newline arrives.
    partial: Vec<Vec<u8>>,
    out: io::Stdout,
}

impl Terminal {
    pub(crate) fn new(mode: OutputMode, keep_order: bool, names: Vec<String>) -> Self {
        let n = names.len();
        Terminal {
            mode,
            keep_order,
            names,
            held: (0..n).map(|_| Held::default()).collect(),
            head: 0,
            partial: vec![Vec::new(); if mode == OutputMode::Line { n } else { 0 }],
            out: io::stdout(),
        }
    }

    /// Line mode: bytes a running job wrote. Complete lines are printed (or held).
    pub(crate) fn job_output(&mut self, job: usize, bytes: &[u8]) {
        let partial = &mut self.partial[job];
        let Some(last_nl) = bytes.iter().rposition(|&b| b == b'\n') else {
            partial.extend_from_slice(bytes);
            if partial.len() > MAX_LINE {
                let mut piece = std::mem::take(partial);
                piece.push(b'\n');
                let prefixed = prefix_lines(&self.names[job], &piece);
                self.emit(job, &prefixed);
            }
            return;
        };
        let mut text = std::mem::take(partial);
        text.extend_from_slice(&bytes[..=last_nl]);
        partial.extend_from_slice(&bytes[last_nl + 1..]);
        let prefixed = prefix_lines(&self.names[job], &text);
        self.emit(job, &prefixed);
    }

    /// A job's attempt ended. `output` is all it wrote in group mode; `note` says how it
    /// ended when that was not a success (`failed, exit 3`), for the block's header;
    /// `last` is false when another attempt follows.
    pub(crate) fn job_ended(
        &mut self,
        job: usize,
        mut output: Spool,
        note: Option<&str>,
        last: bool,
    ) {
        match self.mode {
            OutputMode::Group if !output.is_empty() => {
                let head = match note {
                    Some(n) => format!("── {} ({n})\n", self.names[job]),
                    None => format!("── {}\n", self.names[job]),
                };
                let tail: &[u8] = if output.ends_with_newline() {
                    b""
                } else {
                    b"\n"
                };
                if !self.keep_order || job == self.head {
                    let mut out = self.out.lock();
                    // A closed stdout must not stop the run; see `write`.
                    let _ = out
                        .write_all(head.as_bytes())
                        .and_then(|()| output.write_to(&mut out))
                        .and_then(|()| out.write_all(tail))
                        .and_then(|()| out.flush());
                } else {
                    let held = &mut self.held[job].bytes;
                    held.push(head.as_bytes());
                    let _ = output.write_to(&mut SpoolWriter(held));
                    held.push(tail);
                }
            }
            OutputMode::Line if !self.partial[job].is_empty() => {
                let mut rest = std::mem::take(&mut self.partial[job]);
                rest.push(b'\n');
                let prefixed = prefix_lines(&self.names[job], &rest);
                self.emit(job, &prefixed);
            }
            _ => {}
        }
        if self.keep_order && last {
            self.held[job].ended = true;
            self.advance();
        }
    }

    /// A hook's captured output, shown as if it were a job named `job:hook`.
    pub(crate) fn hook_output(&mut self, owner: &str, hook: &str, output: &[u8]) {
        if output.is_empty() {
            return;
        }
        let name = format!("{owner}:{hook}");
        let text = match self.mode {
            OutputMode::Group => block(&name, output),
            OutputMode::Line => {
                let mut o = output.to_vec();
                if o.last() != Some(&b'\n') {
                    o.push(b'\n');
                }
                prefix_lines(&name, &o)
            }
            OutputMode::Stream => output.to_vec(),
            OutputMode::None => return,
        };
        self.write(&text);
    }

    /// Prints `bytes` for `job` now, or holds them until earlier jobs are done.
    fn emit(&mut self, job: usize, bytes: &[u8]) {
        if !self.keep_order || job == self.head {
            self.write(bytes);
        } else {
            self.held[job].bytes.push(bytes);
        }
    }

    /// Moves the head past jobs that have ended, printing what each held.
    fn advance(&mut self) {
        while self.head < self.held.len() && self.held[self.head].ended {
            self.head += 1;
            if self.head < self.held.len() {
                let mut held = std::mem::take(&mut self.held[self.head].bytes);
                let mut out = self.out.lock();
                let _ = held.write_to(&mut out).and_then(|()| out.flush());
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut out = self.out.lock();
        // A closed stdout (`prun ... | head`) must not stop the run: jobs still run and
        // their hooks still fire; only their output is lost.
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }
}

/// Lets a spool be the target of `Spool::write_to` (held blocks copied into held output).
struct SpoolWriter<'a>(&'a mut Spool);

impl Write for SpoolWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `── name` and the output, ending with a newline.
fn block(name: &str, output: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(output.len() + name.len() + 8);
    b.extend_from_slice("── ".as_bytes());
    b.extend_from_slice(name.as_bytes());
    b.push(b'\n');
    b.extend_from_slice(output);
    if output.last() != Some(&b'\n') {
        b.push(b'\n');
    }
    b
}

/// `[name] ` before every line of `text`, which ends with a newline.
fn prefix_lines(name: &str, text: &[u8]) -> Vec<u8> {
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    let mut out = Vec::with_capacity(text.len() + lines * (name.len() + 3));
    for line in text.split_inclusive(|&b| b == b'\n') {
        out.push(b'[');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"] ");
        out.extend_from_slice(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_every_line() {
        assert_eq!(prefix_lines("a", b"x\ny\n"), b"[a] x\n[a] y\n");
    }

    #[test]
    fn block_ends_with_newline() {
        assert_eq!(block("a", b"x"), "── a\nx\n".as_bytes());
    }
}
