//! Everything prun prints while it runs: job and hook output on stdout in the chosen
//! `--output` form, and prun's own notices on stderr.
//!
//! `group` prints a job's output as one block headed by its name when the job ends; `line`
//! prefixes each line with `[name] ` as it comes (lines are never torn); `stream` passes
//! output through (jobs inherit prun's stdout, or, with `--log-dir`, prun copies it); `none`
//! discards. `--keep-order` holds blocks (or, in line mode, the lines of every job but the
//! oldest running one) until the jobs before them are done. `--quiet` prints only what
//! failed, and only notices of a failed run. Under GitHub Actions blocks become
//! `::group::` sections and a failed job an `::error::` annotation. With a progress bar,
//! every write happens with the bar hidden.
//!
//! Only the scheduler calls this, so nothing here needs a lock.

use std::io::{self, Write};

use crate::cli::OutputMode;
use crate::report::progress::ProgressView;
use crate::report::spool::Spool;

/// A line longer than this is printed in pieces (line mode), to bound memory.
const MAX_LINE: usize = 1 << 20;

/// How the terminal behaves, settled by the plan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TerminalOptions {
    pub(crate) mode: OutputMode,
    pub(crate) keep_order: bool,
    pub(crate) quiet: bool,
    pub(crate) github: bool,
    pub(crate) progress: bool,
}

/// One job's held output, for `--keep-order`.
#[derive(Default)]
struct Held {
    bytes: Spool,
    ended: bool,
}

pub(crate) struct Terminal {
    opts: TerminalOptions,
    names: Vec<String>,
    held: Vec<Held>,
    /// With `--keep-order`: the first job whose output has not all been printed.
    head: usize,
    /// Line mode: a job's last incomplete line, kept until its newline arrives.
    partial: Vec<Vec<u8>>,
    /// Quiet mode: notices kept back until we know whether the run failed.
    notices: Vec<String>,
    progress: Option<ProgressView>,
    out: io::Stdout,
}

impl Terminal {
    pub(crate) fn new(opts: TerminalOptions, names: Vec<String>) -> Self {
        let n = names.len();
        Terminal {
            opts,
            held: (0..n).map(|_| Held::default()).collect(),
            head: 0,
            partial: vec![Vec::new(); if opts.mode == OutputMode::Line { n } else { 0 }],
            notices: Vec::new(),
            progress: opts.progress.then(|| ProgressView::new(n)),
            names,
            out: io::stdout(),
        }
    }

    /// A line from prun itself, on stderr (kept back in quiet mode).
    pub(crate) fn notice(&mut self, msg: &str) {
        if self.opts.quiet {
            self.notices.push(msg.to_owned());
        } else {
            self.suspended(|| eprintln!("prun: {msg}"));
        }
    }

    /// Quiet mode, once the run turned out to fail: the notices kept back.
    pub(crate) fn flush_notices(&mut self) {
        for n in std::mem::take(&mut self.notices) {
            eprintln!("prun: {n}");
        }
    }

    /// Bytes a running job wrote (line mode, or stream mode when prun copies output).
    pub(crate) fn job_output(&mut self, job: usize, bytes: &[u8]) {
        if self.opts.mode != OutputMode::Line {
            self.write(bytes);
            return;
        }
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

    /// A job's attempt started.
    pub(crate) fn job_started(&mut self, job: usize) {
        if let Some(p) = &mut self.progress {
            p.started(job, &self.names[job]);
        }
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
        if let Some(p) = &mut self.progress {
            if last {
                p.ended(job, note.is_none());
            } else {
                p.paused(job);
            }
        }
        let shown = !self.opts.quiet || (last && note.is_some());
        match self.opts.mode {
            OutputMode::Group if shown && !output.is_empty() => {
                let name = match note {
                    Some(n) => format!("{} ({n})", self.names[job]),
                    None => self.names[job].clone(),
                };
                let (head, tail) = self.frame(&name, output.ends_with_newline());
                if !self.opts.keep_order || job == self.head {
                    self.suspended_out(|out| {
                        out.write_all(head.as_bytes())?;
                        output.write_to(out)?;
                        out.write_all(tail.as_bytes())
                    });
                } else {
                    let held = &mut self.held[job].bytes;
                    held.push(head.as_bytes());
                    let _ = output.write_to(&mut SpoolWriter(held));
                    held.push(tail.as_bytes());
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
        if self.opts.github
            && last
            && let Some(n) = note
        {
            let line = format!("::error title=prun: job {} failed::{n}\n", self.names[job]);
            self.write(line.as_bytes());
        }
        if self.opts.keep_order && last {
            self.held[job].ended = true;
            self.advance();
        }
    }

    /// A hook's captured output, shown as if it were a job named `job:hook`.
    pub(crate) fn hook_output(&mut self, owner: &str, hook: &str, output: &[u8], failed: bool) {
        if output.is_empty() || (self.opts.quiet && !failed) {
            return;
        }
        let name = format!("{owner}:{hook}");
        let text = match self.opts.mode {
            OutputMode::Group => {
                let (head, tail) = self.frame(&name, output.ends_with(b"\n"));
                [head.as_bytes(), output, tail.as_bytes()].concat()
            }
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

    /// The run is over: take the progress bar down.
    pub(crate) fn finish(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }

    /// The header and footer of a block.
    fn frame(&self, name: &str, ends_with_newline: bool) -> (String, String) {
        let nl = if ends_with_newline { "" } else { "\n" };
        if self.opts.github {
            (format!("::group::{name}\n"), format!("{nl}::endgroup::\n"))
        } else {
            (format!("── {name}\n"), nl.to_owned())
        }
    }

    /// Prints `bytes` for `job` now, or holds them until earlier jobs are done.
    fn emit(&mut self, job: usize, bytes: &[u8]) {
        if !self.opts.keep_order || job == self.head {
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
                self.suspended_out(|out| held.write_to(out));
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.suspended_out(|out| out.write_all(bytes));
        }
    }

    /// Runs `f` on locked stdout with the progress bar hidden, then flushes. A closed
    /// stdout (`prun ... | head`) must not stop the run: jobs still run and their hooks
    /// still fire; only their output is lost.
    fn suspended_out(&self, f: impl FnOnce(&mut io::StdoutLock<'_>) -> io::Result<()>) {
        self.suspended(|| {
            let mut out = self.out.lock();
            let _ = f(&mut out).and_then(|()| out.flush());
        });
    }

    fn suspended(&self, f: impl FnOnce()) {
        match &self.progress {
            Some(p) => p.suspend(f),
            None => f(),
        }
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
}
