//! The machine as the throttles read it (`--memfree`: MemAvailable from /proc/meminfo;
//! `--load`: the 1-minute average from /proc/loadavg), looked at for the core at most
//! every `FRESH`, and what prun says while the throttles hold jobs back: the progress
//! bar's "waiting: …", and after `throttle_warn` a note on stderr every minute.

use std::time::{Duration, Instant};

use crate::output::terminal::Terminal;
use crate::plan::throttle::Throttle;
use crate::schedule::Schedule;
use crate::schedule::machine::Machine;

/// A look at the machine is reused for this long (reading it costs ~20 µs; a run of
/// 10,000 quick jobs would otherwise read it 20,000 times).
const FRESH: Duration = Duration::from_millis(200);
/// How often the note that jobs are held back is repeated.
const NOTE_EVERY: Duration = Duration::from_secs(60);

/// Looks at the machine for the core while a throttle is on.
pub(super) struct Watch {
    throttle: Throttle,
    seen: Option<Instant>,
    /// The last note on stderr.
    noted: Option<Instant>,
    /// What the progress bar says now.
    shown: Option<String>,
}

impl Watch {
    pub(super) fn new(throttle: Throttle) -> Self {
        Watch {
            throttle,
            seen: None,
            noted: None,
            shown: None,
        }
    }

    /// Tells the core what the machine looks like, unless it did so just now (or no
    /// throttle is on).
    pub(super) fn look(&mut self, core: &mut Schedule) {
        if !self.throttle.any() || self.seen.is_some_and(|t| t.elapsed() < FRESH) {
            return;
        }
        self.seen = Some(Instant::now());
        core.observe(Machine {
            mem_available: self.throttle.memfree.and_then(|_| mem_available()),
            load1: self.throttle.max_load.and_then(|_| load1()),
        });
    }

    /// Says what the throttles hold back: on the progress bar while they do, and on
    /// stderr once they have for `throttle_warn`, then every minute.
    pub(super) fn tell(&mut self, core: &Schedule, terminal: &mut Terminal) {
        if !self.throttle.any() {
            return;
        }
        let held = core.held_back();
        let now = held.since.map(|_| held.why.clone());
        if now != self.shown {
            terminal.waiting(now.as_deref());
            self.shown = now;
        }
        let Some(since) = held.since else {
            self.noted = None;
            return;
        };
        let waited = since.elapsed();
        if waited >= self.throttle.warn_after
            && self.noted.is_none_or(|t| t.elapsed() >= NOTE_EVERY)
        {
            self.noted = Some(Instant::now());
            terminal.say_now(&format!(
                "still waiting to start jobs: {} (for {}; see --memfree, --load)",
                held.why,
                humantime::format_duration(Duration::from_secs(waited.as_secs()))
            ));
        }
    }
}

/// MemAvailable, bytes.
fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = text.lines().find_map(|l| l.strip_prefix("MemAvailable:"))?;
    let kib: u64 = kib.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The 1-minute load average.
fn load1() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_machine_can_be_read() {
        assert!(super::mem_available().is_some_and(|b| b > 0));
        assert!(super::load1().is_some_and(|l| l >= 0.0));
    }
}
