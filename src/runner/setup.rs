//! Setting a run up, in the one order that keeps every guarantee: the run's files
//! (`run_dir`), then — while prun still has one thread — the keeper, which is told
//! where the run's cgroup goes before it exists, so nothing is ever left behind; then
//! the cgroups, the signal handlers (before the first job, so no signal is lost), the
//! pool, and the context every worker shares.

use std::sync::Arc;
use std::sync::atomic::AtomicI32;
use std::sync::mpsc::{self, Receiver, SyncSender as Sender};

use super::context::RunContext;
use super::env;
use super::event::Event;
use super::pool::Pool;
use super::run_dir::RunDir;
use super::signals::{self, SignalWatch};
use crate::error::{Error, PathError, UsageError};
use crate::executor::cgroup::{self, Controllers, RunCgroup};
use crate::executor::command::StopClock;
use crate::executor::environ::EnvBase;
use crate::executor::keeper::{Keeper, Leftovers};
use crate::output::console;
use crate::output::owner::Token;
use crate::plan::{Containment, Plan};
use crate::state::joblog::Joblog;

/// How many events may wait for the driver before their senders block.
const EVENT_QUEUE: usize = 64;

/// A run, set up: what the driver works with.
pub(super) struct Started {
    pub(super) ctx: Arc<RunContext>,
    pub(super) pool: Pool,
    /// Signals are caught; `forward` starts passing them on as events.
    pub(super) signals: SignalWatch,
    pub(super) tx: Sender<Event>,
    pub(super) rx: Receiver<Event>,
}

/// Sets the run of [`plan`](crate::plan) up; an `Err` means nothing has run.
pub(super) fn set_up(
    plan: &Arc<Plan>,
    run_id: &str,
    joblog: Option<Joblog>,
) -> Result<Started, Error> {
    crate::executor::group::become_subreaper();
    signals::ignore_file_size_signal();
    let workers = plan.pool_size();
    // Services run past the pool's slots, each in its own (see `Plan::services`).
    let services = plan.services().count();
    let slots = workers + services;
    let mut run_dir = RunDir::create().map_err(|source| PathError {
        what: "the temporary directory for PRUN_OUTPUT and PRUN_NEEDS ($TMPDIR)",
        path: std::env::temp_dir().display().to_string(),
        source,
    })?;
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
    let want = (plan.jobs.iter()).fold(Controllers::default(), |c, j| {
        c.or(j.opts.limits.controllers())
    });
    let cgroup = cgroup_path.and_then(|p| RunCgroup::create(p, slots, keeper.is_some(), want));
    let controllers = cgroup.as_ref().map(|c| c.controllers).unwrap_or_default();
    cgroup::set_run_controllers(controllers);
    // Not under --quiet: a cron run would mail it every night (the report, --dry-run
    // and the limited jobs' reasons still say it).
    let jobs = (plan.jobs.iter()).map(|j| (j.base(), &j.opts.limits, j.opts.executor()));
    if !plan.output.quiet
        && let Some(words) = crate::plan::limits::not_enforced_words(jobs, controllers)
    {
        console::eprint(&format!("prun: warning: {words}\n"));
    }
    if plan.containment == Containment::Cgroup && cgroup.is_none() {
        let why = cgroup::unavailable().unwrap_or_else(|| "creating one failed".into());
        return Err(UsageError::NoCgroups(why).into());
    }
    // Bounded: a job writing faster than prun can print waits, instead of prun's memory
    // growing (each event carries at most 64 KiB of output).
    let (tx, rx) = mpsc::sync_channel(EVENT_QUEUE);
    let signals = signals::watch().map_err(|e| Error::io("catching signals", e))?;
    let pool = Pool::new(workers).map_err(|e| Error::starting("the worker pool", e))?;
    let ctx = Arc::new(RunContext {
        plan: Arc::clone(plan),
        run_id: Arc::from(run_id),
        keeper,
        keep_tail: crate::report::needs_tails(plan),
        stream_group: !plan.output.keep_order && !plan.output.quiet,
        env_base: EnvBase::capture(),
        groups: (0..slots).map(|_| AtomicI32::new(0)).collect(),
        stop_signal: AtomicI32::new(0),
        stdout_owner: Token::default(),
        joblog,
        stop_clock: StopClock::new().ok(),
        cgroup,
        run_dir,
        resource_vars: env::ResourceVars::new(&plan.resources),
        workers,
        services: (0..services).map(|_| Default::default()).collect(),
    });
    Ok(Started {
        ctx,
        pool,
        signals,
        tx,
        rx,
    })
}
