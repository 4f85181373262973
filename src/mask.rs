//! Secrets masked as `***` in everything prun writes (docs/ARCHITECTURE.md, "Secrets").
//! The values are set once, before the run (`install`), from the variables the jobfile's
//! `secrets:` names; every writer of prun's asks `current()`. A job's output is masked as
//! it is read (`Stream`, which holds back the end of a read that may be the start of a
//! secret, so a value split across two reads is still found); whole texts (reports,
//! messages) with `text`/`bytes`.
//!
//! Each value is also looked for as JSON and XML write it (a `"` in a value is `\"` in a
//! report, `&quot;` in JUnit), and each of its lines alone (GitHub masks so too).

use std::borrow::Cow;
use std::sync::OnceLock;

/// What a secret becomes.
pub(crate) const MASK: &str = "***";
/// Values shorter than this are not masked: they would hide innocent text.
pub(crate) const MIN_LEN: usize = 4;

/// The forms of the secret values to replace, longest first.
#[derive(Debug, Default)]
pub(crate) struct Masker {
    patterns: Vec<Vec<u8>>,
    finders: Vec<memchr::memmem::Finder<'static>>,
    longest: usize,
}

static CURRENT: OnceLock<Masker> = OnceLock::new();

/// Masks these values from now on (once; later calls are ignored).
pub(crate) fn install(values: &[String]) {
    let _ = CURRENT.set(Masker::new(values));
}

/// The masker in force (one that masks nothing before `install`).
pub(crate) fn current() -> &'static Masker {
    static NONE: Masker = Masker {
        patterns: Vec::new(),
        finders: Vec::new(),
        longest: 0,
    };
    CURRENT.get().unwrap_or(&NONE)
}

impl Masker {
    pub(crate) fn new(values: &[String]) -> Masker {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        for v in values {
            let lines = v.lines().filter(|l| l.len() != v.len());
            let forms = [v.clone(), json_form(v), xml_form(v)];
            for f in forms.into_iter().chain(lines.map(str::to_owned)) {
                if f.len() >= MIN_LEN && !patterns.iter().any(|p| p == f.as_bytes()) {
                    patterns.push(f.into_bytes());
                }
            }
        }
        // Longest first: a value that holds another is masked whole.
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        let finders = patterns
            .iter()
            .map(|p| memchr::memmem::Finder::new(p).into_owned())
            .collect();
        let longest = patterns.first().map_or(0, Vec::len);
        Masker {
            patterns,
            finders,
            longest,
        }
    }

    /// Whether there is anything to mask.
    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// `text` with every secret replaced by `***`.
    pub(crate) fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.bytes(text.as_bytes()) {
            // Secrets are whole strings (or whole lines) of UTF-8: what is left is too.
            Cow::Owned(b) => Cow::Owned(
                String::from_utf8(b)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
            Cow::Borrowed(_) => Cow::Borrowed(text),
        }
    }

    /// `bytes` with every secret replaced by `***`.
    pub(crate) fn bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        if self.is_empty() || self.next_match(bytes, 0).is_none() {
            return Cow::Borrowed(bytes);
        }
        let mut out = Vec::with_capacity(bytes.len());
        self.replace_into(bytes, &mut out);
        Cow::Owned(out)
    }

    /// The first match at or after `from`: its start and length (the longest pattern
    /// starting there).
    fn next_match(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for (p, f) in self.patterns.iter().zip(&self.finders) {
            let limit = best.map_or(hay.len(), |(s, _)| (s + p.len()).min(hay.len()));
            if let Some(at) = f.find(&hay[from..limit]).map(|i| i + from)
                && best.is_none_or(|(s, l)| at < s || (at == s && p.len() > l))
            {
                best = Some((at, p.len()));
            }
        }
        best
    }

    fn replace_into(&self, hay: &[u8], out: &mut Vec<u8>) {
        let mut at = 0;
        while let Some((s, len)) = self.next_match(hay, at) {
            out.extend_from_slice(&hay[at..s]);
            out.extend_from_slice(MASK.as_bytes());
            at = s + len;
        }
        out.extend_from_slice(&hay[at..]);
    }

    /// Whether `rest` (the text from a match of `len` bytes to the end of what was read)
    /// is the start of a longer secret that the next read may complete.
    fn may_grow(&self, rest: &[u8], len: usize) -> bool {
        rest.len() < self.longest
            && (self.patterns.iter())
                .any(|p| p.len() > len && p.len() > rest.len() && p.starts_with(rest))
    }

    /// How many bytes at the end of `hay` could be the start of a secret (held back
    /// until the next read says).
    fn partial_end(&self, hay: &[u8]) -> usize {
        let most = self.longest.saturating_sub(1).min(hay.len());
        for keep in (1..=most).rev() {
            let tail = &hay[hay.len() - keep..];
            if self
                .patterns
                .iter()
                .any(|p| p.len() > keep && p.starts_with(tail))
            {
                return keep;
            }
        }
        0
    }
}

/// A job's output masked as it is read.
pub(crate) struct Stream {
    masker: &'static Masker,
    held: Vec<u8>,
    out: Vec<u8>,
}

impl Stream {
    pub(crate) fn new() -> Stream {
        Stream {
            masker: current(),
            held: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Masks `bytes` (after what was held back) and hands on what is sure.
    pub(crate) fn feed(&mut self, bytes: &[u8], sink: &mut dyn FnMut(&[u8])) {
        let m = self.masker;
        if m.is_empty() {
            return sink(bytes);
        }
        let joined: Cow<'_, [u8]> = if self.held.is_empty() {
            Cow::Borrowed(bytes)
        } else {
            let mut j = std::mem::take(&mut self.held);
            j.extend_from_slice(bytes);
            Cow::Owned(j)
        };
        // Matches end where the text is sure; a partial one at the very end waits.
        let Some(first) = m.next_match(&joined, 0) else {
            // The common case: nothing to mask, handed on as it is.
            let keep = m.partial_end(&joined);
            let (sure, wait) = joined.split_at(joined.len() - keep);
            let wait = wait.to_vec();
            if !sure.is_empty() {
                sink(sure);
            }
            self.held = wait;
            return;
        };
        self.out.clear();
        let mut at = 0;
        let mut next = Some(first);
        while let Some((s, len)) = next {
            self.out.extend_from_slice(&joined[at..s]);
            if m.may_grow(&joined[s..], len) {
                // A longer secret may start here and end in the next read (`abcd` now,
                // `abcdefgh` with it): wait for it rather than mask the shorter.
                at = s;
                break;
            }
            self.out.extend_from_slice(MASK.as_bytes());
            at = s + len;
            next = m.next_match(&joined, at);
        }
        let rest = &joined[at..];
        let keep = if next.is_some() {
            rest.len()
        } else {
            m.partial_end(rest)
        };
        self.out.extend_from_slice(&rest[..rest.len() - keep]);
        self.held.extend_from_slice(&rest[rest.len() - keep..]);
        if !self.out.is_empty() {
            sink(&self.out);
        }
    }

    /// The output ended: what was held back is masked as it stands (a shorter secret
    /// that waited for a longer one is one).
    pub(crate) fn finish(&mut self, sink: &mut dyn FnMut(&[u8])) {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            let mut out = Vec::with_capacity(held.len());
            self.masker.replace_into(&held, &mut out);
            sink(&out);
        }
    }
}

/// A writer that masks what goes through it (reports, written as they are serialized).
/// `finish` writes what it held back.
pub(crate) struct Writer<W: std::io::Write> {
    inner: W,
    stream: Stream,
}

impl<W: std::io::Write> Writer<W> {
    pub(crate) fn new(inner: W) -> Self {
        Writer {
            inner,
            stream: Stream::new(),
        }
    }

    /// Writes the end held back (no secret after all).
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        let mut result = Ok(());
        let inner = &mut self.inner;
        self.stream.finish(&mut |b| result = inner.write_all(b));
        result.map(|()| self.inner)
    }
}

impl<W: std::io::Write> std::io::Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut result = Ok(());
        let inner = &mut self.inner;
        self.stream.feed(buf, &mut |b| {
            if result.is_ok() {
                result = inner.write_all(b);
            }
        });
        result.map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `::add-mask::` lines for GitHub Actions: each value, and each of its lines.
pub(crate) fn github_commands(values: &[String]) -> String {
    let mut out = String::new();
    for v in values {
        // A value of one line, or each line of one of many (what GitHub can match).
        for line in v.lines() {
            if line.len() >= MIN_LEN {
                out.push_str("::add-mask::");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

fn json_form(v: &str) -> String {
    let quoted = serde_json::to_string(v).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

fn xml_form(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(values: &[&str]) -> Masker {
        Masker::new(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn every_form_of_a_value_is_masked_and_short_ones_are_not() {
        let m = m(&["hunter2", "a\"b<c", "abc"]);
        assert_eq!(m.text("pw=hunter2, again hunter2."), "pw=***, again ***.");
        assert_eq!(
            m.text("json \"a\\\"b<c\" xml a&quot;b&lt;c"),
            "json \"***\" xml ***"
        );
        assert_eq!(m.text("abc stays"), "abc stays");
        assert!(matches!(m.text("nothing"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_longest_value_wins_where_two_overlap() {
        let m = m(&["secret", "secret-token"]);
        assert_eq!(m.text("x secret-token y secret z"), "x *** y *** z");
    }

    #[test]
    fn a_value_split_across_reads_is_masked_and_nothing_is_lost() {
        let m: &'static Masker = Box::leak(Box::new(m(&["hunter2"])));
        let text = b"before hunter2 middle hunte";
        for cut in 0..=text.len() {
            for cut2 in cut..=text.len() {
                let mut s = Stream {
                    masker: m,
                    held: Vec::new(),
                    out: Vec::new(),
                };
                let mut got = Vec::new();
                s.feed(&text[..cut], &mut |b| got.extend_from_slice(b));
                s.feed(&text[cut..cut2], &mut |b| got.extend_from_slice(b));
                s.feed(&text[cut2..], &mut |b| got.extend_from_slice(b));
                s.finish(&mut |b| got.extend_from_slice(b));
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    "before *** middle hunte",
                    "cut at {cut}, {cut2}"
                );
            }
        }
    }

    #[test]
    fn a_read_that_ends_after_the_shorter_of_two_secrets_waits_for_the_longer() {
        let m: &'static Masker =
            Box::leak(Box::new(Masker::new(&["abcd".into(), "abcdefgh".into()])));
        let mut s = Stream {
            masker: m,
            held: Vec::new(),
            out: Vec::new(),
        };
        let mut got = Vec::new();
        for read in [&b"x abcd"[..], b"efgh y abcd", b" z abcd"] {
            s.feed(read, &mut |b| got.extend_from_slice(b));
        }
        s.finish(&mut |b| got.extend_from_slice(b));
        assert_eq!(String::from_utf8(got).unwrap(), "x *** y *** z ***");
    }

    #[test]
    fn a_multi_line_value_is_masked_whole_and_by_line() {
        let m = m(&["line-one\nline-two"]);
        assert_eq!(m.text("a line-one\nline-two b"), "a *** b");
        assert_eq!(m.text("only line-two here"), "only *** here");
    }
}
