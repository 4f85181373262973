//! One job's record in the run (`JobResult`): its final status, every attempt, why it
//! was skipped or not run, what it handed back.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::reason::{HookReason, Reason};
use super::status::Status;
use crate::executor::finished::{Cost, CostSource, Ending, Finished};
use crate::plan::hooks::HookCase;

/// A hook that did not succeed.
#[derive(Debug, Clone)]
pub(crate) struct HookFailure {
    /// The name of the job it belongs to, or `None` for a run-level hook.
    pub(crate) job: Option<smol_str::SmolStr>,
    pub(crate) hook: crate::plan::hooks::HookKind,
    pub(crate) reason: HookReason,
}

/// One job's record in the run: 64 bytes (a run may hold a million, all of them from
/// the start). How its last attempt ended is kept packed (`Last`, read back through
/// `finished`); what most jobs do not have is boxed in `More`, read through the methods
/// of the same names.
#[derive(Debug, Clone)]
pub(crate) struct JobResult {
    pub(crate) status: Status,
    /// Skipped only because a `when:` condition did not hold (its own, or a need's so
    /// skipped): that alone does not make the run's exit code 1.
    pub(crate) by_condition: bool,
    /// A failure its `allow_failure:` allows: reported as failed, but it counts as a
    /// success for the jobs that need it and for the exit code.
    pub(crate) allowed: bool,
    /// `LAST_*` bits: what `last` holds.
    bits: u8,
    /// The pool slot of its last attempt (1-based), 0 when none.
    slot: u16,
    pub(crate) attempts: u32,
    last: Last,
    /// Why it was skipped, not run, or could not start (shared by the jobs a stop left
    /// not run).
    reason: Option<Arc<Reason>>,
    more: Option<Box<More>>,
}

/// The last attempt, packed: times in nanoseconds (since the epoch, and long); which of
/// these are there is in `JobResult::bits`.
#[derive(Debug, Clone, Copy, Default)]
struct Last {
    started: u64,
    duration: u64,
    code: i32,
    signal: i32,
    /// Its CPU time in milliseconds (49 days at most; more reads as that).
    cpu_ms: u32,
    /// Its peak resident set in KiB (`ru_maxrss`'s unit), below `RSS_AT_MOST`; 0 when
    /// its cost is unknown (a process that ran always has some).
    rss_kib: u32,
}

// What a million results cost is part of the design: keep it so.
const _: () = assert!(size_of::<Option<JobResult>>() <= 64);

const LAST: u8 = 1;
const LAST_EXIT: u8 = 1 << 1;
const LAST_CODE: u8 = 1 << 2;
const LAST_SIGNAL: u8 = 1 << 3;
const LAST_TIMED_OUT: u8 = 1 << 4;
const LAST_LEFTOVERS: u8 = 1 << 5;
const LAST_CUT_SHORT: u8 = 1 << 6;
/// In `Last::rss_kib`: the figure is only an upper bound (`Cost::max_rss_exact`).
const RSS_AT_MOST: u32 = 1 << 31;
/// Its CPU time came from its cgroup.
const LAST_CPU_CGROUP: u8 = 1 << 7;

/// The parts of a result that most results do not have.
#[derive(Debug, Clone, Default)]
pub(crate) struct More {
    /// The attempts before the last one, oldest first (empty unless it was retried).
    pub(crate) earlier: Vec<EarlierAttempt>,
    /// Its output file, with `--log-dir`.
    pub(crate) log: Option<std::path::PathBuf>,
    /// Writing its log file failed (the file is incomplete): why.
    pub(crate) log_error: Option<String>,
    /// What its last attempt wrote to `PRUN_OUTPUT` (`outputs`).
    pub(crate) outputs: crate::outcome::outputs::Outputs,
    /// The resource units its last attempt held (`PRUN_RESOURCE_<name>`).
    pub(crate) units: Units,
    /// Why its last attempt could not be started (`Finished::error`).
    pub(crate) error: Option<String>,
    /// A service: how long after its start it was seen ready.
    pub(crate) ready_after: Option<std::time::Duration>,
    /// The bytes its last attempt read and wrote (`Cost`), when not both 0.
    pub(crate) io: Option<(u64, u64)>,
}

/// Resource units held: (index into the plan's resources, unit) pairs, in that order;
/// one allocation per holder (`resources::by_resource` groups them).
pub(crate) type Units = Box<[(u32, u32)]>;

impl More {
    fn is_empty(&self) -> bool {
        self.earlier.is_empty()
            && self.log.is_none()
            && self.log_error.is_none()
            && self.outputs.is_empty()
            && self.units.is_empty()
            && self.error.is_none()
            && self.ready_after.is_none()
            && self.io.is_none()
    }
}

/// An attempt of a retried job that was followed by another.
#[derive(Debug, Clone)]
pub(crate) struct EarlierAttempt {
    pub(crate) status: Status,
    pub(crate) finished: Finished,
}

impl JobResult {
    /// A result with `status` and nothing else known.
    pub(crate) fn new(status: Status) -> Self {
        JobResult {
            status,
            by_condition: false,
            allowed: false,
            bits: 0,
            slot: 0,
            attempts: 0,
            last: Last::default(),
            reason: None,
            more: None,
        }
    }

    /// How its last attempt ended, if it had one.
    pub(crate) fn finished(&self) -> Option<Finished> {
        let b = self.bits;
        (b & LAST != 0).then(|| Finished {
            started: SystemTime::UNIX_EPOCH + Duration::from_nanos(self.last.started),
            duration: Duration::from_nanos(self.last.duration),
            ending: Ending::from_parts(
                (b & LAST_CODE != 0).then_some(self.last.code),
                (b & LAST_SIGNAL != 0).then_some(self.last.signal),
            ),
            error: self.more.as_ref().and_then(|m| m.error.clone()),
            timed_out: b & LAST_TIMED_OUT != 0,
            leftovers: b & LAST_LEFTOVERS != 0,
            cut_short: b & LAST_CUT_SHORT != 0,
            cost: (self.last.rss_kib != 0).then(|| Cost {
                cpu: Duration::from_millis(u64::from(self.last.cpu_ms)),
                max_rss: u64::from(self.last.rss_kib & !RSS_AT_MOST) * 1024,
                max_rss_exact: self.last.rss_kib & RSS_AT_MOST == 0,
                read_bytes: self.more.as_ref().and_then(|m| m.io).map_or(0, |io| io.0),
                write_bytes: self.more.as_ref().and_then(|m| m.io).map_or(0, |io| io.1),
                cpu_source: if b & LAST_CPU_CGROUP != 0 {
                    CostSource::Cgroup
                } else {
                    CostSource::Rusage
                },
            }),
            // Kept in its reason, not here.
            limit_hit: None,
        })
    }

    /// What all its attempts cost together (CPU added, the largest peak), if known.
    pub(crate) fn cost(&self) -> Option<Cost> {
        let last = self.finished()?.cost;
        let earlier = self.earlier().iter().filter_map(|e| e.finished.cost);
        earlier.chain(last).reduce(Cost::plus)
    }

    /// Whether it had an attempt.
    pub(crate) fn ran(&self) -> bool {
        self.bits & LAST != 0
    }

    /// Records how its last attempt, in pool slot `slot`, ended.
    pub(crate) fn set_finished(&mut self, slot: Option<usize>, f: Finished) {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let since_epoch = f.started.duration_since(SystemTime::UNIX_EPOCH);
        let mut b = LAST;
        for (set, bit) in [
            (f.ending != Ending::NotStarted, LAST_EXIT),
            (f.ending.code().is_some(), LAST_CODE),
            (f.ending.signal().is_some(), LAST_SIGNAL),
            (f.timed_out, LAST_TIMED_OUT),
            (f.leftovers, LAST_LEFTOVERS),
            (f.cut_short, LAST_CUT_SHORT),
            (
                f.cost.is_some_and(|c| c.cpu_source == CostSource::Cgroup),
                LAST_CPU_CGROUP,
            ),
        ] {
            if set {
                b |= bit;
            }
        }
        self.bits = b;
        self.slot = slot.map_or(0, |s| u16::try_from(s).unwrap_or(u16::MAX));
        self.last = Last {
            started: since_epoch.map_or(0, nanos),
            duration: nanos(f.duration),
            code: f.ending.code().unwrap_or(0),
            signal: f.ending.signal().unwrap_or(0),
            cpu_ms: f
                .cost
                .map_or(0, |c| u32::try_from(c.cpu.as_millis()).unwrap_or(u32::MAX)),
            // Rounded up: a known cost is never 0 KiB.
            rss_kib: f.cost.map_or(0, |c| {
                let kib = c.max_rss.div_ceil(1024).clamp(1, u64::from(!RSS_AT_MOST));
                kib as u32 | if c.max_rss_exact { 0 } else { RSS_AT_MOST }
            }),
        };
        if f.error.is_some() || self.more.as_ref().is_some_and(|m| m.error.is_some()) {
            self.more.get_or_insert_default().error = f.error;
        }
        let io = f
            .cost
            .map(|c| (c.read_bytes, c.write_bytes))
            .filter(|&io| io != (0, 0));
        if io.is_some() || self.more.as_ref().is_some_and(|m| m.io.is_some()) {
            self.more.get_or_insert_default().io = io;
        }
    }

    /// The pool slot of its last attempt (1-based).
    pub(crate) fn slot(&self) -> Option<usize> {
        (self.slot != 0).then_some(self.slot as usize)
    }

    pub(crate) fn not_run(reason: Arc<Reason>) -> Self {
        JobResult::new(Status::NotRun).with_reason(reason)
    }

    /// The same, saying why it was skipped, not run, or could not start.
    pub(crate) fn with_reason(mut self, why: impl Into<Arc<Reason>>) -> Self {
        self.reason = Some(why.into());
        self
    }

    /// Says why it was skipped, not run, or could not start.
    pub(crate) fn set_reason(&mut self, why: impl Into<Arc<Reason>>) {
        self.reason = Some(why.into());
    }

    /// The same with `more`, kept only if it holds something.
    pub(crate) fn with_more(mut self, more: More) -> Self {
        self.more = (!more.is_empty()).then(|| Box::new(more));
        self
    }

    /// The rarer parts, taken out (to carry over to the next attempt).
    pub(crate) fn take_more(&mut self) -> More {
        self.more.take().map(|m| *m).unwrap_or_default()
    }

    /// The attempts before the last one, oldest first (empty unless it was retried).
    pub(crate) fn earlier(&self) -> &[EarlierAttempt] {
        self.more.as_ref().map_or(&[], |m| &m.earlier)
    }

    /// Why it was skipped, not run, or could not start.
    pub(crate) fn reason(&self) -> Option<&Reason> {
        self.reason.as_deref()
    }

    /// Why it was skipped, not run, or could not start, shared.
    pub(crate) fn reason_shared(&self) -> Option<Arc<Reason>> {
        self.reason.clone()
    }

    /// Its output file, with `--log-dir`.
    pub(crate) fn log(&self) -> Option<&std::path::Path> {
        self.more.as_ref()?.log.as_deref()
    }

    /// Writing its log file failed (the file is incomplete): why.
    pub(crate) fn log_error(&self) -> Option<&str> {
        self.more.as_ref()?.log_error.as_deref()
    }

    /// What its last attempt wrote to `PRUN_OUTPUT`.
    pub(crate) fn outputs(&self) -> &[(String, String)] {
        self.more.as_ref().map_or(&[], |m| &m.outputs)
    }

    /// A service: how long after its start it was seen ready.
    pub(crate) fn ready_after(&self) -> Option<Duration> {
        self.more.as_ref()?.ready_after
    }

    /// The resource units its last attempt held.
    pub(crate) fn units(&self) -> &[(u32, u32)] {
        self.more.as_ref().map_or(&[], |m| &m.units)
    }

    pub(crate) fn exit_code(&self) -> Option<i32> {
        let b = self.bits;
        (b & LAST_EXIT != 0 && b & LAST_CODE != 0).then_some(self.last.code)
    }

    pub(crate) fn signal(&self) -> Option<i32> {
        let b = self.bits;
        (b & LAST_EXIT != 0 && b & LAST_SIGNAL != 0).then_some(self.last.signal)
    }

    /// From the start of its first attempt to the end of its last (retry delays
    /// included).
    pub(crate) fn duration(&self) -> Duration {
        if !self.ran() {
            return Duration::ZERO;
        }
        let last = Duration::from_nanos(self.last.duration);
        match self.earlier().first() {
            Some(first) => {
                (SystemTime::UNIX_EPOCH + Duration::from_nanos(self.last.started) + last)
                    .duration_since(first.finished.started)
                    .unwrap_or(last)
            }
            None => last,
        }
    }

    /// When its first attempt started.
    pub(crate) fn started(&self) -> Option<SystemTime> {
        match self.earlier().first() {
            Some(first) => Some(first.finished.started),
            None => self
                .ran()
                .then(|| SystemTime::UNIX_EPOCH + Duration::from_nanos(self.last.started)),
        }
    }
}

impl JobResult {
    /// Its output `key`, if it wrote one.
    pub(crate) fn output(&self, key: &str) -> Option<&str> {
        self.outputs()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Its reason as a table shows it: an allowed failure says so first.
    pub(crate) fn reason_shown(&self) -> Option<String> {
        match (self.allowed, self.reason()) {
            (true, Some(why)) => Some(format!("allowed failure: {why}")),
            (true, None) => Some("allowed failure".to_owned()),
            (false, why) => why.map(ToString::to_string),
        }
    }

    /// Which of its hooks are due (`Hooks::for_job`).
    pub(crate) fn hook_case(&self) -> HookCase {
        match self.status {
            Status::Success => HookCase::Succeeded,
            // Its hooks ran when it last ran.
            Status::UpToDate => HookCase::NotApplicable,
            _ if self.by_condition => HookCase::NotApplicable,
            _ => HookCase::Failed,
        }
    }

    /// How its last attempt ended.
    pub(crate) fn ending(&self) -> Ending {
        match (self.exit_code(), self.signal()) {
            (Some(c), _) => Ending::Exited(c),
            (None, Some(s)) => Ending::Killed(s),
            _ => Ending::NotStarted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_attempt_is_kept_packed_and_read_back_whole() {
        let f = Finished {
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            duration: Duration::from_millis(1500),
            ending: Ending::Killed(libc::SIGKILL),
            error: None,
            timed_out: true,
            leftovers: true,
            cut_short: false,
            cost: Some(Cost {
                cpu: Duration::from_millis(1234),
                max_rss: 5 * 1024 * 1024,
                max_rss_exact: false,
                read_bytes: 4096,
                write_bytes: 0,
                cpu_source: CostSource::Cgroup,
            }),
            limit_hit: None,
        };
        let mut r = JobResult::new(Status::TimedOut);
        r.set_finished(Some(3), f.clone());
        let back = r.finished().unwrap();
        assert_eq!(
            (back.started, back.duration, back.ending),
            (f.started, f.duration, f.ending)
        );
        assert!(back.timed_out && back.leftovers && !back.cut_short);
        assert_eq!(back.cost, f.cost);
        assert_eq!(r.cost(), f.cost);
        assert_eq!(
            (r.slot(), r.exit_code(), r.signal()),
            (Some(3), None, Some(libc::SIGKILL))
        );
        assert_eq!(r.ending(), Ending::Killed(libc::SIGKILL));
    }

    #[test]
    fn which_hooks_a_result_calls_for() {
        assert_eq!(
            JobResult::new(Status::Success).hook_case(),
            HookCase::Succeeded
        );
        assert_eq!(
            JobResult::new(Status::Skipped).hook_case(),
            HookCase::Failed
        );
        let mut by_condition = JobResult::new(Status::Skipped);
        by_condition.by_condition = true;
        assert_eq!(by_condition.hook_case(), HookCase::NotApplicable);
        assert_eq!(JobResult::new(Status::NotRun).hook_case(), HookCase::Failed);
    }
}
