//! The scheduling core: the run's state and every decision about it, as plain code.
//!
//! It is told what happened — a job's attempt ended, a hook ended, a signal arrived, time
//! passed — and answers with what to do: start job i in slot s, show how a job ended,
//! say something, run a job's hooks, forward a signal, kill what is left. It decides
//! which job starts next (mode, slots, needs, retries and their delays, `--fail-fast`,
//! signals, `--resume`), what a job's final status and reason are, and which hooks are
//! due. It reads no clock (the time comes with each call), starts no thread or process
//! and prints nothing: the driver (`driver.rs`) does all of that, so every combination
//! is a unit test of a few lines (`tests.rs`).

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::executor::{self, Finished, signal_name};
use crate::outcome::{EarlierAttempt, HookFailure, JobResult, More, Status, Units};
use crate::plan::resources::Claim;
use crate::plan::{JobSpec, Mode, Plan};

/// The jobs a dynamic matrix made, each with its result from an earlier run if it is
/// not to run again (`--resume`).
pub(crate) type Expansions = Vec<(Arc<JobSpec>, Option<JobResult>)>;

/// Something that happened, as the driver saw it.
#[derive(Debug)]
pub(crate) enum Event {
    /// An attempt of a job ended.
    JobEnded(Ended),
    /// A hook ended; `failure` says why it counts as failed.
    HookEnded {
        job: Option<usize>,
        hook: &'static str,
        failure: Option<String>,
    },
    /// prun received a signal (SIGINT, SIGTERM or SIGHUP).
    Signal(i32),
    /// Time passed (`Schedule::wake_at` was reached).
    Tick,
}

/// How one attempt of a job ended.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) job: usize,
    pub(crate) attempt: u32,
    pub(crate) finished: Finished,
    /// As recorded in the joblog by the worker (`Status::of_attempt`).
    pub(crate) status: Status,
    /// Its `--log-dir` file, and why that is incomplete if it is.
    pub(crate) log: Option<PathBuf>,
    pub(crate) log_error: Option<String>,
    /// What it wrote to `PRUN_OUTPUT`, or why that is not valid (then the attempt
    /// failed).
    pub(crate) outputs: Result<crate::outputs::Outputs, String>,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Start attempt `attempt` of `job` in pool slot `slot` (1-based).
    Start {
        job: usize,
        slot: usize,
        attempt: u32,
    },
    /// `job` was done in an earlier run (`--resume`): it is not run, and output waiting
    /// for it (`--keep-order`) need not wait.
    Resumed { job: usize },
    /// An attempt of `job` is over: show its block. `note` says how it ended when that
    /// was not a success (`failed, exit 3`); `last` is false when a retry follows.
    Show {
        job: usize,
        note: Option<String>,
        last: bool,
    },
    /// A line from prun.
    Notice(String),
    /// A failed hook, for CI annotations.
    HookFailed { title: String, reason: String },
    /// Run `job`'s hooks for its final result (`None`: the run-level hooks).
    RunHooks { job: Option<usize> },
    /// Send this signal to every running job.
    SignalJobs(i32),
    /// prun is stopping: every hook from now on gets at most the grace period.
    LimitHooks,
    /// Kill the running hook and run no more.
    KillHooks,
    /// Find the values of `job`'s dynamic matrix now, and answer with `expanded`.
    Expand { job: usize },
    /// `job`'s dynamic matrix became these jobs (in order; maybe none).
    Expanded { job: usize, into: Range<usize> },
}

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
        why: String,
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
    /// Jobs reached whose needs have not all ended yet.
    blocked: Vec<usize>,
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
    /// No new job or retry starts (`--fail-fast`, or a signal).
    stop_starting: bool,
    hook_failures: Vec<HookFailure>,
    /// The first signal received.
    signal: Option<i32>,
    /// A second signal came: everything was killed, no more hooks run.
    killed: bool,
    /// When the jobs still running after the first signal get SIGKILL.
    kill_at: Option<Instant>,
    /// That time came: cleanup jobs not started by then never start.
    deadline_passed: bool,
    /// Free units of each resource (`true`: free), and how many are free.
    free: Vec<Vec<bool>>,
    free_count: Vec<u32>,
    /// The units held by the job running in each slot (`held[slot - 1]`).
    held: Vec<Units>,
    /// Jobs that may start but for their resource units, grouped by the units they ask
    /// for; each group in file order (`rank`). Waiting holds no slot.
    waiting: Vec<(Claim, BTreeSet<(usize, usize)>)>,
}

impl Schedule {
    /// The run of `plan` with `slots` pool slots; `prior[i]` is job i's result from an
    /// earlier run (`--resume`): such a job is not run.
    pub(crate) fn new(plan: Arc<Plan>, slots: usize, prior: Vec<Option<JobResult>>) -> Self {
        Schedule {
            slots: vec![false; slots.max(1)],
            running: HashMap::new(),
            results: prior,
            carried: HashMap::new(),
            next: 0,
            blocked: Vec::new(),
            queue: std::collections::VecDeque::new(),
            extra: Vec::new(),
            expansions: HashMap::new(),
            expanding: false,
            retries: Vec::new(),
            pending_hooks: 0,
            stop_starting: false,
            hook_failures: Vec::new(),
            signal: None,
            killed: false,
            kill_at: None,
            deadline_passed: false,
            free: plan
                .resources
                .iter()
                .map(|r| vec![true; r.capacity as usize])
                .collect(),
            free_count: plan.resources.iter().map(|r| r.capacity).collect(),
            held: vec![Units::default(); slots.max(1)],
            waiting: Vec::new(),
            plan,
        }
    }

    /// What to do first.
    pub(crate) fn start(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.start_ready(now, &mut out);
        out
    }

    /// What follows from `ev`, which happened at `now` (and then whatever may start).
    pub(crate) fn handle(&mut self, now: Instant, ev: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match ev {
            Event::JobEnded(e) => self.job_ended(now, e, &mut out),
            Event::HookEnded { job, hook, failure } => {
                self.pending_hooks = self.pending_hooks.saturating_sub(1);
                if let Some(reason) = failure {
                    self.hook_failed(job, hook, reason, &mut out);
                }
            }
            Event::Signal(sig) => self.on_signal(now, sig, &mut out),
            Event::Tick => {
                if self.kill_at.is_some_and(|k| k <= now) {
                    self.kill_at = None;
                    out.push(Action::SignalJobs(libc::SIGKILL));
                    if let Some(sig) = self.signal {
                        self.deadline_passed = true;
                        let why = format!(
                            "not started: the stop deadline ({} after {}) passed",
                            humantime::format_duration(self.plan.grace),
                            signal_name(sig)
                        );
                        self.abandon_pending(why.into());
                    }
                }
            }
        }
        self.start_ready(now, &mut out);
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

    /// The answer to `Action::Expand`: the jobs of `job`'s dynamic matrix, each with its
    /// result from an earlier run if it was done then (`--resume`), or why there are none.
    pub(crate) fn expanded(
        &mut self,
        now: Instant,
        job: usize,
        jobs: Result<Expansions, String>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.expanding = false;
        let name = self.spec(job).name.clone();
        match jobs {
            Err(why) => {
                out.push(Action::Notice(format!("job '{name}': {why}")));
                let result = JobResult::new(Status::Failed).with_reason(why);
                out.push(Action::Show {
                    job,
                    note: Some(result.note()),
                    last: true,
                });
                if self.plan.fail_fast {
                    self.stop(&mut out);
                }
                self.finalize(job, result, &mut out);
            }
            Ok(list) => {
                if list.is_empty() {
                    let from = self
                        .spec(job)
                        .dynamic
                        .as_ref()
                        .map(|d| d.describe())
                        .unwrap_or_default();
                    out.push(Action::Notice(format!(
                        "matrix of '{name}' has no values ({from}): it makes no jobs"
                    )));
                }
                let first = self.plan.jobs.len() + self.extra.len();
                let into = first..first + list.len();
                self.extra.reserve_exact(list.len());
                self.results.reserve_exact(list.len());
                for (spec, prior) in list {
                    self.extra.push(spec);
                    self.results.push(prior);
                }
                out.push(Action::Expanded {
                    job,
                    into: into.clone(),
                });
                for j in into.clone() {
                    if self.results[j].is_some() {
                        out.push(Action::Resumed { job: j });
                    } else {
                        self.queue.push_back(j);
                    }
                }
                self.expansions.insert(job, into);
                if self.stop_starting {
                    self.settle_pending();
                }
            }
        }
        self.start_ready(now, &mut out);
        out
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
            .chain(self.kill_at)
            .min()
    }

    /// The resource units `job` holds while it runs.
    pub(crate) fn held_units(&self, job: usize) -> &[(u32, u32)] {
        self.running.get(&job).map_or(&[], |&s| &self.held[s - 1])
    }

    /// Every job has ended (or will never start) and every queued hook has run.
    pub(crate) fn done(&self) -> bool {
        let idle = self.running.is_empty()
            && self.pending_hooks == 0
            && self.retries.is_empty()
            && !self.expanding;
        let reached_all = self.next == self.plan.jobs.len()
            && self.blocked.is_empty()
            && self.queue.is_empty()
            && self.none_waiting();
        idle && (reached_all || (self.stop_starting && !self.cleanup_may_run()))
    }

    /// The run was stopped, and cleanup jobs are still to run (or to be decided).
    fn cleanup_may_run(&self) -> bool {
        self.plan.has_cleanup && !self.killed && !self.deadline_passed
    }

    /// Every queued hook has run.
    pub(crate) fn hooks_done(&self) -> bool {
        self.pending_hooks == 0
    }

    /// The run-level hooks (`count` of them) are queued, unless a second signal killed
    /// everything: then nothing more runs.
    pub(crate) fn run_level_hooks(&mut self, count: usize) -> Vec<Action> {
        if self.killed || count == 0 {
            return Vec::new();
        }
        self.pending_hooks += count;
        vec![Action::RunHooks { job: None }]
    }

    /// Job `job`'s result so far (for its hooks).
    pub(crate) fn result(&self, job: usize) -> Option<&JobResult> {
        self.results[job].as_ref()
    }

    /// The first signal, if one came.
    pub(crate) fn signal(&self) -> Option<i32> {
        self.signal
    }

    pub(crate) fn hook_failures(&self) -> &[HookFailure] {
        &self.hook_failures
    }

    /// The final result of each job of `order` (a permutation of every job), in that
    /// order, jobs never started recorded as not run. They are moved out in place (a run
    /// of a million jobs holds them once): `result` knows them no more.
    pub(crate) fn take_results(&mut self, order: &[usize]) -> Vec<JobResult> {
        let why = self.why_not_started();
        let mut results: Vec<JobResult> = std::mem::take(&mut self.results)
            .into_iter()
            .map(|r| r.unwrap_or_else(|| JobResult::not_run(Arc::clone(&why))))
            .collect();
        if order.len() == results.len() {
            permute(&mut results, order);
        } else {
            // Dynamic matrices are not shown themselves (their jobs are): those go last,
            // and are cut off.
            let mut full = order.to_vec();
            let mut shown = vec![false; results.len()];
            for &j in order {
                shown[j] = true;
            }
            full.extend((0..results.len()).filter(|&j| !shown[j]));
            permute(&mut results, &full);
            results.truncate(order.len());
        }
        results
    }

    /// Why the jobs never started did not, once the run ended.
    fn why_not_started(&self) -> Arc<str> {
        match self.signal {
            Some(sig) => format!("not started: interrupted by {}", signal_name(sig)).into(),
            None => "not started: --fail-fast stopped the run".into(),
        }
    }

    /// Whether a slot is free for one more attempt.
    fn slot_free(&self) -> bool {
        match self.plan.mode {
            // One at a time, and a job's hooks end before the next job starts.
            Mode::Sync => self.running.is_empty() && self.pending_hooks == 0,
            Mode::Async => self.running.len() < self.slots.len(),
        }
    }

    /// Starts due retries, then jobs whose needs are met, in file order, while slots are
    /// free; skips jobs whose needs failed.
    fn start_ready(&mut self, now: Instant, out: &mut Vec<Action>) {
        while self.slot_free()
            && let Some(pos) = self
                .retries
                .iter()
                .position(|r| r.at <= now && self.units_free(&self.spec(r.job).opts.uses))
        {
            let r = self.retries.remove(pos);
            self.carried.insert(r.job, r.last);
            self.admit(r.job, r.attempt, out);
        }
        // Once stopped, only cleanup jobs (`when: failure | always`) are left to start.
        if self.expanding || (self.stop_starting && !self.cleanup_may_run()) {
            return;
        }
        self.start_blocked(out);
        self.start_waiting(out);
        while self.slot_free()
            && !self.expanding
            && let Some(job) = self.queue.pop_front()
        {
            self.ready(job, out);
        }
        // In sync mode a job waits for the retries of the one before it.
        let sync = self.plan.mode == Mode::Sync;
        while self.next < self.plan.jobs.len()
            && self.slot_free()
            && !self.expanding
            && self.queue.is_empty()
            && (!sync || self.retries.is_empty())
        {
            let job = self.next;
            self.next += 1;
            if self.results[job].is_some() {
                out.push(Action::Resumed { job });
                continue;
            }
            match self.needs_state(job) {
                NeedsState::Ready => self.ready(job, out),
                NeedsState::Blocked { why, by_condition } => {
                    self.skip(job, why, by_condition, out);
                }
                // (Never in sync mode: a need on a later job is a jobfile error there.)
                NeedsState::Waiting => self.blocked.push(job),
            }
        }
    }

    /// Starts (or skips) the jobs that were waiting on needs, as far as they now can.
    fn start_blocked(&mut self, out: &mut Vec<Action>) {
        let mut changed = true;
        while changed {
            changed = false;
            let mut i = 0;
            while i < self.blocked.len() {
                let job = self.blocked[i];
                match self.needs_state(job) {
                    NeedsState::Blocked { why, by_condition } => {
                        self.blocked.remove(i);
                        self.skip(job, why, by_condition, out);
                        changed = true;
                    }
                    // A job that uses resources waits for them with the others
                    // that do, in file order (a wait holds no slot).
                    NeedsState::Ready if self.waits_for_units(job) => {
                        self.blocked.remove(i);
                        self.ready(job, out);
                    }
                    NeedsState::Ready if self.slot_free() && !self.expanding => {
                        self.blocked.remove(i);
                        self.ready(job, out);
                    }
                    _ => i += 1,
                }
            }
        }
    }

    /// Whether `job`'s needs have ended so that its `when:` holds. A need that is a
    /// dynamic matrix, once expanded, stands for every job it became.
    fn needs_state(&self, job: usize) -> NeedsState {
        use crate::jobfile::When;
        let spec = self.spec(job);
        let when = spec.opts.when;
        let mut waiting = false;
        let mut failed = false;
        for &dep in spec.needs.iter() {
            for e in self.jobs_of(dep) {
                let Some(r) = &self.results[e] else {
                    waiting = true;
                    continue;
                };
                failed |= r.status.is_failure();
                if when == When::Success && r.status != Status::Success {
                    let name = &self.spec(e).name;
                    return NeedsState::Blocked {
                        why: format!("needs '{name}', which {}", r.status.as_verb()),
                        by_condition: r.status == Status::Skipped && r.by_condition,
                    };
                }
            }
        }
        match when {
            _ if waiting => NeedsState::Waiting,
            When::Failure if !failed => NeedsState::Blocked {
                why: "when: failure, and none of its needs failed".to_owned(),
                by_condition: true,
            },
            _ => NeedsState::Ready,
        }
    }

    /// Records a job as skipped and runs its hooks.
    fn skip(&mut self, job: usize, why: String, by_condition: bool, out: &mut Vec<Action>) {
        out.push(Action::Notice(format!(
            "job '{}' skipped: {why}",
            self.spec(job).name
        )));
        let mut result = JobResult::new(Status::Skipped).with_reason(format!("skipped: {why}"));
        result.by_condition = by_condition;
        out.push(Action::Show {
            job,
            note: None,
            last: true,
        });
        self.finalize(job, result, out);
    }

    /// A job whose needs succeeded: started, unless an output its `env` uses is
    /// missing — then it fails without starting, with the reason.
    fn ready(&mut self, job: usize, out: &mut Vec<Action>) {
        if self.spec(job).dynamic.is_some() {
            self.expanding = true;
            out.push(Action::Expand { job });
            return;
        }
        let Some(why) = self.missing_output(job) else {
            if !self.waits_for_units(job) {
                self.launch(job, 1, out);
            } else if !(self.slot_free()
                && !self.expanding
                && self.none_waiting()
                && self.admit(job, 1, out))
            {
                // Behind the jobs already waiting for units: the earliest in the file
                // whose units are free goes first.
                self.wait_for_units(job);
                self.start_waiting(out);
            }
            return;
        };
        let spec = &self.spec(job);
        out.push(Action::Notice(format!(
            "job '{}' did not start: {why}",
            spec.name
        )));
        let result = JobResult::new(Status::Failed).with_reason(format!("did not start: {why}"));
        out.push(Action::Show {
            job,
            note: Some(result.note()),
            last: true,
        });
        if self.plan.fail_fast {
            self.stop(out);
        }
        self.finalize(job, result, out);
    }

    /// The first output a job's `env` uses that its job did not write, in words.
    fn missing_output(&self, job: usize) -> Option<String> {
        for t in &self.spec(job).opts.templates {
            let found =
                |j: usize, key: &str| -> Option<&str> { self.results[j].as_ref()?.output(key) };
            if let Err((name, key)) = t.render(found) {
                return Some(format!(
                    "its env {} uses output '{key}' of '{name}', which '{name}' did not write",
                    t.var
                ));
            }
        }
        None
    }

    /// Starts attempt `attempt` of `job` if the units it uses are free (taking them,
    /// lowest first); `false` if they are not. The caller saw that a slot is free.
    fn admit(&mut self, job: usize, attempt: u32, out: &mut Vec<Action>) -> bool {
        let opts = Arc::clone(&self.spec(job).opts);
        if opts.uses.is_empty() {
            self.launch(job, attempt, out);
            return true;
        }
        if !self.units_free(&opts.uses) {
            return false;
        }
        let units = self.take_units(&opts.uses);
        let slot = self.launch(job, attempt, out);
        self.held[slot - 1] = units;
        true
    }

    /// Whether `job` takes units, so starts through the waiting groups.
    fn waits_for_units(&self, job: usize) -> bool {
        let spec = self.spec(job);
        !spec.opts.uses.is_empty() && spec.dynamic.is_none()
    }

    fn none_waiting(&self) -> bool {
        self.waiting.iter().all(|(_, w)| w.is_empty())
    }

    fn units_free(&self, claim: &[(usize, u32)]) -> bool {
        claim.iter().all(|&(r, n)| self.free_count[r] >= n)
    }

    /// The units of `claim`, lowest free first, taken.
    fn take_units(&mut self, claim: &[(usize, u32)]) -> Units {
        let total = claim.iter().map(|&(_, n)| n as usize).sum();
        let mut taken = Vec::with_capacity(total);
        for &(r, n) in claim {
            let mut left = n;
            for (u, free) in self.free[r].iter_mut().enumerate() {
                if left == 0 {
                    break;
                }
                if *free {
                    *free = false;
                    taken.push((r as u32, u as u32));
                    left -= 1;
                }
            }
            self.free_count[r] -= n;
        }
        taken.into_boxed_slice()
    }

    /// The units the job in `slot` held, given back.
    fn release_units(&mut self, slot: usize) -> Units {
        let units = std::mem::take(&mut self.held[slot - 1]);
        for &(r, u) in units.iter() {
            self.free[r as usize][u as usize] = true;
            self.free_count[r as usize] += 1;
        }
        units
    }

    /// Where a job whose needs allow it to start waits for its units: with the jobs
    /// that ask for the same, in file order.
    fn wait_for_units(&mut self, job: usize) {
        let rank = self.rank(job);
        let claim = &self.spec(job).opts.uses;
        match self.waiting.iter().position(|(c, _)| c == claim) {
            Some(g) => {
                self.waiting[g].1.insert(rank);
            }
            None => {
                let claim = claim.clone();
                self.waiting.push((claim, BTreeSet::from([rank])));
            }
        }
    }

    /// Starts waiting jobs whose units are free, earliest in the file first, while
    /// slots are free. Each admission looks at one job per group: O(groups).
    fn start_waiting(&mut self, out: &mut Vec<Action>) {
        while self.slot_free() && !self.expanding {
            let best = self
                .waiting
                .iter()
                .enumerate()
                .filter_map(|(g, (claim, w))| {
                    let &first = w.first()?;
                    self.units_free(claim).then_some((first, g))
                })
                .min();
            let Some(((_, job), g)) = best else { break };
            self.waiting[g].1.pop_first();
            self.admit(job, 1, out);
        }
    }

    /// A job's place in file order: its position in the jobfile, then (for the jobs
    /// of a matrix) its own.
    fn rank(&self, job: usize) -> (usize, usize) {
        (self.spec(job).index as usize, job)
    }

    /// Starts attempt `attempt` of `job` in the lowest free slot; returns the slot.
    fn launch(&mut self, job: usize, attempt: u32, out: &mut Vec<Action>) -> usize {
        let free = self.slots.iter().position(|taken| !taken).unwrap_or(0);
        self.slots[free] = true;
        self.running.insert(job, free + 1);
        out.push(Action::Start {
            job,
            slot: free + 1,
            attempt,
        });
        free + 1
    }

    fn job_ended(&mut self, now: Instant, e: Ended, out: &mut Vec<Action>) {
        let Ended {
            job,
            attempt,
            finished,
            status,
            log,
            log_error,
            outputs,
        } = e;
        let slot = self.running.remove(&job);
        if let Some(s) = slot {
            self.slots[s - 1] = false;
        }
        let units = slot.map(|s| self.release_units(s)).unwrap_or_default();
        // The stop deadline stays while cleanup jobs may still start: it bounds them.
        if self.running.is_empty() && !(self.stop_starting && self.cleanup_may_run()) {
            self.kill_at = None;
        }
        let carried = self.carried.remove(&job);
        let spec = self.spec(job);
        if let (Some(why), Some(path)) = (&log_error, &log) {
            out.push(Action::Notice(format!(
                "job '{}': its log {} is incomplete: {why}",
                spec.name,
                path.display()
            )));
        }
        let (outputs, bad_outputs) = match outputs {
            Ok(o) => (o, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        let reason = if let Some(why) = bad_outputs {
            Some(why)
        } else if finished.timed_out {
            let t = spec.opts.timeout.unwrap_or_default();
            Some(format!("timed out after {}", humantime::format_duration(t)))
        } else if finished.leftovers {
            Some("left processes running after it exited; they were terminated".to_owned())
        } else {
            finished.error.clone()
        };
        let mut more = More {
            log,
            log_error,
            outputs,
            units,
            ..More::default()
        };
        if let Some(mut prev) = carried {
            let last = prev.finished();
            let before = prev.take_more();
            more.log_error = before.log_error.or(more.log_error);
            more.earlier = before.earlier;
            if let Some(f) = last {
                more.earlier.push(EarlierAttempt {
                    status: prev.status,
                    finished: f,
                });
            }
        }
        let mut result = JobResult::new(status).with_more(more);
        if let Some(why) = reason {
            result.set_reason(why);
        }
        result.attempts = attempt;
        result.set_finished(slot, finished);
        if let Some(why) = result.reason() {
            out.push(Action::Notice(format!("job '{}': {why}", spec.name)));
        }
        // Nothing is retried once the run is stopping (--fail-fast, or a signal: an
        // interrupted attempt always ends the job).
        let retry = status != Status::Success
            && !self.stop_starting
            && spec.opts.retry.retry_after(attempt, result.exit_code());
        if retry {
            let delay = spec.opts.retry.delay_after(attempt);
            let of = spec.opts.retry.retries + 1;
            let note = format!("attempt {attempt}/{of} {}", result.note());
            out.push(Action::Notice(format!(
                "job '{}' {note}; retrying in {}",
                spec.name,
                humantime::format_duration(delay)
            )));
            out.push(Action::Show {
                job,
                note: Some(note),
                last: false,
            });
            self.retries.push(Retry {
                at: executor::after(now, delay),
                job,
                attempt: attempt + 1,
                last: result,
            });
            return;
        }
        out.push(Action::Show {
            job,
            note: (status != Status::Success).then(|| result.note()),
            last: true,
        });
        if status != Status::Success && self.plan.fail_fast {
            self.stop(out);
        }
        self.finalize(job, result, out);
    }

    /// Starts no new job or retry; a job waiting for its retry keeps its last result,
    /// and its reason says that its retries were cancelled, and why.
    fn stop(&mut self, out: &mut Vec<Action>) {
        self.stop_starting = true;
        let cause = match self.signal {
            Some(sig) => format!("interrupted by {}", signal_name(sig)),
            None => "--fail-fast stopped the run".to_owned(),
        };
        for mut r in std::mem::take(&mut self.retries) {
            let spec = &self.spec(r.job);
            let cancelled = format!(
                "its retries were cancelled after attempt {}/{}: {cause}",
                r.attempt - 1,
                spec.opts.retry.retries + 1
            );
            let reason = match r.last.reason() {
                Some(why) => format!("{why}; {cancelled}"),
                None => cancelled,
            };
            out.push(Action::Notice(format!("job '{}': {reason}", spec.name)));
            r.last.set_reason(reason);
            out.push(Action::Show {
                job: r.job,
                note: Some(r.last.note()),
                last: true,
            });
            self.finalize(r.job, r.last, out);
        }
        self.settle_pending();
    }

    /// Once the run is stopped: every job not started yet that is not a cleanup job
    /// will never start (not run); cleanup jobs wait for their needs to end, in file
    /// order. Without cleanup jobs nothing is moved (the end records the rest).
    fn settle_pending(&mut self) {
        if !self.plan.has_cleanup {
            return;
        }
        let n = self.plan.jobs.len();
        let mut pending: Vec<usize> = (self.next..n)
            .filter(|&j| self.results[j].is_none())
            .collect();
        self.next = n;
        pending.append(&mut self.blocked);
        pending.extend(self.queue.drain(..));
        for (_, w) in &mut self.waiting {
            pending.extend(std::mem::take(w).into_iter().map(|(_, j)| j));
        }
        let why = self.why_not_started();
        for j in pending {
            if self.cleanup_may_run() && self.spec(j).opts.when.is_cleanup() {
                self.blocked.push(j);
            } else {
                self.results[j] = Some(JobResult::not_run(Arc::clone(&why)));
            }
        }
        let mut blocked = std::mem::take(&mut self.blocked);
        blocked.sort_by_key(|&j| self.rank(j));
        self.blocked = blocked;
    }

    /// Cleanup jobs not started yet never will (a second signal, or the deadline).
    fn abandon_pending(&mut self, why: Arc<str>) {
        let mut pending = std::mem::take(&mut self.blocked);
        pending.extend(self.queue.drain(..));
        for (_, w) in &mut self.waiting {
            pending.extend(std::mem::take(w).into_iter().map(|(_, j)| j));
        }
        for j in pending {
            if self.results[j].is_none() {
                self.results[j] = Some(JobResult::not_run(Arc::clone(&why)));
            }
        }
    }

    /// Records a job's final result and queues its hooks.
    fn finalize(&mut self, job: usize, result: JobResult, out: &mut Vec<Action>) {
        let hooks = self.spec(job).opts.hooks.for_result(&result).len();
        if !self.killed && hooks > 0 {
            self.pending_hooks += hooks;
            self.results[job] = Some(result);
            out.push(Action::RunHooks { job: Some(job) });
            return;
        }
        self.results[job] = Some(result);
    }

    fn hook_failed(
        &mut self,
        job: Option<usize>,
        hook: &'static str,
        reason: String,
        out: &mut Vec<Action>,
    ) {
        let (msg, title) = match job {
            Some(j) => {
                let name = &self.spec(j).name;
                (
                    format!("hook {hook} of '{name}' failed: {reason}"),
                    format!("prun: hook {hook} of job {name} failed"),
                )
            }
            None => (
                format!("run-level hook {hook} failed: {reason}"),
                format!("prun: run-level hook {hook} failed"),
            ),
        };
        out.push(Action::Notice(msg));
        out.push(Action::HookFailed {
            title,
            reason: reason.clone(),
        });
        let job = job.map(|j| self.spec(j).name.clone());
        self.hook_failures.push(HookFailure { job, hook, reason });
    }

    /// The first SIGINT/SIGTERM/SIGHUP stops the run gently: nothing new starts, running
    /// jobs get the signal and SIGKILL after the grace period, and every hook still to
    /// run (the one running now included) gets at most the grace period. A second
    /// signal, of any kind, kills every job and hook at once and runs no more hooks.
    fn on_signal(&mut self, now: Instant, sig: i32, out: &mut Vec<Action>) {
        let name = signal_name(sig);
        if self.signal.is_some() {
            self.killed = true;
            self.stop(out);
            self.kill_at = None;
            self.pending_hooks = 0;
            out.push(Action::SignalJobs(libc::SIGKILL));
            out.push(Action::KillHooks);
            out.push(Action::Notice(format!(
                "{name}, a second signal: killed every job and hook; no more hooks run"
            )));
            return;
        }
        self.signal = Some(sig);
        self.stop(out);
        out.push(Action::SignalJobs(sig));
        out.push(Action::LimitHooks);
        let grace = humantime::format_duration(self.plan.grace);
        let hooks = format!("each hook still to run gets at most {grace}");
        let cleanup = if self.cleanup_may_run() && !self.blocked.is_empty() {
            // Cleanup jobs may start until the deadline, and are killed at it.
            self.kill_at = Some(executor::after(now, self.plan.grace));
            let n = self.blocked.len();
            format!(
                "; {n} cleanup job{} (when: failure/always) may start within {grace}",
                if n == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        let msg = if self.running.is_empty() {
            format!("{name}: no job is running{cleanup}; {hooks} (send a signal again to kill now)")
        } else {
            self.kill_at = Some(executor::after(now, self.plan.grace));
            let n = self.running.len();
            format!(
                "{name}: starting no new jobs; sent {name} to {n} running job{}, SIGKILL in {grace}{cleanup}; {hooks} (send a signal again to kill now)",
                if n == 1 { "" } else { "s" },
            )
        };
        out.push(Action::Notice(msg));
    }
}

/// Puts `items` in `order` in place: `items[i]` becomes what was `items[order[i]]`
/// (`order` is a permutation). Follows each cycle once, with one bit per item.
fn permute<T>(items: &mut [T], order: &[usize]) {
    debug_assert_eq!(items.len(), order.len());
    if order.iter().enumerate().all(|(i, &o)| i == o) {
        return;
    }
    let mut done = vec![false; items.len()];
    for start in 0..items.len() {
        if done[start] {
            continue;
        }
        // Position i takes from order[i]: walk the cycle, swapping forward.
        let mut i = start;
        done[i] = true;
        while order[i] != start {
            items.swap(i, order[i]);
            i = order[i];
            done[i] = true;
        }
    }
}
