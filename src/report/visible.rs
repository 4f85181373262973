//! Text from jobs made fit for the files other programs read (JUnit, the SVG timeline,
//! the step summary): colour and cursor codes removed — they are formatting a terminal
//! would have drawn, not words, and a file shows them as `\x1b[31m` noise — and every
//! other character a reader cannot take shown visibly, never dropped: the C0 controls
//! but tab, newline and carriage return (which XML 1.0 forbids) as `\x01`, DEL and the
//! C1 controls as `\x7f`, `\u{9b}`, and the non-characters U+FFFE and U+FFFF (forbidden
//! too) as `\u{fffe}`.

use std::borrow::Cow;

/// `text` without terminal escape sequences, with forbidden characters shown.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\x1b' || forbidden(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(rewrite(text, |out, c| {
        if forbidden(c) {
            shown(out, c);
        } else {
            out.push(c);
        }
    }))
}

/// `text` with its terminal escape sequences removed, nothing else changed (for text
/// that is escaped later, such as a spelled-out `\x1b[31m` would otherwise become).
pub(crate) fn uncoloured(text: &str) -> Cow<'_, str> {
    if !text.contains('\x1b') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(rewrite(text, |out, c| out.push(c)))
}

/// `text` without its escape sequences, every other character given to `keep`.
fn rewrite(text: &str, keep: impl Fn(&mut String, char)) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && skip_sequence(&mut chars) {
            continue;
        }
        keep(&mut out, c);
    }
    out
}

/// `text` (already made printable) without colour codes spelled out as `\x1b[31m`, the
/// form a job name or an escaped line carries them in (a literal backslash is `\\`
/// there, so `\x1b` always stood for the ESC byte).
pub(crate) fn unspelled(text: &str) -> Cow<'_, str> {
    const ESC: &str = "\\x1b[";
    if !text.contains(ESC) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(ESC) {
        // `\\x1b[` is an escaped backslash before `x1b[`: text, not a code.
        let escaped = rest[..at].bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1;
        let after = &rest[at + ESC.len()..];
        let params = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';' || c == '?'))
            .unwrap_or(after.len());
        let fin = after[params..]
            .chars()
            .next()
            .filter(|c| ('@'..='~').contains(c));
        match fin {
            Some(f) if !escaped => {
                out.push_str(&rest[..at]);
                rest = &after[params + f.len_utf8()..];
            }
            _ => {
                out.push_str(&rest[..at + ESC.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A character XML 1.0 forbids, or a control character a reader would show raw.
fn forbidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
}

fn shown(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = if (c as u32) < 0x80 {
        write!(out, "\\x{:02x}", c as u32)
    } else {
        write!(out, "\\u{{{:x}}}", c as u32)
    };
}

/// After an ESC: skips the rest of a CSI (`[` … a final byte), OSC (`]` … BEL or ST)
/// or two-character sequence; false (nothing skipped) when no sequence follows, so the
/// ESC is shown instead.
fn skip_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    match chars.peek() {
        Some('[') => {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
            true
        }
        Some(']') => {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\x07' {
                    break;
                }
                if c == '\x1b' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
            true
        }
        Some(c) if ('@'..='_').contains(c) || ('('..='/').contains(c) => {
            chars.next();
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_go_and_forbidden_characters_are_shown_never_dropped() {
        assert_eq!(text("plain"), "plain");
        assert_eq!(text("\x1b[31;1mred\x1b[0m ok"), "red ok");
        assert_eq!(text("a\u{fffe}b\u{ffff}"), "a\\u{fffe}b\\u{ffff}");
        assert_eq!(
            text("bell\x07 nul\0 tab\tcr\r\n"),
            "bell\\x07 nul\\x00 tab\tcr\r\n"
        );
        assert_eq!(text("\x1b]0;title\x07after"), "after");
        assert_eq!(text("lone \x1b"), "lone \\x1b");
        assert_eq!(text("c1 \u{9b}2J"), "c1 \\u{9b}2J");
        assert_eq!(uncoloured("\x1b[32mgreen\x1b[m \x01"), "green \x01");
        assert_eq!(unspelled("b[v=\\x1b[31mred\\x1b[0m]"), "b[v=red]");
        assert_eq!(unspelled("a\\\\x1b[31m"), "a\\\\x1b[31m");
        assert_eq!(unspelled("\\x1b[ not"), "\\x1b[ not");
    }
}
