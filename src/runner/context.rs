//! What every worker, the hook thread and the driver share for one run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};

use super::env;
use super::run_dir::RunDir;
use crate::executor::cgroup::RunCgroup;
use crate::executor::command::StopClock;
use crate::executor::environ::EnvBase;
use crate::executor::keeper::Keeper;
use crate::output::owner::Token;
use crate::plan::Plan;
use crate::state::joblog::Joblog;

/// What every worker shares for the run.
pub(crate) struct RunContext {
    pub(crate) plan: Arc<Plan>,
    pub(crate) run_id: Arc<str>,
    pub(crate) keeper: Option<Keeper>,
    /// Keep the end of each failed job's output (for JUnit, the step summary, the monitor).
    pub(crate) keep_tail: bool,
    /// Group mode may print a big block as it comes (not with --keep-order or --quiet).
    pub(crate) stream_group: bool,
    /// prun's own environment, captured once for every spawn.
    pub(crate) env_base: EnvBase,
    /// The process group running in each slot (index slot - 1), 0 when none: what the
    /// driver signals. Workers write it; no message is needed per job start.
    pub(crate) groups: Vec<AtomicI32>,
    /// Once prun has been told to stop: the signal for any group that starts after that.
    pub(crate) stop_signal: AtomicI32,
    /// Group mode: which job owns stdout ([`output::owner`](crate::output::owner)).
    pub(crate) stdout_owner: Token,
    /// `--joblog`: each worker appends its attempt's line the moment it has reaped it.
    pub(crate) joblog: Option<Joblog>,
    /// Set at prun's first signal: from then on each hook gets at most the grace period.
    pub(crate) stop_clock: Option<StopClock>,
    /// The run's cgroup, where prun contains jobs in cgroups ([`executor::cgroup`](crate::executor::cgroup)).
    pub(crate) cgroup: Option<RunCgroup>,
    /// Where the run's `PRUN_OUTPUT` and `PRUN_NEEDS` files go.
    pub(crate) run_dir: RunDir,
    /// The names of the `PRUN_RESOURCE_<name>` variables.
    pub(crate) resource_vars: env::ResourceVars,
    /// The pool's slots; `groups` past them are the services'.
    pub(crate) workers: usize,
    /// What the driver and a service's threads share, for service k at `services[k]`.
    pub(crate) services: Vec<ServiceShared>,
}

/// What the driver, a service's worker and its probe thread share.
#[derive(Default)]
pub(crate) struct ServiceShared {
    /// How prun stopped it ([`schedule::attempt::Fate`](crate::schedule::attempt::Fate) as a number), for its worker.
    pub(crate) fate: AtomicU8,
    /// Its probe is to stop polling (it passed, or the service is stopping).
    pub(crate) probe_stop: AtomicBool,
    /// The process group of the probe command running now (0: none).
    pub(crate) probe_group: AtomicI32,
}

impl RunContext {
    /// The cgroup controllers enabled for the jobs' limits (none without cgroups).
    pub(crate) fn controllers(&self) -> crate::executor::cgroup::Controllers {
        self.cgroup
            .as_ref()
            .map(|c| c.controllers)
            .unwrap_or_default()
    }

    /// Sends `sig` to every job running now: its process group and its cgroup. Services
    /// get only SIGKILL so: the core stops them when no job needs them any more (cleanup
    /// jobs may need them after a signal).
    pub(crate) fn signal_running(&self, sig: i32) {
        let upto = if sig == libc::SIGKILL {
            self.groups.len()
        } else {
            self.workers
        };
        self.signal_slots(sig, upto);
    }

    /// Sends `sig` to every job of the pool, never to a service (`--max-fail N:kill`);
    /// the first such signal is the stop signal workers see.
    pub(crate) fn signal_pool(&self, sig: i32) {
        let _ = (self.stop_signal).compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
        self.signal_slots(sig, self.workers);
    }

    /// Sends `sig` to what runs in the first `upto` slots (the pool's are first).
    pub(crate) fn signal_slots(&self, sig: i32, upto: usize) {
        for (i, g) in self.groups.iter().enumerate().take(upto) {
            let pgid = g.load(Ordering::SeqCst);
            if pgid > 0 {
                crate::executor::group::send(pgid, sig);
                if let Some(c) = &self.cgroup {
                    c.slot(i + 1).signal(sig, pgid);
                }
            }
        }
    }

    /// How prun stopped the service in `slot` (past the pool's), so far.
    pub(crate) fn service_fate(&self, slot: usize) -> crate::schedule::attempt::Fate {
        let v = self.services[slot - self.workers - 1]
            .fate
            .load(Ordering::SeqCst);
        crate::schedule::attempt::Fate::from_u8(v)
    }

    /// Sends `sig` to what runs in slot `slot`: its process group and its cgroup.
    pub(crate) fn signal_slot(&self, slot: usize, sig: i32) {
        let pgid = self.groups[slot - 1].load(Ordering::SeqCst);
        if pgid > 0 {
            crate::executor::group::send(pgid, sig);
        }
        if let Some(c) = &self.cgroup {
            c.slot(slot).signal(sig, pgid);
        }
    }
}
