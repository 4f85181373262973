//! Unit tests of the scheduling core: no processes, no sleeps. Each test feeds events to
//! a `Schedule` built from a jobfile and looks at the actions it answers with: the matrix
//! of mode × needs × retries × signals × resume, and the bugs of the honest-outcomes
//! issue, each pinned down here as well as through the real binary.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::Schedule;
use super::actions::{Action, AttemptEnded, Event, HookEnd, Note, Notice};
use super::attempt;
use crate::executor::finished::Finished;
use crate::input::settings::MaxFail;
use crate::outcome::{Ending, HookReason, JobResult, Reason, Status, Stop};
use crate::plan::Plan;

/// The plan of `yaml` with command-line `args` (2 CPUs).
pub(super) fn plan(yaml: &str, args: &[&str]) -> Arc<Plan> {
    Arc::new(crate::plan::test_plan_on(yaml, args, || 2))
}

/// A schedule, and a clock that only the test moves.
impl Schedule {
    /// The results `take_results` would give, leaving them in place.
    fn clone_results(&self) -> Vec<JobResult> {
        let why = self.why_not_started();
        let order = self.order();
        order
            .iter()
            .map(|&j| {
                self.results[j]
                    .as_ref()
                    .cloned()
                    .unwrap_or_else(|| JobResult::not_run(Arc::clone(&why)))
            })
            .collect()
    }
}

struct Run {
    s: Schedule,
    now: Instant,
    t0: Instant,
}

impl Run {
    fn new(yaml: &str, args: &[&str]) -> Self {
        Run::resumed(yaml, args, Vec::new())
    }

    /// With `done` jobs already succeeded in an earlier run (`--resume`).
    fn resumed(yaml: &str, args: &[&str], done: Vec<usize>) -> Self {
        let plan = plan(yaml, args);
        let mut prior = vec![None; plan.jobs.len()];
        for j in done {
            prior[j] = Some(JobResult::new(Status::Success));
        }
        let slots = plan.pool_size();
        let now = Instant::now();
        Run {
            s: Schedule::new(plan, slots, prior),
            now,
            t0: now,
        }
    }

    fn start(&mut self) -> Vec<Action> {
        self.s.handle(self.now, Event::Start)
    }

    /// Attempt `attempt` of `job` exited with `code`.
    fn exit(&mut self, job: usize, attempt: u32, code: i32) -> Vec<Action> {
        self.ended(job, attempt, Some(code), false)
    }

    fn ended(
        &mut self,
        job: usize,
        attempt: u32,
        code: Option<i32>,
        timed_out: bool,
    ) -> Vec<Action> {
        let finished = Finished {
            started: SystemTime::now(),
            duration: Duration::from_millis(100),
            ending: Ending::from_parts(code, code.is_none().then_some(libc::SIGTERM)),
            error: None,
            timed_out,
            leftovers: false,
            cut_short: false,
            cost: None,
            limit_hit: None,
        };
        // As the worker records it: interrupted once prun is stopping for a signal.
        let status = attempt::status(&finished, true, self.s.signal().unwrap_or(0), false);
        let e = AttemptEnded {
            job,
            attempt,
            finished,
            status,
            log: None,
            log_error: None,
            outputs: Ok(Vec::new()),
            not_spawned: None,
            state_error: None,
        };
        self.s.handle(self.now, Event::JobEnded(e))
    }

    /// The worker of `job`'s first attempt found its `if:` (`cmd`) ended as `c`.
    fn condition(&mut self, job: usize, cmd: &str, c: attempt::Condition) -> Vec<Action> {
        let e = AttemptEnded {
            job,
            attempt: 1,
            finished: Finished::not_run(),
            status: c.status(),
            log: None,
            log_error: None,
            outputs: Ok(Vec::new()),
            not_spawned: Some(super::actions::NotSpawned::Condition(cmd.into(), c)),
            state_error: None,
        };
        self.s.handle(self.now, Event::JobEnded(e))
    }

    fn result(&self, job: usize) -> JobResult {
        self.s.clone_results()[job].clone()
    }

    /// Attempt `attempt` of `job` exited with `code`, having written `outputs` (or a
    /// `PRUN_OUTPUT` file that breaks the rules: `Err`), as its worker reports it.
    fn ended_with(
        &mut self,
        job: usize,
        attempt: u32,
        code: i32,
        outputs: Result<Vec<(String, String)>, String>,
    ) -> Vec<Action> {
        let finished = Finished {
            started: SystemTime::now(),
            duration: Duration::from_millis(100),
            ending: Ending::Exited(code),
            error: None,
            timed_out: false,
            leftovers: false,
            cut_short: false,
            cost: None,
            limit_hit: None,
        };
        let status = attempt::status(&finished, outputs.is_ok(), 0, false);
        let e = AttemptEnded {
            job,
            attempt,
            finished,
            status,
            log: None,
            log_error: None,
            outputs,
            not_spawned: None,
            state_error: None,
        };
        self.s.handle(self.now, Event::JobEnded(e))
    }

    /// What the driver answers to `Action::Expand { job }`: the jobs of its matrix,
    /// one per value (as [`runner::driver::expand`](crate::runner::driver::expand) makes them), or why there are none.
    fn expand(&mut self, job: usize, values: Result<&[&str], &str>) -> Vec<Action> {
        let jobs = values.map_err(str::to_owned).map(|values| {
            let spec = self.s.spec(job).clone();
            let def = Arc::new(crate::plan::JobDef {
                dynamic: None,
                base: Some(spec.name.clone()),
                ..crate::plan::JobDef::clone(&spec.def)
            });
            values
                .iter()
                .map(|v| {
                    let mut j = spec.clone();
                    j.name = smol_str::format_smolstr!("{}[x={v}]", spec.name);
                    j.def = Arc::clone(&def);
                    (Arc::new(j), None)
                })
                .collect()
        });
        self.s.handle(self.now, Event::Expanded { job, jobs })
    }

    fn signal(&mut self, sig: i32) -> Vec<Action> {
        self.s.handle(self.now, Event::Signal(sig))
    }

    /// A hook of `job` ended with exit code `code`.
    fn hook_ended(&mut self, job: Option<usize>, code: i32) -> Vec<Action> {
        let ev = Event::HookEnded {
            job,
            hook: crate::plan::hooks::HookKind::Complete,
            ended: HookEnd::Ran(Finished {
                started: SystemTime::now(),
                duration: Duration::from_millis(10),
                ending: Ending::Exited(code),
                error: None,
                timed_out: false,
                leftovers: false,
                cut_short: false,
                cost: None,
                limit_hit: None,
            }),
        };
        self.s.handle(self.now, ev)
    }

    /// `secs` pass (from the start of the run); wakes the core if it asked to be.
    fn at(&mut self, secs: f64) -> Vec<Action> {
        let before = self.now;
        self.now = self.t0 + Duration::from_secs_f64(secs);
        if self.s.wake_at(before).is_some_and(|w| w <= self.now) {
            self.s.handle(self.now, Event::Tick)
        } else {
            Vec::new()
        }
    }

    fn status(&self, job: usize) -> Status {
        self.s.clone_results()[job].status
    }

    fn reason(&self, job: usize) -> Option<Reason> {
        self.s.clone_results()[job].reason().cloned()
    }
}

/// The `(job, slot, attempt)` of every start.
fn starts(actions: &[Action]) -> Vec<(usize, usize, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { job, slot, attempt } => Some((*job, *slot, *attempt)),
            _ => None,
        })
        .collect()
}

fn notices(actions: &[Action]) -> Vec<Notice> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Say(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// `Reason::Need`: skipped as `need` ended as `status`.
fn need(need: &str, status: Status) -> Option<Reason> {
    Some(Reason::Need {
        need: need.into(),
        status,
    })
}

fn hooks_of(actions: &[Action]) -> Vec<Option<usize>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RunHooks { job } => Some(*job),
            _ => None,
        })
        .collect()
}

const THREE: &str =
    "jobs:\n  - name: a\n    run: x\n  - name: b\n    run: x\n  - name: c\n    run: x\n";

// ---------------------------------------------------------------- mode and slots

#[test]
fn async_fills_the_slots_in_file_order_and_reuses_the_lowest_free_one() {
    let mut r = Run::new(THREE, &["-j", "2"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1), (1, 2, 1)]);
    assert_eq!(starts(&r.exit(1, 1, 0)), [(2, 2, 1)]);
    assert!(starts(&r.exit(0, 1, 0)).is_empty());
    assert!(!r.s.done());
    r.exit(2, 1, 0);
    assert!(r.s.done());
    assert_eq!([0, 1, 2].map(|j| r.status(j)), [Status::Success; 3]);
}

#[test]
fn sync_runs_one_job_at_a_time_and_waits_for_its_hooks() {
    let y =
        "mode: sync\njobs:\n  - name: a\n    run: x\n    on_complete: h\n  - name: b\n    run: x\n";
    let mut r = Run::new(y, &["-j", "4"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1)]);
    let a = r.exit(0, 1, 0);
    assert_eq!(hooks_of(&a), [Some(0)]);
    assert!(starts(&a).is_empty(), "b started before a's hook ended");
    assert_eq!(starts(&r.hook_ended(Some(0), 0)), [(1, 1, 1)]);
}

#[test]
fn async_does_not_wait_for_hooks() {
    let y = "jobs:\n  - name: a\n    run: x\n    on_complete: h\n  - name: b\n    run: x\n";
    let mut r = Run::new(y, &["-j", "1"]);
    r.start();
    let a = r.exit(0, 1, 0);
    assert_eq!(hooks_of(&a), [Some(0)]);
    assert_eq!(starts(&a), [(1, 1, 1)]);
}

#[test]
fn after_a_bug_a_running_job_is_stopped_by_it_and_the_rest_never_started() {
    let mut r = Run::new(THREE, &["-j", "2"]);
    r.start();
    r.exit(1, 1, 0);
    let order = r.s.order();
    let results = r.s.take_crashed_results(&order);
    let stopped = Reason::Stopped(crate::outcome::Stop::Internal);
    assert_eq!(results[0].status, Status::Interrupted);
    assert_eq!(results[0].reason(), Some(&stopped));
    assert_eq!(results[1].status, Status::Success, "it had ended: kept");
    // j2 was started when j1 ended: it is running too.
    assert_eq!(results[2].status, Status::Interrupted);
}

// ---------------------------------------------------------------- needs

#[test]
fn jobs_unblocked_at_different_times_start_in_file_order_as_slots_free() {
    // c needs b, d needs a: a ends first, so d is ready before c; with one slot each
    // waits for it, and c (earlier in the file) goes first once both are ready.
    let y = "jobs:\n  - name: a\n    run: x\n  - name: b\n    run: x\n  - name: c\n    needs: [b]\n    run: x\n  - name: d\n    needs: [a]\n    run: x\n  - name: e\n    run: x\n";
    let mut r = Run::new(y, &["-j", "2"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1), (1, 2, 1)]);
    // a ends: d is ready, takes the slot before e (it is reached, e is not yet).
    assert_eq!(starts(&r.exit(0, 1, 0)), [(3, 1, 1)]);
    assert_eq!(starts(&r.exit(1, 1, 0)), [(2, 2, 1)]);
    assert_eq!(starts(&r.exit(3, 1, 0)), [(4, 1, 1)]);
}

#[test]
fn a_sink_that_needs_many_is_skipped_by_the_first_failure_and_waits_for_the_rest_else() {
    let mut y = String::from("jobs:\n");
    for i in 0..5 {
        y.push_str(&format!("  - name: m{i}\n    run: x\n"));
    }
    y.push_str("  - name: sink\n    needs: [m0, m1, m2, m3, m4]\n    run: x\n");
    y.push_str("  - name: always\n    needs: [m0, m1, m2, m3, m4]\n    when: always\n    run: x\n");
    let mut r = Run::new(&y, &["-j", "5"]);
    r.start();
    r.exit(3, 1, 0);
    let a = r.exit(1, 1, 2);
    // m1 failed: the sink is skipped at once, though m0, m2 and m4 still run.
    assert_eq!(r.status(5), Status::Skipped);
    assert_eq!(r.reason(5), need("m1", Status::Failed));
    assert!(starts(&a).is_empty());
    r.exit(0, 1, 0);
    r.exit(2, 1, 0);
    // `always` starts only once the last of its needs has ended.
    assert_eq!(r.status(6), Status::NotRun, "not started yet");
    assert_eq!(starts(&r.exit(4, 1, 0)), [(6, 1, 1)]);
}

#[test]
fn a_job_starts_when_its_needs_succeeded() {
    let y = "jobs:\n  - name: a\n    run: x\n  - name: b\n    needs: [a]\n    run: x\n  - name: c\n    run: x\n";
    let mut r = Run::new(y, &["-j", "3"]);
    // b waits; c, after it in the file, does not wait for b.
    assert_eq!(starts(&r.start()), [(0, 1, 1), (2, 2, 1)]);
    assert_eq!(starts(&r.exit(0, 1, 0)), [(1, 1, 1)]);
}

#[test]
fn a_failed_need_skips_its_dependents_in_a_cascade_and_the_rest_run() {
    let y = "jobs:\n  - name: a\n    run: x\n  - name: b\n    needs: [a]\n    run: x\n  - name: c\n    needs: [b]\n    run: x\n  - name: d\n    run: x\n";
    for mode in ["async", "sync"] {
        let mut r = Run::new(y, &["-j", "2", "--mode", mode]);
        let mut all = r.start();
        all.extend(r.exit(0, 1, 3));
        if mode == "sync" {
            assert_eq!(starts(&all), [(0, 1, 1), (3, 1, 1)]);
        }
        r.exit(3, 1, 0);
        assert!(r.s.done(), "{mode}");
        assert_eq!(r.status(1), Status::Skipped);
        assert_eq!(r.reason(1), need("a", Status::Failed));
        assert_eq!(r.reason(2), need("b", Status::Skipped));
        assert_eq!(r.status(3), Status::Success);
    }
}

#[test]
fn a_need_that_timed_out_skips_too() {
    let y = "jobs:\n  - name: a\n    run: x\n    timeout: 1s\n  - name: b\n    needs: [a]\n    run: x\n";
    let mut r = Run::new(y, &[]);
    r.start();
    let a = r.ended(0, 1, None, true);
    let timed_out = Arc::new(Reason::TimedOut(Duration::from_secs(1)));
    assert!(
        notices(&a).contains(&Notice::Job {
            job: 0,
            reason: timed_out
        }),
        "{a:?}"
    );
    assert_eq!(r.status(0), Status::TimedOut);
    assert_eq!(r.reason(1), need("a", Status::TimedOut));
}

// ---------------------------------------------------------------- retries

const FLAKY: &str = "jobs:\n  - name: flaky\n    run: x\n    retries: 2\n    retry_delay: 10s\n  - name: other\n    run: x\n";

#[test]
fn a_failed_attempt_is_retried_after_its_delay_and_frees_its_slot() {
    let mut r = Run::new(FLAKY, &["-j", "1"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1)]);
    let a = r.exit(0, 1, 1);
    assert!(a.contains(&Action::Show {
        job: 0,
        note: Some(Note {
            status: Status::Failed,
            ending: Ending::Exited(1),
            attempt: Some((1, 3)),
            allowed: false,
        }),
        last: false
    }));
    // The waiting retry does not hold the slot.
    assert_eq!(starts(&a), [(1, 1, 1)]);
    r.exit(1, 1, 0);
    assert_eq!(r.s.wake_at(r.now), Some(r.t0 + Duration::from_secs(10)));
    assert!(starts(&r.at(9.9)).is_empty());
    assert_eq!(starts(&r.at(10.0)), [(0, 1, 2)]);
    r.exit(0, 2, 0);
    assert!(r.s.done());
    let res = &r.s.clone_results()[0];
    assert_eq!(
        (res.status, res.attempts, res.earlier().len()),
        (Status::Success, 2, 1)
    );
}

#[test]
fn retries_stop_at_the_last_attempt_and_the_last_result_counts() {
    let mut r = Run::new(FLAKY, &["-j", "2"]);
    r.start();
    r.exit(1, 1, 0);
    for attempt in 1..=2 {
        r.exit(0, attempt, 1);
        r.at(10.0 * f64::from(attempt));
    }
    let last = r.exit(0, 3, 4);
    assert!(last.contains(&Action::Show {
        job: 0,
        note: Some(Note {
            status: Status::Failed,
            ending: Ending::Exited(4),
            attempt: None,
            allowed: false,
        }),
        last: true
    }));
    assert!(r.s.done());
    assert_eq!(r.s.clone_results()[0].attempts, 3);
}

#[test]
fn retry_on_exit_retries_only_those_codes() {
    let y = "jobs:\n  - name: f\n    run: x\n    retries: 3\n    retry_on_exit: [75]\n";
    let mut r = Run::new(y, &[]);
    r.start();
    // No delay: the retry starts at once.
    assert_eq!(starts(&r.exit(0, 1, 75)), [(0, 1, 2)]);
    r.exit(0, 2, 1);
    assert!(r.s.done(), "exit 1 was retried");
    assert_eq!(r.status(0), Status::Failed);
}

#[test]
fn in_sync_mode_the_next_job_waits_for_the_retries_of_the_one_before() {
    let mut r = Run::new(&format!("mode: sync\n{FLAKY}"), &[]);
    r.start();
    assert!(starts(&r.exit(0, 1, 1)).is_empty());
    assert_eq!(starts(&r.at(10.0)), [(0, 1, 2)]);
    assert_eq!(starts(&r.exit(0, 2, 0)), [(1, 1, 1)]);
}

#[test]
fn fail_fast_cancels_waiting_retries_and_says_so() {
    let y = "jobs:\n  - name: flaky\n    run: x\n    retries: 3\n    retry_delay: 5s\n  - name: boom\n    run: x\n  - name: later\n    run: x\n  - name: last\n    run: x\n";
    let mut r = Run::new(y, &["-j", "2", "--fail-fast"]);
    r.start();
    // flaky's slot goes to `later` while flaky waits for its retry.
    assert_eq!(starts(&r.exit(0, 1, 1)), [(2, 1, 1)]);
    let b = r.exit(1, 1, 2);
    assert!(starts(&b).is_empty(), "a job started after --fail-fast");
    r.exit(2, 1, 0);
    assert!(r.s.done());
    assert!(starts(&r.at(5.0)).is_empty(), "a cancelled retry started");
    assert_eq!(r.status(0), Status::Failed);
    assert_eq!(
        r.reason(0),
        Some(Reason::RetriesCancelled {
            after: 1,
            of: 4,
            stop: Stop::MaxFail(MaxFail {
                failures: 1,
                kill: false
            }),
            last: None
        })
    );
    assert_eq!(r.status(3), Status::NotRun);
    assert_eq!(
        r.reason(3),
        Some(Reason::NotStarted(Stop::MaxFail(MaxFail {
            failures: 1,
            kill: false
        })))
    );
}

#[test]
fn after_fail_fast_a_running_job_that_fails_is_not_retried() {
    let y = "jobs:\n  - name: boom\n    run: x\n  - name: flaky\n    run: x\n    retries: 2\n";
    let mut r = Run::new(y, &["-j", "2", "--fail-fast"]);
    r.start();
    r.exit(0, 1, 1);
    let f = r.exit(1, 1, 1);
    assert!(starts(&f).is_empty(), "retried after --fail-fast");
    assert!(r.s.done());
    assert_eq!(
        (r.status(1), r.s.clone_results()[1].attempts),
        (Status::Failed, 1)
    );
}

#[test]
fn fail_fast_lets_running_jobs_finish() {
    let mut r = Run::new(THREE, &["-j", "2", "--fail-fast"]);
    r.start();
    r.exit(0, 1, 1);
    assert!(!r.s.done(), "b is still running");
    r.exit(1, 1, 0);
    assert!(r.s.done());
    assert_eq!(
        [0, 1, 2].map(|j| r.status(j)),
        [Status::Failed, Status::Success, Status::NotRun]
    );
}

#[test]
fn max_fail_stops_at_the_nth_failure_and_skips_do_not_count() {
    let y = "jobs:\n  - name: a\n    run: x\n  - name: a2\n    needs: [a]\n    run: x\n  - name: b\n    run: x\n  - name: c\n    run: x\n  - name: d\n    run: x\n";
    let mut r = Run::new(y, &["-j", "1", "--max-fail", "2"]);
    r.start();
    // a fails; a2 is skipped (not a failure); b starts.
    assert_eq!(starts(&r.exit(0, 1, 1)), [(2, 1, 1)]);
    let b = r.exit(2, 1, 1);
    assert!(
        starts(&b).is_empty(),
        "a job started after the second failure"
    );
    let max = MaxFail {
        failures: 2,
        kill: false,
    };
    let said = Notice::MaxFail {
        max,
        running: 0,
        grace: Duration::from_secs(10),
    };
    assert!(notices(&b).contains(&said), "{b:?}");
    assert!(r.s.done());
    assert_eq!(r.status(1), Status::Skipped);
    assert_eq!(r.status(3), Status::NotRun);
    assert_eq!(r.reason(4), Some(Reason::NotStarted(Stop::MaxFail(max))));
}

// ---------------------------------------------------------------- if: and allow_failure

#[test]
fn a_false_condition_skips_the_job_and_what_needs_it_but_not_cleanup_nor_the_exit_code() {
    let y = "jobs:\n  - name: nas\n    if: test -d /mnt/nas\n    run: x\n  - name: after\n    needs: [nas]\n    run: x\n  - name: tidy\n    needs: [nas]\n    when: always\n    run: x\n";
    let mut r = Run::new(y, &["-j", "1"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1)]);
    let a = r.condition(
        0,
        "test -d /mnt/nas",
        attempt::Condition::Fails(Ending::Exited(1)),
    );
    // Not retried, no hooks: tidy starts, after is skipped.
    assert_eq!(starts(&a), [(2, 1, 1)]);
    let nas = r.result(0);
    assert_eq!(
        (nas.status, nas.by_condition, nas.attempts),
        (Status::Skipped, true, 0)
    );
    assert_eq!(
        nas.reason().map(ToString::to_string).as_deref(),
        Some("skipped: if: `test -d /mnt/nas` exited 1")
    );
    assert_eq!(r.reason(1), need("nas", Status::Skipped));
    r.exit(2, 1, 0);
    assert!(r.s.done());
    let results = r.s.clone_results();
    assert!(results[1].by_condition);
    assert!(
        results
            .iter()
            .all(|r| r.status.is_success() || r.by_condition)
    );
}

#[test]
fn a_broken_condition_fails_the_job_and_is_never_retried_nor_allowed() {
    let y = "jobs:\n  - name: a\n    if: nosuch\n    retries: 2\n    allow_failure: true\n    run: x\n  - name: b\n    needs: [a]\n    run: x\n";
    let mut r = Run::new(y, &["--max-fail", "1"]);
    r.start();
    let why = HookReason::CannotStart("the shell exited 127: a command not found".into());
    let a = r.condition(0, "nosuch", attempt::Condition::Broken(why));
    assert!(starts(&a).is_empty(), "{a:?}");
    let res = r.result(0);
    assert_eq!(
        (res.status, res.allowed, res.attempts),
        (Status::Failed, false, 0)
    );
    assert!(r.s.done());
    // Counted as a failure: --max-fail 1 stopped the run.
    let max = MaxFail {
        failures: 1,
        kill: false,
    };
    assert_eq!(r.reason(1), Some(Reason::NotStarted(Stop::MaxFail(max))));
}

#[test]
fn an_allowed_failure_lets_its_dependents_run_and_is_not_counted_by_max_fail() {
    let y = "jobs:\n  - name: flaky\n    allow_failure: [3]\n    run: x\n  - name: dep\n    needs: [flaky]\n    run: x\n  - name: later\n    run: x\n";
    let mut r = Run::new(y, &["-j", "1", "--max-fail", "1"]);
    r.start();
    let a = r.exit(0, 1, 3);
    assert_eq!(starts(&a), [(1, 1, 1)], "{a:?}");
    let shown = a.iter().find_map(|x| match x {
        Action::Show { note: Some(n), .. } => Some(*n),
        _ => None,
    });
    assert_eq!(
        shown.map(|n| n.to_string()).as_deref(),
        Some("failed, exit 3, allowed")
    );
    assert_eq!(starts(&r.exit(1, 1, 0)), [(2, 1, 1)]);
    r.exit(2, 1, 0);
    let res = r.result(0);
    assert_eq!((res.status, res.allowed), (Status::Failed, true));
    // Its hooks are those of a failure (it is reported as failed).
    assert_eq!(res.hook_case(), crate::plan::hooks::HookCase::Failed);
}

#[test]
fn an_exit_code_not_in_the_list_and_a_timeout_are_not_allowed() {
    let y = "jobs:\n  - name: a\n    allow_failure: [3]\n    run: x\n  - name: b\n    allow_failure: [3]\n    run: x\n  - name: c\n    needs: [a]\n    run: x\n";
    let mut r = Run::new(y, &["-j", "2"]);
    r.start();
    r.exit(0, 1, 4);
    r.ended(1, 1, None, true);
    assert!(r.s.done());
    assert!(!r.result(0).allowed && !r.result(1).allowed);
    assert_eq!(r.status(1), Status::TimedOut);
    assert_eq!(r.reason(2), need("a", Status::Failed));
}

#[test]
fn with_retries_the_last_attempt_decides_whether_a_failure_is_allowed() {
    let y = "jobs:\n  - name: a\n    allow_failure: [3]\n    retries: 1\n    run: x\n";
    // Attempt 1 exits 3 (allowed, but retried: a retry is tried first); attempt 2 exits 4.
    let mut r = Run::new(y, &[]);
    r.start();
    let a = r.exit(0, 1, 3);
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::Say(Notice::Retrying { .. })))
    );
    r.at(60.0);
    r.exit(0, 2, 4);
    assert!(r.s.done());
    assert_eq!((r.status(0), r.result(0).allowed), (Status::Failed, false));
    // The other way round: 4, then 3: allowed.
    let mut r = Run::new(y, &[]);
    r.start();
    r.exit(0, 1, 4);
    r.at(60.0);
    r.exit(0, 2, 3);
    assert_eq!((r.status(0), r.result(0).allowed), (Status::Failed, true));
}

#[test]
fn max_fail_kill_stops_the_running_jobs_and_cleanup_runs_after_them() {
    let y = "jobs:\n  - name: a\n    run: x\n  - name: b\n    run: x\n  - name: c\n    run: x\n  - name: tidy\n    when: always\n    run: x\n";
    let mut r = Run::new(y, &["-j", "2", "--max-fail", "1:kill", "--grace", "3s"]);
    r.start();
    let a = r.exit(0, 1, 1);
    assert!(a.contains(&Action::SignalPool(libc::SIGTERM)), "{a:?}");
    assert!(
        starts(&a).is_empty(),
        "tidy started while b was being stopped"
    );
    assert!(r.at(2.9).is_empty());
    // b ends, or gets SIGKILL at the deadline: only then does the cleanup job start,
    // and nothing kills it.
    let mut again = Run::new(y, &["-j", "2", "--max-fail", "1:kill", "--grace", "3s"]);
    again.start();
    again.exit(0, 1, 1);
    assert_eq!(starts(&again.ended(1, 1, None, false)), [(3, 1, 1)]);
    let k = r.at(3.0);
    assert_eq!(k[0], Action::SignalPool(libc::SIGKILL));
    assert_eq!(starts(&k), [(3, 1, 1)]);
    r.ended(1, 1, None, false);
    assert_eq!(r.s.wake_at(r.now), None);
    r.exit(3, 1, 0);
    assert!(r.s.done());
    assert_eq!(r.status(2), Status::NotRun);
    assert_eq!(r.status(3), Status::Success);
}

// ---------------------------------------------------------------- signals

#[test]
fn a_first_signal_stops_starting_forwards_it_and_kills_after_the_grace_period() {
    let mut r = Run::new(THREE, &["-j", "2", "--grace", "3s"]);
    r.start();
    let s = r.signal(libc::SIGINT);
    assert!(s.contains(&Action::SignalJobs(libc::SIGINT)) && s.contains(&Action::LimitHooks));
    assert_eq!(
        notices(&s),
        [Notice::Stopping {
            signal: libc::SIGINT,
            running: 2,
            cleanup: 0,
            grace: Duration::from_secs(3),
            services: 0,
            service_grace: Duration::ZERO,
        }]
    );
    assert!(r.at(2.9).is_empty());
    assert_eq!(r.at(3.0), [Action::SignalJobs(libc::SIGKILL)]);
    r.ended(0, 1, None, false);
    r.ended(1, 1, None, false);
    assert!(r.s.done());
    assert_eq!(r.status(0), Status::Interrupted);
    assert_eq!(r.status(2), Status::NotRun);
    assert_eq!(
        r.reason(2),
        Some(Reason::NotStarted(Stop::Signal(libc::SIGINT)))
    );
    assert_eq!(r.s.signal(), Some(libc::SIGINT));
}

#[test]
fn no_sigkill_once_every_job_has_ended() {
    let mut r = Run::new(THREE, &["-j", "2", "--grace", "3s"]);
    r.start();
    r.signal(libc::SIGINT);
    r.ended(0, 1, None, false);
    r.ended(1, 1, None, false);
    assert_eq!(r.s.wake_at(r.now), None);
    assert!(r.at(3.0).is_empty());
}

#[test]
fn an_interrupted_job_is_not_retried_and_its_hooks_still_run() {
    let y = "jobs:\n  - name: a\n    run: x\n    retries: 5\n    on_failure: h\n";
    let mut r = Run::new(y, &[]);
    r.start();
    r.signal(libc::SIGTERM);
    let a = r.ended(0, 1, None, false);
    assert_eq!(hooks_of(&a), [Some(0)]);
    assert!(starts(&a).is_empty());
    assert_eq!(r.status(0), Status::Interrupted);
}

#[test]
fn a_signal_cancels_waiting_retries_with_the_reason() {
    let mut r = Run::new(FLAKY, &["-j", "1"]);
    r.start();
    r.exit(0, 1, 1);
    r.signal(libc::SIGHUP);
    assert_eq!(
        r.reason(0),
        Some(Reason::RetriesCancelled {
            after: 1,
            of: 3,
            stop: Stop::Signal(libc::SIGHUP),
            last: None
        })
    );
}

#[test]
fn a_second_signal_of_any_kind_kills_everything_and_runs_no_more_hooks() {
    let y = "jobs:\n  - name: a\n    run: x\n    on_failure: h\n  - name: b\n    run: x\n    on_failure: h\n";
    let mut r = Run::new(y, &["-j", "2"]);
    r.start();
    r.signal(libc::SIGINT);
    let a = r.ended(0, 1, None, false);
    assert_eq!(hooks_of(&a), [Some(0)]);
    let k = r.signal(libc::SIGTERM);
    assert!(k.contains(&Action::SignalJobs(libc::SIGKILL)) && k.contains(&Action::KillHooks));
    assert!(notices(&k).contains(&Notice::SecondSignal {
        signal: libc::SIGTERM
    }));
    // The hook queued before does not hold the run; b's hooks never run.
    assert!(hooks_of(&r.ended(1, 1, None, false)).is_empty());
    assert!(r.s.done());
    assert!(
        r.s.handle(r.now, Event::RunLevelHooks { count: 2 })
            .is_empty()
    );
    assert_eq!(
        r.s.signal(),
        Some(libc::SIGINT),
        "the first signal gives the exit code"
    );
}

#[test]
fn a_first_signal_while_only_hooks_run_kills_nothing() {
    let y = "jobs:\n  - name: a\n    run: x\n    on_complete: h\n";
    let mut r = Run::new(y, &[]);
    r.start();
    r.exit(0, 1, 0);
    let s = r.signal(libc::SIGINT);
    assert!(matches!(
        notices(&s)[..],
        [Notice::Stopping {
            running: 0,
            cleanup: 0,
            ..
        }]
    ));
    assert!(s.contains(&Action::LimitHooks));
    assert_eq!(r.s.wake_at(r.now), None, "a SIGKILL was scheduled");
    r.hook_ended(Some(0), 0);
    assert!(r.s.done());
}

#[test]
fn a_failed_hook_is_recorded_and_annotated() {
    let y = "jobs:\n  - name: a\n    run: x\n    on_complete: h\n";
    let mut r = Run::new(y, &[]);
    r.start();
    r.exit(0, 1, 0);
    let h = r.hook_ended(Some(0), 3);
    let failed = HookReason::Ended(Ending::Exited(3));
    assert_eq!(
        h[0],
        Action::ShowHook {
            job: Some(0),
            hook: crate::plan::hooks::HookKind::Complete,
            failure: Some(failed.clone())
        }
    );
    assert!(notices(&h).contains(&Notice::HookFailed {
        job: Some(0),
        hook: crate::plan::hooks::HookKind::Complete,
        reason: failed
    }));
    assert_eq!(r.s.hook_failures().len(), 1);
    assert_eq!(
        r.status(0),
        Status::Success,
        "a hook never changes its job's status"
    );
}

// ---------------------------------------------------------------- resume

#[test]
fn resumed_jobs_are_not_run_and_their_dependents_are() {
    let y = "jobs:\n  - name: a\n    run: x\n  - name: b\n    needs: [a]\n    run: x\n";
    let mut r = Run::resumed(y, &[], vec![0]);
    let s = r.start();
    assert_eq!(s[0], Action::Resumed { job: 0 });
    assert_eq!(starts(&s), [(1, 1, 1)]);
}

#[test]
fn every_resumed_job_is_announced_so_kept_order_output_never_waits_for_it() {
    // The --keep-order bug: the terminal waited forever for a skipped job's block.
    let mut r = Run::resumed(THREE, &["-j", "1", "--keep-order"], vec![0, 1]);
    let s = r.start();
    assert_eq!(
        s.iter()
            .filter(|a| matches!(a, Action::Resumed { .. }))
            .count(),
        2
    );
    assert_eq!(starts(&s), [(2, 1, 1)]);
}

#[test]
fn a_job_never_run_here_is_never_a_success() {
    // The --resume-failed bug: jobs not run (not-run, skipped last time) came out
    // `success`. Whatever the core did not run and was not told is done, is not success.
    let y = "concurrency: 1\njobs:\n  - name: a\n    run: x\n  - name: b\n    run: x\n  - name: c\n    run: x\n  - name: d\n    needs: [b]\n    run: x\n";
    let mut r = Run::resumed(y, &["--fail-fast"], vec![0]);
    r.start();
    r.exit(1, 1, 1);
    assert!(r.s.done());
    let res = r.s.clone_results();
    assert_eq!(res[0].status, Status::Success);
    for j in [2, 3] {
        assert_ne!(res[j].status, Status::Success, "job {j}");
        assert_eq!(res[j].attempts, 0);
    }
}

#[test]
fn a_retried_jobs_result_spans_every_attempt() {
    let mut r = Run::new(FLAKY, &["-j", "2"]);
    r.start();
    r.exit(0, 1, 1);
    r.at(10.0);
    r.exit(0, 2, 0);
    let res = &r.s.clone_results()[0];
    assert_eq!(res.earlier().len(), 1);
    assert_eq!(res.earlier()[0].status, Status::Failed);
    assert_eq!(res.started(), Some(res.earlier()[0].finished.started));
}

#[test]
fn run_level_hooks_are_queued_and_waited_for() {
    let mut r = Run::new("jobs: [x]", &[]);
    r.start();
    r.exit(0, 1, 0);
    assert!(r.s.done());
    assert_eq!(
        hooks_of(&r.s.handle(r.now, Event::RunLevelHooks { count: 2 })),
        [None]
    );
    assert!(!r.s.hooks_done());
    r.hook_ended(None, 0);
    r.hook_ended(None, 0);
    assert!(r.s.hooks_done());
}

// ---------------------------------------------------------------- resources

/// The units `job` holds now, as its `PRUN_RESOURCE_*` would say them.
fn held(r: &Run, job: usize) -> String {
    crate::plan::resources::describe(&r.s.plan.resources, r.s.held_units(job))
}

const NAS: &str = "resources: {nas: 1}\njobs:\n  - {name: n1, uses: nas, run: x}\n  - {name: n2, uses: nas, run: x}\n  - {name: o1, run: x}\n  - {name: n3, uses: nas, run: x}\n  - {name: o2, run: x}\n";

#[test]
fn a_job_waiting_for_a_unit_holds_no_slot_and_blocks_no_later_job() {
    let mut r = Run::new(NAS, &["-j", "4"]);
    // n2 and n3 wait for the NAS; o1 and o2 behind them start at once.
    assert_eq!(starts(&r.start()), [(0, 1, 1), (2, 2, 1), (4, 3, 1)]);
    assert_eq!(held(&r, 0), "nas:0");
    // o1 ending frees a slot, not the NAS: nothing starts.
    assert!(starts(&r.exit(2, 1, 0)).is_empty());
    // n1 ending frees the NAS: n2 (first in the file) takes it, then n3.
    assert_eq!(starts(&r.exit(0, 1, 0)), [(1, 1, 1)]);
    assert_eq!(held(&r, 1), "nas:0");
    assert_eq!(starts(&r.exit(1, 1, 0)), [(3, 1, 1)]);
    r.exit(3, 1, 0);
    r.exit(4, 1, 0);
    assert!(r.s.done());
    assert_eq!(
        r.s.clone_results()[3].units().len(),
        1,
        "n3's units are in its result"
    );
}

#[test]
fn units_are_counted_handed_out_lowest_first_and_given_back() {
    let y = "resources: {gpu: 3}\njobs:\n  - {name: two, uses: {gpu: 2}, run: x}\n  - {name: one, uses: gpu, run: x}\n  - {name: big, uses: {gpu: 3}, run: x}\n  - {name: also, uses: [gpu], run: x}\n";
    let mut r = Run::new(y, &["-j", "4"]);
    // two takes 0,1; one takes 2; big (3) waits; also waits for a unit, and a later job
    // may pass a waiting one only if its own units are free.
    assert_eq!(starts(&r.start()), [(0, 1, 1), (1, 2, 1)]);
    assert_eq!(
        (held(&r, 0), held(&r, 1)),
        ("gpu:0,1".into(), "gpu:2".into())
    );
    // two ends: 0,1 free; big (needs 3) cannot start, also takes the lowest free unit.
    assert_eq!(starts(&r.exit(0, 1, 0)), [(3, 1, 1)]);
    assert_eq!(held(&r, 3), "gpu:0");
    r.exit(1, 1, 0);
    assert_eq!(starts(&r.exit(3, 1, 0)), [(2, 1, 1)]);
    assert_eq!(held(&r, 2), "gpu:0,1,2");
}

#[test]
fn among_waiting_jobs_the_earliest_in_the_file_goes_first() {
    let y = "resources: {db: 1}\njobs:\n  - {name: first, uses: db, run: x}\n  - name: late\n    needs: [first]\n    uses: db\n    run: x\n  - {name: w1, uses: db, run: x}\n  - {name: w2, uses: db, run: x}\n";
    let mut r = Run::new(y, &["-j", "4"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1)]);
    // first ends: late (needs met now, earlier in the file than w1) goes before w1.
    assert_eq!(starts(&r.exit(0, 1, 0)), [(1, 1, 1)]);
    assert_eq!(starts(&r.exit(1, 1, 0)), [(2, 1, 1)]);
    assert_eq!(starts(&r.exit(2, 1, 0)), [(3, 1, 1)]);
}

#[test]
fn a_retry_gives_its_units_back_while_it_waits_and_takes_them_again() {
    let y = "resources: {db: 1}\njobs:\n  - {name: flaky, uses: db, retries: 1, retry_delay: 10s, run: x}\n  - {name: other, uses: db, run: x}\n";
    let mut r = Run::new(y, &["-j", "2"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1)]);
    // flaky fails: the unit goes to other while flaky waits out its delay.
    assert_eq!(starts(&r.exit(0, 1, 1)), [(1, 1, 1)]);
    // The delay passes while other holds the unit: the retry waits, and asks for no
    // tick meanwhile (only other's end can free the unit).
    assert!(starts(&r.at(10.0)).is_empty());
    assert_eq!(r.s.wake_at(r.now), None);
    assert_eq!(starts(&r.exit(1, 1, 0)), [(0, 1, 2)]);
    assert_eq!(held(&r, 0), "db:0");
}

#[test]
fn in_sync_mode_uses_is_satisfied_trivially() {
    let y = "mode: sync\nresources: {db: 1}\njobs:\n  - {name: a, uses: db, run: x}\n  - {name: b, uses: db, run: x}\n";
    let mut r = Run::new(y, &[]);
    assert_eq!(starts(&r.start()), [(0, 1, 1)]);
    assert_eq!(starts(&r.exit(0, 1, 0)), [(1, 1, 1)]);
    r.exit(1, 1, 0);
    assert!(r.s.done());
}

// ---------------------------------------------------------------- conditions

const COND: &str = "jobs:\n  - {name: a, run: x}\n  - {name: b, run: x}\n  - {name: restore, needs: [a], when: failure, run: x}\n  - {name: cleanup, needs: [a, b], when: always, run: x}\n  - {name: after, needs: [restore], run: x}\n";

#[test]
fn when_failure_runs_only_after_a_failure_and_when_always_runs_either_way() {
    // a succeeds: restore is skipped by its condition, and so is what needs it; the
    // run is still a success.
    let mut r = Run::new(COND, &["-j", "2"]);
    r.start();
    r.exit(0, 1, 0);
    let b = r.exit(1, 1, 0);
    assert_eq!(starts(&b), [(3, 1, 1)]);
    r.exit(3, 1, 0);
    assert!(r.s.done());
    assert_eq!(r.status(2), Status::Skipped);
    assert_eq!(r.reason(2), Some(Reason::NoNeedFailed));
    let res = r.s.clone_results();
    assert!(res[2].by_condition && res[4].by_condition);
    assert_eq!(r.status(3), Status::Success);

    // a fails: restore runs, cleanup runs, after runs (restore succeeded).
    let mut r = Run::new(COND, &["-j", "2"]);
    r.start();
    assert_eq!(starts(&r.exit(0, 1, 1)), [(2, 1, 1)]);
    assert_eq!(starts(&r.exit(2, 1, 0)), [(4, 1, 1)]);
    assert_eq!(starts(&r.exit(1, 1, 0)), [(3, 2, 1)]);
    assert!(!r.s.clone_results()[4].by_condition);
}

#[test]
fn when_always_counts_skipped_and_timed_out_needs_as_ended() {
    let y = "jobs:\n  - {name: a, run: x, timeout: 1s}\n  - {name: b, needs: [a], run: x}\n  - {name: c, needs: [a, b], when: always, run: x}\n  - {name: d, needs: [b], when: failure, run: x}\n";
    let mut r = Run::new(y, &["-j", "2"]);
    r.start();
    let a = r.ended(0, 1, None, true);
    // b is skipped (a timed out): c runs; d does not (b was skipped, not failed).
    assert_eq!(starts(&a), [(2, 1, 1)]);
    assert_eq!(r.status(3), Status::Skipped);
    assert!(
        !r.s.clone_results()[1].by_condition,
        "b was skipped by a failure"
    );
}

#[test]
fn cleanup_jobs_run_after_fail_fast_and_the_rest_are_not_run() {
    let y = "jobs:\n  - {name: a, run: x}\n  - {name: slow, run: x}\n  - {name: later, run: x}\n  - {name: cleanup, needs: [a, slow, later], when: always, run: x}\n  - {name: restore, needs: [a], when: failure, run: x}\n";
    let mut r = Run::new(y, &["-j", "2", "--fail-fast"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1), (1, 2, 1)]);
    // a fails: the run stops; restore (a failed) runs at once; cleanup waits for slow.
    assert_eq!(starts(&r.exit(0, 1, 1)), [(4, 1, 1)]);
    assert_eq!(r.status(2), Status::NotRun);
    assert!(!r.s.done());
    assert!(starts(&r.exit(4, 1, 0)).is_empty());
    assert_eq!(starts(&r.exit(1, 1, 0)), [(3, 1, 1)]);
    r.exit(3, 1, 0);
    assert!(r.s.done());
    assert_eq!(r.status(3), Status::Success);
    assert_eq!(r.status(4), Status::Success);
}

#[test]
fn a_first_signal_lets_cleanup_run_until_the_deadline_and_a_second_kills_it() {
    let y = "grace: 5s\njobs:\n  - {name: a, run: x}\n  - {name: b, run: x}\n  - {name: cleanup, needs: [a], when: always, run: x}\n  - {name: c2, needs: [b], when: always, run: x}\n";
    let mut r = Run::new(y, &["-j", "2"]);
    r.start();
    let s = r.signal(libc::SIGINT);
    assert!(
        matches!(notices(&s)[..], [Notice::Stopping { cleanup: 2, .. }]),
        "{s:?}"
    );
    // a ends (interrupted): its cleanup starts, after the signal.
    assert_eq!(starts(&r.ended(0, 1, None, false)), [(2, 1, 1)]);
    assert_eq!(r.status(0), Status::Interrupted);
    // The deadline passes: everything running is killed, c2 never starts.
    let k = r.at(5.0);
    assert!(k.contains(&Action::SignalJobs(libc::SIGKILL)));
    assert_eq!(r.status(3), Status::NotRun);
    assert_eq!(
        r.reason(3),
        Some(Reason::Deadline {
            grace: Duration::from_secs(5),
            signal: libc::SIGINT
        })
    );
    r.ended(1, 1, None, false);
    r.ended(2, 1, None, false);
    assert!(r.s.done());

    // A second signal kills the cleanup jobs and starts no more.
    let mut r = Run::new(y, &["-j", "2"]);
    r.start();
    r.signal(libc::SIGINT);
    r.ended(0, 1, None, false);
    let k = r.signal(libc::SIGTERM);
    assert!(k.contains(&Action::SignalJobs(libc::SIGKILL)));
    assert!(starts(&r.ended(1, 1, None, false)).is_empty());
    r.ended(2, 1, None, false);
    assert!(r.s.done());
    assert_eq!(r.status(3), Status::NotRun);
}

#[test]
fn a_stop_without_cleanup_jobs_behaves_as_before() {
    let mut r = Run::new(THREE, &["-j", "1", "--fail-fast"]);
    r.start();
    r.exit(0, 1, 1);
    assert!(r.s.done());
    assert_eq!(r.status(1), Status::NotRun);
}

#[test]
fn a_job_whose_needs_end_while_every_slot_is_busy_waits_for_a_slot_too() {
    let y = "resources: {db: 1}\njobs:\n  - {name: need, run: x}\n  - {name: flaky, run: x, retries: 1, retry_delay: 10s}\n  - {name: b, needs: [need], uses: db, run: x}\n  - {name: long, run: x}\n";
    let mut r = Run::new(y, &["-j", "2"]);
    assert_eq!(starts(&r.start()), [(0, 1, 1), (1, 2, 1)]);
    assert_eq!(starts(&r.exit(1, 1, 1)), [(3, 2, 1)]);
    r.at(10.0);
    // need ends: the due retry takes the slot; b (its units free) must wait for one.
    assert_eq!(starts(&r.exit(0, 1, 0)), [(1, 1, 2)]);
    assert_eq!(r.s.running.len(), 2);
    assert_eq!(starts(&r.exit(3, 2, 0)), [(2, 2, 1)]);
    assert_eq!(held(&r, 2), "db:0");
}

#[test]
fn results_are_put_in_display_order_in_place() {
    for order in [
        vec![0, 1, 2, 3],
        vec![3, 2, 1, 0],
        vec![1, 2, 0, 3],
        vec![2, 0, 3, 1],
    ] {
        let mut items: Vec<usize> = (0..order.len()).map(|i| i * 10).collect();
        super::results::permute(&mut items, &order);
        let want: Vec<usize> = order.iter().map(|&o| o * 10).collect();
        assert_eq!(items, want, "order {order:?}");
    }
}

// ---------------------------------------------------------------- the pool at its size

#[test]
fn the_pool_reaches_n_at_once_and_never_more() {
    let mut y = String::from("jobs:\n");
    for i in 0..9 {
        y.push_str(&format!("  - name: j{i}\n    run: x\n"));
    }
    let mut r = Run::new(&y, &["-j", "3"]);
    let mut running: Vec<usize> = starts(&r.start()).iter().map(|s| s.0).collect();
    assert_eq!(running, [0, 1, 2]);
    let mut most = running.len();
    // End the oldest each time: exactly one job takes its slot, until none is left.
    while let Some(&job) = running.first() {
        running.remove(0);
        let started: Vec<usize> = starts(&r.exit(job, 1, 0)).iter().map(|s| s.0).collect();
        assert!(started.len() <= 1, "{started:?}");
        running.extend(started);
        most = most.max(running.len());
        assert!(running.len() <= 3);
    }
    assert_eq!(most, 3);
    assert!(r.s.done());
}

// ---------------------------------------------------------------- dynamic matrices

const DYNAMIC: &str = "jobs:\n  - name: m\n    matrix: {x: {lines: vals.txt}}\n    run: x\n  - name: after\n    needs: [m]\n    run: x\n";

#[test]
fn a_dynamic_matrix_becomes_its_jobs_in_its_place_and_its_dependents_wait_for_all() {
    let mut r = Run::new(DYNAMIC, &["-j", "2"]);
    // The matrix is expanded first; nothing starts meanwhile.
    assert_eq!(r.start(), [Action::Expand { job: 0 }]);
    let a = r.expand(0, Ok(&["a", "b", "c"]));
    assert!(
        a.contains(&Action::Expanded { job: 0, into: 2..5 }),
        "{a:?}"
    );
    assert_eq!(starts(&a), [(2, 1, 1), (3, 2, 1)]);
    assert_eq!(starts(&r.exit(2, 1, 0)), [(4, 1, 1)]);
    assert!(
        starts(&r.exit(3, 1, 0)).is_empty(),
        "`after` started before m[x=c] ended"
    );
    assert_eq!(starts(&r.exit(4, 1, 0)), [(1, 1, 1)]);
    r.exit(1, 1, 0);
    assert!(r.s.done());
    // Shown where the matrix was written: its jobs, then `after`.
    assert_eq!(r.s.order(), [2, 3, 4, 1]);
    assert_eq!(r.s.spec(3).name, "m[x=b]");
}

#[test]
fn a_dynamic_matrix_without_values_makes_no_jobs_and_says_so() {
    let mut r = Run::new(DYNAMIC, &[]);
    r.start();
    let a = r.expand(0, Ok(&[]));
    assert_eq!(notices(&a), [Notice::EmptyMatrix { job: 0 }]);
    // What needs it runs: there is nothing to wait for.
    assert_eq!(starts(&a), [(1, 1, 1)]);
    r.exit(1, 1, 0);
    assert!(r.s.done());
    assert_eq!(r.s.order(), [1]);
}

#[test]
fn a_dynamic_matrix_whose_values_cannot_be_found_fails_and_skips_its_dependents() {
    let mut r = Run::new(DYNAMIC, &[]);
    r.start();
    let a = r.expand(0, Err("lines file vals.txt: No such file"));
    let why = Arc::new(Reason::Matrix("lines file vals.txt: No such file".into()));
    assert!(notices(&a).contains(&Notice::Job {
        job: 0,
        reason: why
    }));
    assert!(starts(&a).is_empty());
    assert!(r.s.done());
    assert_eq!(r.status(0), Status::Failed);
    assert_eq!(r.reason(1), need("m", Status::Failed));
}

// ---------------------------------------------------------------- outputs

const OUTPUTS: &str = "jobs:\n  - name: a\n    run: x\n  - name: b\n    needs: [a]\n    env: {URL: \"${{ needs.a.outputs.url }}\"}\n    run: x\n";

#[test]
fn a_dependent_whose_output_is_missing_fails_without_starting() {
    let mut r = Run::new(OUTPUTS, &[]);
    r.start();
    let a = r.ended_with(0, 1, 0, Ok(vec![("other".into(), "1".into())]));
    assert!(starts(&a).is_empty(), "b started without its output");
    let why = Reason::MissingOutput {
        var: "URL".into(),
        key: "url".into(),
        job: "a".into(),
    };
    assert!(notices(&a).contains(&Notice::Job {
        job: 1,
        reason: Arc::new(why.clone())
    }));
    assert_eq!(r.status(1), Status::Failed);
    assert_eq!(r.reason(1), Some(why));
    assert!(r.s.done());
}

#[test]
fn a_dependent_whose_output_is_there_starts_and_sees_it() {
    let mut r = Run::new(OUTPUTS, &[]);
    r.start();
    let a = r.ended_with(0, 1, 0, Ok(vec![("url".into(), "http://x".into())]));
    assert_eq!(starts(&a), [(1, 1, 1)]);
    assert_eq!(r.s.result(0).unwrap().output("url"), Some("http://x"));
}

#[test]
fn a_bad_prun_output_fails_the_job_that_exited_0_and_skips_what_needs_it() {
    let mut r = Run::new(OUTPUTS, &[]);
    r.start();
    let bad = "PRUN_OUTPUT line 1: `=x` has no key".to_owned();
    let a = r.ended_with(0, 1, 0, Err(bad.clone()));
    assert_eq!(r.status(0), Status::Failed);
    assert_eq!(r.reason(0), Some(Reason::BadOutputs(bad)));
    assert!(a.contains(&Action::Show {
        job: 0,
        note: Some(Note {
            status: Status::Failed,
            ending: Ending::Exited(0),
            attempt: None,
            allowed: false,
        }),
        last: true
    }));
    assert_eq!(r.reason(1), need("a", Status::Failed));
}

// ---------------------------------------------------------------- result order

#[test]
fn results_are_in_jobfile_order_whatever_order_jobs_end_in_and_with_keep_order() {
    for args in [&["-j", "3"][..], &["-j", "3", "--keep-order"][..]] {
        let mut r = Run::new(THREE, args);
        r.start();
        r.exit(2, 1, 0);
        r.exit(0, 1, 1);
        r.exit(1, 1, 0);
        assert!(r.s.done());
        let order = r.s.order();
        assert_eq!(order, [0, 1, 2]);
        let statuses: Vec<Status> = r.s.take_results(&order).iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [Status::Failed, Status::Success, Status::Success],
            "{args:?}"
        );
    }
}

/// Services: started without a slot, ready when the probe says, stopped when unneeded.
mod services {
    use super::*;
    use crate::schedule::attempt::Fate;

    impl Run {
        /// Service `job`'s probe passed, having written `outputs`.
        fn ready(&mut self, job: usize, outputs: &[(&str, &str)]) -> Vec<Action> {
            let outputs = outputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let ev = Event::ServiceReady {
                job,
                outputs: Ok(outputs),
            };
            self.s.handle(self.now, ev)
        }

        fn probe_failed(&mut self, job: usize, why: &str) -> Vec<Action> {
            let ev = Event::ProbeFailed {
                job,
                why: why.into(),
            };
            self.s.handle(self.now, ev)
        }
    }

    fn stops(actions: &[Action]) -> Vec<(usize, Fate)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::StopService { job, fate } => Some((*job, *fate)),
                _ => None,
            })
            .collect()
    }

    const TCP: &str = "    service: true\n    ready: { tcp: \"127.0.0.1:5432\", timeout: 2s }\n";

    fn yaml(jobs: &[(&str, &str)]) -> String {
        let mut y = String::from("jobs:\n");
        for (name, rest) in jobs {
            y.push_str(&format!("  - name: {name}\n    run: x\n{rest}"));
        }
        y
    }

    #[test]
    fn a_service_takes_no_slot_and_stops_when_its_last_dependent_ends() {
        let y = yaml(&[
            ("db", TCP),
            ("a", "    needs: [db]\n"),
            ("b", "    needs: [db]\n"),
        ]);
        let mut r = Run::new(&y, &["-j", "1"]);
        // The pool has one slot; the service runs past it.
        assert_eq!(starts(&r.start()), vec![(0, 2, 1)]);
        r.at(0.5);
        let a = r.ready(0, &[("port", "5432")]);
        assert_eq!(starts(&a), vec![(1, 1, 1)]);
        assert!(notices(&a).contains(&Notice::ServiceReady {
            job: 0,
            after: Duration::from_millis(500)
        }));
        // Its outputs are seen by the jobs that need it while it runs.
        assert_eq!(r.s.seen(0).and_then(|s| s.output("port")), Some("5432"));
        let a = r.exit(1, 1, 0);
        assert_eq!(starts(&a), vec![(2, 1, 1)]);
        assert!(stops(&a).is_empty(), "b still needs it");
        let a = r.exit(2, 1, 0);
        assert_eq!(stops(&a), vec![(0, Fate::Unneeded)]);
        assert!(!r.s.done(), "not done while the service runs");
        r.ended(0, 1, None, false);
        assert!(r.s.done());
        let res = r.s.clone_results();
        assert_eq!(res[0].status, Status::Success);
        assert_eq!(res[0].ready_after(), Some(Duration::from_millis(500)));
    }

    #[test]
    fn not_ready_in_time_fails_it_with_the_last_probe_failure_and_skips_its_jobs() {
        let y = yaml(&[("db", TCP), ("a", "    needs: [db]\n")]);
        let mut r = Run::new(&y, &[]);
        r.start();
        r.probe_failed(0, "tcp 127.0.0.1:5432 refused");
        assert!(
            r.s.wake_at(r.now).is_some(),
            "the readiness deadline wakes the core"
        );
        let a = r.at(2.0);
        assert_eq!(stops(&a), vec![(0, Fate::Failed)]);
        let not_ready = Reason::NotReady {
            after: Duration::from_secs(2),
            last: Some("tcp 127.0.0.1:5432 refused".into()),
        };
        assert!(notices(&a).contains(&Notice::Job {
            job: 0,
            reason: Arc::new(not_ready.clone())
        }));
        assert_eq!(r.reason(1), need("db", Status::Failed));
        // It ignores SIGTERM: SIGKILL after stop_grace (5 s).
        assert!(r.at(6.0).is_empty());
        assert!(r.at(7.0).contains(&Action::KillService { job: 0 }));
        r.ended(0, 1, None, false);
        assert_eq!(r.status(0), Status::Failed);
        assert_eq!(r.reason(0), Some(not_ready));
        assert!(r.s.done());
    }

    #[test]
    fn a_service_that_exits_before_ready_or_while_needed_fails_so() {
        let y = yaml(&[("db", TCP), ("a", "    needs: [db]\n")]);
        let mut r = Run::new(&y, &[]);
        r.start();
        r.exit(0, 1, 3);
        assert_eq!(
            r.reason(0),
            Some(Reason::ExitedBeforeReady(Ending::Exited(3)))
        );
        assert_eq!(r.status(0), Status::Failed);
        assert_eq!(r.reason(1), need("db", Status::Failed));

        let y = yaml(&[
            ("db", TCP),
            ("a", "    needs: [db]\n"),
            ("b", "    needs: [db]\n"),
        ]);
        let mut r = Run::new(&y, &["-j", "1"]);
        r.start();
        r.ready(0, &[]);
        let a = r.exit(0, 1, 1);
        assert!(stops(&a).is_empty());
        assert_eq!(
            r.reason(0),
            Some(Reason::ExitedWhileNeeded(Ending::Exited(1)))
        );
        // a runs on; b, not started yet, is skipped.
        assert_eq!(r.reason(2), need("db", Status::Failed));
        r.exit(1, 1, 0);
        assert!(r.s.done());
    }

    #[test]
    fn services_stop_in_reverse_order_of_needs() {
        let y = yaml(&[
            ("db", TCP),
            ("api", &format!("{TCP}    needs: [db]\n")),
            ("test", "    needs: [api]\n"),
        ]);
        let mut r = Run::new(&y, &[]);
        // One job: a pool of one slot, the services past it.
        assert_eq!(starts(&r.start()), vec![(0, 2, 1)]);
        assert_eq!(starts(&r.ready(0, &[])), vec![(1, 3, 1)]);
        assert_eq!(starts(&r.ready(1, &[])), vec![(2, 1, 1)]);
        assert_eq!(stops(&r.exit(2, 1, 0)), vec![(1, Fate::Unneeded)]);
        assert_eq!(
            stops(&r.ended(1, 1, None, false)),
            vec![(0, Fate::Unneeded)]
        );
        r.ended(0, 1, None, false);
        assert!(r.s.done());
        assert!((0..3).all(|j| r.status(j) == Status::Success));
    }

    #[test]
    fn a_signal_stops_services_but_keeps_those_a_cleanup_job_needs() {
        let y = yaml(&[
            ("db", TCP),
            ("cache", TCP),
            ("a", "    needs: [db, cache]\n"),
            ("cleanup", "    needs: [db, a]\n    when: always\n"),
        ]);
        let mut r = Run::new(&y, &[]);
        r.start();
        r.ready(0, &[]);
        r.ready(1, &[]);
        // a, running, still needs both.
        assert!(stops(&r.signal(libc::SIGINT)).is_empty());
        // Then the cache is needed by no job left to run; the db by the cleanup job.
        let a = r.ended(2, 1, None, false);
        assert_eq!(stops(&a), vec![(1, Fate::Unneeded)]);
        assert_eq!(starts(&a), vec![(3, 1, 1)]);
        assert_eq!(stops(&r.exit(3, 1, 0)), vec![(0, Fate::Unneeded)]);
        r.ended(0, 1, None, false);
        r.ended(1, 1, None, false);
        assert!(r.s.done());
        assert_eq!(r.status(0), Status::Success);
        assert_eq!(r.status(2), Status::Interrupted);
    }

    #[test]
    fn fail_fast_stops_the_services_too() {
        let y = yaml(&[
            ("db", TCP),
            ("a", "    needs: [db]\n"),
            ("b", "    needs: [db]\n"),
        ]);
        let mut r = Run::new(&y, &["-j", "1", "--fail-fast"]);
        r.start();
        r.ready(0, &[]);
        let a = r.exit(1, 1, 1);
        assert_eq!(stops(&a), vec![(0, Fate::Unneeded)]);
        r.ended(0, 1, None, false);
        assert!(r.s.done());
        assert_eq!(r.status(2), Status::NotRun);
    }

    #[test]
    fn resume_starts_a_service_only_if_a_job_that_needs_it_will_run() {
        let y = yaml(&[("db", TCP), ("a", "    needs: [db]\n")]);
        let mut r = Run::resumed(&y, &[], vec![1]);
        let a = r.start();
        assert!(starts(&a).is_empty());
        assert_eq!(r.status(0), Status::Skipped);
        assert_eq!(r.reason(0), Some(Reason::Unneeded));
        assert!(r.s.done());

        let y = yaml(&[
            ("db", TCP),
            ("a", "    needs: [db]\n"),
            ("b", "    needs: [db]\n"),
        ]);
        let mut r = Run::resumed(&y, &[], vec![1]);
        assert_eq!(starts(&r.start()), vec![(0, 3, 1)]);
        assert_eq!(starts(&r.ready(0, &[])), vec![(2, 1, 1)]);
    }

    #[test]
    fn a_service_without_a_probe_is_ready_once_started_even_in_sync_mode() {
        let y = format!(
            "mode: sync\n{}",
            yaml(&[
                ("db", "    service: true\n"),
                ("a", "    needs: [db]\n"),
                ("b", "")
            ])
            .trim_start_matches('\n')
        );
        let mut r = Run::new(&y, &[]);
        let a = r.start();
        assert_eq!(starts(&a), vec![(0, 2, 1), (1, 1, 1)]);
        let a = r.exit(1, 1, 0);
        assert_eq!(stops(&a), vec![(0, Fate::Unneeded)]);
        // In sync mode, b waits for nothing but a.
        assert_eq!(starts(&a), vec![(2, 1, 1)]);
    }

    #[test]
    fn the_worker_and_the_core_agree_on_a_services_status() {
        let f = |code: Option<i32>| Finished {
            started: SystemTime::now(),
            duration: Duration::ZERO,
            ending: Ending::from_parts(code, code.is_none().then_some(libc::SIGTERM)),
            error: None,
            timed_out: false,
            leftovers: false,
            cut_short: false,
            cost: None,
            limit_hit: None,
        };
        assert_eq!(
            attempt::service_status(Fate::Unneeded, &f(None), 0),
            Status::Success
        );
        assert_eq!(
            attempt::service_status(Fate::Unneeded, &f(Some(1)), 0),
            Status::Success
        );
        assert_eq!(
            attempt::service_status(Fate::Failed, &f(None), 0),
            Status::Failed
        );
        assert_eq!(
            attempt::service_status(Fate::Running, &f(Some(0)), 0),
            Status::Failed
        );
        assert_eq!(
            attempt::service_status(Fate::Running, &f(None), libc::SIGKILL),
            Status::Interrupted
        );
    }
}

#[test]
fn delay_spaces_the_starts_with_free_slots_and_retries_too() {
    let y = "delay: 2s\njobs:\n  - {name: a, run: x}\n  - {name: b, run: x}\n  - {name: c, run: x, retries: 1}\n";
    let mut r = Run::new(y, &["-j", "3"]);
    // Three free slots, but one start at a time, 2 s apart.
    assert_eq!(starts(&r.start()), [(0, 1, 1)]);
    assert_eq!(r.s.wake_at(r.now), Some(r.t0 + Duration::from_secs(2)));
    assert!(starts(&r.at(1.9)).is_empty());
    assert_eq!(starts(&r.at(2.0)), [(1, 2, 1)]);
    assert_eq!(starts(&r.at(4.0)), [(2, 3, 1)]);
    // A job's end does not bypass the delay: c's retry (no retry_delay) waits for it.
    r.exit(0, 1, 0);
    r.at(4.5);
    assert!(starts(&r.exit(2, 1, 1)).is_empty());
    assert_eq!(starts(&r.at(6.0)), [(2, 1, 2)]);
    r.exit(1, 1, 0);
    r.exit(2, 2, 0);
    assert!(r.s.done());
    // --delay over the jobfile's; 0 is none.
    let mut r = Run::new(y, &["-j", "3", "--delay", "0s"]);
    assert_eq!(starts(&r.start()).len(), 3);
}

#[test]
fn memfree_and_load_hold_jobs_back_until_the_machine_allows_and_say_why() {
    use crate::schedule::machine::{Machine, RECHECK};
    let y = "memfree: 1G\nresources: {db: 1}\njobs:\n  - {name: a, run: x, uses: db}\n  - {name: b, run: x, uses: db}\n  - {name: c, run: x}\n";
    let mut r = Run::new(y, &["-j", "3", "--load", "2"]);
    let low = Machine {
        mem_available: Some(512 << 20),
        load1: Some(0.5),
    };
    r.s.observe(low);
    // Not enough memory: nothing starts, the core asks to look again soon, and says why.
    assert!(starts(&r.start()).is_empty());
    assert_eq!(r.s.wake_at(r.now), Some(r.now + RECHECK));
    assert_eq!(r.s.held_back().why, "512M free < 1G");
    // Memory back, but the load is too high.
    r.s.observe(Machine {
        mem_available: Some(2 << 30),
        load1: Some(3.1),
    });
    assert!(starts(&r.at(0.5)).is_empty());
    assert_eq!(r.s.held_back().why, "load 3.10 ≥ 2");
    // Both fine: a starts (b waits for the db unit, as without throttles), c starts.
    r.s.observe(Machine {
        mem_available: Some(2 << 30),
        load1: Some(0.1),
    });
    assert_eq!(starts(&r.at(1.0)), [(0, 1, 1), (2, 2, 1)]);
    assert_eq!(r.s.held_back().since, None);
    let (waited, why) = r.s.throttled_in_all().unwrap();
    assert_eq!(
        (waited, why.as_str()),
        (Duration::from_secs(1), "load 3.10 ≥ 2")
    );
    // Memory gone again when a frees the unit: b is held back by the throttle now.
    r.s.observe(low);
    assert!(starts(&r.exit(0, 1, 0)).is_empty());
    assert!(r.s.held_back().since.is_some());
    r.s.observe(Machine {
        mem_available: None,
        load1: None,
    });
    // A machine that cannot be read holds nothing back.
    assert_eq!(starts(&r.at(1.5)), [(1, 1, 1)]);
}
