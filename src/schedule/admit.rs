//! What may start now, and starting it: retries that are due, then jobs in file order
//! as slots, needs (`when:`) and resources allow; skipping what cannot run.

use std::sync::Arc;
use std::time::Instant;

use super::actions::{Action, Note, Notice};
use super::blocked::Wait;
use super::{NeedsState, Schedule};
use crate::input::jobfile::When;
use crate::outcome::{JobResult, Reason, Status};
use crate::plan::Mode;

impl Schedule {
    /// Starts due retries, then jobs whose needs are met, in file order, while slots are
    /// free; skips jobs whose needs failed.
    pub(super) fn start_ready(&mut self, now: Instant, out: &mut Vec<Action>) {
        while self.slot_free()
            && let Some(pos) = self
                .retries
                .iter()
                .position(|r| r.at <= now && self.units_free(&self.spec(r.job).opts.uses))
        {
            let r = self.retries.remove(pos);
            self.carried.insert(r.job, r.last);
            self.admit(r.job, r.attempt, out);
        }
        // Once stopped, only cleanup jobs (`when: failure | always`) are left to start,
        // and after `--max-fail N:kill` only once the jobs it stopped have ended (the
        // SIGKILL of its deadline is for them alone).
        let killing = self.stopping.signal.is_none() && self.stopping.kill_at.is_some();
        if self.expanding || (self.stopping.starting && (!self.cleanup_may_run() || killing)) {
            return;
        }
        self.start_blocked(out);
        self.start_waiting(out);
        while self.slot_free()
            && !self.expanding
            && let Some(job) = self.queue.pop_front()
        {
            self.ready(job, out);
        }
        // In sync mode a job waits for the retries of the one before it.
        let sync = self.plan.mode == Mode::Sync;
        while self.next < self.plan.jobs.len()
            && self.slot_free()
            && !self.expanding
            && self.queue.is_empty()
            && (!sync || self.retries.is_empty())
            // (nor for one that waits for a service to be ready)
            && (!sync || self.blocked.is_empty())
        {
            let job = self.next;
            self.next += 1;
            if self.results[job].is_some() {
                out.push(Action::Resumed { job });
                continue;
            }
            match self.needs_state(job) {
                NeedsState::Ready => self.ready(job, out),
                NeedsState::Blocked { why, by_condition } => {
                    self.skip(job, why, by_condition, out);
                }
                // (Never in sync mode: a need on a later job is a jobfile error there.)
                NeedsState::Waiting => self.block(job),
            }
        }
    }

    /// Starts (or skips) the jobs that were waiting on needs, as far as they now can:
    /// those whose needs allowed them already, while slots are free, then those a need
    /// that ended may have unblocked (`blocked`: no other is looked at), until a round
    /// unblocks none.
    pub(super) fn start_blocked(&mut self, out: &mut Vec<Action>) {
        loop {
            while self.slot_free()
                && !self.expanding
                && let Some(job) = self.blocked.pop_ready()
            {
                self.ready(job, out);
            }
            let pairs = self.blocked.take_recheck();
            if pairs.is_empty() {
                return;
            }
            for (job, ended) in pairs {
                let Some(state) = self.recheck(job, ended) else {
                    continue;
                };
                let Some(rank) = self.blocked.take(job) else {
                    continue;
                };
                match state {
                    NeedsState::Blocked { why, by_condition } => {
                        self.skip(job, why, by_condition, out);
                    }
                    NeedsState::Waiting => {}
                    // A job that uses resources waits for them with the others
                    // that do, in file order (a wait holds no slot).
                    NeedsState::Ready if self.waits_for_units(job) || self.is_service(job) => {
                        self.ready(job, out);
                    }
                    NeedsState::Ready
                        if self.slot_free() && !self.expanding && !self.blocked.has_ready() =>
                    {
                        self.ready(job, out);
                    }
                    NeedsState::Ready => {
                        let services: Vec<usize> = (self.spec(job).needs.iter().copied())
                            .filter(|&d| self.is_service(d))
                            .collect();
                        self.blocked.ready((rank, job), &services);
                    }
                }
            }
        }
    }

    /// `job`, whose needs have not all ended (`needs_state` said so), waits for those.
    fn block(&mut self, job: usize) {
        let (on, failed, plain) = self.unended_needs(job);
        let wait = Wait {
            rank: self.rank(job),
            plain,
            unended: u32::try_from(on.len()).unwrap_or(u32::MAX),
            failed,
        };
        self.blocked.wait(job, wait, &on);
    }

    /// The needs of `job` not ended yet (each job a dynamic matrix became, for one that
    /// expanded), whether one that ended failed, and whether they are plain jobs.
    fn unended_needs(&self, job: usize) -> (Vec<usize>, bool, bool) {
        let (mut on, mut failed, mut plain) = (Vec::new(), false, true);
        for &dep in self.spec(job).needs.iter() {
            plain &= !self.is_service(dep) && self.spec(dep).dynamic.is_none();
            for e in self.jobs_of(dep) {
                match self.ended_as(e) {
                    None => on.push(e),
                    Some((status, _)) => failed |= status.is_failure(),
                }
            }
        }
        (on, failed, plain)
    }

    /// What `job` (waiting, or ready for a slot) is now that its need `ended` has ended:
    /// `None` while it still waits. A job of plain needs counts it; any other is looked
    /// at whole, and watches what it still waits for.
    fn recheck(&mut self, job: usize, ended: usize) -> Option<NeedsState> {
        let plain = self.blocked.wait_of(job).is_some_and(|w| w.plain);
        if !plain {
            return match self.needs_state(job) {
                NeedsState::Waiting => {
                    let (on, _, _) = self.unended_needs(job);
                    self.blocked.watch(job, &on);
                    None
                }
                state => Some(state),
            };
        }
        let when = self.spec(job).opts.when;
        let (status, by_condition) = self.ended_as(ended)?;
        let w = self.blocked.wait_of(job)?;
        w.failed |= status.is_failure();
        w.unended = w.unended.saturating_sub(1);
        let (unended, failed) = (w.unended, w.failed);
        if when == When::Success && !status.is_success() {
            return Some(NeedsState::Blocked {
                why: Reason::Need {
                    need: self.spec(ended).name.clone(),
                    status,
                },
                by_condition: status == Status::Skipped && by_condition,
            });
        }
        if unended > 0 {
            return None;
        }
        Some(match when {
            When::Failure if !failed => NeedsState::Blocked {
                why: Reason::NoNeedFailed,
                by_condition: true,
            },
            _ => NeedsState::Ready,
        })
    }

    /// Whether `job`'s needs have ended so that its `when:` holds. A need that is a
    /// dynamic matrix, once expanded, stands for every job it became.
    pub(super) fn needs_state(&self, job: usize) -> NeedsState {
        let spec = self.spec(job);
        let when = spec.opts.when;
        let mut waiting = false;
        let mut failed = false;
        for &dep in spec.needs.iter() {
            for e in self.jobs_of(dep) {
                let Some((status, by_condition)) = self.ended_as(e) else {
                    waiting = true;
                    continue;
                };
                failed |= status.is_failure();
                if when == When::Success && !status.is_success() {
                    return NeedsState::Blocked {
                        why: Reason::Need {
                            need: self.spec(e).name.clone(),
                            status,
                        },
                        by_condition: status == Status::Skipped && by_condition,
                    };
                }
            }
        }
        if waiting {
            return NeedsState::Waiting;
        }
        match when {
            When::Failure if !failed => NeedsState::Blocked {
                why: Reason::NoNeedFailed,
                by_condition: true,
            },
            _ => NeedsState::Ready,
        }
    }

    /// Records a job as skipped and runs its hooks.
    pub(super) fn skip(
        &mut self,
        job: usize,
        why: Reason,
        by_condition: bool,
        out: &mut Vec<Action>,
    ) {
        let reason = Arc::new(why);
        out.push(Action::Say(Notice::Job {
            job,
            reason: Arc::clone(&reason),
        }));
        let mut result = JobResult::new(Status::Skipped).with_reason(reason);
        result.by_condition = by_condition;
        out.push(Action::Show {
            job,
            note: None,
            last: true,
        });
        self.finalize(job, result, out);
    }

    /// A job whose needs succeeded: started, unless an output its `env` uses is
    /// missing — then it fails without starting, with the reason.
    pub(super) fn ready(&mut self, job: usize, out: &mut Vec<Action>) {
        if self.is_service(job) {
            if let Some(why) = self.missing_output(job) {
                return self.fail_unstarted(job, why, out);
            }
            return self.start_service(job, out);
        }
        if self.spec(job).dynamic.is_some() {
            self.expanding = true;
            out.push(Action::Expand { job });
            return;
        }
        let Some(why) = self.missing_output(job) else {
            if !self.waits_for_units(job) {
                self.launch(job, 1, out);
            } else if !(self.slot_free()
                && !self.expanding
                && self.none_waiting()
                && self.admit(job, 1, out))
            {
                // Behind the jobs already waiting for units: the earliest in the file
                // whose units are free goes first.
                self.wait_for_units(job);
                self.start_waiting(out);
            }
            return;
        };
        self.fail_unstarted(job, why, out);
    }

    /// `job` fails without starting, for `why`: said, shown, `--fail-fast`, its hooks.
    pub(super) fn fail_unstarted(&mut self, job: usize, why: Reason, out: &mut Vec<Action>) {
        let reason = Arc::new(why);
        out.push(Action::Say(Notice::Job {
            job,
            reason: Arc::clone(&reason),
        }));
        let result = JobResult::new(Status::Failed).with_reason(reason);
        out.push(Action::Show {
            job,
            note: Some(Note::of(&result)),
            last: true,
        });
        self.count_failure(out);
        self.finalize(job, result, out);
    }

    /// The first output a job's `env` uses that its job did not write.
    pub(super) fn missing_output(&self, job: usize) -> Option<Reason> {
        for t in &self.spec(job).opts.templates {
            let found = |j: usize, key: &str| -> Option<&str> { self.seen(j)?.output(key) };
            if let Err((name, key)) = t.render(found) {
                return Some(Reason::MissingOutput {
                    var: t.var.clone(),
                    key: key.to_owned(),
                    job: name.into(),
                });
            }
        }
        None
    }

    /// Starts attempt `attempt` of `job` if the units it uses are free (taking them,
    /// lowest first); `false` if they are not. The caller saw that a slot is free.
    pub(super) fn admit(&mut self, job: usize, attempt: u32, out: &mut Vec<Action>) -> bool {
        let opts = Arc::clone(&self.spec(job).opts);
        if opts.uses.is_empty() {
            self.launch(job, attempt, out);
            return true;
        }
        if !self.units_free(&opts.uses) {
            return false;
        }
        let units = self.take_units(&opts.uses);
        let slot = self.launch(job, attempt, out);
        self.units.held[slot - 1] = units;
        true
    }

    /// Starts attempt `attempt` of `job` in the lowest free slot; returns the slot.
    pub(super) fn launch(&mut self, job: usize, attempt: u32, out: &mut Vec<Action>) -> usize {
        let free = self.slots.iter().position(|taken| !taken).unwrap_or(0);
        self.slots[free] = true;
        self.last_start = self.now;
        self.running.insert(job, free + 1);
        out.push(Action::Start {
            job,
            slot: free + 1,
            attempt,
        });
        free + 1
    }
}
