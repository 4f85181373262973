//! How a command ended, in words: the one place an exit code, a signal or a failure to
//! start becomes words, for the summary, the block headers, notices, hooks, JUnit and
//! the timeline alike.

use crate::executor::finished::{Exit, signal_name};

/// How a command ended, as one thing to describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Killed(i32),
    /// It never started (or how it ended is unknown).
    NotStarted,
}

impl Ending {
    pub(crate) fn of(exit: Option<Exit>) -> Ending {
        match exit {
            Some(Exit { code: Some(c), .. }) => Ending::Exited(c),
            Some(Exit {
                signal: Some(s), ..
            }) => Ending::Killed(s),
            _ => Ending::NotStarted,
        }
    }

    /// In a sentence: `exit 3`, `killed by SIGTERM`, `did not start`.
    pub(crate) fn words(self) -> String {
        match self {
            Ending::Exited(c) => format!("exit {c}"),
            Ending::Killed(s) => format!("killed by {}", signal_name(s)),
            Ending::NotStarted => "did not start".to_owned(),
        }
    }

    /// Short, after a status: `exit 3`, `SIGTERM` (`failed, exit 3`, `timed-out, SIGTERM`).
    pub(crate) fn short(self) -> Option<String> {
        match self {
            Ending::Exited(c) => Some(format!("exit {c}")),
            Ending::Killed(s) => Some(signal_name(s).to_owned()),
            Ending::NotStarted => None,
        }
    }

    /// For a table column: `3`, `SIGTERM`, `-`.
    pub(crate) fn column(self) -> String {
        match self {
            Ending::Exited(c) => c.to_string(),
            Ending::Killed(s) => signal_name(s).to_owned(),
            Ending::NotStarted => "-".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_in_words() {
        let killed = Ending::of(Some(Exit {
            code: None,
            signal: Some(15),
        }));
        assert_eq!(killed.words(), "killed by SIGTERM");
        assert_eq!(killed.column(), "SIGTERM");
        assert_eq!(Ending::Exited(3).words(), "exit 3");
        assert_eq!(Ending::of(None).words(), "did not start");
        assert_eq!(Ending::of(None).column(), "-");
    }
}
