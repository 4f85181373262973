//! The pool: one dedicated rayon thread pool of exactly N workers. Each worker supervises
//! one job's process at a time and reports what happened as `Event`s; workers never print
//! and never decide. The scheduler hands a job to the pool only when a slot is free, so
//! rayon never queues work and a job starts the moment it is handed over.

use std::sync::Arc;
use std::sync::mpsc::SyncSender as Sender;

use crate::cli::OutputMode;
use crate::event::Event;
use crate::executor::{Capture, Finished, Request, local};
use crate::keeper::Keeper;
use crate::plan::{JobSpec, Plan};
use crate::report::spool::Spool;

pub(crate) struct Pool {
    pool: rayon::ThreadPool,
}

/// What a worker needs to run one attempt of one job.
pub(crate) struct Attempt {
    pub(crate) job: usize,
    pub(crate) slot: usize,
    pub(crate) attempt: u32,
}

impl Pool {
    /// A pool of exactly `workers` threads.
    pub(crate) fn new(workers: usize) -> Result<Pool, rayon::ThreadPoolBuildError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("prun-worker-{}", i + 1))
            .build()?;
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
            if ran.is_err() {
                let _ = tx.send(Event::Ended {
                    job: a.job,
                    attempt: a.attempt,
                    finished: Finished::not_started(
                        "internal error in prun's worker (a bug: please report it)".into(),
                    ),
                    output: Spool::new(),
                });
            }
        });
    }
}

/// How job output is captured for an `--output` mode.
pub(crate) fn capture_for(mode: OutputMode) -> Capture {
    match mode {
        OutputMode::Group | OutputMode::Line => Capture::Pipe,
        OutputMode::Stream => Capture::Inherit,
        OutputMode::None => Capture::Null,
    }
}

/// What every worker shares for the run.
pub(crate) struct RunContext {
    pub(crate) plan: Arc<Plan>,
    pub(crate) run_id: Arc<str>,
    pub(crate) keeper: Option<Keeper>,
}

fn run_attempt(ctx: &RunContext, a: &Attempt, tx: &Sender<Event>) {
    let plan = &ctx.plan;
    let spec = &plan.jobs[a.job];
    let env = job_env(spec, a.slot, a.attempt, &ctx.run_id);
    let req = Request {
        shell: &plan.shell,
        script: &spec.run,
        env: &env,
        workdir: &spec.workdir,
        capture: capture_for(plan.output),
        stdin: None,
        timeout: spec.timeout,
        grace: plan.grace,
    };
    let mut output = Spool::new();
    let line_mode = plan.output == OutputMode::Line;
    let job = a.job;
    let mut group = 0;
    let finished = local::run(
        &req,
        &mut |pgid| {
            group = pgid;
            if let Some(k) = &ctx.keeper {
                k.started(pgid);
            }
            let _ = tx.send(Event::Started { job, pgid });
        },
        &mut |bytes| {
            if line_mode {
                let _ = tx.send(Event::Output {
                    job,
                    bytes: bytes.to_vec(),
                });
            } else {
                output.push(bytes);
            }
        },
    );
    if let Some(k) = &ctx.keeper
        && group > 0
    {
        k.ended(group);
    }
    let _ = tx.send(Event::Ended {
        job,
        attempt: a.attempt,
        finished,
        output,
    });
}

/// A job's environment: the jobfile's `env` merged into the job's, then prun's own
/// variables (DESIGN.md §2). Hooks see the same, plus the result variables.
pub(crate) fn job_env(
    spec: &JobSpec,
    slot: usize,
    attempt: u32,
    run_id: &str,
) -> Vec<(String, String)> {
    let mut env = Vec::with_capacity(spec.env.len() + 5);
    env.extend(spec.env.iter().cloned());
    env.push(("PRUN_JOB".into(), spec.name.clone()));
    env.push(("PRUN_JOB_INDEX".into(), spec.index.to_string()));
    env.push(("PRUN_SLOT".into(), slot.to_string()));
    env.push(("PRUN_ATTEMPT".into(), attempt.to_string()));
    env.push(("PRUN_RUN_ID".into(), run_id.to_owned()));
    env
}
