//! The hooks of a job or of the run, and which of them are due for how it ended.

/// How a job ended, as far as its hooks care (`JobResult::hook_case` says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookCase {
    Succeeded,
    /// Failed, timed out, interrupted, skipped after a failure or not run.
    Failed,
    /// Skipped only because a `when:` condition did not hold: nothing failed.
    NotApplicable,
}

/// Which hook, typed (`Success` is `on_success`, the key that names it in the jobfile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum HookKind {
    Success,
    Failure,
    Complete,
    /// Run-level only.
    Recover,
}

impl HookKind {
    /// The key, as the jobfile, the reports and `PRUN_*` say it: `on_success`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HookKind::Success => "on_success",
            HookKind::Failure => "on_failure",
            HookKind::Complete => "on_complete",
            HookKind::Recover => "on_recover",
        }
    }
}

impl std::fmt::Display for HookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for HookKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The three hooks of a job or of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hooks {
    pub(crate) on_success: Option<String>,
    pub(crate) on_failure: Option<String>,
    pub(crate) on_complete: Option<String>,
    /// Run-level only: after a success that follows a failed run.
    pub(crate) on_recover: Option<String>,
}

impl Hooks {
    /// The run-level hooks the jobfile has (taken out of it).
    pub(crate) fn of_run(jf: &mut crate::input::jobfile::Jobfile) -> Self {
        Hooks {
            on_success: jf.on_success.take().map(|s| s.value.0),
            on_failure: jf.on_failure.take().map(|s| s.value.0),
            on_complete: jf.on_complete.take().map(|s| s.value.0),
            on_recover: jf.on_recover.take().map(|s| s.value.0),
        }
    }

    /// The run-level hooks due, in order: `on_success` or `on_failure`, then
    /// `on_recover` when this run succeeded and the one before it (`previous_success`)
    /// did not, then `on_complete`.
    pub(crate) fn for_run(
        &self,
        success: bool,
        previous_success: Option<bool>,
    ) -> Vec<(HookKind, &str)> {
        let mut due = self.for_outcome(success);
        if success
            && previous_success == Some(false)
            && let Some(c) = self.on_recover.as_deref()
        {
            let at = usize::from(self.on_success.is_some());
            due.insert(at, (HookKind::Recover, c));
        }
        due
    }

    /// The hooks to run after an outcome, in order: the matching one, then `on_complete`.
    pub(crate) fn for_outcome(&self, success: bool) -> Vec<(HookKind, &str)> {
        let first = if success {
            (HookKind::Success, self.on_success.as_deref())
        } else {
            (HookKind::Failure, self.on_failure.as_deref())
        };
        [first, (HookKind::Complete, self.on_complete.as_deref())]
            .into_iter()
            .filter_map(|(n, c)| c.map(|c| (n, c)))
            .collect()
    }

    /// The hooks due for how a job ended: `for_outcome`, except that a job skipped only
    /// because its `when:` did not hold failed at nothing: `on_complete` alone.
    pub(crate) fn for_job(&self, ended: HookCase) -> Vec<(HookKind, &str)> {
        match ended {
            HookCase::Succeeded => self.for_outcome(true),
            HookCase::Failed => self.for_outcome(false),
            HookCase::NotApplicable => self
                .on_complete
                .as_deref()
                .map(|c| (HookKind::Complete, c))
                .into_iter()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Hooks {
        Hooks {
            on_success: Some("s".into()),
            on_failure: Some("f".into()),
            on_complete: Some("c".into()),
            on_recover: Some("r".into()),
        }
    }

    #[test]
    fn on_recover_is_due_only_for_a_success_after_a_failed_run() {
        let h = all();
        let recovered = [
            (HookKind::Success, "s"),
            (HookKind::Recover, "r"),
            (HookKind::Complete, "c"),
        ];
        assert_eq!(h.for_run(true, Some(false)), recovered);
        assert_eq!(
            h.for_run(true, Some(true)),
            [(HookKind::Success, "s"), (HookKind::Complete, "c")]
        );
        assert_eq!(
            h.for_run(true, None),
            [(HookKind::Success, "s"), (HookKind::Complete, "c")]
        );
        assert_eq!(
            h.for_run(false, Some(false)),
            [(HookKind::Failure, "f"), (HookKind::Complete, "c")]
        );
        let only = Hooks {
            on_recover: Some("r".into()),
            ..Hooks::default()
        };
        assert_eq!(only.for_run(true, Some(false)), [(HookKind::Recover, "r")]);
    }

    #[test]
    fn the_hooks_due_for_how_a_job_ended() {
        let h = all();
        assert_eq!(
            h.for_job(HookCase::Succeeded),
            [(HookKind::Success, "s"), (HookKind::Complete, "c")]
        );
        assert_eq!(
            h.for_job(HookCase::Failed),
            [(HookKind::Failure, "f"), (HookKind::Complete, "c")]
        );
        // Skipped only by a `when:`: it failed at nothing.
        assert_eq!(
            h.for_job(HookCase::NotApplicable),
            [(HookKind::Complete, "c")]
        );
        assert!(Hooks::default().for_job(HookCase::Failed).is_empty());
    }
}
