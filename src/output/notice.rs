//! The core's notices ([`schedule::actions::Notice`](crate::schedule::actions::Notice)) in words: the one place that words
//! them, for stderr, and the titles of the CI annotations of failed hooks.

use std::time::Duration;

use crate::executor::finished::signal_name;
use crate::input::settings::MaxFail;
use crate::plan::JobSpec;
use crate::schedule::actions::Notice;

/// `notice` as a line for stderr (without the newline), `spec` giving each job's spec.
pub(crate) fn words<'a>(notice: &Notice, spec: impl Fn(usize) -> &'a JobSpec) -> String {
    let name = |j: usize| &spec(j).name;
    let kind = |j: usize| match spec(j).opts.service {
        Some(_) => "service",
        None => "job",
    };
    match notice {
        Notice::Job { job, reason } if reason.reads_as_verb() => {
            format!("{} '{}' {reason}", kind(*job), name(*job))
        }
        Notice::Job { job, reason } => format!("{} '{}': {reason}", kind(*job), name(*job)),
        Notice::Runs { job, why } => format!("job '{}' runs: {why}", name(*job)),
        Notice::StateNotSaved { job, why } => format!(
            "warning: job '{}': {why}; it will run again next time",
            name(*job)
        ),
        Notice::ServiceReady { job, after } => format!(
            "service '{}' ready after {}",
            name(*job),
            crate::times::secs(*after)
        ),
        Notice::Retrying { job, note, delay } => format!(
            "job '{}' {note}; retrying in {}",
            name(*job),
            humantime::format_duration(*delay)
        ),
        Notice::LogIncomplete { job, path, why } => format!(
            "job '{}': its log {} is incomplete: {why}",
            name(*job),
            path.display()
        ),
        Notice::EmptyMatrix { job } => {
            let s = spec(*job);
            let from = s.dynamic.as_ref().map(|d| d.describe()).unwrap_or_default();
            format!(
                "matrix of '{}' has no values ({from}): it makes no jobs",
                s.name
            )
        }
        Notice::HookFailed {
            job: Some(j),
            hook,
            reason,
        } => format!("hook {hook} of '{}' failed: {reason}", name(*j)),
        Notice::HookFailed {
            job: None,
            hook,
            reason,
        } => format!("run-level hook {hook} failed: {reason}"),
        Notice::Stopping {
            signal,
            running,
            cleanup,
            grace,
            services,
            service_grace,
        } => {
            let mut words = stopping(*signal, *running, *cleanup, *grace);
            if *services > 0 {
                words.push_str(&format!(
                    "; {services} service{} stopped after {}, SIGKILL after its stop_grace ({} at most)",
                    plural(*services),
                    if *running > 0 { "the jobs" } else { "now" },
                    humantime::format_duration(*service_grace)
                ));
            }
            words
        }
        Notice::MaxFail {
            max,
            running,
            grace,
        } => max_fail(*max, *running, *grace),
        Notice::SecondSignal { signal } => format!(
            "{}, a second signal: killed every job and hook; no more hooks run",
            signal_name(*signal)
        ),
    }
}

/// The title of the CI annotation for a failed hook, if `notice` is one.
pub(crate) fn annotation_title<'a>(
    notice: &Notice,
    spec: impl Fn(usize) -> &'a JobSpec,
) -> Option<String> {
    match notice {
        Notice::HookFailed {
            job: Some(j), hook, ..
        } => Some(format!("prun: hook {hook} of job {} failed", spec(*j).name)),
        Notice::HookFailed {
            job: None, hook, ..
        } => Some(format!("prun: run-level hook {hook} failed")),
        _ => None,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn max_fail(max: MaxFail, running: usize, grace: Duration) -> String {
    let failed = match max.failures {
        1 => "a job failed".to_owned(),
        n => format!("{n} jobs failed"),
    };
    let rest = match running {
        0 => String::new(),
        n if max.kill => format!(
            "; sent SIGTERM to {n} running job{}, SIGKILL in {}",
            plural(n),
            humantime::format_duration(grace)
        ),
        1 => "; the running job finishes".to_owned(),
        n => format!("; the {n} running jobs finish"),
    };
    format!("{max}: {failed}: starting no new jobs{rest}")
}

fn stopping(signal: i32, running: usize, cleanup: usize, grace: Duration) -> String {
    let name = signal_name(signal);
    let grace = humantime::format_duration(grace);
    let hooks = format!("each hook still to run gets at most {grace}");
    let cleanup = if cleanup > 0 {
        format!(
            "; {cleanup} cleanup job{} (when: failure/always) may start within {grace}",
            plural(cleanup)
        )
    } else {
        String::new()
    };
    if running == 0 {
        format!("{name}: no job is running{cleanup}; {hooks} (send a signal again to kill now)")
    } else {
        format!(
            "{name}: starting no new jobs; sent {name} to {running} running job{}, SIGKILL in {grace}{cleanup}; {hooks} (send a signal again to kill now)",
            plural(running)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::outcome::{Ending, HookReason, Reason, Status};
    use crate::schedule::actions::Note;
    use std::sync::Arc;

    fn spec() -> JobSpec {
        crate::plan::test_plan("jobs:\n  - name: db\n    run: x\n", &[]).jobs[0].clone()
    }

    #[test]
    fn notices_about_a_job_name_it() {
        let s = spec();
        let say = |n: Notice| words(&n, |_| &s);
        let job = |r: Reason| Notice::Job {
            job: 0,
            reason: Arc::new(r),
        };
        assert_eq!(
            say(job(Reason::Leftovers)),
            "job 'db': left processes running after it exited; they were terminated"
        );
        assert_eq!(
            say(job(Reason::Need {
                need: "a".into(),
                status: Status::Failed
            })),
            "job 'db' skipped: needs 'a', which failed"
        );
        assert_eq!(
            say(Notice::Retrying {
                job: 0,
                note: Note {
                    status: Status::Failed,
                    ending: Ending::Exited(1),
                    attempt: Some((1, 3)),
                    allowed: false,
                },
                delay: Duration::from_secs(30),
            }),
            "job 'db' attempt 1/3 failed, exit 1; retrying in 30s"
        );
        let hook = Notice::HookFailed {
            job: Some(0),
            hook: crate::plan::hooks::HookKind::Failure,
            reason: HookReason::Ended(Ending::Killed(libc::SIGTERM)),
        };
        assert_eq!(
            say(hook.clone()),
            "hook on_failure of 'db' failed: killed by SIGTERM"
        );
        assert_eq!(
            annotation_title(&hook, |_| &s).as_deref(),
            Some("prun: hook on_failure of job db failed")
        );
        let run_level = Notice::HookFailed {
            job: None,
            hook: crate::plan::hooks::HookKind::Complete,
            reason: HookReason::TimedOut(Duration::from_secs(60)),
        };
        assert_eq!(
            say(run_level),
            "run-level hook on_complete failed: timed out after 1m (hook_timeout)"
        );
        assert_eq!(
            say(Notice::SecondSignal {
                signal: libc::SIGINT
            }),
            "SIGINT, a second signal: killed every job and hook; no more hooks run"
        );
        assert_eq!(
            annotation_title(&Notice::SecondSignal { signal: 2 }, |_| &s),
            None
        );
    }

    #[test]
    fn the_first_signal_says_what_happens_next() {
        let g = Duration::from_secs(3);
        assert_eq!(
            stopping(libc::SIGINT, 2, 0, g),
            "SIGINT: starting no new jobs; sent SIGINT to 2 running jobs, SIGKILL in 3s; each hook still to run gets at most 3s (send a signal again to kill now)"
        );
        assert_eq!(
            stopping(libc::SIGTERM, 0, 1, g),
            "SIGTERM: no job is running; 1 cleanup job (when: failure/always) may start within 3s; each hook still to run gets at most 3s (send a signal again to kill now)"
        );
    }
}
