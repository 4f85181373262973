//! The coordinator: the one place that decides what runs next and the only writer of run
//! state. It hands jobs to the pool in file order as slots (and the mode) allow, takes the
//! workers', the hook runner's and the signal watch's events, prints through
//! `report::terminal`, queues each ended job's hooks, and at the end the run-level hooks.
//!
//! Signals (DESIGN.md §2): the first SIGINT/SIGTERM/SIGHUP starts nothing new, forwards
//! the signal to every running job's process group and SIGKILLs what is left after the
//! grace period; hooks of the interrupted jobs and the run-level hooks still run. A second
//! signal kills every job group and the running hook at once and runs no more hooks.

use crate::cli::OutputMode;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender as Sender};
use std::time::{Duration, Instant, SystemTime};

use crate::error::Error;
use crate::event::Ended;
use crate::event::Event;
use crate::executor::cgroup::{self, RunCgroup};
use crate::executor::local;
use crate::executor::spawn::EnvBase;
use crate::executor::{self, Finished, StopClock, signal_name};
use crate::hooks::{self, HookRunner, HookShell, HookTask};
use crate::jobfile::Mode;
use crate::keeper::Keeper;
use crate::plan::Plan;
use crate::pool::{self, Attempt, DirectStream, Pool, RunContext};
use crate::report::joblog::Joblog;
use crate::report::spool::Spool;
use crate::report::terminal::{Terminal, TerminalOptions};
use crate::report::{
    AttemptRecord, EarlierAttempt, HookFailure, JobResult, RunSummary, Status, console, json,
};
use crate::signals;

/// How many events may wait for the scheduler before their senders block.
const EVENT_QUEUE: usize = 64;

/// Runs the plan to its end and returns what happened.
///
/// `prior[i]` is job i's result from an earlier run (`--resume`): such a job is not run.
pub(crate) fn run(
    plan: Arc<Plan>,
    run_id: String,
    prior: Vec<Option<JobResult>>,
    joblog: Option<Joblog>,
) -> Result<RunSummary, Error> {
    local::become_subreaper();
    signals::ignore_file_size_signal();
    // More workers than jobs could never be busy: a short jobfile starts fewer threads.
    let workers = if plan.mode == Mode::Sync {
        1
    } else {
        plan.concurrency.min(plan.jobs.len()).max(1)
    };
    // First, while prun still has one thread: the keeper is forked. It knows where the
    // run's cgroup goes before it exists, so it is never left behind.
    let cgroup_path = cgroup::run_path();
    let keeper = match Keeper::spawn(plan.grace, cgroup_path.as_deref()) {
        Ok(k) => Some(k),
        Err(e) => {
            console::eprint(&format!(
                "prun: warning: cannot start the keeper ({e}); if prun is killed with SIGKILL its jobs will keep running\n"
            ));
            None
        }
    };
    // Where cgroups can be made, each slot's jobs are contained in one (see
    // `executor::cgroup`); else process groups alone.
    let cgroup = cgroup_path.and_then(|p| RunCgroup::create(p, workers));
    // Bounded: a job writing faster than prun can print waits, instead of prun's memory
    // growing (each event carries at most 64 KiB of output).
    let (tx, rx) = mpsc::sync_channel(EVENT_QUEUE);
    let _signals =
        signals::watch(tx.clone()).map_err(|e| Error::io("installing signal handlers", e))?;
    let pool = Pool::new(workers)
        .map_err(|e| Error::io("starting the worker pool", std::io::Error::other(e)))?;
    let ctx = Arc::new(RunContext {
        plan: Arc::clone(&plan),
        run_id: Arc::from(run_id.as_str()),
        keeper,
        keep_tail: plan.junit.is_some(),
        stream_group: !plan.keep_order && !plan.quiet,
        env_base: EnvBase::capture(),
        groups: (0..workers).map(|_| AtomicI32::new(0)).collect(),
        stop_signal: AtomicI32::new(0),
        direct: DirectStream::default(),
        joblog,
        stop_clock: StopClock::new().ok(),
        cgroup,
    });
    let hook_shell = HookShell {
        shell: plan.shell.clone(),
        capture: pool::capture_for(plan.output, false),
        grace: plan.grace,
        ctx: Arc::clone(&ctx),
    };
    let hooks = HookRunner::new(hook_shell, tx.clone());
    let names: Arc<[Arc<str>]> = plan.jobs.iter().map(|j| Arc::clone(&j.name)).collect();
    let mut s = Scheduler {
        terminal: Terminal::new(
            TerminalOptions {
                mode: plan.output,
                keep_order: plan.keep_order,
                quiet: plan.quiet,
                github: plan.github,
                progress: plan.progress,
            },
            names.clone(),
        ),
        results: prior,
        carried: HashMap::new(),
        attempts: Vec::new(),
        lost: Vec::new(),
        tails: vec![
            Vec::new();
            if plan.junit.is_some() {
                plan.jobs.len()
            } else {
                0
            }
        ],
        slots: vec![false; workers],
        slot_of: HashMap::new(),
        running: HashSet::new(),
        next: 0,
        blocked: Vec::new(),
        retries: Vec::new(),
        pending_hooks: 0,
        stop_starting: false,
        hook_failures: Vec::new(),
        direct_streams: plan.output == OutputMode::Group && ctx.stream_group && !plan.progress,
        passed_on: HashMap::new(),
        signal: None,
        killed: false,
        kill_at: None,
        run_id: Arc::from(run_id.as_str()),
        ctx,
        plan,
        pool,
        hooks,
        tx,
        started: SystemTime::now(),
        clock: Instant::now(),
    };
    s.drive(&rx, |s| s.all_done());
    let mut summary = s.summary(names, run_id);
    summary.output_errors = s.output_errors(&summary.results);
    s.run_level_hooks(&rx, &mut summary);
    // A failure to write stdout while the run-level hooks printed counts too.
    summary.output_errors = s.output_errors(&summary.results);
    s.terminal.finish();
    if summary.exit_code() != 0 {
        s.terminal.flush_notices();
    }
    summary.attempts = std::mem::take(&mut s.attempts);
    summary.tails = std::mem::take(&mut s.tails);
    summary.hook_failures = std::mem::take(&mut s.hook_failures);
    summary.signal = s.signal;
    summary.duration = s.clock.elapsed();
    // Nobody reads events any more: let a sender that is still blocked fail at once, so
    // the hook and signal threads can be joined.
    drop(rx);
    drop(s);
    Ok(summary)
}

/// A failed attempt whose job will be tried again at `at`.
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
    /// A need did not succeed; the reason to record.
    Blocked(String),
}

struct Scheduler {
    plan: Arc<Plan>,
    run_id: Arc<str>,
    ctx: Arc<RunContext>,
    pool: Pool,
    hooks: HookRunner,
    tx: Sender<Event>,
    terminal: Terminal,
    results: Vec<Option<JobResult>>,
    /// The previous attempt of each job being retried: its history goes into the
    /// result of the next one.
    carried: HashMap<usize, JobResult>,
    /// `slots[i]` is true while slot i+1 is taken.
    slots: Vec<bool>,
    slot_of: HashMap<usize, usize>,
    /// Running jobs (their process groups are in `ctx.groups`, by slot).
    running: HashSet<usize>,
    /// The next job to start, in file order.
    next: usize,
    /// Jobs reached in file order whose needs have not all ended yet.
    blocked: Vec<usize>,
    /// Failed attempts waiting for their retry.
    retries: Vec<Retry>,
    pending_hooks: usize,
    stop_starting: bool,
    hook_failures: Vec<HookFailure>,
    /// Every ended attempt, for the timeline.
    attempts: Vec<AttemptRecord>,
    /// Other things prun could not deliver (see `output_errors`).
    lost: Vec<String>,
    /// The end of each job's output, for the JUnit report.
    tails: Vec<Vec<u8>>,
    /// Group mode without a progress bar (which draws between blocks): the owner of
    /// stdout may print its block itself (`pool::DirectStream`).
    direct_streams: bool,
    /// Chunks each streaming job has passed on, for `DirectStream` tokens.
    passed_on: HashMap<usize, u32>,
    /// The first signal received, if any.
    signal: Option<i32>,
    /// A second signal came: everything was killed, no more hooks run.
    killed: bool,
    /// When the jobs still running after the first signal get SIGKILL.
    kill_at: Option<Instant>,
    started: SystemTime,
    clock: Instant,
}

impl Scheduler {
    /// Starts what may start, then handles events until `done` holds.
    fn drive(&mut self, rx: &Receiver<Event>, done: impl Fn(&Self) -> bool) {
        loop {
            self.start_ready();
            if done(self) {
                return;
            }
            let wake = self.retries.iter().map(|r| r.at).chain(self.kill_at).min();
            let ev = match wake {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            match ev {
                Ok(ev) => self.handle(ev),
                Err(RecvTimeoutError::Timeout) => {
                    if self.kill_at.is_some_and(|k| k <= Instant::now()) {
                        self.grace_expired();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Every job has ended (or will never start) and every queued hook has run.
    fn all_done(&self) -> bool {
        let idle = self.running.is_empty() && self.pending_hooks == 0 && self.retries.is_empty();
        let reached_all = self.next == self.plan.jobs.len() && self.blocked.is_empty();
        idle && (reached_all || self.stop_starting)
    }

    /// Whether a slot is free for one more attempt.
    fn slot_free(&self) -> bool {
        match self.plan.mode {
            Mode::Sync => self.running.is_empty() && self.pending_hooks == 0,
            Mode::Async => self.running.len() < self.slots.len(),
        }
    }

    /// Starts due retries, then jobs whose needs are met, in file order, while slots are
    /// free; skips jobs whose needs failed.
    fn start_ready(&mut self) {
        let now = Instant::now();
        while self.slot_free()
            && let Some(pos) = self.retries.iter().position(|r| r.at <= now)
        {
            let r = self.retries.remove(pos);
            self.carried.insert(r.job, r.last);
            self.launch(r.job, r.attempt);
        }
        if self.stop_starting {
            return;
        }
        self.start_blocked();
        // In sync mode a job waits for the retries of the one before it.
        let sync = self.plan.mode == Mode::Sync;
        while self.next < self.plan.jobs.len()
            && self.slot_free()
            && (!sync || self.retries.is_empty())
        {
            let job = self.next;
            self.next += 1;
            if self.results[job].is_some() {
                // Done in an earlier run (--resume): nothing to print, but the terminal
                // must not wait for it (--keep-order) and the progress counts it.
                self.terminal.job_ended(job, Spool::new(), None, true);
                continue;
            }
            match self.needs_state(job) {
                NeedsState::Ready => self.launch(job, 1),
                NeedsState::Blocked(why) => self.skip(job, why),
                // (Never in sync mode: a need on a later job is a jobfile error there.)
                NeedsState::Waiting => self.blocked.push(job),
            }
        }
    }

    /// Starts (or skips) the jobs that were waiting on needs, as far as they now can.
    fn start_blocked(&mut self) {
        let mut changed = true;
        while changed {
            changed = false;
            let mut i = 0;
            while i < self.blocked.len() {
                let job = self.blocked[i];
                match self.needs_state(job) {
                    NeedsState::Blocked(why) => {
                        self.blocked.remove(i);
                        self.skip(job, why);
                        changed = true;
                    }
                    NeedsState::Ready if self.slot_free() => {
                        self.blocked.remove(i);
                        self.launch(job, 1);
                    }
                    _ => i += 1,
                }
            }
        }
    }

    fn needs_state(&self, job: usize) -> NeedsState {
        let mut waiting = false;
        for &dep in &self.plan.jobs[job].needs {
            match &self.results[dep] {
                Some(r) if r.status == Status::Success => {}
                Some(r) => {
                    let name = &self.plan.jobs[dep].name;
                    return NeedsState::Blocked(format!(
                        "skipped: needs '{name}', which {}",
                        r.status.as_verb()
                    ));
                }
                None => waiting = true,
            }
        }
        if waiting {
            NeedsState::Waiting
        } else {
            NeedsState::Ready
        }
    }

    /// Records a job as skipped and runs its hooks.
    fn skip(&mut self, job: usize, why: String) {
        let msg = format!("job '{}' {why}", self.plan.jobs[job].name);
        self.terminal.notice(&msg);
        let result = JobResult {
            reason: Some(why),
            ..JobResult::new(Status::Skipped)
        };
        self.terminal.job_ended(job, Spool::new(), None, true);
        self.finalize(job, result);
    }

    fn launch(&mut self, job: usize, attempt: u32) {
        let slot = self.slots.iter().position(|taken| !taken).unwrap_or(0);
        self.slots[slot] = true;
        self.slot_of.insert(job, slot + 1);
        self.running.insert(job);
        self.terminal.job_started(job);
        let a = Attempt {
            job,
            slot: slot + 1,
            attempt,
        };
        self.pool.start(&self.ctx, a, &self.tx);
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Output { job, bytes } => {
                self.terminal.job_output(job, &bytes);
                if self.direct_streams {
                    let n = self.passed_on.entry(job).or_default();
                    *n = n.wrapping_add(1);
                    self.publish_direct();
                }
            }
            Event::Ended(mut e) => {
                let job = e.job;
                if let Some(t) = self.tails.get_mut(job) {
                    *t = std::mem::take(&mut e.tail);
                }
                if let Some(err) = e.stdout_error.take() {
                    self.terminal.stdout_failed(err);
                }
                if self.direct_streams {
                    if let Some(b) = e.direct_last {
                        self.terminal.owner_wrote(job, b);
                    }
                    self.passed_on.remove(&job);
                }
                self.job_ended(*e);
                if self.direct_streams {
                    self.publish_direct();
                }
            }
            Event::HookDone {
                job,
                hook,
                finished,
                output,
            } => {
                self.pending_hooks = self.pending_hooks.saturating_sub(1);
                let owner = job.map_or("run", |j| &*self.plan.jobs[j].name);
                let timeout = job.map_or(self.plan.hook_timeout, |j| {
                    self.plan.jobs[j].opts.hook_timeout
                });
                let failed = hooks::failure_reason(&finished, timeout, self.plan.grace).is_some();
                self.terminal.hook_output(owner, hook, &output, failed);
                self.record_hook(job, hook, &finished, timeout);
            }
            Event::Signal(sig) => self.on_signal(sig),
        }
    }

    /// Tells workers which job owns stdout and how many of its chunks are printed (see
    /// `pool::DirectStream`).
    fn publish_direct(&mut self) {
        let token = self.terminal.owner().map_or(0, |job| {
            DirectStream::token(job, self.passed_on.get(&job).copied().unwrap_or(0))
        });
        self.ctx.direct.publish(token);
    }

    /// The first SIGINT/SIGTERM/SIGHUP stops the run gently: nothing new starts, running
    /// jobs get the signal and SIGKILL after the grace period, and every hook still to
    /// run (the one running now included) gets at most the grace period. A second
    /// signal, of any kind, kills every job and hook at once.
    fn on_signal(&mut self, sig: i32) {
        let name = signal_name(sig);
        if self.signal.is_some() {
            self.kill_everything();
            self.terminal.notice(&format!(
                "{name}, a second signal: killed every job and hook; no more hooks run"
            ));
            return;
        }
        self.signal = Some(sig);
        self.stop();
        self.ctx.stop_signal.store(sig, Ordering::SeqCst);
        self.ctx.signal_running(sig);
        if let Some(clock) = &self.ctx.stop_clock {
            clock.stop_now();
        }
        let grace = humantime::format_duration(self.plan.grace);
        let hooks = format!("each hook still to run gets at most {grace}");
        let msg = if self.running.is_empty() {
            format!("{name}: no job is running; {hooks} (send a signal again to kill now)")
        } else {
            self.kill_at = Some(executor::after(Instant::now(), self.plan.grace));
            let n = self.running.len();
            format!(
                "{name}: starting no new jobs; sent {name} to {n} running job{}, SIGKILL in {grace}; {hooks} (send a signal again to kill now)",
                if n == 1 { "" } else { "s" },
            )
        };
        self.terminal.notice(&msg);
    }

    fn kill_everything(&mut self) {
        self.killed = true;
        self.stop();
        self.kill_at = None;
        self.ctx.stop_signal.store(libc::SIGKILL, Ordering::SeqCst);
        self.ctx.signal_running(libc::SIGKILL);
        self.hooks.cancel();
        if let Some(c) = &self.ctx.cgroup {
            c.hooks().signal(libc::SIGKILL);
        }
        self.pending_hooks = 0;
    }

    /// The grace period after the first signal is over: SIGKILL what is left.
    fn grace_expired(&mut self) {
        self.kill_at = None;
        self.ctx.stop_signal.store(libc::SIGKILL, Ordering::SeqCst);
        self.ctx.signal_running(libc::SIGKILL);
    }

    fn job_ended(&mut self, e: Ended) {
        let Ended {
            job,
            attempt,
            finished,
            status,
            output,
            log_error,
            ..
        } = e;
        self.running.remove(&job);
        let slot = self.slot_of.remove(&job);
        if let Some(s) = slot {
            self.slots[s - 1] = false;
        }
        if self.running.is_empty() {
            self.kill_at = None;
        }
        let spec = &self.plan.jobs[job];
        let mut reason = finished.error.clone();
        if finished.timed_out {
            let t = spec.opts.timeout.unwrap_or_default();
            reason = Some(format!("timed out after {}", humantime::format_duration(t)));
        } else if finished.leftovers {
            reason = Some("left processes running after it exited; they were terminated".into());
        }
        let log = pool::log_path(&self.plan, spec);
        if let (Some(why), Some(path)) = (&log_error, &log) {
            let msg = format!(
                "job '{}': its log {} is incomplete: {why}",
                spec.name,
                path.display()
            );
            self.terminal.notice(&msg);
        }
        let mut result = JobResult {
            attempts: attempt,
            slot,
            finished: Some(finished),
            reason,
            log,
            log_error,
            ..JobResult::new(status)
        };
        if let Some(prev) = self.carried.remove(&job) {
            result.log_error = prev.log_error.clone().or(result.log_error);
            result.earlier = prev.earlier;
            if let Some(f) = prev.finished {
                result.earlier.push(EarlierAttempt {
                    status: prev.status,
                    finished: f,
                });
            }
        }
        let retry = status != Status::Success
            && status != Status::Interrupted
            && !self.stop_starting
            && spec.opts.retry.retry_after(attempt, result.exit_code());
        if self.plan.timeline.is_some() {
            let f = result.finished.as_ref().expect("set above");
            let record = AttemptRecord::new(spec, attempt, slot.unwrap_or(1), f, status);
            self.attempts.push(record);
        }
        if let Some(why) = &result.reason {
            let msg = format!("job '{}': {why}", spec.name);
            self.terminal.notice(&msg);
        }
        if retry {
            let delay = spec.opts.retry.delay_after(attempt);
            let of = spec.opts.retry.retries + 1;
            let msg = format!(
                "job '{}' attempt {attempt}/{of} {}; retrying in {}",
                spec.name,
                outcome_note(&result),
                humantime::format_duration(delay)
            );
            self.terminal.notice(&msg);
            let note = format!("attempt {attempt}/{of} {}", outcome_note(&result));
            self.terminal.job_ended(job, output, Some(&note), false);
            self.retries.push(Retry {
                at: executor::after(Instant::now(), delay),
                job,
                attempt: attempt + 1,
                last: result,
            });
            return;
        }
        let note = (status != Status::Success).then(|| outcome_note(&result));
        self.terminal.job_ended(job, output, note.as_deref(), true);
        if status != Status::Success && self.plan.fail_fast {
            self.stop();
        }
        self.finalize(job, result);
    }

    /// Starts no new job or retry; a job waiting for its retry keeps its last result,
    /// and its reason says that its retries were cancelled, and why.
    fn stop(&mut self) {
        self.stop_starting = true;
        let cause = match self.signal {
            Some(sig) => format!("interrupted by {}", signal_name(sig)),
            None => "--fail-fast stopped the run".to_owned(),
        };
        for mut r in std::mem::take(&mut self.retries) {
            let of = self.plan.jobs[r.job].opts.retry.retries + 1;
            let cancelled = format!(
                "its retries were cancelled after attempt {}/{of}: {cause}",
                r.attempt - 1
            );
            r.last.reason = Some(match r.last.reason.take() {
                Some(why) => format!("{why}; {cancelled}"),
                None => cancelled,
            });
            let msg = format!(
                "job '{}': {}",
                self.plan.jobs[r.job].name,
                r.last.reason.as_deref().unwrap_or("")
            );
            self.terminal.notice(&msg);
            let note = outcome_note(&r.last);
            self.terminal
                .job_ended(r.job, Spool::new(), Some(&note), true);
            self.finalize(r.job, r.last);
        }
    }

    /// Records a job's final result and queues its hooks.
    fn finalize(&mut self, job: usize, result: JobResult) {
        if !self.killed {
            self.queue_hooks(job, &result);
        }
        self.results[job] = Some(result);
    }

    fn queue_hooks(&mut self, job: usize, result: &JobResult) {
        let spec = &self.plan.jobs[job];
        let hooks = owned(
            spec.opts
                .hooks
                .for_outcome(result.status == Status::Success),
        );
        if hooks.is_empty() {
            return;
        }
        let mut env = pool::job_env(
            spec,
            result.slot.unwrap_or(0),
            result.attempts,
            &self.run_id,
        );
        env.extend(result_env(result));
        let workdir = if spec.workdir.is_dir() {
            spec.workdir.to_path_buf()
        } else {
            self.plan.workdir.clone()
        };
        self.pending_hooks += hooks.len();
        let task = HookTask {
            job: Some(job),
            hooks,
            env,
            // One line, ending with a newline, so `read -r` in a hook gets all of it.
            stdin: format!("{}\n", json::job(spec, result)).into_bytes(),
            workdir,
            timeout: spec.opts.hook_timeout,
        };
        self.submit_hooks(task);
    }

    /// Queues hooks; if the hook thread cannot even start, they are reported as failed.
    fn submit_hooks(&mut self, task: HookTask) {
        let (job, names): (Option<usize>, Vec<&'static str>) =
            (task.job, task.hooks.iter().map(|h| h.0).collect());
        if let Err(e) = self.hooks.submit(task) {
            self.pending_hooks = self.pending_hooks.saturating_sub(names.len());
            for hook in names {
                let reason = format!("cannot start the hook runner: {e}");
                self.terminal.notice(&reason);
                self.hook_failures.push(HookFailure { job, hook, reason });
            }
        }
    }

    fn record_hook(
        &mut self,
        job: Option<usize>,
        hook: &'static str,
        f: &Finished,
        timeout: Duration,
    ) {
        if let Some(reason) = hooks::failure_reason(f, timeout, self.plan.grace) {
            let (msg, title) = match job {
                Some(j) => {
                    let name = &self.plan.jobs[j].name;
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
            self.terminal.notice(&msg);
            self.terminal.annotate(&title, &reason);
            self.hook_failures.push(HookFailure { job, hook, reason });
        }
    }

    /// The run as it stands, with jobs never started recorded as not run.
    fn summary(&mut self, names: Arc<[Arc<str>]>, run_id: String) -> RunSummary {
        let why = match self.signal {
            Some(sig) => format!("not started: interrupted by {}", signal_name(sig)),
            None => "not started: --fail-fast stopped the run".to_owned(),
        };
        let results = std::mem::take(&mut self.results)
            .into_iter()
            .map(|r| r.unwrap_or_else(|| JobResult::not_run(&why)))
            .collect();
        RunSummary {
            run_id,
            started: self.started,
            duration: self.clock.elapsed(),
            names,
            results,
            hook_failures: self.hook_failures.clone(),
            signal: self.signal,
            attempts: Vec::new(),
            tails: Vec::new(),
            output_errors: Vec::new(),
        }
    }

    /// What prun could not deliver or record, so far: stdout (but not a reader that
    /// left), stderr, log files, the joblog. Each makes the exit code 1.
    fn output_errors(&self, results: &[JobResult]) -> Vec<String> {
        let mut errors = Vec::new();
        if let Some(e) = self.terminal.stdout_error()
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            errors.push(format!(
                "writing to stdout failed ({e}): job output was lost"
            ));
        }
        if console::stderr_failed() {
            errors.push("writing to stderr failed: prun's messages were lost".to_owned());
        }
        for (spec, r) in self.plan.jobs.iter().zip(results) {
            if let Some(e) = &r.log_error {
                errors.push(format!("the log of job '{}' is incomplete: {e}", spec.name));
            }
        }
        if let Some(e) = self.ctx.joblog.as_ref().and_then(Joblog::failure) {
            errors.push(e.to_owned());
        }
        errors.extend(self.lost.iter().cloned());
        errors
    }

    /// `on_success` / `on_failure`, then `on_complete`, with the run's counters and the
    /// JSON summary in the file `PRUN_REPORT` names (and on stdin). Run on the hook
    /// thread like every hook, so a signal still reaches prun while they run.
    fn run_level_hooks(&mut self, rx: &Receiver<Event>, summary: &mut RunSummary) {
        let hooks = owned(self.plan.hooks.for_outcome(summary.exit_code() == 0));
        if hooks.is_empty() || self.killed {
            return;
        }
        let report = format!("{}\n", json::run(summary, &self.plan.jobs));
        // The hooks run even without the file (the report is on their stdin too): an
        // alert that does not go out is worse than one without its attachment.
        let file = match report_file(&report) {
            Ok(f) => Some(f),
            Err(e) => {
                let msg = format!(
                    "cannot write the report file for the run-level hooks ({e}); they run with PRUN_REPORT empty"
                );
                self.terminal.notice(&msg);
                self.lost.push(msg);
                None
            }
        };
        let report_path = file
            .as_ref()
            .map(|f| f.path().display().to_string())
            .unwrap_or_default();
        let t = summary.totals();
        let mut env = self.plan.env.clone();
        for (k, v) in [
            ("PRUN_RUN_ID", self.run_id.to_string()),
            ("PRUN_TOTAL", t.total.to_string()),
            ("PRUN_SUCCEEDED", t.succeeded.to_string()),
            ("PRUN_FAILED", t.failed.to_string()),
            ("PRUN_SKIPPED", t.skipped.to_string()),
            (
                "PRUN_HOOK_FAILURES",
                summary.hook_failures.len().to_string(),
            ),
            ("PRUN_REPORT", report_path),
        ] {
            env.push((k.to_owned(), v));
        }
        self.pending_hooks += hooks.len();
        let task = HookTask {
            job: None,
            hooks,
            env,
            stdin: report.into_bytes(),
            workdir: self.plan.workdir.clone(),
            timeout: self.plan.hook_timeout,
        };
        self.submit_hooks(task);
        self.drive(rx, |s| s.pending_hooks == 0);
    }
}

impl Drop for Scheduler {
    /// Whatever way the scheduler goes (a panic included), no job outlives it.
    fn drop(&mut self) {
        if !self.running.is_empty() {
            self.ctx.stop_signal.store(libc::SIGKILL, Ordering::SeqCst);
            self.ctx.signal_running(libc::SIGKILL);
        }
    }
}

fn owned(hooks: Vec<(&'static str, &str)>) -> Vec<(&'static str, String)> {
    hooks.into_iter().map(|(n, c)| (n, c.to_owned())).collect()
}

/// How a job that did not succeed ended, in a few words: `failed, exit 3`.
fn outcome_note(r: &JobResult) -> String {
    match (r.exit_code(), r.signal()) {
        (Some(c), _) => format!("{}, exit {c}", r.status),
        (None, Some(s)) => format!("{}, {}", r.status, signal_name(s)),
        (None, None) => r.status.to_string(),
    }
}

/// The result variables a hook sees on top of the job's environment.
fn result_env(r: &JobResult) -> Vec<(String, String)> {
    vec![
        ("PRUN_JOB_STATUS".into(), r.status.as_str().into()),
        (
            "PRUN_JOB_EXIT_CODE".into(),
            r.exit_code().map(|c| c.to_string()).unwrap_or_default(),
        ),
        (
            "PRUN_JOB_SIGNAL".into(),
            r.signal().map(signal_name).unwrap_or_default().into(),
        ),
        (
            "PRUN_JOB_DURATION".into(),
            format!("{:.3}", r.duration().as_secs_f64()),
        ),
        ("PRUN_JOB_ATTEMPTS".into(), r.attempts.to_string()),
        (
            "PRUN_JOB_LOG".into(),
            r.log
                .as_ref()
                .map(|l| l.display().to_string())
                .unwrap_or_default(),
        ),
    ]
}

/// The run summary for `PRUN_REPORT`: a new file in the temporary directory, private
/// to prun's user (mode 0600) and of an unpredictable name (`prun-report-XXXXXX.json`,
/// created with O_EXCL: nobody can plant it or a link in its place), removed when the
/// returned guard drops.
fn report_file(report: &str) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut f = tempfile::Builder::new()
        .prefix("prun-report-")
        .suffix(".json")
        .tempfile()?;
    f.write_all(report.as_bytes())?;
    f.flush()?;
    Ok(f)
}
