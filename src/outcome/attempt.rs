//! One ended attempt of a job, as the joblog and the timeline record it.

use std::time::{Duration, SystemTime};

use super::Status;
use crate::executor::finished::Finished;

/// One ended attempt of a job: a joblog line, a bar in the timeline.
#[derive(Debug, Clone)]
pub(crate) struct AttemptRecord {
    pub(crate) name: smol_str::SmolStr,
    pub(crate) attempt: u32,
    pub(crate) slot: usize,
    pub(crate) start: SystemTime,
    pub(crate) duration: Duration,
    pub(crate) ending: crate::outcome::Ending,
    pub(crate) status: Status,
    /// The resource units it held, as `resources::describe` words them (timeline).
    pub(crate) held: String,
    /// The last attempt of a failure its `allow_failure:` allows (timeline).
    pub(crate) allowed: bool,
    /// What it cost, where measured (timeline).
    pub(crate) cost: Option<crate::executor::finished::Cost>,
}

impl AttemptRecord {
    /// The record of attempt `attempt` of `spec`, run in `slot`, that ended as `f`.
    pub(crate) fn new(
        spec: &crate::plan::JobSpec,
        attempt: u32,
        slot: usize,
        f: &Finished,
        status: Status,
    ) -> Self {
        AttemptRecord {
            name: spec.name.clone(),
            attempt,
            slot,
            start: f.started,
            duration: f.duration,
            ending: f.ending,
            status,
            held: String::new(),
            allowed: false,
            cost: f.cost,
        }
    }
}
