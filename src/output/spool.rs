//! A job's captured output: held in memory up to a limit, then spilled to an anonymous
//! temporary file (O_TMPFILE: it has no name and is gone when closed), so a job writing
//! gigabytes in `group` mode costs prun a bounded amount of memory.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;

/// Output beyond this many bytes goes to the spill file.
pub(crate) const MEMORY_LIMIT: usize = 1 << 20;

#[derive(Debug, Default)]
pub(crate) struct Spool {
    mem: Vec<u8>,
    file: Option<File>,
    len: u64,
    last: Option<u8>,
}

impl Spool {
    pub(crate) fn new() -> Self {
        Spool::default()
    }

    /// Appends bytes, spilling to disk once past the memory limit. If no spill file can
    /// be made, the bytes stay in memory rather than being lost.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.len += bytes.len() as u64;
        self.last = bytes.last().copied();
        if self.file.is_none() && self.mem.len() + bytes.len() > MEMORY_LIMIT {
            self.file = spill_file().ok();
        }
        if let Some(f) = &mut self.file
            && f.write_all(bytes).is_ok()
        {
            return;
        }
        self.mem.extend_from_slice(bytes);
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn ends_with_newline(&self) -> bool {
        self.last == Some(b'\n')
    }

    /// Writes everything held, in order, to `out`.
    pub(crate) fn write_to<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(&self.mem)?;
        if let Some(f) = &mut self.file {
            f.seek(SeekFrom::Start(0))?;
            io::copy(f, out)?;
        }
        Ok(())
    }
}

fn spill_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    let tmpfile = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(&dir);
    match tmpfile {
        Ok(f) => Ok(f),
        // A file system without O_TMPFILE: a named file, unlinked at once.
        Err(_) => {
            let path = dir.join(format!("prun-spill-{}-{:p}", std::process::id(), &dir));
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            std::fs::remove_file(&path)?;
            Ok(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_limit_and_gives_back_every_byte_in_order() {
        let mut s = Spool::new();
        let chunk: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        for _ in 0..10 {
            s.push(&chunk);
        }
        assert!(s.file.is_some(), "did not spill");
        assert!(s.mem.len() <= MEMORY_LIMIT);
        let mut out = Vec::new();
        s.write_to(&mut out).unwrap();
        assert_eq!(out.len(), 3_000_000);
        assert!(out.chunks(300_000).all(|c| c == chunk.as_slice()));
    }
}
