//! The driver: the loop around the scheduling core (`schedule`). It sets the run up (the
//! keeper, the run's cgroup, the signal watch, the pool, the hook runner), then gathers
//! events — workers' output and ends, hooks' ends, signals, the core's wake-up times —
//! feeds them to the core, and carries out the actions it answers with: it starts jobs on
//! the pool, prints through `report::terminal`, queues hooks, signals process groups. It
//! decides nothing itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender as Sender};
use std::time::{Instant, SystemTime};

use crate::error::UsageError;
use crate::error::{Error, PathError};
use crate::event::{self, Event};
use crate::executor::cgroup::{self, RunCgroup};
use crate::executor::keeper::{Keeper, Leftovers};
use crate::executor::local;
use crate::executor::spawn::EnvBase;
use crate::executor::{StopClock, signal_name};
use crate::hooks::{self, HookInput, HookRunner, HookShell, HookTask};
use crate::outcome::JobResult;
use crate::plan::resources;
use crate::plan::{Containment, JobDef, Mode, OutputMode, Plan};
use crate::pool::{self, Attempt, Pool, RunContext};
use crate::report::joblog::Joblog;
use crate::report::owner::{Printed, Token};
use crate::report::spool::Spool;
use crate::report::terminal::Terminal;
use crate::report::{AttemptRecord, RunSummary, console, json};
use crate::resume::Earlier;
use crate::schedule::{self, Action, Expansions, Schedule};
use crate::signals;

/// How many events may wait for the driver before their senders block.
const EVENT_QUEUE: usize = 64;

/// Runs the plan to its end and returns what happened.
///
/// `earlier` says which jobs an earlier run already did (`--resume`): they are not run.
pub(crate) fn run(
    plan: Arc<Plan>,
    run_id: String,
    earlier: Option<Earlier>,
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
    let mut run_dir = crate::outputs::RunDir::create().map_err(|source| PathError {
        what: "the temporary directory for PRUN_OUTPUT and PRUN_NEEDS ($TMPDIR)",
        path: std::env::temp_dir().display().to_string(),
        source,
    })?;
    // First, while prun still has one thread: the keeper is forked. It knows where the
    // run's cgroup goes before it exists, so it is never left behind.
    let cgroup_path = match plan.containment {
        Containment::ProcessGroup => None,
        _ => cgroup::run_path(),
    };
    let leftovers = Leftovers {
        cgroup: cgroup_path.as_deref(),
        files: Some(run_dir.files()),
    };
    // SAFETY: no thread has been started yet (the signal watch, the pool and the hook
    // runner all start below).
    let keeper = match unsafe { Keeper::spawn(plan.grace, &leftovers) } {
        Ok(k) => Some(k),
        Err(e) => {
            console::eprint(&format!(
                "prun: warning: cannot start the keeper ({e}); if prun is killed with SIGKILL its jobs will keep running\n"
            ));
            None
        }
    };
    if keeper.is_some() {
        run_dir.leave_to_keeper();
    }
    // Where cgroups can be made, each slot's jobs are contained in one (see
    // `executor::cgroup`); else process groups alone.
    let cgroup = cgroup_path.and_then(|p| RunCgroup::create(p, workers, keeper.is_some()));
    if plan.containment == Containment::Cgroup && cgroup.is_none() {
        let why = cgroup::unavailable().unwrap_or_else(|| "creating one failed".into());
        return Err(UsageError::NoCgroups(why).into());
    }
    // Bounded: a job writing faster than prun can print waits, instead of prun's memory
    // growing (each event carries at most 64 KiB of output).
    let (tx, rx) = mpsc::sync_channel(EVENT_QUEUE);
    let mut signals = signals::watch().map_err(|e| Error::io("catching signals", e))?;
    let pool = Pool::new(workers).map_err(|e| Error::starting("the worker pool", e))?;
    let ctx = Arc::new(RunContext {
        plan: Arc::clone(&plan),
        run_id: Arc::from(run_id.as_str()),
        keeper,
        keep_tail: plan.junit.is_some() || plan.step_summary.is_some(),
        stream_group: !plan.output.keep_order && !plan.output.quiet,
        env_base: EnvBase::capture(),
        groups: (0..workers).map(|_| AtomicI32::new(0)).collect(),
        stop_signal: AtomicI32::new(0),
        stdout_owner: Token::default(),
        joblog,
        stop_clock: StopClock::new().ok(),
        cgroup,
        run_dir,
    });
    let tx_signals = tx.clone();
    let hook_shell = HookShell {
        shell: plan.shell.clone(),
        capture: pool::capture_for(plan.output.mode, false),
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
        core: Schedule::new(Arc::clone(&plan), workers, prior),
        hooks: HookRunner::new(hook_shell, tx.clone()),
        hook_backlog: std::collections::VecDeque::new(),
        hooks_in_flight: 0,
        pumping: false,
        attempts: Vec::new(),
        keep_tails: plan.junit.is_some() || plan.step_summary.is_some(),
        tails: HashMap::new(),
        lost: Vec::new(),
        owned_output: plan.output.mode == OutputMode::Group
            && ctx.stream_group
            && !plan.output.progress,
        printed: Printed::default(),
        needs_files: std::collections::HashMap::new(),
        earlier,
        running: 0,
        ctx,
        plan,
        pool,
        tx,
        started: SystemTime::now(),
        clock: Instant::now(),
    };
    let first = d.core.start(Instant::now());
    d.act(first, None);
    // Off the path to the first jobs: signals caught since `watch` wait in its pipe.
    if let Err(e) = signals.forward(tx_signals) {
        d.terminal.notice(&format!(
            "cannot start the signal thread ({e}{}); a signal now stops prun at once, and its keeper stops the jobs",
            crate::error::out_of_resources(&e)
        ));
    }
    d.drive(&rx, |d| d.core.done());
    let mut summary = d.summary(run_id);
    d.run_level_hooks(&rx, &mut summary);
    // Failures to write stdout while the run-level hooks printed count too.
    summary.output_errors = d.output_errors(&summary.results);
    d.terminal.finish();
    if summary.exit_code() != 0 {
        d.terminal.flush_notices();
    }
    summary.attempts = std::mem::take(&mut d.attempts);
    let mut tails = std::mem::take(&mut d.tails);
    if !tails.is_empty() {
        summary.tails = (summary.order.iter().enumerate())
            .filter_map(|(i, j)| Some((i, tails.remove(j)?)))
            .collect();
    }
    summary.duration = d.clock.elapsed();
    // Every job and hook has ended: prun removes the run's files itself, when `d` goes.
    if let Some(k) = &d.ctx.keeper {
        k.finish();
    }
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
    hooks: HookRunner,
    /// Jobs whose hooks are due but not yet handed to the hook thread, in the order
    /// they fell due: a task (environment, JSON) is built only shortly before it runs,
    /// so a run whose hooks fall behind its jobs holds 8 bytes per waiting job, not a
    /// task of a kilobyte or two.
    hook_backlog: std::collections::VecDeque<usize>,
    /// Hooks handed to the hook thread that have not ended (at most `HOOKS_AHEAD`).
    hooks_in_flight: usize,
    /// `pump_hooks` is running (it may be reached again from within).
    pumping: bool,
    tx: Sender<Event>,
    terminal: Terminal,
    /// Jobs running now (for the `Drop` safety net).
    running: usize,
    /// Every ended attempt, for the timeline.
    attempts: Vec<AttemptRecord>,
    /// The end of the output of each job that did not succeed, for the JUnit report and
    /// the step summary, when one is asked for.
    keep_tails: bool,
    tails: HashMap<usize, Vec<u8>>,
    /// Other things prun could not deliver (see `output_errors`).
    lost: Vec<String>,
    /// Group mode without a progress bar (which draws between blocks): the owner of
    /// stdout may print its block itself (`report::owner`).
    owned_output: bool,
    /// Chunks of each job passing output on that were printed, for the owner's token.
    printed: Printed,
    /// The `PRUN_NEEDS` file written for each set of needs.
    needs_files: std::collections::HashMap<Arc<[usize]>, String>,
    /// What an earlier run did (`--resume`), for the jobs dynamic matrices make.
    earlier: Option<Earlier>,
    started: SystemTime,
    clock: Instant,
}

impl Driver {
    /// Handles events until `done` holds.
    fn drive(&mut self, rx: &Receiver<Event>, done: impl Fn(&Self) -> bool) {
        while !done(self) {
            let ev = match self.core.wake_at(Instant::now()) {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            match ev {
                Ok(ev) => self.handle(ev),
                Err(RecvTimeoutError::Timeout) => {
                    let actions = self.core.handle(Instant::now(), schedule::Event::Tick);
                    self.act(actions, None);
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
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
                let owner = job.map_or("run".into(), |j| self.core.spec(j).name.clone());
                let timeout = job.map_or(self.plan.hook_timeout, |j| {
                    self.core.spec(j).opts.hook_timeout
                });
                let failure = hooks::failure_reason(&finished, timeout, self.plan.grace);
                self.terminal
                    .hook_output(&owner, hook, &output, failure.as_deref());
                let ev = schedule::Event::HookEnded { job, hook, failure };
                self.hooks_in_flight = self.hooks_in_flight.saturating_sub(1);
                let actions = self.core.handle(Instant::now(), ev);
                self.act(actions, None);
                self.pump_hooks();
            }
            Event::Signal(sig) => {
                let actions = self
                    .core
                    .handle(Instant::now(), schedule::Event::Signal(sig));
                self.act(actions, None);
            }
        }
    }

    fn job_ended(&mut self, mut e: event::Ended) {
        let job = e.job;
        self.running = self.running.saturating_sub(1);
        // Reports show the output of the jobs that did not succeed only.
        if self.keep_tails {
            if e.status == crate::outcome::Status::Success || e.tail.is_empty() {
                self.tails.remove(&job);
            } else {
                self.tails.insert(job, std::mem::take(&mut e.tail));
            }
        }
        if let Some(err) = e.stdout_error.take() {
            self.terminal.stdout_failed(err);
        }
        if self.owned_output {
            if let Some(b) = e.stdout_last {
                self.terminal.owner_wrote(job, b);
            }
            self.printed.ended(job);
        }
        let spec = self.core.spec(job);
        if self.plan.timeline.is_some() {
            let mut record = AttemptRecord::new(spec, e.attempt, e.slot, &e.finished, e.status);
            record.held = resources::describe(&self.plan.resources, self.core.held_units(job));
            self.attempts.push(record);
        }
        let ended = schedule::Ended {
            job,
            attempt: e.attempt,
            finished: e.finished,
            status: e.status,
            log: pool::log_path(&self.plan, spec),
            log_error: e.log_error,
            outputs: e.outputs,
        };
        let actions = self
            .core
            .handle(Instant::now(), schedule::Event::JobEnded(ended));
        self.act(actions, Some((job, e.output)));
        if self.owned_output {
            self.publish_owner();
        }
    }

    /// Carries out the core's actions, in order. `output` is what the job that just
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
                    self.pool.start(&self.ctx, a, &self.tx);
                }
                Action::Resumed { job } => {
                    self.terminal.job_ended(job, Spool::new(), None, true);
                }
                Action::Show { job, note, last } => {
                    let spool = match output.take() {
                        Some((j, s)) if j == job => s,
                        other => {
                            output = other;
                            Spool::new()
                        }
                    };
                    self.terminal.job_ended(job, spool, note.as_deref(), last);
                }
                Action::Notice(msg) => self.terminal.notice(&msg),
                Action::HookFailed { title, reason } => self.terminal.annotate(&title, &reason),
                Action::RunHooks { job: Some(job) } => {
                    self.hook_backlog.push_back(job);
                    self.pump_hooks();
                }
                Action::RunHooks { job: None } => {}
                Action::SignalJobs(sig) => {
                    self.ctx.stop_signal.store(sig, Ordering::SeqCst);
                    self.ctx.signal_running(sig);
                }
                Action::LimitHooks => {
                    if let Some(clock) = &self.ctx.stop_clock {
                        clock.stop_now();
                    }
                }
                Action::Expand { job } => {
                    let jobs = self.expand(job);
                    let actions = self.core.expanded(Instant::now(), job, jobs);
                    self.act(actions, None);
                }
                Action::Expanded { job, into } => {
                    let names = into.clone().map(|j| self.core.spec(j).name.clone());
                    self.terminal.expanded(job, into.clone(), names.collect());
                }
                Action::KillHooks => {
                    self.hook_backlog.clear();
                    self.hooks.cancel();
                    if let Some(h) = self.ctx.cgroup.as_ref().and_then(|c| c.hooks_made()) {
                        h.signal(libc::SIGKILL);
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
            let found = |j: usize, key: &str| self.core.result(j)?.output(key);
            if let Ok(value) = t.render(found) {
                env.push((t.var.clone(), value));
            }
        }
        if !spec.needs.is_empty()
            && let Some(path) = self.needs_file(job)
        {
            env.push(("PRUN_NEEDS".into(), path));
        }
        env.extend(resources::env(
            &self.plan.resources,
            self.core.held_units(job),
        ));
        env
    }

    /// The jobs `job`'s dynamic matrix makes now (see `plan::matrix::Dynamic`), each
    /// with its result from an earlier run when `--resume` finds one.
    /// They are made one at a time from the values (a glob may find a million files).
    fn expand(&self, job: usize) -> Result<Expansions, String> {
        let spec = self.core.spec(job);
        let Some(dynamic) = &spec.dynamic else {
            return Ok(Vec::new());
        };
        let found = |j: usize, key: &str| self.core.result(j)?.output(key);
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
            .filter_map(|j| Some((self.core.spec(j), self.core.result(j)?)))
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
    /// `report::owner`).
    fn publish_owner(&self) {
        self.printed
            .publish(&self.ctx.stdout_owner, self.terminal.owner());
    }

    /// Hands the hook thread the next tasks of the backlog, keeping it `HOOKS_AHEAD`
    /// hooks ahead (so it never waits for one).
    fn pump_hooks(&mut self) {
        if self.pumping {
            return;
        }
        self.pumping = true;
        while self.hooks_in_flight < HOOKS_AHEAD
            && let Some(job) = self.hook_backlog.pop_front()
        {
            self.queue_job_hooks(job);
        }
        self.pumping = false;
    }

    /// Queues `job`'s hooks for its final result, with the job's environment plus the
    /// result variables, and the result as JSON on stdin.
    fn queue_job_hooks(&mut self, job: usize) {
        let Some(result) = self.core.result(job) else {
            return;
        };
        let spec = self.core.spec(job);
        let hooks = owned(spec.opts.hooks.for_result(result));
        let mut env = pool::job_env(
            spec,
            result.slot().unwrap_or(0),
            result.attempts,
            &self.ctx.run_id,
        );
        env.extend(result_env(result));
        env.extend(resources::env(&self.plan.resources, result.units()));
        let workdir = if spec.workdir.is_dir() {
            spec.workdir.to_path_buf()
        } else {
            self.plan.workdir.clone()
        };
        let task = HookTask {
            job: Some(job),
            hooks,
            env,
            // One line, ending with a newline, so `read -r` in a hook gets all of it.
            stdin: HookInput::Bytes({
                let doc = json::job(spec, result, &self.plan.resources);
                let mut bytes = serde_json::to_vec(&doc).unwrap_or_default();
                bytes.push(b'\n');
                bytes
            }),
            workdir,
            timeout: spec.opts.hook_timeout,
            direct: self.plan.exec_simple && !spec.sets("PATH"),
        };
        self.submit_hooks(task);
    }

    /// Queues hooks; if the hook thread cannot even start, they are reported as failed.
    fn submit_hooks(&mut self, task: HookTask) {
        let (job, names): (Option<usize>, Vec<&'static str>) =
            (task.job, task.hooks.iter().map(|h| h.0).collect());
        self.hooks_in_flight += names.len();
        if let Err(e) = self.hooks.submit(task) {
            self.hooks_in_flight -= names.len();
            for hook in names {
                let failure = Some(format!("cannot start the hook runner: {e}"));
                let ev = schedule::Event::HookEnded { job, hook, failure };
                let actions = self.core.handle(Instant::now(), ev);
                self.act(actions, None);
            }
        }
    }

    /// The run as it stands.
    fn summary(&mut self, run_id: String) -> RunSummary {
        let order = self.core.order();
        let results = self.core.take_results(&order);
        RunSummary {
            run_id,
            started: self.started,
            duration: self.clock.elapsed(),
            plan: Arc::clone(&self.plan),
            resources: self.plan.resources.clone(),
            output_errors: self.output_errors(&results),
            results,
            order,
            extra: self.core.extra().to_vec(),
            hook_failures: self.core.hook_failures().to_vec(),
            signal: self.core.signal(),
            attempts: Vec::new(),
            tails: HashMap::new(),
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
        for r in results {
            if let (Some(e), Some(log)) = (r.log_error(), r.log()) {
                errors.push(format!("the log {} is incomplete: {e}", log.display()));
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
        let queued = self.core.run_level_hooks(hooks.len());
        if queued.is_empty() {
            return;
        }
        let specs = summary.specs();
        let doc = json::RunDoc {
            run: summary,
            specs: &specs,
            resources: &self.plan.resources,
        };
        // The hooks run even without the file (the report is on their stdin too): an
        // alert that does not go out is worse than one without its attachment.
        let (report_path, stdin) = match report_file(&doc) {
            Ok(f) => (f.path().display().to_string(), HookInput::File(Arc::new(f))),
            Err(e) => {
                let msg = format!(
                    "cannot write the report file for the run-level hooks ({e}); they run with PRUN_REPORT empty"
                );
                self.terminal.notice(&msg);
                self.lost.push(msg);
                let mut bytes = Vec::new();
                let _ = json::write(&mut bytes, &doc, false);
                (String::new(), HookInput::Bytes(bytes))
            }
        };
        let t = summary.totals();
        let mut env = self.plan.env.clone();
        for (k, v) in [
            ("PRUN_RUN_ID", self.ctx.run_id.to_string()),
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
        let task = HookTask {
            job: None,
            hooks,
            env,
            stdin,
            workdir: self.plan.workdir.clone(),
            timeout: self.plan.hook_timeout,
            direct: self.plan.exec_simple && !self.plan.env.iter().any(|(k, _)| k == "PATH"),
        };
        self.submit_hooks(task);
        self.drive(rx, |d| d.core.hooks_done());
        summary.hook_failures = self.core.hook_failures().to_vec();
        summary.signal = self.core.signal();
    }
}

/// How many hooks the hook thread is given ahead: the one running and the next few.
const HOOKS_AHEAD: usize = 4;

impl Drop for Driver {
    /// Whatever way the driver goes (a panic included), no job outlives it.
    fn drop(&mut self) {
        if self.running > 0 {
            self.ctx.stop_signal.store(libc::SIGKILL, Ordering::SeqCst);
            self.ctx.signal_running(libc::SIGKILL);
        }
    }
}

fn owned(hooks: Vec<(&'static str, &str)>) -> Vec<(&'static str, String)> {
    hooks.into_iter().map(|(n, c)| (n, c.to_owned())).collect()
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
            r.log().map(|l| l.display().to_string()).unwrap_or_default(),
        ),
    ]
}

/// The run summary for `PRUN_REPORT`: a new file in the temporary directory, private
/// to prun's user (mode 0600) and of an unpredictable name (`prun-report-XXXXXX.json`,
/// created with O_EXCL: nobody can plant it or a link in its place), removed when the
/// returned guard drops.
fn report_file(doc: &json::RunDoc<'_>) -> std::io::Result<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new()
        .prefix("prun-report-")
        .suffix(".json")
        .tempfile()?;
    json::write(f.as_file_mut(), doc, false)?;
    Ok(f)
}
