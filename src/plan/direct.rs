//! Which commands can skip the shell. Like GNU make, prun execs a command directly when
//! the shell would do nothing but split it into words: that saves a shell per job.
//!
//! A command is *simple* when it is one line of words separated by spaces or tabs, made
//! only of letters, digits and `-_./,:+%@=` (so no quoting, `$`, globbing, redirection,
//! pipes, `;`, `&`, `#`, `~`, backslash or brackets); its first word has no `=` (an
//! assignment) and is not a shell keyword or builtin other than `true`, `false`, `test`
//! and `printf`, which behave the same as their programs. Anything else runs as
//! `<shell> -c <run>`. A job whose `env` sets `PATH` also goes through the shell, so the
//! program is found the way the shell would find it.

/// The words of `cmd` if it is simple, else `None`.
pub(crate) fn words(cmd: &str) -> Option<Vec<&str>> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./,:+%@=".contains(c);
    if !cmd.chars().all(|c| safe(c) || c == ' ' || c == '\t') {
        return None;
    }
    let words: Vec<&str> = cmd.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let first = *words.first()?;
    if first.contains('=') || SHELL_WORDS.contains(&first) {
        return None;
    }
    Some(words)
}

/// Keywords and builtins of POSIX sh (and common extensions) that must run in a shell.
const SHELL_WORDS: &[&str] = &[
    "!", ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done",
    "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for",
    "function", "getopts", "hash", "if", "in", "jobs", "kill", "local", "pwd", "read", "readonly",
    "return", "select", "set", "shift", "source", "then", "time", "times", "trap", "type",
    "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
];

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn plain_commands_are_simple() {
        assert_eq!(words("true"), Some(vec!["true"]));
        assert_eq!(words("  sleep\t0.1 "), Some(vec!["sleep", "0.1"]));
        assert_eq!(
            words("rsync -a /srv/up/ host:/backup/up"),
            Some(vec!["rsync", "-a", "/srv/up/", "host:/backup/up"])
        );
        assert_eq!(words("gzip -9 a.sql"), Some(vec!["gzip", "-9", "a.sql"]));
    }

    #[test]
    fn anything_the_shell_would_interpret_is_not() {
        for cmd in [
            "echo $HOME",
            "echo hi",
            "ls *.txt",
            "a | b",
            "a; b",
            "a && b",
            "a > f",
            "a &",
            "cd /tmp",
            "exit 3",
            "FOO=1 cmd",
            "x # c",
            "echo 'q'",
            "say \"q\"",
            "a\\ b",
            "~/bin/x",
            "a\nb",
            "{ a; }",
            "(a)",
            "[ -e f ]",
            "export A=1",
            "",
            "   ",
            "pwd",
            "kill 1",
            "wait",
        ] {
            assert_eq!(words(cmd), None, "{cmd:?}");
        }
    }
}
