//! One attempt of one job, on a worker: its environment, its command, where its output
//! goes (`Sink`: the log file, the spool or the driver, the kept tail), its joblog line
//! the moment it is reaped, and what the driver hears of it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender as Sender;

use super::context::RunContext;
use super::env;
use super::event::{Ended, Event};
use super::log_watch::LogWatch;
use super::uptodate::{self, Check};
use crate::executor::command::{Capture, Request, Stdin};
use crate::files::{self, InPlace};
use crate::outcome::Status;
use crate::outcome::attempt::AttemptRecord;
use crate::output::owner::{Passing, STREAM_AFTER, Token};
use crate::output::spool::Spool;
use crate::plan::service::Probe;
use crate::plan::{JobSpec, OutputMode, Plan};
use crate::schedule::actions::{AttemptEnded, NotSpawned};
use crate::schedule::attempt::{self as decide, Condition};

/// What a worker needs to run one attempt of one job.
pub(crate) struct Attempt {
    pub(crate) job: usize,
    pub(crate) slot: usize,
    pub(crate) attempt: u32,
    /// Variables filled in when it starts (`env` from outputs, `PRUN_NEEDS`).
    pub(crate) env: Vec<(String, String)>,
    /// The job's spec when a dynamic matrix made it (else it is the plan's).
    pub(crate) spec: Option<Arc<JobSpec>>,
}

/// How job output is captured: through a pipe whenever prun needs to see it (to group
/// or prefix it, or to copy it to `--log-dir`), else straight to prun's stdout or nowhere.
pub(crate) fn capture_for(mode: OutputMode, log_dir: bool) -> Capture {
    match mode {
        OutputMode::Group | OutputMode::Line => Capture::Pipe,
        _ if log_dir => Capture::Pipe,
        // With secrets, streamed output goes through prun too, to be masked.
        OutputMode::Stream if !crate::mask::current().is_empty() => Capture::Pipe,
        OutputMode::Stream => Capture::Inherit,
        OutputMode::None => Capture::Null,
    }
}

/// How much of the end of a job's output is kept for reports.
pub(crate) const TAIL: usize = 64 * 1024;

/// The log file of a job under `--log-dir` (its name made a safe file name, a secret in
/// it masked: [`state::fingerprint::job_file_name`](crate::state::fingerprint::job_file_name)).
pub(crate) fn log_path(plan: &Plan, spec: &JobSpec) -> Option<std::path::PathBuf> {
    plan.log_dir.as_ref().map(|d| {
        let name = crate::state::fingerprint::job_file_name(&spec.name);
        d.join(format!("{name}.log"))
    })
}

/// Runs one attempt to its end; returns what the driver is to hear of it.
pub(super) fn run(ctx: &RunContext, a: &Attempt, tx: &Sender<Event>) -> Box<Ended> {
    let plan = &ctx.plan;
    let spec = a.spec.as_deref().unwrap_or_else(|| &plan.jobs[a.job]);
    let mut env = env::job(spec, a.slot, a.attempt, &ctx.run_id);
    env.extend(a.env.iter().cloned());
    // Its `if:` first (a retry's condition held when its first attempt started).
    if let (Some(cmd), 1) = (spec.opts.condition.as_deref(), a.attempt) {
        let c = super::condition::check(ctx, spec, a.slot, cmd, &env);
        if c != Condition::Holds {
            let status = c.status();
            let why = NotSpawned::Condition(cmd.to_owned(), c);
            return not_spawned(ctx, spec, a, status, why, Vec::new());
        }
    }
    // Up to date: not run. A retry always runs (its first attempt was not up to date),
    // and saves its fingerprint if it succeeds.
    let mut save = None;
    if let Some(u) = spec.opts.up_to_date.as_deref() {
        match uptodate::check(ctx, spec, a.slot, u, &env, a.attempt > 1) {
            Check::UpToDate { why, outputs } => {
                let why = NotSpawned::UpToDate(why);
                return not_spawned(ctx, spec, a, Status::UpToDate, why, outputs);
            }
            Check::Run { why, save: s } => {
                save = s;
                if a.attempt == 1 {
                    let _ = tx.send(Event::Stale { job: a.job, why });
                }
            }
        }
    }
    let output_file = ctx.run_dir.output_file(a.job, a.attempt);
    env.push(env::output(output_file.clone()));
    let words = if spec.direct {
        crate::plan::direct::words(&spec.run)
    } else {
        None
    };
    let service = spec.opts.service.as_deref();
    let watch = match service.and_then(|s| s.probe.as_ref()) {
        Some(Probe::Log(re)) => LogWatch::new(re),
        _ => None,
    };
    let req = Request {
        shell: &plan.shell,
        script: &spec.run,
        direct: words.as_deref(),
        wrapper: spec.opts.wrapper.as_deref(),
        env_base: &ctx.env_base,
        env: &env,
        workdir: &spec.workdir,
        // A log probe reads the service's output, whatever prun shows of it.
        capture: match watch {
            Some(_) => Capture::Pipe,
            None => capture_for(plan.output.mode, plan.log_dir.is_some()),
        },
        stdin: Stdin::Null,
        timeout: spec.opts.timeout,
        grace: plan.grace,
        stop: None,
        keeper: ctx.keeper.as_ref(),
        cgroup: ctx.cgroup.as_ref().map(|c| c.slot(a.slot)),
        tuning: (spec.opts.limits).tuning(ctx.controllers(), spec.opts.executor()),
    };
    let mut sink = Sink::new(ctx, spec, a, tx);
    // Secrets masked as the output is read, before the log, the tail or the terminal.
    let mut masked = crate::mask::Stream::new();
    sink.watch = watch;
    // A service is stopped by the core, not by prun's stop signal (cleanup jobs may
    // still need it): like a cleanup job, it gets only the deadline's SIGKILL.
    let cleanup = spec.opts.when.is_cleanup() || service.is_some();
    let mut late = false;
    let finished = spec.opts.executor().run(
        &req,
        &mut |pgid| {
            ctx.groups[a.slot - 1].store(pgid, Ordering::SeqCst);
            crate::error::Error::test_panic("worker");
            // A job that starts just after prun was told to stop gets the signal too
            // (but a cleanup job, which is meant to run then: `decide::at_start`).
            let (send, is_late) = decide::at_start(ctx.stop_signal.load(Ordering::SeqCst), cleanup);
            late = is_late;
            if let Some(sig) = send {
                crate::executor::group::send(pgid, sig);
            }
            // A service told to stop before its group existed.
            if service.is_some() && ctx.service_fate(a.slot) != decide::Fate::Running {
                crate::executor::group::send(pgid, libc::SIGTERM);
            }
        },
        &mut |bytes| masked.feed(bytes, &mut |b| sink.take(b)),
    );
    masked.finish(&mut |b| sink.take(b));
    ctx.groups[a.slot - 1].store(0, Ordering::SeqCst);
    // What it wrote to PRUN_OUTPUT; a file that breaks the rules fails the attempt.
    let outputs = crate::outcome::outputs::take(output_file.as_ref());
    // Before anything else can happen to prun: the record --resume trusts.
    let stop = ctx.stop_signal.load(Ordering::SeqCst);
    let status = match service {
        Some(_) => decide::service_status(ctx.service_fate(a.slot), &finished, stop),
        None => decide::status(&finished, outputs.is_ok(), stop, late),
    };
    let state_error = match (&outputs, status) {
        (Ok(o), Status::Success) => uptodate::save(save, &spec.name, o),
        _ => None,
    };
    if let Some(j) = &ctx.joblog {
        let record = AttemptRecord::new(spec, a.attempt, a.slot, &finished, status);
        let kept = outputs.as_deref().unwrap_or_default();
        j.record(&record, &spec.run, kept);
    }
    Box::new(Ended {
        attempt: AttemptEnded {
            job: a.job,
            attempt: a.attempt,
            finished,
            status,
            log: sink.log_path.take(),
            log_error: sink.log_error.take(),
            outputs,
            not_spawned: None,
            state_error,
        },
        slot: a.slot,
        output: std::mem::take(&mut sink.spool),
        tail: std::mem::take(&mut sink.tail),
        stdout_last: sink.passing.last,
        stdout_error: sink.passing.error.take(),
    })
}

/// Job `spec` is not spawned (`why`), and ended as `status`: what the core hears, with
/// the outputs saved with its fingerprint if it is up to date. The joblog records it
/// (`up-to-date`, `skipped` by its `if:`: `--resume` checks both again rather than
/// trusts them).
fn not_spawned(
    ctx: &RunContext,
    spec: &JobSpec,
    a: &Attempt,
    status: Status,
    why: NotSpawned,
    outputs: Vec<(String, String)>,
) -> Box<Ended> {
    let finished = crate::executor::finished::Finished::not_run();
    if let Some(j) = &ctx.joblog {
        let record = AttemptRecord::new(spec, a.attempt, a.slot, &finished, status);
        j.record(&record, &spec.run, &outputs);
    }
    Box::new(Ended {
        attempt: AttemptEnded {
            job: a.job,
            attempt: a.attempt,
            finished,
            status,
            log: None,
            log_error: None,
            outputs: Ok(outputs),
            not_spawned: Some(why),
            state_error: None,
        },
        slot: a.slot,
        output: Spool::new(),
        tail: Vec::new(),
        stdout_last: None,
        stdout_error: None,
    })
}

/// Where a worker puts the output it reads: the log file, then the spool (group mode) or
/// the driver (line mode, or stream mode when prun copies), and the kept tail.
struct Sink<'a> {
    job: usize,
    mode: OutputMode,
    spool: Spool,
    /// Group mode: pass output on as it comes once it outgrows `STREAM_AFTER`, so the
    /// driver can print a big block straight through instead of spooling it.
    may_stream: bool,
    streaming: bool,
    owner: &'a Token,
    /// How its big block goes out, once it is passed on (see [`output::owner`](crate::output::owner)).
    passing: Passing,
    tail: Vec<u8>,
    keep_tail: bool,
    log: Option<std::fs::File>,
    log_path: Option<std::path::PathBuf>,
    /// Why the log file is incomplete, once opening or writing it failed.
    log_error: Option<String>,
    tx: &'a Sender<Event>,
    /// A service's log probe: its lines are matched as they are read.
    watch: Option<LogWatch>,
}

impl<'a> Sink<'a> {
    /// Where the output of attempt `a` of `spec` goes: its log file opened (or why it
    /// could not be), nothing held yet.
    fn new(ctx: &'a RunContext, spec: &JobSpec, a: &Attempt, tx: &'a Sender<Event>) -> Self {
        let log_path = log_path(&ctx.plan, spec);
        let (log, log_error) = match log_path.as_deref().map(|p| open_log(p, a.attempt)) {
            Some(Ok(f)) => (Some(f), None),
            Some(Err(e)) => (None, Some(e.to_string())),
            None => (None, None),
        };
        Sink {
            job: a.job,
            mode: ctx.plan.output.mode,
            spool: Spool::new(),
            may_stream: ctx.stream_group,
            streaming: false,
            owner: &ctx.stdout_owner,
            passing: Passing::default(),
            tail: Vec::new(),
            keep_tail: ctx.keep_tail,
            log,
            log_path,
            log_error,
            tx,
            watch: None,
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        use std::io::Write;
        if let Some(f) = &mut self.log
            && let Err(e) = f.write_all(bytes)
        {
            self.log = None;
            let path = self.log_path.as_deref().unwrap_or(std::path::Path::new(""));
            self.log_error = Some(format!("writing {} failed: {e}", path.display()));
        }
        if self.keep_tail {
            self.tail.extend_from_slice(bytes);
            if self.tail.len() > 2 * TAIL {
                self.tail.drain(..self.tail.len() - TAIL);
            }
        }
        match self.mode {
            OutputMode::Group if self.streaming => self.pass(bytes),
            OutputMode::Group => {
                self.spool.push(bytes);
                if self.may_stream && self.spool.len() > STREAM_AFTER {
                    self.streaming = true;
                    let mut held = Vec::with_capacity(self.spool.len() as usize);
                    let _ = std::mem::take(&mut self.spool).write_to(&mut held);
                    self.pass(&held);
                }
            }
            OutputMode::Line | OutputMode::Stream => {
                let _ = self.tx.send(Event::Output {
                    job: self.job,
                    bytes: bytes.to_vec(),
                });
            }
            OutputMode::None => {}
        }
        if let Some(w) = &mut self.watch
            && w.feed(bytes)
        {
            let _ = self.tx.send(Event::ServiceReady { job: self.job });
        }
    }

    /// A chunk of a big block: to stdout directly, or on to the driver ([`output::owner`](crate::output::owner)).
    fn pass(&mut self, bytes: &[u8]) {
        let (tx, job) = (self.tx, self.job);
        self.passing.pass(self.owner, job, bytes, |bytes| {
            let _ = tx.send(Event::Output { job, bytes });
        });
    }
}

/// Opens a job's log file (never through a link, see [`files`](crate::files)): emptied for its first
/// attempt, appended to (under a marker line) for later ones.
fn open_log(path: &std::path::Path, attempt: u32) -> std::io::Result<std::fs::File> {
    use std::io::Write;
    let how = if attempt == 1 {
        InPlace::Truncate
    } else {
        InPlace::Append
    };
    let mut f = files::open_in_place(path, how)?;
    if attempt > 1 {
        writeln!(f, "── attempt {attempt}")?;
    }
    Ok(f)
}
