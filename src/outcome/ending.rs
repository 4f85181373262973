//! How a command ended, in words: the one place an exit code, a signal or a failure to
//! start becomes words, for the summary, the block headers, notices, hooks, JUnit and
//! the timeline alike.

pub(crate) use crate::executor::finished::Ending;
use crate::executor::finished::signal_name;

impl Ending {
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
        let killed = Ending::from_parts(None, Some(15));
        assert_eq!(killed.words(), "killed by SIGTERM");
        assert_eq!(killed.column(), "SIGTERM");
        assert_eq!(Ending::Exited(3).words(), "exit 3");
        assert_eq!(Ending::NotStarted.words(), "did not start");
        assert_eq!(Ending::NotStarted.column(), "-");
    }
}
