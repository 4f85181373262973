//! The `log` probe of a service: each complete line of its output, as its worker reads
//! it, is matched against the probe's regex until one matches — at the moment the line
//! is read, so a service is seen ready as soon as it says so.

/// The longest line kept whole while it is read; a longer one is matched on its first
/// `MAX_LINE` bytes.
const MAX_LINE: usize = 64 * 1024;

pub(super) struct LogWatch {
    re: regex::Regex,
    /// The line read so far (no newline yet).
    line: Vec<u8>,
    matched: bool,
}

impl LogWatch {
    /// A watch for `pattern` (checked when the plan was made); `None` if it does not
    /// compile after all.
    pub(super) fn new(pattern: &str) -> Option<LogWatch> {
        Some(LogWatch {
            re: regex::Regex::new(pattern).ok()?,
            line: Vec::new(),
            matched: false,
        })
    }

    /// Takes the next bytes of output; true the first time a line matches.
    pub(super) fn feed(&mut self, mut bytes: &[u8]) -> bool {
        if self.matched {
            return false;
        }
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            let room = MAX_LINE.saturating_sub(self.line.len());
            self.line.extend_from_slice(&bytes[..nl.min(room)]);
            bytes = &bytes[nl + 1..];
            let line = std::mem::take(&mut self.line);
            if self.matches(&line) {
                self.matched = true;
                return true;
            }
        }
        let room = MAX_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
        false
    }

    fn matches(&self, line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.re.is_match(&String::from_utf8_lossy(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_matches_once_it_is_whole_even_across_reads() {
        let mut w = LogWatch::new(r"listening on port \d+$").unwrap();
        assert!(!w.feed(b"starting\nlisten"));
        assert!(!w.feed(b"ing on port 54"));
        assert!(w.feed(b"32\r\nmore\n"));
        // Once is enough.
        assert!(!w.feed(b"listening on port 1\n"));
    }

    #[test]
    fn a_line_that_is_not_whole_yet_does_not_match() {
        let mut w = LogWatch::new("^ready$").unwrap();
        assert!(!w.feed(b"not rea"));
        assert!(!w.feed(b"dy yet"));
        assert!(!w.feed(b" \nstill\n"));
        assert!(w.feed(b"ready\n"));
    }

    #[test]
    fn an_endless_line_is_bounded() {
        let mut w = LogWatch::new("^x+$").unwrap();
        for _ in 0..100 {
            assert!(!w.feed(&[b'x'; 4096]));
        }
        assert!(w.line.len() <= MAX_LINE);
        assert!(w.feed(b"\n"));
    }
}
