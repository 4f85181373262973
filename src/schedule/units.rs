//! Resources (`uses:`): a job that may start but for its units waits with the jobs that
//! ask for the same, in file order, holding no slot; units are taken lowest first.

use std::collections::BTreeSet;

use super::Schedule;
use super::actions::Action;
use crate::outcome::Units;

impl Schedule {
    /// Whether `job` takes units, so starts through the waiting groups.
    pub(super) fn waits_for_units(&self, job: usize) -> bool {
        let spec = self.spec(job);
        !spec.opts.uses.is_empty() && spec.dynamic.is_none()
    }

    pub(super) fn none_waiting(&self) -> bool {
        self.units.waiting.iter().all(|(_, w)| w.is_empty())
    }

    pub(super) fn units_free(&self, claim: &[(usize, u32)]) -> bool {
        claim.iter().all(|&(r, n)| self.units.free_count[r] >= n)
    }

    /// The units of `claim`, lowest free first, taken.
    pub(super) fn take_units(&mut self, claim: &[(usize, u32)]) -> Units {
        let total = claim.iter().map(|&(_, n)| n as usize).sum();
        let mut taken = Vec::with_capacity(total);
        for &(r, n) in claim {
            let mut left = n;
            for (u, free) in self.units.free[r].iter_mut().enumerate() {
                if left == 0 {
                    break;
                }
                if *free {
                    *free = false;
                    taken.push((r as u32, u as u32));
                    left -= 1;
                }
            }
            self.units.free_count[r] -= n;
        }
        taken.into_boxed_slice()
    }

    /// The units the job in `slot` held, given back.
    pub(super) fn release_units(&mut self, slot: usize) -> Units {
        let units = std::mem::take(&mut self.units.held[slot - 1]);
        for &(r, u) in units.iter() {
            self.units.free[r as usize][u as usize] = true;
            self.units.free_count[r as usize] += 1;
        }
        units
    }

    /// Where a job whose needs allow it to start waits for its units: with the jobs
    /// that ask for the same, in file order.
    pub(super) fn wait_for_units(&mut self, job: usize) {
        let rank = self.rank(job);
        let claim = &self.spec(job).opts.uses;
        match self.units.waiting.iter().position(|(c, _)| c == claim) {
            Some(g) => {
                self.units.waiting[g].1.insert(rank);
            }
            None => {
                let claim = claim.clone();
                self.units.waiting.push((claim, BTreeSet::from([rank])));
            }
        }
    }

    /// Starts waiting jobs whose units are free, earliest in the file first, while
    /// slots are free. Each admission looks at one job per group: O(groups).
    pub(super) fn start_waiting(&mut self, out: &mut Vec<Action>) {
        while self.slot_free() && !self.expanding {
            let best = (self.units.waiting.iter())
                .enumerate()
                .filter_map(|(g, (claim, w))| {
                    let &first = w.first()?;
                    self.units_free(claim).then_some((first, g))
                })
                .min();
            let Some(((_, job), g)) = best else { break };
            self.units.waiting[g].1.pop_first();
            self.admit(job, 1, out);
        }
    }
}
