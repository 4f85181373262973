//! The coordinator: the one place that decides what runs next and the only writer of run
//! state. It hands jobs to the pool in file order as slots (and the mode) allow, takes the
//! workers' and the hook runner's events, prints through `report::terminal`, queues each
//! ended job's hooks, and at the end runs the run-level hooks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Instant, SystemTime};

use crate::error::Error;
use crate::event::Event;
use crate::executor::{Finished, signal_name};
use crate::hooks::{self, HookRunner, HookShell, HookTask};
use crate::jobfile::Mode;
use crate::plan::Plan;
use crate::pool::{self, Attempt, Pool};
use crate::report::terminal::Terminal;
use crate::report::{HookFailure, JobResult, RunSummary, Status, json};

/// Runs the plan to its end and returns what happened.
pub(crate) fn run(plan: Plan, run_id: String) -> Result<RunSummary, Error> {
    let plan = Arc::new(plan);
    let (tx, rx) = mpsc::channel();
    let workers = if plan.mode == Mode::Sync {
        1
    } else {
        plan.concurrency
    };
    let pool = Pool::new(workers)
        .map_err(|e| Error::io("starting the worker pool", std::io::Error::other(e)))?;
    let hook_shell = HookShell {
        shell: plan.shell.clone(),
        capture: pool::capture_for(plan.output),
        grace: plan.grace,
    };
    let hooks = HookRunner::spawn(hook_shell.clone(), tx.clone())
        .map_err(|e| Error::io("starting the hook runner", e))?;
    let names: Vec<String> = plan.jobs.iter().map(|j| j.name.clone()).collect();
    let mut s = Scheduler {
        terminal: Terminal::new(plan.output, plan.keep_order, names.clone()),
        results: vec![None; plan.jobs.len()],
        slots: vec![false; workers],
        slot_of: HashMap::new(),
        running: HashMap::new(),
        next: 0,
        pending_hooks: 0,
        stop_starting: false,
        hook_failures: Vec::new(),
        run_id: Arc::from(run_id.as_str()),
        plan,
        pool,
        hooks,
        tx,
        started: SystemTime::now(),
        clock: Instant::now(),
    };
    s.drive(&rx);
    Ok(s.finish(names, hook_shell, run_id))
}

struct Scheduler {
    plan: Arc<Plan>,
    run_id: Arc<str>,
    pool: Pool,
    hooks: HookRunner,
    tx: Sender<Event>,
    terminal: Terminal,
    results: Vec<Option<JobResult>>,
    /// `slots[i]` is true while slot i+1 is taken.
    slots: Vec<bool>,
    slot_of: HashMap<usize, usize>,
    /// Running jobs and their process group (0 until the worker reports it).
    running: HashMap<usize, i32>,
    /// The next job to start, in file order.
    next: usize,
    pending_hooks: usize,
    stop_starting: bool,
    hook_failures: Vec<HookFailure>,
    started: SystemTime,
    clock: Instant,
}

impl Scheduler {
    /// Starts what may start, then handles events until nothing is left to do.
    fn drive(&mut self, rx: &Receiver<Event>) {
        loop {
            self.start_ready();
            let idle = self.running.is_empty() && self.pending_hooks == 0;
            if idle && (self.next == self.plan.jobs.len() || self.stop_starting) {
                return;
            }
            match rx.recv() {
                Ok(ev) => self.handle(ev),
                Err(_) => return,
            }
        }
    }

    fn may_start(&self) -> bool {
        if self.stop_starting || self.next >= self.plan.jobs.len() {
            return false;
        }
        match self.plan.mode {
            Mode::Sync => self.running.is_empty() && self.pending_hooks == 0,
            Mode::Async => self.running.len() < self.slots.len(),
        }
    }

    fn start_ready(&mut self) {
        while self.may_start() {
            let job = self.next;
            self.next += 1;
            let slot = self.slots.iter().position(|taken| !taken).unwrap_or(0);
            self.slots[slot] = true;
            self.slot_of.insert(job, slot + 1);
            self.running.insert(job, 0);
            let attempt = Attempt {
                job,
                slot: slot + 1,
                attempt: 1,
            };
            self.pool.start(&self.plan, &self.run_id, attempt, &self.tx);
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Started { job, pgid } => {
                self.running.insert(job, pgid);
            }
            Event::Output { job, bytes } => self.terminal.job_output(job, &bytes),
            Event::Ended {
                job,
                finished,
                output,
            } => self.job_ended(job, finished, &output),
            Event::HookDone {
                job,
                hook,
                finished,
                output,
            } => {
                self.pending_hooks -= 1;
                self.terminal
                    .hook_output(&self.plan.jobs[job].name, hook, &output);
                let timeout = self.plan.jobs[job].hook_timeout;
                self.record_hook(Some(job), hook, &finished, timeout);
            }
        }
    }

    fn job_ended(&mut self, job: usize, finished: Finished, output: &[u8]) {
        self.running.remove(&job);
        let slot = self.slot_of.remove(&job);
        if let Some(s) = slot {
            self.slots[s - 1] = false;
        }
        let status = if finished.timed_out {
            Status::TimedOut
        } else if finished.success() {
            Status::Success
        } else {
            Status::Failed
        };
        let mut reason = finished.error.clone();
        if finished.leftovers {
            reason = Some("left processes running after it exited; they were terminated".into());
        }
        let result = JobResult {
            status,
            attempts: 1,
            slot,
            finished: Some(finished),
            reason,
        };
        if let Some(why) = &result.reason
            && result.status != Status::Success
        {
            eprintln!("prun: job '{}': {why}", self.plan.jobs[job].name);
        }
        self.terminal.job_ended(job, output);
        if status != Status::Success && self.plan.fail_fast && !self.stop_starting {
            self.stop_starting = true;
        }
        self.queue_hooks(job, &result);
        self.results[job] = Some(result);
    }

    fn queue_hooks(&mut self, job: usize, result: &JobResult) {
        let spec = &self.plan.jobs[job];
        let hooks: Vec<(&'static str, String)> = spec
            .hooks
            .for_outcome(result.status == Status::Success)
            .into_iter()
            .map(|(n, c)| (n, c.to_owned()))
            .collect();
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
        let stdin = json::job(spec, result).to_string().into_bytes();
        self.pending_hooks += hooks.len();
        let workdir = if spec.workdir.is_dir() {
            spec.workdir.clone()
        } else {
            self.plan.workdir.clone()
        };
        self.hooks.submit(HookTask {
            job,
            hooks,
            env,
            stdin,
            workdir,
            timeout: spec.hook_timeout,
        });
    }

    fn record_hook(
        &mut self,
        job: Option<usize>,
        hook: &'static str,
        f: &Finished,
        timeout: std::time::Duration,
    ) {
        if let Some(reason) = hooks::failure_reason(f, timeout) {
            let owner = job.map_or("run", |j| self.plan.jobs[j].name.as_str());
            eprintln!("prun: hook {hook} of '{owner}' failed: {reason}");
            self.hook_failures.push(HookFailure { job, hook, reason });
        }
    }

    /// Records jobs never started, runs the run-level hooks, and builds the summary.
    fn finish(mut self, names: Vec<String>, shell: HookShell, run_id: String) -> RunSummary {
        let results: Vec<JobResult> = std::mem::take(&mut self.results)
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| JobResult::not_run("not started: --fail-fast stopped the run"))
            })
            .collect();
        let mut summary = RunSummary {
            run_id,
            started: self.started,
            duration: self.clock.elapsed(),
            names,
            results,
            hook_failures: std::mem::take(&mut self.hook_failures),
            signal: None,
        };
        self.run_level_hooks(&mut summary, &shell);
        summary.duration = self.clock.elapsed();
        summary
    }

    /// `on_success` / `on_failure`, then `on_complete`, with the run's counters and the
    /// JSON summary in the file `PRUN_REPORT` names (and on stdin).
    fn run_level_hooks(&mut self, summary: &mut RunSummary, shell: &HookShell) {
        let hooks = self.plan.hooks.for_outcome(summary.exit_code() == 0);
        if hooks.is_empty() {
            return;
        }
        let report = json::run(summary, &self.plan.jobs).to_string();
        let file = match report_file(&self.run_id, &report) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("prun: cannot write the report for run-level hooks: {e}");
                return;
            }
        };
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
            ("PRUN_REPORT", file.path().display().to_string()),
        ] {
            env.push((k.to_owned(), v));
        }
        for (hook, command) in hooks {
            let (finished, output) = shell.run(
                command,
                &env,
                report.as_bytes(),
                &self.plan.workdir,
                self.plan.hook_timeout,
            );
            self.terminal.hook_output("run", hook, &output);
            if let Some(reason) = hooks::failure_reason(&finished, self.plan.hook_timeout) {
                eprintln!("prun: run-level hook {hook} failed: {reason}");
                summary.hook_failures.push(HookFailure {
                    job: None,
                    hook,
                    reason,
                });
            }
        }
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
    ]
}

/// The run summary in a temporary file, removed when the returned guard drops.
fn report_file(run_id: &str, report: &str) -> std::io::Result<TempFile> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::env::temp_dir().join(format!("prun-{run_id}-report.json"));
    // create_new: never follow a link someone planted at the predictable name.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let guard = TempFile(path);
    f.write_all(report.as_bytes())?;
    Ok(guard)
}

/// A file removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
