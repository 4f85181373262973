//! A fast path for the `jobs:` list of a big generated jobfile. serde-saphyr spends about
//! 40,000 instructions on a three-key job mapping; the shapes a generator writes (bare
//! commands, small mappings of one-line scalars, lists of names) are read here line by
//! line instead, into exactly what serde-saphyr would have produced, positions included.
//!
//! The rule that keeps it honest: this module never reports an error. It reads only a
//! strict subset of YAML, and at the first thing outside it (an anchor, a tag, a block or
//! multi-line scalar, a tab, an escape, a key it does not know, a duplicate, a value that
//! YAML might read as a number or null, a duration that does not parse...) it gives up
//! and the whole file goes through serde-saphyr, which says what is wrong exactly as
//! before. The rest of the file (everything but the `jobs:` list) is always parsed by
//! serde-saphyr: the list is replaced by `jobs: []` on the same line, the other lines
//! keep their numbers. `tests` compares both paths on generated jobfiles.

use std::borrow::Cow;

use smol_str::SmolStr;

use crate::input::diagnostic::Pos;

use super::keys::{HumanDuration, JobEntry, JobKeys, Jobfile, Scalar, Sp, Uses, When};

/// The jobfile, if its `jobs:` list is in the subset and the rest parses.
pub(super) fn parse(text: &str) -> Option<Jobfile> {
    let split = split(text)?;
    let mut jf = super::keys::from_yaml(&split.header, text.len()).ok()?;
    if !jf.jobs.value.is_empty() || jf.jobs.referenced != split.placeholder {
        return None;
    }
    jf.jobs = split.jobs;
    Some(jf)
}

/// The jobfile with its `jobs:` list read here, and the rest left to serde-saphyr.
struct Split {
    /// The text with the list replaced by `jobs: []` (same line numbers).
    header: String,
    /// Where serde-saphyr finds that `[]`, to check it read the line meant.
    placeholder: Pos,
    jobs: Sp<Vec<Sp<JobEntry>>>,
}

/// The `jobs:` list, if the file has one at the top level and all of it is in the subset.
fn split(text: &str) -> Option<Split> {
    let (key_at, key_line) = find_jobs_key(text)?;
    let body_at = key_at + text[key_at..].find('\n')? + 1;
    let mut lines = Lines {
        text,
        at: body_at,
        no: key_line + 1,
    };
    let first = lines.peek()??;
    let seq_indent = first.indent();
    let mut list_at = first.pos(seq_indent);
    let mut entries = Vec::new();
    let end_at = loop {
        let Some(line) = lines.peek()? else {
            break text.len();
        };
        let ind = line.indent();
        if ind < seq_indent || (seq_indent == 0 && !line.text.starts_with('-')) {
            // The list ends at a top-level key; anything else is left to serde-saphyr.
            let t = line.text;
            if ind != 0 || t.starts_with(['-', '.', '%', ' ']) {
                return None;
            }
            break line.at;
        }
        if ind > seq_indent || !line.text[ind..].starts_with("- ") {
            return None;
        }
        lines.take(&line);
        let after = ind + 2 + leading_spaces(&line.text[ind + 2..]);
        entries.push(entry(&line, after, &mut lines)?);
        if entries.len() == 1 && seq_indent == 0 {
            // serde-saphyr places a list at column 0 at its first entry's content.
            list_at = line.pos(after);
        }
    };
    if entries.is_empty() {
        return None;
    }
    let mut header = String::with_capacity(key_at + 16 + (text.len() - end_at));
    header.push_str(&text[..key_at]);
    header.push_str("jobs: []\n");
    if end_at < text.len() {
        // Keep the line numbers of what follows the list.
        let skipped = text[body_at..end_at]
            .bytes()
            .filter(|&b| b == b'\n')
            .count();
        header.extend(std::iter::repeat_n('\n', skipped));
        header.push_str(&text[end_at..]);
    }
    Some(Split {
        header,
        placeholder: Pos::new(key_line, 7),
        jobs: Sp::new(entries, list_at),
    })
}

/// The byte offset and line number of the one line that is `jobs:` at column 0 (with
/// nothing after it but a comment).
fn find_jobs_key(text: &str) -> Option<(usize, u32)> {
    let mut found = None;
    let mut no = 0u32;
    for (at, line) in line_starts(text) {
        no += 1;
        if let Some(rest) = line.strip_prefix("jobs") {
            let rest = rest.strip_prefix(':')?;
            if found.is_some() || !is_blank_or_comment(rest) {
                return None;
            }
            found = Some((at, no));
        }
    }
    found
}

fn line_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    text.split('\n').map(move |l| {
        let start = at;
        at += l.len() + 1;
        (start, l)
    })
}

/// Nothing, or a comment after at least one space.
fn is_blank_or_comment(rest: &str) -> bool {
    let t = rest.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < rest.len())
}

fn leading_spaces(s: &str) -> usize {
    s.len() - s.trim_start_matches(' ').len()
}

/// One line that holds something (not blank, not only a comment).
#[derive(Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    no: u32,
    /// Byte offset of the line in the file.
    at: usize,
}

impl Line<'_> {
    fn indent(&self) -> usize {
        leading_spaces(self.text)
    }

    fn pos(&self, col: usize) -> Pos {
        Pos::new(self.no, col as u32 + 1)
    }
}

/// The lines that hold something, from a point in the file on. A line with a tab, a
/// carriage return or a character YAML does not allow ends the fast path.
struct Lines<'a> {
    text: &'a str,
    at: usize,
    no: u32,
}

impl<'a> Lines<'a> {
    /// The next line that holds something, `Some(None)` at the end of the file, `None` to
    /// give up.
    fn peek(&self) -> Option<Option<Line<'a>>> {
        let (mut at, mut no) = (self.at, self.no);
        while at < self.text.len() {
            let end = self.text[at..]
                .find('\n')
                .map_or(self.text.len(), |e| at + e);
            let text = &self.text[at..end];
            let body = text.trim_start_matches(' ');
            if !body.is_empty() && !body.starts_with('#') {
                return printable(text).then_some(Some(Line { text, no, at }));
            }
            at = end + 1;
            no += 1;
        }
        Some(None)
    }

    /// Steps past `line`, which `peek` gave.
    fn take(&mut self, line: &Line<'_>) {
        self.at = line.at + line.text.len() + 1;
        self.no = line.no + 1;
    }
}

/// Only characters YAML allows, and no tab (indentation or separation by tabs is left
/// to serde-saphyr), carriage return or character YAML 1.1 took for a line break.
fn printable(text: &str) -> bool {
    if text.is_ascii() {
        return text.bytes().all(|b| (0x20..0x7f).contains(&b));
    }
    text.chars().all(|c| {
        (c >= ' ' && c != '\u{7f}' && !('\u{80}'..='\u{9f}').contains(&c))
            && !matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
            )
    })
}

/// One entry whose content starts at byte `col` of `line` (after `- `).
fn entry(line: &Line<'_>, col: usize, lines: &mut Lines<'_>) -> Option<Sp<JobEntry>> {
    let at = line.pos(col);
    let body = &line.text[col..];
    if key_of(body).is_none() {
        let text = bare(scalar(body)?)?;
        return Some(Sp::new(JobEntry::Bare(SmolStr::new(text)), at));
    }
    let mut keys = JobKeys::default();
    let mut line = *line;
    loop {
        let (key, rest) = key_of(&line.text[col..])?;
        let vcol = col + key.len() + 1 + leading_spaces(rest);
        let value = &line.text[vcol..];
        if value.is_empty() || value.starts_with('#') {
            // Only a list of names may start on the next line.
            let list = block_list(col, lines)?;
            set_list(&mut keys, key, list)?;
        } else if value.starts_with('[') {
            set_list(&mut keys, key, flow_list(&line, vcol)?)?;
        } else {
            set_scalar(&mut keys, key, scalar(value)?, line.pos(vcol))?;
        }
        match lines.peek()? {
            Some(next) if next.indent() == col => {
                lines.take(&next);
                line = next;
            }
            Some(next) if next.indent() > col => return None,
            _ => break,
        }
    }
    Some(Sp::new(JobEntry::Full(keys.into_fields()), at))
}

/// `key:` at the start of `s`, followed by a space or the end: the key and what follows.
fn key_of(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !(c.is_ascii_lowercase() || c == '_'))?;
    let (key, rest) = s.split_at(end);
    let rest = rest.strip_prefix(':')?;
    (!key.is_empty() && (rest.is_empty() || rest.starts_with(' '))).then_some((key, rest))
}

/// A one-line scalar as serde-saphyr hands it to a string target, and whether it was
/// plain (unquoted): borrowed from the line unless it had quotes to undo.
type Text<'a> = (Cow<'a, str>, bool);

/// The `Text` of a one-line scalar; `None` for anything else.
fn scalar(s: &str) -> Option<Text<'_>> {
    let (value, rest, plain) = match s.as_bytes().first()? {
        b'"' => {
            let end = s[1..].find('"')? + 1;
            let inner = &s[1..end];
            if inner.contains('\\') {
                return None;
            }
            (Cow::Borrowed(inner), &s[end + 1..], false)
        }
        b'\'' => {
            let mut value = String::new();
            let mut i = 1;
            loop {
                let q = s[i..].find('\'')? + i;
                value.push_str(&s[i..q]);
                if s[q + 1..].starts_with('\'') {
                    value.push('\'');
                    i = q + 2;
                } else {
                    break (Cow::Owned(value), &s[q + 1..], false);
                }
            }
        }
        b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
        | b'|' | b'>' | b'%' | b'@' | b'`' | b' ' => return None,
        _ => {
            let end = s.find(" #").unwrap_or(s.len());
            let value = s[..end].trim_end_matches(' ');
            if value.contains(": ") || value.ends_with(':') {
                return None;
            }
            (Cow::Borrowed(value), &s[end..], true)
        }
    };
    // A comment needs a space before it, after a quoted scalar too (`"a"#b`).
    is_blank_or_comment(rest).then_some((value, plain))
}

/// A bare entry's text: serde-saphyr infers a type for an unquoted one, so only text that
/// can be nothing but a string (or `true`/`false`, whose text it keeps) is taken here.
fn bare((text, plain): Text<'_>) -> Option<Cow<'_, str>> {
    (!plain || plain_is_string(&text)).then_some(text)
}

/// A plain scalar that YAML reads as a string whatever the schema: it does not start
/// like a number, and is not a null or a boolean other than `true`/`false` (whose text
/// serde-saphyr keeps).
fn plain_is_string(text: &str) -> bool {
    if text == "true" || text == "false" {
        return true;
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.' | b'~') {
        return false;
    }
    text.len() > 5
        || !["null", "true", "false", "y", "n", "yes", "no", "on", "off"]
            .iter()
            .any(|w| text.eq_ignore_ascii_case(w))
}

/// A string value as written; nulls and empty values are left to serde-saphyr.
fn text_value((text, plain): Text<'_>) -> Option<String> {
    (!plain || !matches!(&*text, "" | "~" | "null" | "Null" | "NULL")).then(|| text.into_owned())
}

/// `[a, b]` starting at byte `col` of `line`: names with their positions.
fn flow_list(line: &Line<'_>, col: usize) -> Option<Sp<Vec<Sp<String>>>> {
    let s = &line.text[col..];
    let close = s.find(']')?;
    if !s.is_ascii() || !is_blank_or_comment(&s[close + 1..]) {
        return None;
    }
    let inner = &s[1..close];
    let mut items = Vec::new();
    if !inner.trim_start_matches(' ').is_empty() {
        let mut at = col + 1;
        for part in inner.split(',') {
            let lead = leading_spaces(part);
            let item = part.trim_matches(' ');
            if !is_list_name(item) {
                return None;
            }
            items.push(Sp::new(item.to_owned(), line.pos(at + lead)));
            at += part.len() + 1;
        }
    }
    Some(Sp::new(items, line.pos(col)))
}

/// A list item plain enough to mean the same in a flow and a block list.
fn is_list_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '/')
        && !s.contains(": ")
        && !s.ends_with(':')
        && !s.contains(" #")
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'-' | b'.' | b'/' | b' ' | b'=' | b'+' | b'@')
        })
        && plain_is_string(s)
        && !s.starts_with('-')
}

/// A block list of names under a key at column `key_col`: `- name` lines indented more
/// than the key, or as much.
fn block_list(key_col: usize, lines: &mut Lines<'_>) -> Option<Sp<Vec<Sp<String>>>> {
    let first = lines.peek()??;
    let ind = first.indent();
    if ind < key_col {
        return None;
    }
    let mut items = Vec::new();
    let mut at = first.pos(ind);
    while let Some(line) = lines.peek()? {
        if line.indent() != ind || !line.text[ind..].starts_with("- ") {
            break;
        }
        let col = ind + 2 + leading_spaces(&line.text[ind + 2..]);
        let end = line.text[col..]
            .find(" #")
            .map_or(line.text.len(), |e| col + e);
        let item = line.text[col..end].trim_end_matches(' ');
        if !is_list_name(item) || !is_blank_or_comment(&line.text[col + item.len()..]) {
            return None;
        }
        if items.is_empty() && ind == key_col {
            // A list as indented as its key: serde-saphyr places it at its first item.
            at = line.pos(col);
        }
        items.push(Sp::new(item.to_owned(), line.pos(col)));
        lines.take(&line);
    }
    if items.is_empty() || lines.peek()?.is_some_and(|l| l.indent() > key_col) {
        return None;
    }
    Some(Sp::new(items, at))
}

/// Sets a key whose value is a list; a key already set, or any other, gives up.
fn set_list(keys: &mut JobKeys, key: &str, list: Sp<Vec<Sp<String>>>) -> Option<()> {
    match key {
        "needs" if keys.needs.is_none() => keys.needs = Some(list),
        "tags" if keys.tags.is_none() => {
            let at = list.referenced;
            keys.tags = Some(Sp::new(
                list.value.into_iter().map(|s| s.value).collect(),
                at,
            ));
        }
        "uses" if keys.uses.is_none() => {
            let at = list.referenced;
            let names = list.value.into_iter().map(|s| (s.value, 1)).collect();
            keys.uses = Some(Sp::new(Uses(names), at));
        }
        _ => return None,
    }
    Some(())
}

/// Sets a key whose value is a one-line scalar; a key already set, or any other, or a
/// value its type does not take, gives up.
fn set_scalar(keys: &mut JobKeys, key: &str, value: Text<'_>, at: Pos) -> Option<()> {
    fn once<T>(slot: &mut Option<Sp<T>>, value: T, at: Pos) -> Option<()> {
        if slot.is_some() {
            return None;
        }
        *slot = Some(Sp::new(value, at));
        Some(())
    }
    let duration = |v: Text<'_>| -> Option<HumanDuration> {
        crate::times::parse_duration(&text_value(v)?)
            .ok()
            .map(HumanDuration)
    };
    match key {
        "name" => once(&mut keys.name, text_value(value)?, at),
        "run" => once(&mut keys.run, Scalar(text_value(value)?), at),
        "workdir" => once(&mut keys.workdir, text_value(value)?, at),
        "backoff" => once(&mut keys.backoff, text_value(value)?, at),
        "executor" => once(&mut keys.executor, text_value(value)?, at),
        "on_success" => once(&mut keys.on_success, Scalar(text_value(value)?), at),
        "on_failure" => once(&mut keys.on_failure, Scalar(text_value(value)?), at),
        "on_complete" => once(&mut keys.on_complete, Scalar(text_value(value)?), at),
        "timeout" => once(&mut keys.timeout, duration(value)?, at),
        "hook_timeout" => once(&mut keys.hook_timeout, duration(value)?, at),
        "retry_delay" => once(&mut keys.retry_delay, duration(value)?, at),
        "retry_delay_max" => once(&mut keys.retry_delay_max, duration(value)?, at),
        "retries" => {
            let (text, plain) = value;
            let digits = text.strip_prefix('-').unwrap_or(&text);
            if !plain || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if digits.len() > 1 && digits.starts_with('0') {
                return None;
            }
            once(&mut keys.retries, text.parse().ok()?, at)
        }
        "when" => {
            let when = match (&*value.0, value.1) {
                ("success", true) => When::Success,
                ("failure", true) => When::Failure,
                ("always", true) => When::Always,
                _ => return None,
            };
            once(&mut keys.when, when, at)
        }
        "uses" => {
            // Read with a type inferred, and a boolean is no resource name.
            let name = bare(value)
                .filter(|n| n != "true" && n != "false")?
                .into_owned();
            once(&mut keys.uses, Uses(vec![(name, 1)]), at)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
