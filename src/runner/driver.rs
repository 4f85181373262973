//! The driver: the loop around the scheduling core ([`schedule`](crate::schedule)). It sets the run up (the
//! keeper, the run's cgroup, the signal watch, the pool, the hook runner), then gathers
//! events — workers' output and ends, hooks' ends, signals, the core's wake-up times —
//! feeds them to the core, and carries out the actions it answers with: it starts jobs on
//! the pool, prints through [`output::terminal`](crate::output::terminal), queues hooks, signals process groups. It
//! decides nothing itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender as Sender};
use std::time::{Instant, SystemTime};

use super::attempt::Attempt;
use super::context::RunContext;
use super::event::{Ended, Event};
use super::hook_queue::{self, HookQueue, NotHanded};
use super::hooks::{HookRunner, HookShell};
use super::pool::Pool;
use super::setup::{self, Started};
use super::signals::SignalWatch;
use crate::error::Error;
use crate::outcome::Status;
use crate::outcome::attempt::AttemptRecord;
use crate::outcome::summary::RunSummary;
use crate::output::notice;
use crate::output::owner::Printed;
use crate::output::spool::Spool;
use crate::output::terminal::Terminal;
use crate::plan::{JobDef, OutputMode, Plan, resources};
use crate::report::json;
use crate::runner::env;
use crate::schedule::Schedule;
use crate::schedule::actions::{Action, Event as CoreEvent, Expansions, HookEnd, Notice};
use crate::state::joblog::Joblog;
use crate::state::resume::Earlier;

mod crash;
mod end;

/// How long a run goes before its signal thread starts (see `Driver::forward_signals`):
/// short enough that a Ctrl-C is never felt to wait, long enough that a run of a few
/// quick jobs never pays for the thread.
const SIGNAL_THREAD_AFTER: std::time::Duration = std::time::Duration::from_millis(10);

/// Runs the plan to its end and returns what happened.
///
/// `earlier` says which jobs an earlier run already did (`--resume`): they are not run.
/// `set_up` is called once the run is set up, before any job starts (threads may be
/// started from then on: the keeper is forked).
pub(crate) fn run(
    plan: Arc<Plan>,
    run_id: String,
    earlier: Option<Earlier>,
    joblog: Option<Joblog>,
    set_up: impl FnOnce(),
) -> Result<RunSummary, Error> {
    let Started {
        ctx,
        pool,
        signals,
        tx,
        rx,
    } = setup::set_up(&plan, &run_id, joblog)?;
    set_up();
    let hook_shell = HookShell {
        shell: plan.shell.clone(),
        capture: super::attempt::capture_for(plan.output.mode, false),
        grace: plan.grace,
        ctx: Arc::clone(&ctx),
    };
    let prior = plan
        .jobs
        .iter()
        .map(|j| earlier.as_ref().and_then(|e| e.result(j)))
        .collect();
    let mut d = Driver {
        terminal: Terminal::new(Arc::clone(&plan)),
        core: Schedule::new(Arc::clone(&plan), plan.pool_size(), prior),
        hooks: HookQueue::new(HookRunner::new(hook_shell, tx.clone())),
        hook_output: None,
        attempts: Vec::new(),
        tails: HashMap::new(),
        lost: Vec::new(),
        owned_output: plan.output.mode == OutputMode::Group
            && ctx.stream_group
            && !plan.output.progress,
        printed: Printed::default(),
        needs_files: HashMap::new(),
        earlier,
        running: 0,
        ctx,
        watch: super::machine::Watch::new(plan.throttle),
        plan,
        pool,
        tx: tx.clone(),
        signals,
        forward_signals_at: Some(Instant::now() + SIGNAL_THREAD_AFTER),
        started: SystemTime::now(),
        clock: Instant::now(),
    };
    // A bug (a panic) here, or on a thread that serves the driver, ends the run: every
    // job is stopped and the run as it stood is summed up, for the reports and the end
    // ping (`Error::on_panic_exit`). One in the run-level hooks keeps the jobs' results.
    let catch =
        |f: &mut dyn FnMut()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
    let drove = catch(&mut || {
        d.watch.look(&mut d.core);
        let first = d.core.handle(Instant::now(), CoreEvent::Start);
        d.act(first, None);
        d.drive(&rx, |d| d.core.done());
    });
    let mut summary = if drove {
        d.summary(run_id)
    } else {
        d.crashed(run_id, &rx)
    };
    if drove && !catch(&mut || d.run_level_hooks(&rx, &mut summary)) {
        d.hooks.cancel();
    }
    // What is said last, and what was kept for the reports (attempted after a bug too).
    catch(&mut || d.finish(&mut summary));
    summary.internal_error = crate::error::Error::panicked();
    // Nobody reads events any more: let a sender that is still blocked fail at once, so
    // the hook and signal threads can be joined.
    drop(rx);
    drop(d);
    Ok(summary)
}

struct Driver {
    plan: Arc<Plan>,
    core: Schedule,
    ctx: Arc<RunContext>,
    pool: Pool,
    hooks: HookQueue,
    /// What the hook that just ended printed, until the core says how to show it.
    hook_output: Option<Vec<u8>>,
    tx: Sender<Event>,
    /// SIGINT, SIGTERM and SIGHUP, caught since before the first job; passed on as
    /// events once `forward_signals_at` has come.
    signals: SignalWatch,
    forward_signals_at: Option<Instant>,
    terminal: Terminal,
    /// The machine, for the throttles.
    watch: super::machine::Watch,
    /// Jobs running now (for the `Drop` safety net).
    running: usize,
    /// Every ended attempt, for the timeline.
    attempts: Vec<AttemptRecord>,
    /// The end of the output of each job that did not succeed (`ctx.keep_tail`).
    tails: HashMap<usize, Vec<u8>>,
    /// Other things prun could not deliver (see `output_errors`).
    lost: Vec<String>,
    /// Group mode without a progress bar (which draws between blocks): the owner of
    /// stdout may print its block itself ([`output::owner`](crate::output::owner)).
    owned_output: bool,
    /// Chunks of each job passing output on that were printed, for the owner's token.
    printed: Printed,
    /// The `PRUN_NEEDS` file written for each set of needs.
    needs_files: HashMap<Arc<[usize]>, String>,
    /// What an earlier run did (`--resume`), for the jobs dynamic matrices make.
    earlier: Option<Earlier>,
    started: SystemTime,
    clock: Instant,
}

impl Driver {
    /// Handles events until `done` holds.
    fn drive(&mut self, rx: &Receiver<Event>, done: impl Fn(&Self) -> bool) {
        loop {
            if done(self) {
                // Before the signal thread starts, a signal waits in its pipe: a run
                // that ends first must still hear it.
                if self.forward_signals_at.is_none() {
                    return;
                }
                let caught = self.signals.pending();
                if caught.is_empty() {
                    return;
                }
                for sig in caught {
                    self.handle(Event::Signal(sig));
                }
                continue;
            }
            self.watch.look(&mut self.core);
            self.watch.tell(&self.core, &mut self.terminal);
            let now = Instant::now();
            let wake = self.core.wake_at(now);
            if let Some(at) = self.forward_signals_at {
                if at <= now {
                    self.forward_signals();
                    continue;
                }
                if wake.is_none_or(|w| at < w) {
                    match rx.recv_timeout(at - now) {
                        Ok(ev) => self.handle(ev),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                    continue;
                }
            }
            let ev = match wake {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            match ev {
                Ok(ev) => self.handle(ev),
                Err(RecvTimeoutError::Timeout) => {
                    let actions = self.core.handle(Instant::now(), CoreEvent::Tick);
                    self.act(actions, None);
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Starts the thread that turns signals into events. Not on the path to the first
    /// jobs, and not at all in a run that ends within `SIGNAL_THREAD_AFTER`: signals
    /// caught before it starts wait in the watch's pipe, nothing is lost.
    fn forward_signals(&mut self) {
        self.forward_signals_at = None;
        if let Err(e) = self.signals.forward(self.tx.clone()) {
            self.terminal.notice(&format!(
                "cannot start the signal thread ({e}{}); a signal now stops prun at once, and its keeper stops the jobs",
                crate::executor::spawn::out_of_resources(&e)
            ));
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Output { job, bytes } => {
                self.terminal.job_output(job, &bytes);
                if self.owned_output {
                    self.printed.chunk(job);
                    self.publish_owner();
                }
            }
            Event::Ended(e) => self.job_ended(*e),
            Event::HookDone {
                job,
                hook,
                finished,
                output,
            } => {
                self.hooks.ended();
                self.hook_output = Some(output);
                let ended = HookEnd::Ran(finished);
                let actions = self
                    .core
                    .handle(Instant::now(), CoreEvent::HookEnded { job, hook, ended });
                self.act(actions, None);
                self.pump_hooks();
            }
            Event::Signal(sig) => self.feed(CoreEvent::Signal(sig)),
            Event::ServiceReady { job } => self.feed(super::service::ready(&self.ctx, job)),
            Event::Stale { job, why } => self.feed(CoreEvent::Stale { job, why }),
            Event::ProbeFailed { job, why } => self.feed(CoreEvent::ProbeFailed { job, why }),
            // Said already by the panic hook; the run ends as on a panic here.
            Event::Crashed => std::panic::resume_unwind(Box::new("a thread of the run panicked")),
        }
    }

    /// The core hears `ev` now; what it answers is done.
    fn feed(&mut self, ev: CoreEvent) {
        let actions = self.core.handle(Instant::now(), ev);
        self.act(actions, None);
    }

    fn job_ended(&mut self, e: Ended) {
        crate::error::Error::test_panic("driver");
        let Ended {
            attempt,
            slot,
            output,
            tail,
            stdout_last,
            stdout_error,
        } = e;
        let job = attempt.job;
        self.running = self.running.saturating_sub(1);
        // Reports show the output of the jobs that did not succeed only.
        if self.ctx.keep_tail {
            if attempt.status == Status::Success || tail.is_empty() {
                self.tails.remove(&job);
            } else {
                self.tails.insert(job, tail);
            }
        }
        if let Some(err) = stdout_error {
            self.terminal.stdout_failed(err);
        }
        if self.owned_output {
            if let Some(b) = stdout_last {
                self.terminal.owner_wrote(job, b);
            }
            self.printed.ended(job);
        }
        // An attempt its `if:` or an up-to-date check stopped before it started is no
        // bar on the timeline (nor counted among its attempts).
        let started = !matches!(attempt.status, Status::Skipped | Status::UpToDate);
        if self.plan.timeline.is_some() && started {
            let spec = self.core.spec(job);
            let mut record = AttemptRecord::new(
                spec,
                attempt.attempt,
                slot,
                &attempt.finished,
                attempt.status,
            );
            record.held = resources::describe(&self.plan.resources, self.core.held_units(job));
            self.attempts.push(record);
        }
        let actions = self
            .core
            .handle(Instant::now(), CoreEvent::JobEnded(attempt));
        if let (true, Some(a), Some(true)) =
            (started, self.attempts.last_mut(), self.core.allowed(job))
        {
            a.allowed = true;
        }
        self.act(actions, Some((job, output)));
        if self.owned_output {
            self.publish_owner();
        }
    }

    /// Carries out the core's actions, in order. [`output`](crate::output) is what the job that just
    /// ended wrote, for its block.
    fn act(&mut self, actions: Vec<Action>, mut output: Option<(usize, Spool)>) {
        for a in actions {
            match a {
                Action::Start { job, slot, attempt } => {
                    self.running += 1;
                    self.terminal.job_started(job);
                    let env = self.start_env(job);
                    let a = Attempt {
                        job,
                        slot,
                        attempt,
                        env,
                        spec: self.core.extra_spec(job),
                    };
                    if slot > self.ctx.workers {
                        super::service::start(&self.ctx, a, &self.tx);
                    } else {
                        self.pool.start(&self.ctx, a, &self.tx);
                    }
                }
                Action::StopService { job, fate } => super::service::stop(&self.ctx, job, fate),
                Action::KillService { job } => super::service::kill(&self.ctx, job),
                Action::Resumed { job } => {
                    self.terminal
                        .job_ended(job, Spool::new(), None, false, true);
                }
                Action::Show { job, note, last } => {
                    let spool = match output.take() {
                        Some((j, s)) if j == job => s,
                        other => {
                            output = other;
                            Spool::new()
                        }
                    };
                    let allowed = note.is_some_and(|n| n.allowed);
                    let note = note.map(|n| n.to_string());
                    (self.terminal).job_ended(job, spool, note.as_deref(), allowed, last);
                }
                Action::ShowHook { job, hook, failure } => {
                    let owner = job.map_or("run".into(), |j| self.core.spec(j).name.clone());
                    let printed = self.hook_output.take().unwrap_or_default();
                    let failure = failure.map(|f| f.to_string());
                    self.terminal
                        .hook_output(&owner, hook.as_str(), &printed, failure.as_deref());
                }
                Action::Say(n) => {
                    let spec = |j: usize| self.core.spec(j);
                    self.terminal.notice(&notice::words(&n, spec));
                    if let (Some(title), Notice::HookFailed { reason, .. }) =
                        (notice::annotation_title(&n, spec), &n)
                    {
                        self.terminal.annotate(&title, &reason.to_string());
                    }
                }
                Action::RunHooks { job: Some(job) } => {
                    self.hooks.due(job);
                    self.pump_hooks();
                }
                Action::RunHooks { job: None } => {
                    let lost = self.hooks.run_level_due();
                    self.not_handed(lost);
                }
                Action::SignalJobs(sig) => {
                    self.ctx.stop_signal.store(sig, Ordering::SeqCst);
                    self.ctx.signal_running(sig);
                }
                Action::SignalPool(sig) => self.ctx.signal_pool(sig),
                Action::LimitHooks => {
                    if let Some(clock) = &self.ctx.stop_clock {
                        clock.stop_now();
                    }
                }
                Action::Expand { job } => {
                    let jobs = self.expand(job);
                    let ev = CoreEvent::Expanded { job, jobs };
                    let actions = self.core.handle(Instant::now(), ev);
                    self.act(actions, None);
                }
                Action::Expanded { job, into } => {
                    let names = into.clone().map(|j| self.core.spec(j).name.clone());
                    self.terminal.expanded(job, into.clone(), names.collect());
                }
                Action::KillHooks => {
                    self.hooks.cancel();
                    if let Some(h) = self.ctx.cgroup.as_ref().and_then(|c| c.hooks_made()) {
                        h.signal(libc::SIGKILL, 0);
                    }
                }
            }
        }
    }

    /// What a job gets when it starts on top of its own environment: its `env` values
    /// made from outputs (the core checked they are all there), and `PRUN_NEEDS`, the
    /// results and outputs of the jobs it needs, as a JSON file (one per distinct set
    /// of needs, written once).
    fn start_env(&mut self, job: usize) -> Vec<(String, String)> {
        let spec = self.core.spec(job);
        let mut env = Vec::new();
        for t in &spec.opts.templates {
            let found = |j: usize, key: &str| self.core.seen(j)?.output(key);
            if let Ok(value) = t.render(found) {
                env.push((t.var.clone(), value));
            }
        }
        if !spec.needs.is_empty()
            && let Some(path) = self.needs_file(job)
        {
            env.push(env::needs(path));
        }
        env.extend(self.ctx.resource_vars.of(self.core.held_units(job)));
        env
    }

    /// The jobs `job`'s dynamic matrix makes now (see [`plan::matrix::Dynamic`](crate::plan::matrix::Dynamic)), each
    /// with its result from an earlier run when `--resume` finds one.
    /// They are made one at a time from the values (a glob may find a million files).
    fn expand(&self, job: usize) -> Result<Expansions, String> {
        let spec = self.core.spec(job);
        let Some(dynamic) = &spec.dynamic else {
            return Ok(Vec::new());
        };
        let found = |j: usize, key: &str| self.core.seen(j)?.output(key);
        let lists = dynamic.lists(&spec.workdir, found)?;
        let def = Arc::new(JobDef {
            dynamic: None,
            base: Some(spec.name.clone()),
            ..JobDef::clone(&spec.def)
        });
        let mut jobs = Vec::with_capacity(lists.len());
        for i in 0..lists.len() {
            let j = spec.expansion(&def, lists.get(i));
            let prior = self.earlier.as_ref().and_then(|e| e.result(&j));
            jobs.push((Arc::new(j), prior));
        }
        if lists.may_repeat_names() {
            let mut seen = std::collections::HashSet::with_capacity(jobs.len());
            if let Some((j, _)) = jobs.iter().find(|(j, _)| !seen.insert(&*j.name)) {
                return Err(format!("its matrix makes two jobs named '{}'", j.name));
            }
        }
        Ok(jobs)
    }

    /// The `PRUN_NEEDS` file for `job`'s needs, written the first time that set of needs
    /// is asked for.
    fn needs_file(&mut self, job: usize) -> Option<String> {
        let spec = self.core.spec(job);
        if let Some(path) = self.needs_files.get(&spec.needs) {
            return Some(path.clone());
        }
        let path = self.ctx.run_dir.needs_file(job);
        // A dynamic matrix it needs stands for the jobs it made.
        let jobs: Vec<_> = spec
            .needs
            .iter()
            .flat_map(|&d| self.core.jobs_of(d))
            .filter_map(|j| Some((self.core.spec(j), self.core.seen(j)?)))
            .collect();
        let written = std::fs::File::create(&path)
            .and_then(|f| json::write(f, &json::NeedsDoc(&jobs, &self.plan.resources), false));
        if let Err(e) = written {
            let msg = format!("cannot write the PRUN_NEEDS file {path}: {e}");
            self.terminal.notice(&msg);
            return None;
        }
        let needs = spec.needs.clone();
        self.needs_files.insert(needs, path.clone());
        Some(path)
    }

    /// Tells workers which job owns stdout and how many of its chunks are printed (see
    /// [`output::owner`](crate::output::owner)).
    fn publish_owner(&self) {
        self.printed
            .publish(&self.ctx.stdout_owner, self.terminal.owner());
    }

    /// Hands the hook thread the next hooks that are due.
    fn pump_hooks(&mut self) {
        let lost = self.hooks.pump(&self.core, &self.ctx);
        self.not_handed(lost);
    }

    /// Hooks the hook thread could not even start for count as failed.
    fn not_handed(&mut self, lost: Vec<NotHanded>) {
        for NotHanded { job, hook, why } in lost {
            let ev = CoreEvent::HookEnded {
                job,
                hook,
                ended: HookEnd::NotHanded(why),
            };
            let actions = self.core.handle(Instant::now(), ev);
            self.act(actions, None);
        }
    }

    /// `on_success` / `on_failure`, then `on_complete`, with the run's counters and the
    /// JSON summary (`hook_queue::run_level_task`), when the core says they are due.
    /// Run on the hook thread like every hook, so a signal still reaches prun while they
    /// run.
    fn run_level_hooks(&mut self, rx: &Receiver<Event>, summary: &mut RunSummary) {
        let hooks = (self.plan.hooks).for_run(summary.prun_exit() == 0, self.plan.previous_success);
        if hooks.is_empty() {
            return;
        }
        let (task, lost) = hook_queue::run_level_task(&self.plan, &self.ctx.run_id, summary, hooks);
        if let Some(msg) = lost {
            self.terminal.notice(&msg);
            self.lost.push(msg);
        }
        let count = task.hooks.len();
        self.hooks.prepare_run_level(task);
        let actions = (self.core).handle(Instant::now(), CoreEvent::RunLevelHooks { count });
        self.act(actions, None);
        self.drive(rx, |d| d.core.hooks_done());
        summary.hook_failures = self.core.hook_failures().to_vec();
        summary.signal = self.core.signal();
    }
}
