//! How far the run is stopped, as the core holds it (`stop` decides with it).

use std::time::Instant;

/// How far the run is stopped: `--max-fail`, signals, the deadline.
#[derive(Debug, Default)]
pub(super) struct Stopping {
    /// No new job or retry starts (`--max-fail`, or a signal).
    pub(super) starting: bool,
    /// Jobs failed so far (for `--max-fail`; allowed failures do not count).
    pub(super) failures: u32,
    /// The first signal received.
    pub(super) signal: Option<i32>,
    /// A second signal came: everything was killed, no more hooks run.
    pub(super) killed: bool,
    /// When the jobs still running after the first signal get SIGKILL.
    pub(super) kill_at: Option<Instant>,
    /// That time came: cleanup jobs not started by then never start.
    pub(super) deadline_passed: bool,
}
