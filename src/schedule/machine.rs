//! The machine as the throttles see it (`Machine`, told by the driver), and how they
//! held jobs back (`Held`); the decisions are `throttle`'s.

use std::time::{Duration, Instant};

/// How often a job held back by a throttle is looked at again.
pub(crate) const RECHECK: Duration = Duration::from_millis(500);

/// The machine as the throttles read it (`None`: could not be read; that throttle
/// then holds nothing back).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Machine {
    /// MemAvailable, bytes.
    pub(crate) mem_available: Option<u64>,
    /// The 1-minute load average.
    pub(crate) load1: Option<f64>,
}

/// How long throttles held jobs back, and why they last did.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Held {
    /// Since when jobs are held back now (`None`: they are not).
    pub(crate) since: Option<Instant>,
    /// All the time jobs were held back in this run.
    pub(crate) total: Duration,
    /// Why, in words: `1.2G free < 2G`, `load 3.10 ≥ 2`.
    pub(crate) why: String,
}

/// The machine as the driver last saw it, and how the throttles held jobs back (the
/// core's part for the throttles, `throttle`).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    pub(crate) machine: Machine,
    pub(crate) held: Held,
}
