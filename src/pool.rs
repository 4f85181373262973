//! The pool: one dedicated rayon thread pool of exactly N workers. Each worker supervises
//! one job's process at a time and reports what happened as `Event`s; workers never print
//! and never decide. The scheduler hands a job to the pool only when a slot is free, so
//! rayon never queues work and a job starts the moment it is handed over.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::SyncSender as Sender;

use crate::event::{Ended, Event};
use crate::executor::cgroup::RunCgroup;
use crate::executor::keeper::Keeper;
use crate::executor::simple::simple_words;
use crate::executor::spawn::EnvBase;
use crate::executor::{Capture, Finished, Request, StopClock, local};
use crate::files::{self, InPlace};
use crate::plan::{JobSpec, OutputMode, Plan};
use crate::report::joblog::Joblog;
use crate::report::owner::{Passing, STREAM_AFTER, Token};
use crate::report::spool::Spool;
use crate::report::{AttemptRecord, Status};

pub(crate) struct Pool {
    pool: rayon::ThreadPool,
}

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

impl Pool {
    /// A pool of exactly `workers` threads.
    /// A thread that cannot start is rayon's error around the system's, which is
    /// returned as it is (its errno says why).
    pub(crate) fn new(workers: usize) -> std::io::Result<Pool> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("prun-worker-{}", i + 1))
            .build()
            .map_err(|e| {
                use std::error::Error as _;
                let errno = e
                    .source()
                    .and_then(|s| s.downcast_ref::<std::io::Error>())
                    .and_then(std::io::Error::raw_os_error);
                errno.map_or_else(
                    || std::io::Error::other(e),
                    std::io::Error::from_raw_os_error,
                )
            })?;
        Ok(Pool { pool })
    }

    /// Starts `a` on a free worker.
    pub(crate) fn start(&self, ctx: &Arc<RunContext>, a: Attempt, tx: &Sender<Event>) {
        let (ctx, tx) = (Arc::clone(ctx), tx.clone());
        self.pool.spawn_fifo(move || {
            // A bug in a worker must not abort prun (rayon aborts on a panicking job) and
            // leave the scheduler waiting: report it as the attempt's failure instead.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_attempt(&ctx, &a, &tx)
            }));
            let ended = ran.unwrap_or_else(|_| {
                Box::new(Ended {
                    finished: Finished::not_started(
                        "internal error in prun's worker (a bug: please report it)".into(),
                    ),
                    ..Ended::new(a.job, a.attempt, a.slot)
                })
            });
            // The run's context goes before the driver hears of the end: after the last
            // job it is then dropped here or by the driver, never by a worker that the
            // exit of prun cuts short (which would leave the run's directory behind).
            drop(ctx);
            let _ = tx.send(Event::Ended(ended));
        });
    }
}

/// How job output is captured: through a pipe whenever prun needs to see it (to group
/// or prefix it, or to copy it to `--log-dir`), else straight to prun's stdout or nowhere.
pub(crate) fn capture_for(mode: OutputMode, log_dir: bool) -> Capture {
    match mode {
        OutputMode::Group | OutputMode::Line => Capture::Pipe,
        _ if log_dir => Capture::Pipe,
        OutputMode::Stream => Capture::Inherit,
        OutputMode::None => Capture::Null,
    }
}

/// What every worker shares for the run.
pub(crate) struct RunContext {
    pub(crate) plan: Arc<Plan>,
    pub(crate) run_id: Arc<str>,
    pub(crate) keeper: Option<Keeper>,
    /// Keep the end of each attempt's output (for the JUnit report).
    pub(crate) keep_tail: bool,
    /// Group mode may print a big block as it comes (not with --keep-order or --quiet).
    pub(crate) stream_group: bool,
    /// prun's own environment, captured once for every spawn.
    pub(crate) env_base: EnvBase,
    /// The process group running in each slot (index slot - 1), 0 when none: what the
    /// scheduler signals. Workers write it; no message is needed per job start.
    pub(crate) groups: Vec<AtomicI32>,
    /// Once prun has been told to stop: the signal for any group that starts after that.
    pub(crate) stop_signal: AtomicI32,
    /// Group mode: which job owns stdout (`report::owner`).
    pub(crate) stdout_owner: Token,
    /// `--joblog`: each worker appends its attempt's line the moment it has reaped it.
    pub(crate) joblog: Option<Joblog>,
    /// Set at prun's first signal: from then on each hook gets at most the grace period.
    pub(crate) stop_clock: Option<StopClock>,
    /// The run's cgroup, where prun contains jobs in cgroups (`executor::cgroup`).
    pub(crate) cgroup: Option<RunCgroup>,
    /// The run's private directory for `PRUN_OUTPUT` and `PRUN_NEEDS` files (`None`
    /// only if it could not be made: then jobs get no `PRUN_OUTPUT`).
    pub(crate) run_dir: crate::outputs::RunDir,
}

impl RunContext {
    /// Sends `sig` to every job running now: its process group and its cgroup.
    pub(crate) fn signal_running(&self, sig: i32) {
        for (i, g) in self.groups.iter().enumerate() {
            let pgid = g.load(Ordering::SeqCst);
            if pgid > 0 {
                send(pgid, sig);
                if let Some(c) = &self.cgroup {
                    c.slot(i + 1).signal(sig);
                }
            }
        }
    }
}

/// Sends signal number `sig` to process group `pgid`.
pub(crate) fn send(pgid: i32, sig: i32) {
    if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
        local::signal_group(pgid, s);
    }
}

/// How much of the end of a job's output is kept for reports.
pub(crate) const TAIL: usize = 64 * 1024;

/// The log file of a job under `--log-dir` (its name made a safe file name, see
/// `names::file_name`).
pub(crate) fn log_path(plan: &Plan, spec: &JobSpec) -> Option<std::path::PathBuf> {
    plan.log_dir
        .as_ref()
        .map(|d| d.join(format!("{}.log", crate::names::file_name(&spec.name))))
}

/// Runs one attempt to its end; returns what the driver is to hear of it.
fn run_attempt(ctx: &RunContext, a: &Attempt, tx: &Sender<Event>) -> Box<Ended> {
    let plan = &ctx.plan;
    let spec = a.spec.as_deref().unwrap_or_else(|| &plan.jobs[a.job]);
    let mut env = job_env(spec, a.slot, a.attempt, &ctx.run_id);
    env.extend(a.env.iter().cloned());
    let output_file = ctx.run_dir.output_file(a.job, a.attempt);
    env.push(("PRUN_OUTPUT".into(), output_file.clone()));
    let words = if spec.direct {
        simple_words(&spec.run)
    } else {
        None
    };
    let req = Request {
        shell: &plan.shell,
        script: &spec.run,
        direct: words.as_deref(),
        wrapper: spec.opts.srun.as_deref(),
        env_base: &ctx.env_base,
        env: &env,
        workdir: &spec.workdir,
        capture: capture_for(plan.output.mode, plan.log_dir.is_some()),
        stdin: crate::executor::Stdin::Null,
        timeout: spec.opts.timeout,
        grace: plan.grace,
        stop: None,
        keeper: ctx.keeper.as_ref(),
        cgroup: ctx.cgroup.as_ref().map(|c| c.slot(a.slot)),
    };
    let log_path = log_path(plan, spec);
    let (log, log_error) = match log_path.as_deref().map(|p| open_log(p, a.attempt)) {
        Some(Ok(f)) => (Some(f), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    let mut sink = Sink {
        job: a.job,
        mode: plan.output.mode,
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
    };
    let job = a.job;
    // A cleanup job (`when: failure | always`) started after prun was told to stop is
    // meant to run then: it gets no stop signal, only the SIGKILL of the deadline.
    let cleanup = spec.opts.when.is_cleanup();
    let mut late = false;
    let finished = local::run(
        &req,
        &mut |pgid| {
            ctx.groups[a.slot - 1].store(pgid, Ordering::SeqCst);
            // A job that starts just after prun was told to stop gets the signal too.
            let sig = ctx.stop_signal.load(Ordering::SeqCst);
            late = cleanup && sig != 0;
            if sig != 0 && (!late || sig == libc::SIGKILL) {
                send(pgid, sig);
            }
        },
        &mut |bytes| sink.take(bytes),
    );
    ctx.groups[a.slot - 1].store(0, Ordering::SeqCst);
    // What it wrote to PRUN_OUTPUT; a file that breaks the rules fails the attempt.
    let outputs = crate::outputs::take(output_file.as_ref());
    // Before anything else can happen to prun: the record --resume trusts.
    let stopping = match ctx.stop_signal.load(Ordering::SeqCst) {
        0 => false,
        sig => !late || sig == libc::SIGKILL,
    };
    let mut status = Status::of_attempt(&finished, stopping);
    if status == Status::Success && outputs.is_err() {
        status = Status::Failed;
    }
    if let Some(j) = &ctx.joblog {
        let record = AttemptRecord::new(spec, a.attempt, a.slot, &finished, status);
        let kept = outputs.as_deref().unwrap_or_default();
        j.record(&record, &spec.run, kept);
    }
    Box::new(Ended {
        status,
        finished,
        output: sink.spool,
        tail: sink.tail,
        outputs,
        stdout_last: sink.passing.last,
        stdout_error: sink.passing.error,
        log_error: sink.log_error,
        ..Ended::new(job, a.attempt, a.slot)
    })
}

/// Where a worker puts the output it reads: the log file, then the spool (group mode) or
/// the scheduler (line mode, or stream mode when prun copies), and the kept tail.
struct Sink<'a> {
    job: usize,
    mode: OutputMode,
    spool: Spool,
    /// Group mode: pass output on as it comes once it outgrows `STREAM_AFTER`, so the
    /// scheduler can print a big block straight through instead of spooling it.
    may_stream: bool,
    streaming: bool,
    owner: &'a Token,
    /// How its big block goes out, once it is passed on (see `report::owner`).
    passing: Passing,
    tail: Vec<u8>,
    keep_tail: bool,
    log: Option<std::fs::File>,
    log_path: Option<std::path::PathBuf>,
    /// Why the log file is incomplete, once opening or writing it failed.
    log_error: Option<String>,
    tx: &'a Sender<Event>,
}

impl Sink<'_> {
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
    }

    /// A chunk of a big block: to stdout directly, or on to the driver (`report::owner`).
    fn pass(&mut self, bytes: &[u8]) {
        let (tx, job) = (self.tx, self.job);
        self.passing.pass(self.owner, job, bytes, |bytes| {
            let _ = tx.send(Event::Output { job, bytes });
        });
    }
}

/// Opens a job's log file (never through a link, see `files`): emptied for its first
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

/// A job's environment: the jobfile's `env` merged into the job's, then prun's own
/// variables (DESIGN.md §2). Hooks see the same, plus the result variables.
pub(crate) fn job_env(
    spec: &JobSpec,
    slot: usize,
    attempt: u32,
    run_id: &str,
) -> Vec<(String, String)> {
    // Room for what the caller adds: PRUN_OUTPUT, PRUN_NEEDS.
    let mut env = Vec::with_capacity(spec.env.len() + spec.matrix.len() + 7);
    env.extend(spec.env.iter().cloned());
    env.extend(
        spec.matrix
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env.push(("PRUN_JOB".into(), spec.name.to_string()));
    env.push(("PRUN_JOB_INDEX".into(), spec.index.to_string()));
    env.push(("PRUN_SLOT".into(), slot.to_string()));
    env.push(("PRUN_ATTEMPT".into(), attempt.to_string()));
    env.push(("PRUN_RUN_ID".into(), run_id.to_owned()));
    env
}
