//! The scheduling core: the run's state and every decision about it, as plain code.
//!
//! It is told what happened — a job's attempt ended, a hook ended, a signal arrived, time
//! passed (`actions::Event`) — and answers with what to do (`actions::Action`): start job
//! i in slot s, show how a job ended, say something, run a job's hooks, forward a
//! signal, kill what is left. It decides which job starts next (mode, slots, needs,
//! resources, retries and their delays, `--fail-fast`, signals, `--resume`), what a
//! job's final status and reason are, and which hooks are due. It reads no clock (the
//! time comes with each call), starts no thread or process, prints nothing and words
//! nothing: reasons and notices are enums ([`outcome::reason`](crate::outcome::reason), `actions::Notice`) that
//! the output layer words. The driver ([`runner::driver`](crate::runner::driver)) carries the actions out, so
//! every combination is a unit test of a few lines (`tests.rs`).
//!
//! The decisions, each an `impl Schedule` of its own: `admit` (what may start now, and
//! starting it), `units` (resources), `expand` (dynamic matrices), `ending` (an attempt
//! or a hook ended), `stop` (`--fail-fast`, signals, the stop deadline), `services`,
//! `throttle`, `results` (the results in the order they are shown); `attempt` holds the
//! pure decisions a worker needs. The state they own is in parts of its own, each a
//! type in a file that imports nothing of the core: `blocked` (jobs waiting on needs,
//! indexed), `unit_pool` (resources' units and the jobs waiting for them), `stopping`,
//! `machine::Throttle`, `service_state`. Everything comes in through `handle`, which
//! settles after every event.

pub(crate) mod actions;
mod admit;
pub(crate) mod attempt;
mod blocked;
mod ending;
mod expand;
pub(crate) mod machine;
mod results;
mod service_state;
pub(crate) mod services;
mod stop;
mod stopping;
#[cfg(test)]
mod tests;
pub(crate) mod throttle;
mod unit_pool;
mod units;
pub(crate) mod uptodate;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use crate::outcome::{HookFailure, JobResult, Reason};
use crate::plan::{JobSpec, Mode, Plan};
use actions::{Action, Event, Notice};

/// A failed attempt whose job will be tried again at `at`.
#[derive(Debug)]
struct Retry {
    at: Instant,
    job: usize,
    attempt: u32,
    last: JobResult,
}

/// Whether a job's needs allow it to start.
enum NeedsState {
    Ready,
    Waiting,
    /// Its condition (`when:`) cannot hold: the reason to record, and whether only
    /// conditions are to blame (see `JobResult::by_condition`).
    Blocked {
        why: Reason,
        by_condition: bool,
    },
}

pub(crate) struct Schedule {
    plan: Arc<Plan>,
    /// `slots[i]` is true while slot i+1 is taken.
    slots: Vec<bool>,
    /// The slot of each running job.
    running: HashMap<usize, usize>,
    /// Each job's result (in place from the start: 64 bytes a job, no growth as jobs
    /// end), moved out whole at the run's end.
    results: Vec<Option<JobResult>>,
    /// The previous attempt of each job being retried: its history goes into the result
    /// of the next one.
    carried: HashMap<usize, JobResult>,
    /// The next job to reach, in file order.
    next: usize,
    /// Jobs reached that their needs have not let start yet.
    blocked: blocked::Blocked,
    /// Jobs ready to start, in order, before any job further down the jobfile (the jobs
    /// of a dynamic matrix, once it is expanded).
    queue: std::collections::VecDeque<usize>,
    /// The jobs made by dynamic matrices at run time (ids from `plan.jobs.len()` on).
    extra: Vec<Arc<JobSpec>>,
    /// Each expanded dynamic matrix, and the jobs it became.
    expansions: HashMap<usize, Range<usize>>,
    /// An `Expand` was asked for and not yet answered: nothing else starts meanwhile,
    /// so the matrix's jobs keep their place in file order.
    expanding: bool,
    retries: Vec<Retry>,
    /// Hooks queued that have not ended.
    pending_hooks: usize,
    hook_failures: Vec<HookFailure>,
    /// How far the run is stopped (`--max-fail`, signals, the deadline): `stop`.
    stopping: stopping::Stopping,
    /// The resources' units: free, held, and the jobs waiting for them (`units`).
    units: unit_pool::UnitPool,
    /// The services (`service: true`), in file order; empty in most runs.
    services: Vec<service_state::Svc>,
    /// The time of the call being handled (the core reads no clock: it is told).
    now: Option<Instant>,
    /// When the last job started (`--delay` counts from it).
    last_start: Option<Instant>,
    /// The machine as last observed, and how the throttles held jobs back (`throttle`).
    throttle: machine::Throttle,
}

impl Schedule {
    /// The run of [`plan`](crate::plan) with `slots` pool slots; `prior[i]` is job i's result from an
    /// earlier run (`--resume`): such a job is not run.
    /// A service's result is never carried over: it ran for the jobs of its own run, and
    /// starts again if one that needs it runs now.
    pub(crate) fn new(plan: Arc<Plan>, slots: usize, mut prior: Vec<Option<JobResult>>) -> Self {
        for job in plan.services() {
            if let Some(r) = prior.get_mut(job) {
                *r = None;
            }
        }
        Schedule {
            slots: vec![false; slots.max(1)],
            running: HashMap::new(),
            results: prior,
            carried: HashMap::new(),
            next: 0,
            blocked: blocked::Blocked::default(),
            queue: std::collections::VecDeque::new(),
            extra: Vec::new(),
            expansions: HashMap::new(),
            expanding: false,
            retries: Vec::new(),
            pending_hooks: 0,
            hook_failures: Vec::new(),
            stopping: stopping::Stopping::default(),
            units: unit_pool::UnitPool::new(&plan.resources, slots.max(1)),
            services: service_state::of_plan(&plan),
            now: None,
            last_start: None,
            throttle: machine::Throttle::default(),
            plan,
        }
    }

    /// What the services' state calls for, and what may start or be skipped after it,
    /// until nothing changes (a failed service skips its jobs, which may leave another
    /// service unneeded).
    fn settle(&mut self, now: Instant, out: &mut Vec<Action>) {
        while self.tend_services(out) {
            self.start_ready(now, out);
        }
    }

    /// The time of the call being handled.
    pub(super) fn now(&self) -> Instant {
        self.now.expect("the core is told the time with each call")
    }

    /// What follows from `ev`, which happened at `now`, and then whatever may start or
    /// be skipped after it, the services tended, until nothing changes: the one way in
    /// that changes the run, so that no event forgets to settle.
    pub(crate) fn handle(&mut self, now: Instant, ev: Event) -> Vec<Action> {
        self.now = Some(now);
        let mut out = Vec::new();
        match ev {
            Event::Start => {}
            Event::RunLevelHooks { count } => self.run_level_hooks(count, &mut out),
            Event::Expanded { job, jobs } => self.expanded(job, jobs, &mut out),
            Event::ServiceReady { job, outputs } => self.service_ready(job, outputs, &mut out),
            Event::ProbeFailed { job, why } => self.probe_failed(job, why),
            Event::Stale { job, why } => out.push(Action::Say(Notice::Runs { job, why })),
            Event::JobEnded(e) => self.job_ended(now, e, &mut out),
            Event::HookEnded { job, hook, ended } => self.hook_ended(job, hook, ended, &mut out),
            Event::Signal(sig) => self.on_signal(now, sig, &mut out),
            Event::Tick => {
                if self.stopping.kill_at.is_some_and(|k| k <= now) {
                    self.stopping.kill_at = None;
                    out.push(match self.stopping.signal {
                        Some(_) => Action::SignalJobs(libc::SIGKILL),
                        None => Action::SignalPool(libc::SIGKILL),
                    });
                    if let Some(signal) = self.stopping.signal {
                        self.stopping.deadline_passed = true;
                        let why = Reason::Deadline {
                            grace: self.plan.grace,
                            signal,
                        };
                        self.abandon_pending(Arc::new(why));
                    }
                }
            }
        }
        self.start_ready(now, &mut out);
        self.settle(now, &mut out);
        self.note_held(now);
        out
    }

    /// Job `job`'s spec (written in the jobfile, or made by a dynamic matrix).
    pub(crate) fn spec(&self, job: usize) -> &JobSpec {
        self.plan.job(job, &self.extra)
    }

    /// The spec of a job made at run time, shared with the worker that runs it.
    pub(crate) fn extra_spec(&self, job: usize) -> Option<Arc<JobSpec>> {
        job.checked_sub(self.plan.jobs.len())
            .map(|i| Arc::clone(&self.extra[i]))
    }

    /// Every job, in the order they are shown: the jobfile's, with each dynamic matrix
    /// replaced by the jobs it became.
    pub(crate) fn order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.results.len());
        for job in 0..self.plan.jobs.len() {
            match self.expansions.get(&job) {
                Some(into) => order.extend(into.clone()),
                None => order.push(job),
            }
        }
        order
    }

    /// The jobs `job` stands for: those its dynamic matrix made, else itself.
    pub(crate) fn jobs_of(&self, job: usize) -> Range<usize> {
        self.expansions.get(&job).cloned().unwrap_or(job..job + 1)
    }

    /// The jobs made at run time (for reports).
    pub(crate) fn extra(&self) -> &[Arc<JobSpec>] {
        &self.extra
    }

    /// When to call `handle` with `Event::Tick` if nothing happens before `now`'s next
    /// event. A retry already due waits for a slot or units, which only a job's end
    /// frees: it asks for no tick (that would spin).
    pub(crate) fn wake_at(&self, now: Instant) -> Option<Instant> {
        self.retries
            .iter()
            .map(|r| r.at)
            .filter(|&at| at > now)
            .chain(self.stopping.kill_at)
            .chain(self.service_wake_at())
            .chain(self.delay_wake_at(now))
            .chain(self.throttle_wake_at(now))
            .min()
    }

    /// With `--delay`: when the next job may start, if that is still to come and a job
    /// could be waiting for it (a wake-up with nothing to start costs one tick).
    fn delay_wake_at(&self, now: Instant) -> Option<Instant> {
        let at = crate::times::after(self.last_start?, self.plan.delay);
        (!self.plan.delay.is_zero() && at > now && !self.done() && self.slot_open()).then_some(at)
    }

    /// The resource units `job` holds while it runs.
    pub(crate) fn held_units(&self, job: usize) -> &[(u32, u32)] {
        self.running
            .get(&job)
            .map_or(&[], |&s| &self.units.held[s - 1])
    }

    /// Every job has ended (or will never start) and every queued hook has run.
    pub(crate) fn done(&self) -> bool {
        let idle = self.running.is_empty()
            && self.pending_hooks == 0
            && self.retries.is_empty()
            && !self.expanding
            && self.services_ended();
        let reached_all = self.next == self.plan.jobs.len()
            && self.blocked.is_empty()
            && self.queue.is_empty()
            && self.none_waiting();
        idle && (reached_all || (self.stopping.starting && !self.cleanup_may_run()))
    }

    /// The run was stopped, and cleanup jobs are still to run (or to be decided).
    pub(super) fn cleanup_may_run(&self) -> bool {
        self.plan.has_cleanup && !self.stopping.killed && !self.stopping.deadline_passed
    }

    /// Every queued hook has run.
    pub(crate) fn hooks_done(&self) -> bool {
        self.pending_hooks == 0
    }

    /// The run-level hooks (`count` of them) are queued, unless a second signal killed
    /// everything: then nothing more runs.
    fn run_level_hooks(&mut self, count: usize, out: &mut Vec<Action>) {
        if self.stopping.killed || count == 0 {
            return;
        }
        self.pending_hooks += count;
        out.push(Action::RunHooks { job: None });
    }

    /// Job `job`'s result so far (for its hooks).
    pub(crate) fn result(&self, job: usize) -> Option<&JobResult> {
        self.results[job].as_ref()
    }

    /// The first signal, if one came.
    pub(crate) fn signal(&self) -> Option<i32> {
        self.stopping.signal
    }

    pub(crate) fn hook_failures(&self) -> &[HookFailure] {
        &self.hook_failures
    }

    /// Whether a slot is free for one more attempt.
    pub(super) fn slot_free(&self) -> bool {
        self.delay_passed() && self.slot_open() && self.throttled().is_none()
    }

    /// A slot is open and the delay has passed: only a throttle could hold a job back.
    fn slot_open_for_throttle(&self) -> bool {
        self.delay_passed() && self.slot_open()
    }

    /// `--delay` since the last start has passed (or there is no delay).
    fn delay_passed(&self) -> bool {
        let delay = self.plan.delay;
        delay.is_zero()
            || match (self.last_start, self.now) {
                (Some(last), Some(now)) => now >= crate::times::after(last, delay),
                _ => true,
            }
    }

    /// A slot is free: fewer jobs run than the pool has slots (sync: none runs).
    fn slot_open(&self) -> bool {
        match self.plan.mode {
            // One at a time, and a job's hooks end before the next job starts.
            Mode::Sync => self.running.is_empty() && self.pending_hooks == 0,
            Mode::Async => self.running.len() < self.slots.len(),
        }
    }

    /// A job's place in file order: its position in the jobfile, then (for the jobs
    /// of a matrix) its own.
    pub(super) fn rank(&self, job: usize) -> (usize, usize) {
        (self.spec(job).index as usize, job)
    }
}
