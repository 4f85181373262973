//! The decisions a worker needs the moment an attempt starts or ends, before the core
//! hears of it: whether a job starting after prun was told to stop gets the stop signal,
//! and the status its joblog line records (what `--resume` trusts), and how a hook's end
//! counts. Pure functions of what was seen, so the worker and the core agree by
//! construction.

use std::time::Duration;

use crate::executor::finished::Finished;
use crate::outcome::{Ending, HookReason, Status};
use crate::plan::policy::Allow;

/// What a job that starts now gets, given the signal prun was told to stop with (0:
/// none): the signal to send it at once (`None`: none), and whether it is a cleanup job
/// started after the stop (`when: failure | always`), which is meant to run then: it
/// gets no stop signal, only the SIGKILL of the deadline.
pub(crate) fn at_start(stop_signal: i32, cleanup: bool) -> (Option<i32>, bool) {
    let late = cleanup && stop_signal != 0;
    let send = (stop_signal != 0 && (!late || stop_signal == libc::SIGKILL)).then_some(stop_signal);
    (send, late)
}

/// The status of an attempt that ended as `f`, with `outputs_valid` saying whether what
/// it wrote to `PRUN_OUTPUT` follows the rules, `stop_signal` the signal prun was told
/// to stop with by then (0: none), and `late` whether it is a cleanup job started after
/// the stop (`at_start`).
pub(crate) fn status(f: &Finished, outputs_valid: bool, stop_signal: i32, late: bool) -> Status {
    let stopping = stop_signal != 0 && (!late || stop_signal == libc::SIGKILL);
    if f.success() {
        if outputs_valid {
            Status::Success
        } else {
            Status::Failed
        }
    } else if f.timed_out {
        Status::TimedOut
    } else if stopping {
        Status::Interrupted
    } else {
        Status::Failed
    }
}

/// What a job's `if:` condition that ended as `f` means for the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    /// It exited 0: the job runs.
    Holds,
    /// It exited non-zero or a signal killed it: the job is skipped.
    Fails(Ending),
    /// It could not be run, or ran past `hook_timeout`: the job fails.
    Broken(HookReason),
    /// prun was told to stop while it ran: the job is not started.
    Cut,
}

impl Condition {
    /// The status of a job whose condition ended so (`Holds`: it is run).
    pub(crate) fn status(&self) -> Status {
        match self {
            Condition::Holds => Status::Success,
            Condition::Fails(_) => Status::Skipped,
            Condition::Broken(_) => Status::Failed,
            Condition::Cut => Status::NotRun,
        }
    }
}

/// How a job's `if:` that ended as `f` decides (`timeout`: its `hook_timeout`;
/// `stop_signal`: the signal prun was told to stop with by then, 0: none). Exit 126 or
/// 127, the shell's "not executable" and "not found", is a broken condition.
pub(crate) fn condition(f: &Finished, timeout: Duration, stop_signal: i32) -> Condition {
    if stop_signal != 0 {
        Condition::Cut
    } else if let Some(e) = &f.error {
        Condition::Broken(HookReason::CannotStart(e.clone()))
    } else if f.timed_out {
        Condition::Broken(HookReason::TimedOut(timeout))
    } else if let Some(c @ (126 | 127)) = f.ending.code() {
        // The shell's own words for a command it could not run: a condition that names a
        // missing program is broken, not false (it would skip a backup night after night).
        let what = if c == 127 {
            "not found"
        } else {
            "not executable"
        };
        Condition::Broken(HookReason::CannotStart(format!(
            "the shell exited {c}: a command {what}"
        )))
    } else if f.success() {
        Condition::Holds
    } else {
        Condition::Fails(f.ending)
    }
}

/// Whether a job's final attempt, which ended with `status` and `f`, is a failure its
/// `allow_failure:` allows: `true` allows any failure of the job's own (an exit code, a
/// signal, a timeout, bad outputs), a list only those exit codes; neither allows an
/// interruption (prun was told to stop).
pub(crate) fn allowed(allow: &Allow, status: Status, f: Option<&Finished>) -> bool {
    let code = f.and_then(|f| f.ending.code());
    match allow {
        Allow::Nothing => false,
        Allow::Any => matches!(status, Status::Failed | Status::TimedOut),
        Allow::Codes(codes) => status == Status::Failed && code.is_some_and(|c| codes.contains(&c)),
    }
}

/// How prun stopped a service, as the driver records it for the service's worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Fate {
    /// prun has not stopped it.
    Running = 0,
    /// Stopped because no job needs it any more: it succeeded.
    Unneeded = 1,
    /// Stopped because it failed (not ready in time, bad outputs).
    Failed = 2,
}

impl Fate {
    pub(crate) fn from_u8(v: u8) -> Fate {
        match v {
            1 => Fate::Unneeded,
            2 => Fate::Failed,
            _ => Fate::Running,
        }
    }
}

/// The status of a service that ended as `f`, given how prun stopped it (`fate`) and
/// the signal prun was told to stop with by then (0: none). A service prun stopped
/// because nothing needs it any more succeeded however it exited; one that exited on
/// its own failed (a service is meant to run until it is stopped).
pub(crate) fn service_status(fate: Fate, f: &Finished, stop_signal: i32) -> Status {
    match fate {
        Fate::Unneeded => Status::Success,
        Fate::Failed => Status::Failed,
        Fate::Running if f.timed_out => Status::TimedOut,
        Fate::Running if stop_signal != 0 => Status::Interrupted,
        Fate::Running => Status::Failed,
    }
}

/// Why a hook that ended as `f` counts as failed (`None`: it succeeded); `timeout` is
/// its `hook_timeout`, `grace` the run's grace period.
pub(crate) fn hook_failure(f: &Finished, timeout: Duration, grace: Duration) -> Option<HookReason> {
    if f.success() {
        return None;
    }
    Some(if let Some(e) = &f.error {
        HookReason::CannotStart(e.clone())
    } else if f.cut_short {
        HookReason::CutShort { grace }
    } else if f.timed_out {
        HookReason::TimedOut(timeout)
    } else {
        HookReason::Ended(f.ending)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn ended(code: Option<i32>, timed_out: bool) -> Finished {
        Finished {
            started: SystemTime::now(),
            duration: Duration::ZERO,
            ending: Ending::from_parts(code, code.is_none().then_some(libc::SIGTERM)),
            error: None,
            timed_out,
            leftovers: false,
            cut_short: false,
            cost: None,
            limit_hit: None,
        }
    }

    #[test]
    fn a_condition_holds_fails_or_is_broken_by_how_it_ended() {
        let t = Duration::from_secs(5);
        assert_eq!(condition(&ended(Some(0), false), t, 0), Condition::Holds);
        assert_eq!(
            condition(&ended(Some(1), false), t, 0),
            Condition::Fails(Ending::Exited(1))
        );
        assert_eq!(
            condition(&ended(None, false), t, 0),
            Condition::Fails(Ending::Killed(libc::SIGTERM))
        );
        assert_eq!(
            condition(&ended(None, true), t, 0),
            Condition::Broken(HookReason::TimedOut(t))
        );
        assert!(matches!(
            condition(&ended(Some(127), false), t, 0),
            Condition::Broken(HookReason::CannotStart(w)) if w.contains("not found")
        ));
        let mut no_start = ended(None, false);
        no_start.ending = Ending::NotStarted;
        no_start.error = Some("cannot run /bin/nosh".into());
        assert!(matches!(
            condition(&no_start, t, 0),
            Condition::Broken(HookReason::CannotStart(_))
        ));
        // prun told to stop while it ran: whatever it said, the job does not start.
        assert_eq!(
            condition(&ended(Some(0), false), t, libc::SIGINT),
            Condition::Cut
        );
        let statuses = [
            Condition::Holds,
            Condition::Fails(Ending::Exited(1)),
            Condition::Broken(HookReason::TimedOut(t)),
            Condition::Cut,
        ]
        .map(|c| c.status());
        assert_eq!(
            statuses,
            [
                Status::Success,
                Status::Skipped,
                Status::Failed,
                Status::NotRun
            ]
        );
    }

    #[test]
    fn allow_failure_true_allows_its_own_failures_and_a_list_only_its_exit_codes() {
        let codes = Allow::Codes(vec![1, 3].into_boxed_slice());
        let exit3 = ended(Some(3), false);
        let exit2 = ended(Some(2), false);
        let killed = ended(None, false);
        let timed_out = ended(None, true);
        assert!(allowed(&Allow::Any, Status::Failed, Some(&exit2)));
        assert!(allowed(&Allow::Any, Status::Failed, Some(&killed)));
        assert!(allowed(&Allow::Any, Status::TimedOut, Some(&timed_out)));
        assert!(!allowed(&Allow::Any, Status::Interrupted, Some(&killed)));
        assert!(allowed(&codes, Status::Failed, Some(&exit3)));
        assert!(!allowed(&codes, Status::Failed, Some(&exit2)));
        assert!(!allowed(&codes, Status::Failed, Some(&killed)));
        assert!(!allowed(&codes, Status::TimedOut, Some(&timed_out)));
        assert!(!allowed(&codes, Status::Interrupted, Some(&exit3)));
        assert!(!allowed(&Allow::Nothing, Status::Failed, Some(&exit3)));
    }

    #[test]
    fn a_job_started_after_the_stop_gets_the_signal_unless_it_is_a_cleanup_job() {
        assert_eq!(at_start(0, false), (None, false));
        assert_eq!(at_start(0, true), (None, false));
        assert_eq!(at_start(libc::SIGINT, false), (Some(libc::SIGINT), false));
        // A cleanup job is meant to run after the stop: no SIGINT, only the SIGKILL.
        assert_eq!(at_start(libc::SIGINT, true), (None, true));
        assert_eq!(at_start(libc::SIGKILL, true), (Some(libc::SIGKILL), true));
    }

    #[test]
    fn the_status_of_an_attempt() {
        assert_eq!(
            status(&ended(Some(0), false), true, 0, false),
            Status::Success
        );
        // Exit 0 with outputs that break the rules is a failure.
        assert_eq!(
            status(&ended(Some(0), false), false, 0, false),
            Status::Failed
        );
        assert_eq!(
            status(&ended(Some(3), false), true, 0, false),
            Status::Failed
        );
        assert_eq!(status(&ended(None, true), true, 0, false), Status::TimedOut);
        // Killed while prun stops: interrupted, not failed…
        assert_eq!(
            status(&ended(None, false), true, libc::SIGINT, false),
            Status::Interrupted
        );
        // …unless it is a cleanup job started after the stop, which fails on its own…
        assert_eq!(
            status(&ended(Some(1), false), true, libc::SIGINT, true),
            Status::Failed
        );
        // …but was interrupted if the deadline's SIGKILL ended it.
        assert_eq!(
            status(&ended(None, false), true, libc::SIGKILL, true),
            Status::Interrupted
        );
        // A timeout wins over the stop.
        assert_eq!(
            status(&ended(None, true), true, libc::SIGTERM, false),
            Status::TimedOut
        );
    }

    #[test]
    fn how_a_hook_failed() {
        let t = Duration::from_secs(300);
        let g = Duration::from_secs(10);
        assert_eq!(hook_failure(&ended(Some(0), false), t, g), None);
        assert_eq!(
            hook_failure(&ended(Some(2), false), t, g),
            Some(HookReason::Ended(Ending::Exited(2)))
        );
        assert_eq!(
            hook_failure(&ended(None, true), t, g),
            Some(HookReason::TimedOut(t))
        );
        let mut cut = ended(None, true);
        cut.cut_short = true;
        assert_eq!(
            hook_failure(&cut, t, g),
            Some(HookReason::CutShort { grace: g })
        );
        let none = Finished::not_started("cannot start sh: no".into());
        assert_eq!(
            hook_failure(&none, t, g),
            Some(HookReason::CannotStart("cannot start sh: no".into()))
        );
    }
}
