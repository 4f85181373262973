//! The state of each service of a run (`Svc`, its `Phase`), as the core keeps it; what
//! the core decides about services is `services`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::attempt::Fate;
use crate::outcome::{JobResult, Reason};

/// Where a service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Not started.
    Waiting,
    /// Started; its probe has not passed yet.
    Starting { since: Instant },
    /// Its probe passed: the jobs that need it may start.
    Ready,
    /// prun told it to stop (`fate` says why); SIGKILL at `kill_at` unless it ended.
    Stopping {
        fate: Fate,
        kill_at: Option<Instant>,
    },
    /// It ended, and has its result.
    Ended,
}

/// One service of the run.
#[derive(Debug)]
pub(super) struct Svc {
    pub(super) job: usize,
    /// Its slot, past the pool's.
    pub(super) slot: usize,
    pub(super) phase: Phase,
    /// The jobs that need it, directly.
    pub(super) dependents: Vec<usize>,
    /// What the jobs that need it see while it runs (once ready): a success, with the
    /// outputs it wrote before and `ready_after`.
    pub(super) seen: Option<JobResult>,
    pub(super) ready_after: Option<Duration>,
    /// How its probe last failed.
    pub(super) last_failure: Option<String>,
    /// Why it failed, once prun decided so (it is then stopping).
    pub(super) failure: Option<Arc<Reason>>,
}

impl Svc {
    /// Its process is running (or may be).
    pub(super) fn running(&self) -> bool {
        matches!(
            self.phase,
            Phase::Starting { .. } | Phase::Ready | Phase::Stopping { .. }
        )
    }
}

/// The services of a run, and each service's jobs that need it.
pub(super) fn of_plan(plan: &crate::plan::Plan) -> Vec<Svc> {
    let first_slot = plan.pool_size() + 1;
    let mut svcs: Vec<Svc> = (plan.services().enumerate())
        .map(|(k, job)| Svc {
            job,
            slot: first_slot + k,
            phase: Phase::Waiting,
            dependents: Vec::new(),
            seen: None,
            ready_after: None,
            last_failure: None,
            failure: None,
        })
        .collect();
    if svcs.is_empty() {
        return svcs;
    }
    for (j, spec) in plan.jobs.iter().enumerate() {
        for n in spec.needs.iter() {
            if let Some(s) = svcs.iter_mut().find(|s| s.job == *n) {
                s.dependents.push(j);
            }
        }
    }
    svcs
}
