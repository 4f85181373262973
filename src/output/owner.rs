//! Who owns stdout in group mode: how a big block is printed as it comes without ever
//! mixing with another, and without every byte of it crossing threads twice.
//!
//! The protocol:
//!
//! 1. A job's output is held whole until it ends (`Spool`), unless it outgrows
//!    `STREAM_AFTER`: from then on its worker passes it on in chunks (`Passing`).
//! 2. The terminal makes the first job that passes output on the *owner* of stdout
//!    (`Queue`): it prints the block's header, then the chunks as they come. Everything
//!    else meant for stdout while a block is owned — another job passing output on, a
//!    whole block of a job that ended, prun's own text (a hook's block, an annotation) —
//!    waits in the queue, in order.
//! 3. Sending every chunk through the driver would copy it once more; instead the driver
//!    publishes a `Token`: the owner and how many of its chunks have been printed. A
//!    worker whose job owns stdout, all of whose chunks are printed, writes the rest to fd
//!    1 itself (`Passing::pass`). Nothing else writes to stdout while a block is owned
//!    (workers print only through `Passing`, the driver only through the queue), so no
//!    lock is needed; the token's chunk count keeps the worker from writing before
//!    chunks it sent earlier are out.
//! 4. When the owner ends, its block is closed (a footer line with how it ended: its
//!    header was printed before that was known), the token cleared, the queue printed,
//!    and the next job passing output on, if any, becomes the owner.
//!
//! `Queue` holds the state and decides; it prints nothing itself but answers with the
//! `Print`s for the terminal to write.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::output::spool::Spool;

/// In group mode, a job whose output passes this size is passed on as it comes.
pub(crate) const STREAM_AFTER: u64 = 256 * 1024;

/// Which job owns stdout, and how many of its chunks are printed (0: no owner).
#[derive(Debug, Default)]
pub(crate) struct Token(AtomicU64);

impl Token {
    fn value(job: usize, printed: u32) -> u64 {
        ((job as u64 + 1) << 32) | u64::from(printed)
    }

    fn allows(&self, job: usize, sent: u32) -> bool {
        self.0.load(Ordering::Acquire) == Self::value(job, sent)
    }
}

/// A worker's side: passes a big block on, or writes it itself as the owner of stdout.
#[derive(Debug, Default)]
pub(crate) struct Passing {
    /// Chunks passed on to the driver.
    sent: u32,
    /// The last byte written to stdout directly.
    pub(crate) last: Option<u8>,
    /// Writing to stdout directly failed (nothing more is written there).
    pub(crate) error: Option<io::Error>,
}

impl Passing {
    /// `bytes` of `job`'s block: written to fd 1 if the job owns stdout and every chunk
    /// it passed on is printed, else handed to `send` (to go to the driver).
    pub(crate) fn pass(
        &mut self,
        token: &Token,
        job: usize,
        bytes: &[u8],
        send: impl FnOnce(Vec<u8>),
    ) {
        if token.allows(job, self.sent) {
            self.write(bytes);
        } else {
            self.sent = self.sent.wrapping_add(1);
            send(bytes.to_vec());
        }
    }

    /// Writes to fd 1. A closed or full stdout (`| head`, `> /dev/full`) loses the output
    /// but does not stop the job; the error goes to the driver with the job's end.
    fn write(&mut self, mut bytes: &[u8]) {
        if let Some(&b) = bytes.last() {
            self.last = Some(b);
        }
        while !bytes.is_empty() && self.error.is_none() {
            // SAFETY: writes from a valid slice to fd 1, which prun never closes.
            let n = unsafe { libc::write(1, bytes.as_ptr().cast(), bytes.len()) };
            if n > 0 {
                bytes = &bytes[n as usize..];
            } else if n == 0 {
                self.error = Some(io::ErrorKind::WriteZero.into());
            } else {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    self.error = Some(e);
                }
            }
        }
    }
}

/// The driver's side: how many chunks of each job passing output on were printed, to
/// publish with the owner.
#[derive(Debug, Default)]
pub(crate) struct Printed(HashMap<usize, u32>);

impl Printed {
    /// One more chunk of `job` was handed to the terminal.
    pub(crate) fn chunk(&mut self, job: usize) {
        let n = self.0.entry(job).or_default();
        *n = n.wrapping_add(1);
    }

    /// `job` ended: it passes nothing more on.
    pub(crate) fn ended(&mut self, job: usize) {
        self.0.remove(&job);
    }

    /// Tells workers who owns stdout now (`owner`, from the queue).
    pub(crate) fn publish(&self, token: &Token, owner: Option<usize>) {
        let value = owner.map_or(0, |job| {
            Token::value(job, self.0.get(&job).copied().unwrap_or(0))
        });
        token.0.store(value, Ordering::Release);
    }
}

/// What the terminal is to print, in order.
#[derive(Debug)]
pub(crate) enum Print {
    /// Bytes as they are (chunks of the owner's block, prun's own text).
    Text(Vec<u8>),
    /// Held output of the new owner, printed under its header.
    Held(Spool),
    /// The header of `job`'s block, which is printed as it comes.
    Header(usize),
    /// The end of the owned block of `job`: its footer, and how it ended.
    Footer {
        job: usize,
        note: Option<String>,
        newline: bool,
    },
    /// A whole block that waited: header (with `note`), `parts`, footer.
    Block {
        job: usize,
        parts: Vec<Spool>,
        note: Option<String>,
    },
}

/// The terminal's side: the owner of stdout and what waits for it.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    owner: Option<usize>,
    /// The last byte printed of the owner's block.
    owner_last: Option<u8>,
    /// Jobs that passed output on while another owned stdout, with what they passed.
    pending: Vec<(usize, Spool)>,
    waiting: VecDeque<Waiting>,
}

#[derive(Debug)]
enum Waiting {
    Text(Vec<u8>),
    Block {
        job: usize,
        parts: Vec<Spool>,
        note: Option<String>,
    },
}

impl Queue {
    /// The job whose block is being printed as it comes, if one is.
    pub(crate) fn owner(&self) -> Option<usize> {
        self.owner
    }

    /// A chunk `job` passed on.
    pub(crate) fn chunk(&mut self, job: usize, bytes: &[u8]) -> Vec<Print> {
        match self.owner {
            Some(o) if o == job => {
                self.owner_last = bytes.last().copied().or(self.owner_last);
                vec![Print::Text(bytes.to_vec())]
            }
            Some(_) => {
                match self.pending.iter_mut().find(|(j, _)| *j == job) {
                    Some((_, held)) => held.push(bytes),
                    None => {
                        let mut held = Spool::new();
                        held.push(bytes);
                        self.pending.push((job, held));
                    }
                }
                Vec::new()
            }
            None => {
                self.owner = Some(job);
                self.owner_last = bytes.last().copied();
                vec![Print::Header(job), Print::Text(bytes.to_vec())]
            }
        }
    }

    /// The owner wrote its block itself up to here; `last` is its last byte.
    pub(crate) fn owner_wrote(&mut self, job: usize, last: u8) {
        if self.owner == Some(job) {
            self.owner_last = Some(last);
        }
    }

    /// `job` ended with `rest` (the output it did not pass on); `shown` is false when
    /// its block is not to be printed (`--quiet` and it succeeded). `Err(rest)` when the
    /// queue has nothing to do with it: the terminal prints its block as usual.
    pub(crate) fn ended(
        &mut self,
        job: usize,
        rest: Spool,
        note: Option<&str>,
        shown: bool,
    ) -> Result<Vec<Print>, Spool> {
        if self.owner == Some(job) {
            let mut out = Vec::new();
            if !rest.is_empty() {
                self.owner_last = Some(if rest.ends_with_newline() {
                    b'\n'
                } else {
                    b'.'
                });
                out.push(Print::Held(rest));
            }
            out.push(Print::Footer {
                job,
                note: note.map(str::to_owned),
                newline: self.owner_last == Some(b'\n'),
            });
            self.owner = None;
            self.owner_last = None;
            out.extend(self.release());
            return Ok(out);
        }
        let passed = self.pending.iter().position(|(j, _)| *j == job);
        if self.owner.is_none() && passed.is_none() {
            return Err(rest);
        }
        // Another block is being printed: this one waits for it, whole.
        let held = passed.map(|i| self.pending.remove(i).1).unwrap_or_default();
        if shown {
            self.waiting.push_back(Waiting::Block {
                job,
                parts: vec![held, rest],
                note: note.map(str::to_owned),
            });
        }
        Ok(self.release())
    }

    /// prun's own text: now, or after the block being printed as it comes (no other
    /// output may land inside that block).
    pub(crate) fn text(&mut self, text: Vec<u8>) -> Vec<Print> {
        if self.owner.is_some() {
            self.waiting.push_back(Waiting::Text(text));
            Vec::new()
        } else {
            vec![Print::Text(text)]
        }
    }

    /// With no owner: what waited, then a job still passing output on as the new owner.
    fn release(&mut self) -> Vec<Print> {
        let mut out = Vec::new();
        if self.owner.is_some() {
            return out;
        }
        while let Some(w) = self.waiting.pop_front() {
            match w {
                Waiting::Text(t) => out.push(Print::Text(t)),
                Waiting::Block { job, parts, note } => {
                    if !parts.iter().all(Spool::is_empty) {
                        out.push(Print::Block { job, parts, note });
                    }
                }
            }
        }
        if !self.pending.is_empty() {
            let (job, held) = self.pending.remove(0);
            self.owner = Some(job);
            self.owner_last = Some(if held.ends_with_newline() {
                b'\n'
            } else {
                b'.'
            });
            out.push(Print::Header(job));
            out.push(Print::Held(held));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool(b: &[u8]) -> Spool {
        let mut s = Spool::new();
        s.push(b);
        s
    }

    #[test]
    fn nothing_lands_inside_an_owned_block_and_the_next_owner_follows() {
        let mut q = Queue::default();
        assert!(matches!(
            q.chunk(0, b"a1\n")[..],
            [Print::Header(0), Print::Text(_)]
        ));
        // Job 1 passes output on too: it waits; job 2 ends whole: it waits; prun's text waits.
        assert!(q.chunk(1, b"b1\n").is_empty());
        assert!(q.ended(2, spool(b"c\n"), None, true).unwrap().is_empty());
        assert!(Queue::default().ended(5, spool(b"x"), None, true).is_err());
        assert!(q.text(b"hook block\n".to_vec()).is_empty());
        assert!(matches!(q.chunk(0, b"a2\n")[..], [Print::Text(_)]));
        let end = q
            .ended(0, Spool::new(), Some("failed, exit 1"), true)
            .unwrap();
        let kinds: Vec<&str> = end
            .iter()
            .map(|p| match p {
                Print::Footer { newline: true, .. } => "footer",
                Print::Block { job: 2, .. } => "block 2",
                Print::Text(t) if t == b"hook block\n" => "text",
                Print::Header(1) => "header 1",
                Print::Held(_) => "held",
                _ => "?",
            })
            .collect();
        assert_eq!(kinds, ["footer", "block 2", "text", "header 1", "held"]);
        assert_eq!(q.owner(), Some(1));
    }

    #[test]
    fn a_worker_writes_itself_only_once_its_chunks_are_printed() {
        let token = Token::default();
        let mut printed = Printed::default();
        let mut p = Passing::default();
        let mut sent = Vec::new();
        p.pass(&token, 3, b"x", |b| sent.push(b));
        assert_eq!(sent.len(), 1, "no owner yet: passed on");
        printed.publish(&token, Some(3));
        p.pass(&token, 3, b"y", |b| sent.push(b));
        assert_eq!(sent.len(), 2, "its first chunk is not printed yet");
        printed.chunk(3);
        printed.chunk(3);
        printed.publish(&token, Some(3));
        assert!(token.allows(3, 2));
        printed.publish(&token, None);
        assert!(!token.allows(3, 2));
    }
}
