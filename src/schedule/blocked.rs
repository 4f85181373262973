//! Jobs reached whose needs have not let them start yet, indexed by what each waits for,
//! so that an event looks only at the jobs it can unblock. A job waits on every need not
//! ended; when one ends, only its waiters are looked at, and a job of plain needs (no
//! service, no dynamic matrix) only counts it: one failed need skips it at once, the last
//! one to end lets it start. Once its needs allow it, a job waits for a slot among the
//! ready ones, in file order. 20 000 jobs that need one job, a chain of 10 000 or a sink
//! that needs 20 000 cost no more per event than jobs without needs.

use std::collections::{BTreeSet, HashMap};

/// A job's place in file order, then the job (`Schedule::rank`).
pub(super) type Ranked = ((usize, usize), usize);

/// What a waiting job still waits for.
#[derive(Debug)]
pub(super) struct Wait {
    pub(super) rank: (usize, usize),
    /// Its needs are plain jobs: only counted (else looked at whole each time).
    pub(super) plain: bool,
    /// Needs not ended (plain needs only).
    pub(super) unended: u32,
    /// One of its needs failed (for `when: failure`).
    pub(super) failed: bool,
}

#[derive(Debug, Default)]
pub(super) struct Blocked {
    waiting: HashMap<usize, Wait>,
    /// The jobs to look at again when this job ends (or its matrix expands, or its
    /// service is ready or fails).
    waiters: HashMap<usize, Vec<usize>>,
    /// (a job, the need of it that ended), for the next `Schedule::start_blocked`.
    recheck: Vec<(usize, usize)>,
    /// Their needs allow them to start: waiting for a slot, in file order.
    ready: BTreeSet<Ranked>,
    /// The rank of each of those.
    ready_rank: HashMap<usize, (usize, usize)>,
}

impl Blocked {
    /// `job` waits for each of `on` to end.
    pub(super) fn wait(&mut self, job: usize, wait: Wait, on: &[usize]) {
        self.waiting.insert(job, wait);
        self.watch(job, on);
    }

    /// `job` is looked at again when each of `on` ends.
    pub(super) fn watch(&mut self, job: usize, on: &[usize]) {
        for &e in on {
            self.waiters.entry(e).or_default().push(job);
        }
    }

    /// `job` is to be looked at whole by the next `Schedule::start_blocked`, whatever it
    /// waits for (the run stopped: a cleanup job that may still run).
    pub(super) fn look_again(&mut self, job: usize, rank: (usize, usize)) {
        let wait = Wait {
            rank,
            plain: false,
            unended: 0,
            failed: false,
        };
        self.waiting.insert(job, wait);
        self.recheck.push((job, job));
    }

    /// Job `job` ended (or changed as its needers see it): those waiting on it are
    /// looked at again.
    pub(super) fn ended(&mut self, job: usize) {
        if let Some(w) = self.waiters.remove(&job) {
            self.recheck.extend(w.into_iter().map(|j| (j, job)));
        }
    }

    /// The (job, need ended) pairs to look at, in file order of the jobs; only jobs still
    /// here (a ready one is taken out of the ready ones: it is decided again).
    pub(super) fn take_recheck(&mut self) -> Vec<(usize, usize)> {
        let mut pairs = std::mem::take(&mut self.recheck);
        let rank = |j: usize| {
            (self.waiting.get(&j).map(|w| w.rank)).or_else(|| self.ready_rank.get(&j).copied())
        };
        let mut ranked: Vec<((usize, usize), usize, usize)> = pairs
            .drain(..)
            .filter_map(|(j, e)| Some((rank(j)?, j, e)))
            .collect();
        ranked.sort_by_key(|&(r, _, _)| r);
        ranked.into_iter().map(|(_, j, e)| (j, e)).collect()
    }

    /// The waiting state of `job`, if it waits.
    pub(super) fn wait_of(&mut self, job: usize) -> Option<&mut Wait> {
        self.waiting.get_mut(&job)
    }

    /// `job` waits no more: decided (it starts, is ready or is skipped). Its rank, if it
    /// was here (waiting, or ready for a slot).
    pub(super) fn take(&mut self, job: usize) -> Option<(usize, usize)> {
        if let Some(w) = self.waiting.remove(&job) {
            return Some(w.rank);
        }
        let r = self.ready_rank.remove(&job)?;
        self.ready.remove(&(r, job));
        Some(r)
    }

    /// A job whose needs allow it, waiting for a slot; looked at again should one of
    /// `services` fail meanwhile (a service's end is the one that can change).
    pub(super) fn ready(&mut self, job: Ranked, services: &[usize]) {
        self.ready.insert(job);
        self.ready_rank.insert(job.1, job.0);
        self.watch(job.1, services);
    }

    /// The first job waiting for a slot, taken out.
    pub(super) fn pop_ready(&mut self) -> Option<usize> {
        let (_, j) = self.ready.pop_first()?;
        self.ready_rank.remove(&j);
        Some(j)
    }

    pub(super) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.ready.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.waiting.len() + self.ready.len()
    }

    /// Every job in here, in file order, taken out (the run stops).
    pub(super) fn take_all(&mut self) -> Vec<usize> {
        let mut all: Vec<Ranked> = (self.waiting.drain()).map(|(j, w)| (w.rank, j)).collect();
        all.extend(std::mem::take(&mut self.ready));
        self.ready_rank.clear();
        all.sort_unstable();
        self.waiters.clear();
        self.recheck.clear();
        all.into_iter().map(|(_, j)| j).collect()
    }
}
