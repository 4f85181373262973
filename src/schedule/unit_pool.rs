//! The resources' units as the core holds them (`units` decides with them).

use std::collections::BTreeSet;

use crate::outcome::Units;
use crate::plan::resources::{Claim, Resource};

/// The resources' units: free, held, and the jobs waiting for them (the core's part
/// for `uses:`, decided in `units`).
#[derive(Debug)]
pub(super) struct UnitPool {
    /// Free units of each resource (`true`: free), and how many are free.
    pub(super) free: Vec<Vec<bool>>,
    pub(super) free_count: Vec<u32>,
    /// The units held by the job running in each slot (`held[slot - 1]`).
    pub(super) held: Vec<Units>,
    /// Jobs that may start but for their resource units, grouped by the units they ask
    /// for; each group in file order (`rank`). Waiting holds no slot.
    pub(super) waiting: Vec<(Claim, BTreeSet<(usize, usize)>)>,
}

impl UnitPool {
    pub(super) fn new(resources: &[Resource], slots: usize) -> Self {
        UnitPool {
            free: (resources.iter())
                .map(|r| vec![true; r.capacity as usize])
                .collect(),
            free_count: resources.iter().map(|r| r.capacity).collect(),
            held: vec![Units::default(); slots],
            waiting: Vec::new(),
        }
    }
}
