//! The throttles, decided here like every other reason to start a job or not: a job
//! starts only while the machine, as the driver last saw it (`observe`), has
//! MemAvailable ≥ `--memfree` and a 1-minute load average below `--load`. While that
//! holds jobs back the core asks to be woken every `RECHECK` (the driver then looks at
//! the machine again: no busy wait), and says why (`held_back`), for the progress bar,
//! the once-a-minute note and the end summary.

use std::time::{Duration, Instant};

use super::Schedule;
use super::machine::{Held, Machine, RECHECK};

impl Schedule {
    /// What the machine looks like now (the driver reads it; the core decides).
    pub(crate) fn observe(&mut self, m: Machine) {
        self.throttle.machine = m;
    }

    /// Why no job may start now for the machine's sake, in words; `None` when the
    /// throttles allow one.
    pub(super) fn throttled(&self) -> Option<String> {
        let t = &self.plan.throttle;
        let mut why = Vec::new();
        if let (Some(want), Some(have)) = (t.memfree, self.throttle.machine.mem_available)
            && have < want
        {
            why.push(format!(
                "{} free < {}",
                crate::sizes::short(have),
                crate::sizes::short(want)
            ));
        }
        if let (Some(max), Some(load)) = (t.max_load, self.throttle.machine.load1)
            && load >= max
        {
            why.push(format!("load {load:.2} ≥ {max}"));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }

    /// After the jobs that could start have: whether one is held back by a throttle
    /// (a slot is open, the delay has passed, a job is ready), and since when.
    pub(super) fn note_held(&mut self, now: Instant) {
        let held = match self.throttled() {
            Some(why) if self.slot_open_for_throttle() && self.work_ready(now) => Some(why),
            _ => None,
        };
        match (held, self.throttle.held.since) {
            (Some(why), None) => {
                self.throttle.held.since = Some(now);
                self.throttle.held.why = why;
            }
            (Some(why), Some(_)) => self.throttle.held.why = why,
            (None, Some(since)) => {
                self.throttle.held.total += now.saturating_duration_since(since);
                self.throttle.held.since = None;
            }
            (None, None) => {}
        }
    }

    /// Jobs held back by a throttle now: since when and why; and the time they were in
    /// all (`Held`).
    pub(crate) fn held_back(&self) -> &Held {
        &self.throttle.held
    }

    /// How long the throttles held jobs back in all (to now), and why they last did;
    /// `None` when they never did.
    pub(crate) fn throttled_in_all(&self) -> Option<(Duration, String)> {
        let h = &self.throttle.held;
        let now = self.now.unwrap_or_else(Instant::now);
        let total = h.total
            + h.since
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        (!h.why.is_empty()).then(|| (total, h.why.clone()))
    }

    /// When to look at the machine again, while a throttle holds jobs back.
    pub(super) fn throttle_wake_at(&self, now: Instant) -> Option<Instant> {
        self.throttle.held.since.map(|_| now + RECHECK)
    }

    /// A job could start now but for the throttles: one is ready to go.
    fn work_ready(&self, now: Instant) -> bool {
        !self.stopping.starting
            && (!self.queue.is_empty()
                || self.next < self.plan.jobs.len()
                || self.retries.iter().any(|r| r.at <= now)
                || !self.units.waiting.is_empty()
                || (!self.blocked.is_empty() && self.running.is_empty()))
    }
}
