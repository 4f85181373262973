//! Jobfile errors as a person reads them: `error: FILE:LINE:COL: what is wrong`, the
//! offending line with a caret under the culprit, and a `help:` line that says how to fix
//! it. Both YAML/type errors (from [`jobfile`](super::jobfile)) and semantic ones (from
//! [`plan`](crate::plan)) are rendered here, so they all look the same.

use std::fmt;

/// The jobfile text and the name to show for it (a path, or `<stdin>`).
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) name: String,
    pub(crate) text: String,
}

/// Where a value was written: 1-based line and column (0, 0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    line: u32,
    column: u32,
}

impl Pos {
    pub(crate) const UNKNOWN: Pos = Pos { line: 0, column: 0 };

    pub(crate) fn new(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    pub(crate) fn line(self) -> u32 {
        self.line
    }

    pub(crate) fn column(self) -> u32 {
        self.column
    }
}

impl From<serde_saphyr::Location> for Pos {
    fn from(l: serde_saphyr::Location) -> Pos {
        if l == serde_saphyr::Location::UNKNOWN {
            Pos::UNKNOWN
        } else {
            Pos {
                line: l.line() as u32,
                column: l.column() as u32,
            }
        }
    }
}

/// One rendered-ready error about the jobfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    file: String,
    /// Line and column, 1-based.
    at: Option<(u32, u32)>,
    /// The column of the caret in `line_text` (which may show only part of the line).
    caret: u32,
    line_text: Option<String>,
    message: String,
    help: Option<String>,
}

impl Diagnostic {
    /// The same error with these secret values masked as `***` in all it shows (the
    /// line it quotes may hold one: an error is said before prun's masker is set up).
    pub(crate) fn masked(mut self, values: &[String]) -> Self {
        if values.is_empty() {
            return self;
        }
        let m = crate::mask::Masker::new(values);
        let mask = |t: &mut String| *t = m.text(t).into_owned();
        mask(&mut self.message);
        if let Some(t) = &mut self.line_text {
            mask(t);
        }
        if let Some(t) = &mut self.help {
            mask(t);
        }
        self
    }

    /// An error at `at` = (line, column), both 1-based, or about the whole file.
    pub(crate) fn new(
        src: &Source,
        at: Option<(usize, usize)>,
        message: impl Into<String>,
    ) -> Self {
        let line = at.and_then(|(l, _)| src.text.lines().nth(l.saturating_sub(1)));
        let (line_text, at) = match (line, at) {
            (Some(text), Some((l, col))) => {
                let (shown, caret) = snippet(text, col);
                (Some(shown), Some((l, col, caret)))
            }
            _ => (None, at.map(|(l, c)| (l, c, c))),
        };
        Diagnostic {
            file: src.name.clone(),
            at: at.map(|(l, c, _)| (l as u32, c as u32)),
            caret: at.map_or(0, |(_, _, caret)| caret as u32),
            line_text,
            message: message.into(),
            help: None,
        }
    }

    /// An error at `pos` in `src` (about the whole file when `pos` is unknown).
    pub(crate) fn at(src: &Source, pos: Pos, message: impl Into<String>) -> Self {
        let at = (pos != Pos::UNKNOWN).then(|| (pos.line() as usize, pos.column() as usize));
        Diagnostic::new(src, at, message)
    }

    /// An error about a file that could not be read at all.
    pub(crate) fn file(name: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: name.to_owned(),
            at: None,
            caret: 0,
            line_text: None,
            message: message.into(),
            help: None,
        }
    }

    /// An error at a place whose line cannot be shown (e.g. it is not valid text).
    pub(crate) fn located(name: &str, at: (usize, usize), message: impl Into<String>) -> Self {
        Diagnostic {
            at: Some((at.0 as u32, at.1 as u32)),
            caret: at.1 as u32,
            ..Diagnostic::file(name, message)
        }
    }

    /// Adds how to fix it.
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The one-line message, without location (for tests and logs).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message)?,
            None => write!(f, "{}: {}", self.file, self.message)?,
        }
        if let (Some((line, _)), Some(text)) = (self.at, &self.line_text) {
            let num = line.to_string();
            let pad = " ".repeat(num.len());
            // Keep tabs as tabs so the caret lines up under them.
            let lead: String = text
                .chars()
                .take(self.caret.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{pad} |\n{num} | {text}\n{pad} | {lead}^")?;
        }
        if let Some(help) = &self.help {
            for (i, line) in help.lines().enumerate() {
                let head = if i == 0 { "help: " } else { "      " };
                write!(f, "\n{head}{line}")?;
            }
        }
        Ok(())
    }
}

/// How much of a long line is shown on each side of the caret.
const SNIPPET_RADIUS: usize = 60;

/// The part of `line` to show under an error at column `col` (1-based), and the caret's
/// column in it: a long line is cut to a window around the column (`…` where it was cut),
/// and control characters other than tabs are shown as `�`, so neither a 100 MB line nor
/// an escape sequence reaches the terminal.
fn snippet(line: &str, col: usize) -> (String, usize) {
    let col = col.max(1);
    let first = col.saturating_sub(SNIPPET_RADIUS + 1);
    let mut shown = String::new();
    let mut caret = col;
    if first > 0 {
        shown.push('…');
        caret = col - first + 1;
    }
    for (taken, c) in line.chars().skip(first).enumerate() {
        if taken == 2 * SNIPPET_RADIUS + 1 {
            shown.push('…');
            break;
        }
        shown.push(if c.is_control() && c != '\t' {
            '\u{fffd}'
        } else {
            c
        });
    }
    (shown, caret)
}

/// Rewrites a YAML/serde message into prun's words, with a fix where one is known.
pub(crate) fn explain(src: &Source, at: Option<(usize, usize)>, raw: &str) -> Diagnostic {
    let raw = strip_location_suffix(raw);
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let valid: Vec<&str> = expected
            .split(['`', ',', ' '])
            .filter(|w| !w.is_empty() && *w != "expected" && *w != "one" && *w != "of")
            .collect();
        let mut message = format!("unknown key '{key}'");
        if let Some(best) = did_you_mean(key, &valid) {
            message.push_str(&format!(" (did you mean '{best}'?)"));
        }
        let help = if key.contains(' ') {
            format!(
                "if this is a command with `: ` in it, quote the whole command, e.g.\n  - '{key}: ...'"
            )
        } else if valid.is_empty() {
            "remove this key".to_owned()
        } else {
            format!("the keys allowed here are: {}", valid.join(", "))
        };
        return Diagnostic::new(src, at, message).help(help);
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        let help = match key {
            "jobs" => "add a `jobs:` list, e.g.\n  jobs:\n    - echo hello".to_owned(),
            _ => format!("add `{key}:` here"),
        };
        return Diagnostic::new(src, at, format!("missing key '{key}'")).help(help);
    }
    if raw.contains("duplicate mapping key") || raw.starts_with("duplicate field") {
        let key = raw.split(['`', ':']).nth(1).map(str::trim).unwrap_or("");
        let message = if key.is_empty() {
            "duplicate key".to_owned()
        } else {
            format!("duplicate key '{key}'")
        };
        return Diagnostic::new(src, at, message)
            .help("a key may appear only once in a mapping; remove or rename one of them");
    }
    if raw.contains("expected struct Jobfile") || raw.contains("expected a Jobfile") {
        return Diagnostic::new(src, at, "the jobfile must be a YAML mapping").help(
            "write it as a mapping with a `jobs:` list, e.g.\n  jobs:\n    - echo one\n    - echo two",
        );
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let valid: Vec<&str> = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .split([',', ' ', '`'])
            .filter(|w| !w.is_empty())
            .collect();
        let mut message = format!("unknown value '{value}'");
        if let Some(best) = did_you_mean(value, &valid) {
            message.push_str(&format!(" (did you mean '{best}'?)"));
        }
        return Diagnostic::new(src, at, message).help(format!("use one of: {}", valid.join(", ")));
    }
    if raw == "expected mapping start" && at == first_content(src) {
        return Diagnostic::new(src, at, "the jobfile must be a YAML mapping").help(
            "write it as a mapping with a `jobs:` list, e.g.\n  jobs:\n    - echo one\n    - echo two",
        );
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return Diagnostic::new(src, at, format!("expected {expected}, found {found}"));
    }
    if raw.starts_with("invalid duration") {
        return Diagnostic::new(src, at, raw.to_owned())
            .help("write a duration like 90s, 5m, 1h 30m or 2days");
    }
    let (message, help) = match raw {
        "unclosed quote" => (
            "unclosed quote",
            Some("end the value with the same quote it starts with"),
        ),
        _ if raw.starts_with("tabs disallowed") => (
            "a tab in the indentation",
            Some("YAML indents with spaces only; replace the tab with spaces"),
        ),
        "expected mapping start" => ("expected a mapping (`key: value` lines) here", None),
        "expected sequence start" => (
            "expected a list here",
            Some("write a list as `- item` lines or as `[a, b]`"),
        ),
        "expected string scalar" => (
            "expected a string here",
            Some("write a command as one string; use `run: |` for several lines"),
        ),
        "mapping values are not allowed in this context" => (
            "unexpected `: ` in a plain value",
            Some(
                "a value containing `: ` must be quoted as a whole, e.g.\n  run: 'echo \"done: yes\"'",
            ),
        ),
        "invalid u64" => ("expected a whole number of 0 or more", None),
        "invalid i64" => ("expected a whole number", None),
        _ if raw.starts_with("invalid type: unit value") => (
            "this value is empty",
            Some("give it a value, or remove the key"),
        ),
        _ => (raw, None),
    };
    let d = Diagnostic::new(src, at, message.to_owned());
    match help {
        Some(h) => d.help(h),
        None => d,
    }
}

/// Line and column of the first character that is not blank or a comment.
fn first_content(src: &Source) -> Option<(usize, usize)> {
    src.text.lines().enumerate().find_map(|(i, line)| {
        let col = line.find(|c: char| !c.is_whitespace())?;
        (!line[col..].starts_with('#') && !line[col..].starts_with("---"))
            .then_some((i + 1, col + 1))
    })
}

/// serde-saphyr's user formatter sometimes appends "at line X, column Y"; we print the
/// location up front instead.
fn strip_location_suffix(raw: &str) -> &str {
    match raw.rfind(" at line ") {
        Some(i) if raw[i..].contains("column") => &raw[..i],
        _ => raw,
    }
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["timeout", "retries", "run", "name"];
        assert_eq!(did_you_mean("timout", &keys), Some("timeout"));
        assert_eq!(did_you_mean("rnu", &keys), Some("run"));
        assert_eq!(did_you_mean("colour", &keys), None);
    }

    #[test]
    fn a_long_line_is_cut_around_the_caret() {
        let line = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        let (shown, caret) = snippet(&line, 1001);
        assert!(shown.chars().count() <= 2 * SNIPPET_RADIUS + 3, "{shown}");
        assert_eq!(shown.chars().nth(caret - 1), Some('X'));
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(snippet("ab\x1b[31m", 1), ("ab\u{fffd}[31m".to_owned(), 1));
    }

    #[test]
    fn caret_sits_under_the_column() {
        let src = Source {
            name: "j.yaml".into(),
            text: "jobs:\n  - timout: 5\n".into(),
        };
        let d = Diagnostic::new(&src, Some((2, 5)), "unknown key 'timout'").help("fix it");
        assert_eq!(
            d.to_string(),
            "j.yaml:2:5: unknown key 'timout'\n  |\n2 |   - timout: 5\n  |     ^\nhelp: fix it"
        );
    }
}
