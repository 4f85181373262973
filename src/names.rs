//! Job names as text and as file names. A name written in the jobfile is already safe
//! (`[A-Za-z0-9._-]+`), but a matrix job's name carries its values
//! (`build[os=linux,py=3.12]`), and a value may hold anything: control characters, `/`,
//! `..`. Two mappings keep such a name harmless wherever it goes:
//!
//! - `escape_value` makes a value printable before it becomes part of a name, so a name
//!   never carries a terminal escape sequence, a newline or a bidirectional override into
//!   a terminal, a summary, a joblog or a report: `\\` for a backslash, `\t`, `\n`, `\r`,
//!   `\xHH` for other ASCII control characters and `\u{HHHH}` for Unicode ones. It is
//!   one-to-one, so distinct values still give distinct names.
//! - `file_name` turns a name into one file name (`--log-dir`): `%` and `/` become
//!   `%25` and `%2F`, a leading `.` becomes `%2E`, so a name can neither reach into
//!   another directory nor hide as a dot file; a name too long for a file system
//!   (over `MAX_FILE_NAME` bytes) keeps its start and ends in `~` and a hash of the
//!   whole. Also one-to-one, so two jobs never share a log file.

/// The longest file name `file_name` makes, in bytes (file systems allow 255).
const MAX_FILE_NAME: usize = 200;

/// Whether `s` is a shell variable name (`[A-Za-z_][A-Za-z0-9_]*`): what `env:` keys,
/// `secrets:`, matrix keys, output keys and resource names (after `PRUN_RESOURCE_`)
/// must be.
pub(crate) fn is_variable_name(s: &str) -> bool {
    let mut c = s.bytes();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == b'_')
        && c.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `value` with every character that is not printable text escaped (see the module doc).
pub(crate) fn escape_value(value: &str) -> String {
    if !value.chars().any(needs_escape) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Control characters, and the Unicode ones that reorder or hide text.
fn needs_escape(c: char) -> bool {
    c == '\\'
        || c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Text from outside prun (a path in a message, say) made safe to print: control
/// characters shown escaped, as in names.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(|c| needs_escape(c) && c != '\\') {
        std::borrow::Cow::Owned(escape_value(text))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The file name for job `name` (without an extension; see the module doc).
pub(crate) fn file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            '.' if i == 0 => out.push_str("%2E"),
            c if c.is_control() => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    if out.len() <= MAX_FILE_NAME {
        return out;
    }
    let mut cut = MAX_FILE_NAME - 17;
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{:016x}", &out[..cut], fnv1a(name.as_bytes()))
}

/// 64-bit FNV-1a: a stable hash, for names that must be shortened.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_are_the_shell_s() {
        for ok in ["A", "_x", "PG_PASS2", "a1"] {
            assert!(is_variable_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "é", "A=B"] {
            assert!(!is_variable_name(bad), "{bad}");
        }
    }

    #[test]
    fn values_become_printable_and_stay_distinct() {
        assert_eq!(escape_value("linux"), "linux");
        assert_eq!(escape_value("a\tb\nc"), "a\\tb\\nc");
        assert_eq!(escape_value("\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(escape_value("\u{202e}txt"), "\\u{202e}txt");
        assert_ne!(escape_value("\\x1b"), escape_value("\x1b"));
        assert!(!escape_value("\u{9b}2J").chars().any(char::is_control));
    }

    #[test]
    fn file_names_stay_in_their_directory_and_unique() {
        assert_eq!(file_name("build[os=linux]"), "build[os=linux]");
        assert_eq!(file_name("r[f=photos/a.jpg]"), "r[f=photos%2Fa.jpg]");
        assert_eq!(file_name("r[f=/../../etc]"), "r[f=%2F..%2F..%2Fetc]");
        assert_eq!(file_name(".hidden"), "%2Ehidden");
        assert_eq!(file_name(".."), "%2E.");
        assert_ne!(file_name("a%2Fb"), file_name("a/b"));
        let long = format!("j[v={}]", "x".repeat(300));
        let longer = format!("j[v={}y]", "x".repeat(300));
        assert!(file_name(&long).len() <= MAX_FILE_NAME);
        assert_ne!(file_name(&long), file_name(&longer));
        let wide = format!("j[v={}]", "é".repeat(200));
        assert!(file_name(&wide).len() <= MAX_FILE_NAME);
    }
}
