//! The results at the end of the run: moved out in the order they are shown, jobs
//! never started recorded as not run.

use std::sync::Arc;

use super::Schedule;
use super::service_state::Phase;
use crate::outcome::{JobResult, Reason, Status, Stop};

impl Schedule {
    /// The final result of each job of `order` (a permutation of every job), in that
    /// order, jobs never started recorded as not run. They are moved out in place (a run
    /// of a million jobs holds them once): `result` knows them no more.
    pub(crate) fn take_results(&mut self, order: &[usize]) -> Vec<JobResult> {
        let why = self.why_not_started();
        let mut results: Vec<JobResult> = std::mem::take(&mut self.results)
            .into_iter()
            .map(|r| r.unwrap_or_else(|| JobResult::not_run(Arc::clone(&why))))
            .collect();
        if order.len() == results.len() {
            permute(&mut results, order);
        } else {
            // Dynamic matrices are not shown themselves (their jobs are): those go last,
            // and are cut off.
            let mut full = order.to_vec();
            let mut shown = vec![false; results.len()];
            for &j in order {
                shown[j] = true;
            }
            full.extend((0..results.len()).filter(|&j| !shown[j]));
            permute(&mut results, &full);
            results.truncate(order.len());
        }
        results
    }

    /// The results after a bug in prun ended the run ([`runner::driver`](crate::runner::driver)): a job that was
    /// running was stopped by it, one not started never will be.
    pub(crate) fn take_crashed_results(&mut self, order: &[usize]) -> Vec<JobResult> {
        let stopped = Arc::new(Reason::Stopped(Stop::Internal));
        let not_started = Arc::new(Reason::NotStarted(Stop::Internal));
        for (j, r) in self.results.iter_mut().enumerate() {
            if r.is_none() {
                let service_ran = (self.services.iter())
                    .any(|s| s.job == j && !matches!(s.phase, Phase::Waiting | Phase::Ended));
                *r = Some(if self.running.contains_key(&j) || service_ran {
                    JobResult::new(Status::Interrupted).with_reason(Arc::clone(&stopped))
                } else {
                    JobResult::not_run(Arc::clone(&not_started))
                });
            }
        }
        self.take_results(order)
    }

    /// Why the jobs never started did not, once the run ended.
    pub(super) fn why_not_started(&self) -> Arc<Reason> {
        Arc::new(Reason::NotStarted(self.stop_cause()))
    }
}

/// Puts `items` in `order` in place: `items[i]` becomes what was `items[order[i]]`
/// (`order` is a permutation). Follows each cycle once, with one bit per item.
pub(super) fn permute<T>(items: &mut [T], order: &[usize]) {
    debug_assert_eq!(items.len(), order.len());
    if order.iter().enumerate().all(|(i, &o)| i == o) {
        return;
    }
    let mut done = vec![false; items.len()];
    for start in 0..items.len() {
        if done[start] {
            continue;
        }
        // Position i takes from order[i]: walk the cycle, swapping forward.
        let mut i = start;
        done[i] = true;
        while order[i] != start {
            items.swap(i, order[i]);
            i = order[i];
            done[i] = true;
        }
    }
}
