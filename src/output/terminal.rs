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
//! Only the driver calls this, so nothing here needs a lock.

use std::sync::Arc;

use smol_str::SmolStr;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

use crate::output::console;
use crate::output::owner::{Print, Queue};
use crate::output::progress::ProgressView;
use crate::output::spool::Spool;
use crate::plan::{OutputMode, OutputPolicy, Plan};

/// A line longer than this is printed in pieces (line mode), to bound memory.
const MAX_LINE: usize = 1 << 20;

/// Each job's name by id: the plan's jobs', then those dynamic matrices made (read from
/// the plan, not copied: a million names are 24 MB).
struct JobNames {
    plan: Arc<Plan>,
    extra: Vec<SmolStr>,
}

impl JobNames {
    fn len(&self) -> usize {
        self.plan.jobs.len() + self.extra.len()
    }
}

impl std::ops::Index<usize> for JobNames {
    type Output = str;

    fn index(&self, job: usize) -> &str {
        match self.plan.jobs.get(job) {
            Some(j) => &j.name,
            None => &self.extra[job - self.plan.jobs.len()],
        }
    }
}

pub(crate) struct Terminal {
    opts: OutputPolicy,
    names: JobNames,
    /// With `--keep-order`: output held back until the jobs before it are done. Only
    /// jobs with something held have an entry.
    held: HashMap<usize, Spool>,
    /// With `--keep-order`: which jobs have ended (empty otherwise).
    ended: Vec<bool>,
    /// With `--keep-order`: the jobs in the order their output is shown (the jobfile's,
    /// with a dynamic matrix replaced by the jobs it became), and where the head is.
    order: Vec<usize>,
    /// With `--keep-order`: the first job whose output has not all been printed.
    head: usize,
    /// Line mode: a job's last incomplete line, kept until its newline arrives (only
    /// jobs with one have an entry).
    partial: HashMap<usize, Vec<u8>>,
    /// Quiet mode: notices kept back until we know whether the run failed.
    notices: Vec<String>,
    progress: Option<ProgressView>,
    /// Group mode: the owner of stdout and what waits for it (`owner`).
    queue: Queue,
    out: io::Stdout,
    /// fd 1 itself (never closed by prun), for `suspended_out`.
    fd1: ManuallyDrop<File>,
    /// The first error writing to stdout; from then on nothing more is written there.
    stdout_error: Option<io::Error>,
}

impl Terminal {
    pub(crate) fn new(plan: Arc<Plan>) -> Self {
        let opts = plan.output;
        let services = match opts.progress {
            true => plan.services().collect(),
            false => Default::default(),
        };
        let names = JobNames {
            plan,
            extra: Vec::new(),
        };
        let n = names.len();
        Terminal {
            opts,
            held: HashMap::new(),
            ended: vec![false; if opts.keep_order { n } else { 0 }],
            order: if opts.keep_order {
                (0..n).collect()
            } else {
                Vec::new()
            },
            head: 0,
            partial: HashMap::new(),
            notices: Vec::new(),
            progress: opts.progress.then(|| ProgressView::new(n, services)),
            queue: Queue::default(),
            names,
            out: io::stdout(),
            // SAFETY: fd 1 is open for the life of the process; ManuallyDrop keeps this
            // File from closing it.
            fd1: ManuallyDrop::new(unsafe { File::from_raw_fd(1) }),
            stdout_error: None,
        }
    }

    /// A line from prun itself, on stderr (kept back in quiet mode). Control characters
    /// in it (from a path, a value) are shown escaped.
    pub(crate) fn notice(&mut self, msg: &str) {
        let msg = crate::names::printable(msg);
        if self.opts.quiet {
            self.notices.push(msg.into_owned());
        } else {
            self.suspended(|| console::eprint(&format!("prun: {msg}\n")));
        }
    }

    /// A line from prun on stderr now, even in quiet mode (a run held back for long is
    /// news however it ends).
    pub(crate) fn say_now(&mut self, msg: &str) {
        let msg = crate::names::printable(msg);
        self.suspended(|| console::eprint(&format!("prun: {msg}\n")));
    }

    /// The throttles hold jobs back, for this reason (`None`: no longer).
    pub(crate) fn waiting(&mut self, why: Option<&str>) {
        if let Some(p) = &mut self.progress {
            p.waiting(why);
        }
    }

    /// Quiet mode, once the run turned out to fail: the notices kept back.
    pub(crate) fn flush_notices(&mut self) {
        for n in std::mem::take(&mut self.notices) {
            console::eprint(&format!("prun: {n}\n"));
        }
    }

    /// Writing to stdout failed (here, or in a worker printing a big block): say so once,
    /// and write nothing more there. A reader that left (`| head`, EPIPE) is normal; any
    /// other error (a full disk, `> /dev/full`) loses output, and the run's exit code
    /// will say so. Either way every job and hook still runs.
    pub(crate) fn stdout_failed(&mut self, e: io::Error) {
        if self.stdout_error.is_some() {
            return;
        }
        let msg = if e.kind() == io::ErrorKind::BrokenPipe {
            "stdout was closed by its reader: job output from here on is not shown (the jobs still run)".to_owned()
        } else {
            format!(
                "cannot write to stdout ({e}): job output from here on is lost (the jobs still run)"
            )
        };
        self.stdout_error = Some(e);
        self.notice(&msg);
    }

    /// The first error writing to stdout, if there was one.
    pub(crate) fn stdout_error(&self) -> Option<&io::Error> {
        self.stdout_error.as_ref()
    }

    /// Bytes a running job wrote (line mode, or stream mode when prun copies output).
    pub(crate) fn job_output(&mut self, job: usize, bytes: &[u8]) {
        if self.opts.mode == OutputMode::Group {
            let prints = self.queue.chunk(job, bytes);
            self.print(prints);
            return;
        }
        if self.opts.mode != OutputMode::Line {
            self.write(bytes);
            return;
        }
        let Some(last_nl) = bytes.iter().rposition(|&b| b == b'\n') else {
            let partial = self.partial.entry(job).or_default();
            partial.extend_from_slice(bytes);
            if partial.len() > MAX_LINE {
                let mut piece = self.partial.remove(&job).unwrap_or_default();
                piece.push(b'\n');
                let prefixed = prefix_lines(&self.names[job], &piece);
                self.emit(job, &prefixed);
            }
            return;
        };
        let mut text = self.partial.remove(&job).unwrap_or_default();
        text.extend_from_slice(&bytes[..=last_nl]);
        if last_nl + 1 < bytes.len() {
            self.partial.insert(job, bytes[last_nl + 1..].to_vec());
        }
        let prefixed = prefix_lines(&self.names[job], &text);
        self.emit(job, &prefixed);
    }

    /// A job's attempt started.
    pub(crate) fn job_started(&mut self, job: usize) {
        if let Some(p) = &mut self.progress {
            p.started(job, &self.names[job]);
        }
    }

    /// A job's attempt ended. [`output`](crate::output) is all it wrote in group mode; `note` says how it
    /// ended when that was not a success (`failed, exit 3`), for the block's header;
    /// `allowed`: a failure its `allow_failure:` allows, which `--quiet` does not show;
    /// `last` is false when another attempt follows.
    pub(crate) fn job_ended(
        &mut self,
        job: usize,
        output: Spool,
        note: Option<&str>,
        allowed: bool,
        last: bool,
    ) {
        if let Some(p) = &mut self.progress {
            if last {
                p.ended(job, note.is_none());
            } else {
                p.paused(job);
            }
        }
        let shown = !self.opts.quiet || (last && note.is_some() && !allowed);
        let mut output = match self.opts.mode {
            OutputMode::Group => match self.queue.ended(job, output, note, shown) {
                Ok(prints) => {
                    self.print(prints);
                    Spool::new()
                }
                Err(output) => output,
            },
            _ => output,
        };
        match self.opts.mode {
            OutputMode::Group if shown && !output.is_empty() => {
                let name = match note {
                    Some(n) => format!("{} ({n})", &self.names[job]),
                    None => self.names[job].to_string(),
                };
                let (head, tail) = self.frame(&name, output.ends_with_newline(), note.is_some());
                if !self.opts.keep_order || self.is_head(job) {
                    self.suspended_out(|out| {
                        out.write_all(head.as_bytes())?;
                        output.write_to(out)?;
                        out.write_all(tail.as_bytes())
                    });
                } else {
                    let held = self.held.entry(job).or_default();
                    held.push(head.as_bytes());
                    let _ = output.write_to(&mut SpoolWriter(held));
                    held.push(tail.as_bytes());
                }
            }
            OutputMode::Line if self.partial.contains_key(&job) => {
                let mut rest = self.partial.remove(&job).unwrap_or_default();
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
            // An allowed failure is a warning, never a red error (docs/policy.md).
            if allowed {
                let title = format!("prun: job {} failed (allowed)", &self.names[job]);
                self.annotate_as("warning", &title, n);
            } else {
                let title = format!("prun: job {} failed", &self.names[job]);
                self.annotate(&title, n);
            }
        }
        if self.opts.keep_order && last {
            self.ended[job] = true;
            self.advance();
        }
    }

    /// Under GitHub Actions: an `::error` annotation, escaped by the workflow-command
    /// rules (a `,` or `:` in a matrix name must not end the title).
    pub(crate) fn annotate(&mut self, title: &str, message: &str) {
        self.annotate_as("error", title, message);
    }

    /// An annotation of `level` ([`error`](crate::error), `warning`).
    fn annotate_as(&mut self, level: &str, title: &str, message: &str) {
        if !self.opts.github {
            return;
        }
        // Masked as every line of prun's is: a job's name may carry a secret.
        let line = format!(
            "::{level} title={}::{}\n",
            github_property(&crate::mask::current().text(title)),
            github_data(&crate::mask::current().text(message))
        );
        self.write_outside_blocks(line.into_bytes());
    }

    /// A hook's captured output, shown as if it were a job named `job:hook`; `failure`
    /// says how a failed hook ended, in its header as a failed job's does.
    pub(crate) fn hook_output(
        &mut self,
        owner: &str,
        hook: &str,
        output: &[u8],
        failure: Option<&str>,
    ) {
        let failed = failure.is_some();
        if output.is_empty() || (self.opts.quiet && !failed) {
            return;
        }
        let name = format!("{owner}:{hook}");
        let text = match self.opts.mode {
            OutputMode::Group => {
                let header = match failure {
                    Some(why) => format!("{name} (failed: {why})"),
                    None => name,
                };
                let (head, tail) = self.frame(&header, output.ends_with(b"\n"), failed);
                return self
                    .write_outside_blocks([head.as_bytes(), output, tail.as_bytes()].concat());
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

    /// The job whose block is being printed as it comes, if one is.
    pub(crate) fn owner(&self) -> Option<usize> {
        self.queue.owner()
    }

    /// The owner printed its block itself up to here; `last` is its last byte.
    pub(crate) fn owner_wrote(&mut self, job: usize, last: u8) {
        self.queue.owner_wrote(job, last);
    }

    /// Writes `text` now, or, while a block is being printed as it comes, after it: no
    /// other output (a hook's block, a GitHub annotation) may land inside that block.
    fn write_outside_blocks(&mut self, text: Vec<u8>) {
        let prints = self.queue.text(text);
        self.print(prints);
    }

    /// Writes what the ownership queue says, in order.
    fn print(&mut self, prints: Vec<Print>) {
        for p in prints {
            match p {
                Print::Text(t) => self.write(&t),
                Print::Held(mut s) => self.suspended_out(|out| s.write_to(out)),
                Print::Header(job) => {
                    let (head, _) = self.frame(&self.names[job], true, false);
                    self.write(head.as_bytes());
                }
                Print::Footer { job, note, newline } => {
                    let (_, mut end) = self.frame("", newline, false);
                    if let Some(n) = note
                        && !self.opts.github
                    {
                        let line = format!("── {} ({n})", &self.names[job]);
                        end.push_str(&paint(RED, &line, self.opts.color_stdout));
                        end.push('\n');
                    }
                    self.write(end.as_bytes());
                }
                Print::Block {
                    job,
                    mut parts,
                    note,
                } => {
                    let name = match &note {
                        Some(n) => format!("{} ({n})", &self.names[job]),
                        None => self.names[job].to_string(),
                    };
                    let nl = parts
                        .iter()
                        .rev()
                        .find(|p| !p.is_empty())
                        .is_some_and(Spool::ends_with_newline);
                    let (head, tail) = self.frame(&name, nl, note.is_some());
                    self.suspended_out(|out| {
                        out.write_all(head.as_bytes())?;
                        for p in &mut parts {
                            p.write_to(out)?;
                        }
                        out.write_all(tail.as_bytes())
                    });
                }
            }
        }
    }

    /// The run is over: print what is still held back (with `--keep-order`, the output
    /// of jobs that ended after one that never did: a job not run after `--fail-fast` or
    /// a signal), in jobfile order, and take the progress bar down.
    pub(crate) fn finish(&mut self) {
        let mut held: Vec<usize> = self.held.keys().copied().collect();
        held.sort_unstable();
        for job in held {
            if let Some(mut h) = self.held.remove(&job) {
                self.suspended_out(|out| h.write_to(out));
            }
        }
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }

    /// The header and footer of a block; the header red (on a terminal) when the attempt
    /// did not succeed.
    fn frame(&self, name: &str, ends_with_newline: bool, failed: bool) -> (String, String) {
        // A name may hold a matrix value that is a secret (the output is masked already).
        let name = &*crate::mask::current().text(name);
        let nl = if ends_with_newline { "" } else { "\n" };
        if self.opts.github {
            let name = github_data(name);
            (format!("::group::{name}\n"), format!("{nl}::endgroup::\n"))
        } else {
            let head = format!("── {name}");
            let head = paint(RED, &head, self.opts.color_stdout && failed);
            (format!("{head}\n"), nl.to_owned())
        }
    }

    /// Prints `bytes` for `job` now, or holds them until earlier jobs are done.
    fn emit(&mut self, job: usize, bytes: &[u8]) {
        if !self.opts.keep_order || self.is_head(job) {
            self.write(bytes);
        } else {
            self.held.entry(job).or_default().push(bytes);
        }
    }

    /// With `--keep-order`: whether `job` is the first whose output is not all printed.
    fn is_head(&self, job: usize) -> bool {
        self.order.get(self.head) == Some(&job)
    }

    /// Moves the head past jobs that have ended, printing what each next one held.
    fn advance(&mut self) {
        while let Some(&job) = self.order.get(self.head)
            && self.ended[job]
        {
            self.head += 1;
            if let Some(&next) = self.order.get(self.head)
                && let Some(mut held) = self.held.remove(&next)
            {
                self.suspended_out(|out| held.write_to(out));
            }
        }
    }

    /// A dynamic matrix `job` became the jobs `into`, named [`names`](crate::names): their output is
    /// shown where the matrix is in the jobfile.
    pub(crate) fn expanded(
        &mut self,
        job: usize,
        into: std::ops::Range<usize>,
        names: Vec<SmolStr>,
    ) {
        self.names.extra.extend(names);
        if let Some(p) = &mut self.progress {
            p.add(into.len());
        }
        if !self.opts.keep_order {
            return;
        }
        self.ended.resize(self.names.len(), false);
        if let Some(at) = self.order.iter().position(|&j| j == job) {
            self.order.splice(at..=at, into);
        }
        self.advance();
    }

    fn write(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.suspended_out(|out| out.write_all(bytes));
        }
    }

    /// Runs `f` on locked stdout with the progress bar hidden, then flushes. A failed
    /// write must not stop the run: jobs still run and their hooks still fire; only
    /// their output is lost, and that is said once (`stdout_failed`).
    ///
    /// Writes go to fd 1 through a block-sized buffer of their own, not through std's
    /// line-buffered stdout, which scans every byte for newlines and copies it once more;
    /// big writes (a spooled block) pass the buffer by and go to the kernel directly.
    fn suspended_out(&mut self, f: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>) {
        if self.stdout_error.is_some() {
            return;
        }
        let mut result = Ok(());
        self.suspended(|| {
            let _lock = self.out.lock();
            let mut out = BufWriter::with_capacity(64 * 1024, &*self.fd1);
            result = f(&mut out).and_then(|()| out.flush());
        });
        if let Err(e) = result {
            self.stdout_failed(e);
        }
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

/// Workflow-command data (`::error ...::DATA`, a group's title): `%`, CR and LF escaped.
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow-command property value (`title=...`): as data, plus `:` and `,`.
fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `[name] ` before every line of `text`, which ends with a newline.
fn prefix_lines(name: &str, text: &[u8]) -> Vec<u8> {
    let name = &*crate::mask::current().text(name);
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

/// ANSI SGR codes used on a terminal.
pub(crate) const RED: &str = "31";
pub(crate) const GREEN: &str = "32";
pub(crate) const DIM: &str = "2";
pub(crate) const YELLOW: &str = "33";

/// `text` in colour `code` when `on`, else as it is.
pub(crate) fn paint(code: &str, text: &str, on: bool) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_every_line() {
        assert_eq!(prefix_lines("a", b"x\ny\n"), b"[a] x\n[a] y\n");
    }

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(
            github_property("prun: job b[os=a,v=1] failed"),
            "prun%3A job b[os=a%2Cv=1] failed"
        );
        assert_eq!(
            github_data("50% done\r\nnext: x"),
            "50%25 done%0D%0Anext: x"
        );
    }
}
