//! Dynamic matrices: the answer to `Action::Expand`, the jobs a matrix became.

use std::sync::Arc;
use std::time::Instant;

use super::Schedule;
use super::actions::{Action, Expansions, Note, Notice};
use crate::outcome::{JobResult, Reason, Status};

impl Schedule {
    /// The answer to `Action::Expand`: the jobs of `job`'s dynamic matrix, each with its
    /// result from an earlier run if it was done then (`--resume`), or why there are none.
    pub(crate) fn expanded(
        &mut self,
        now: Instant,
        job: usize,
        jobs: Result<Expansions, String>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.expanding = false;
        match jobs {
            Err(why) => {
                let reason = Arc::new(Reason::Matrix(why));
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
                if self.plan.fail_fast {
                    self.stop(&mut out);
                }
                self.finalize(job, result, &mut out);
            }
            Ok(list) => {
                if list.is_empty() {
                    out.push(Action::Say(Notice::EmptyMatrix { job }));
                }
                let first = self.plan.jobs.len() + self.extra.len();
                let into = first..first + list.len();
                self.extra.reserve_exact(list.len());
                self.results.reserve_exact(list.len());
                for (spec, prior) in list {
                    self.extra.push(spec);
                    self.results.push(prior);
                }
                out.push(Action::Expanded {
                    job,
                    into: into.clone(),
                });
                for j in into.clone() {
                    if self.results[j].is_some() {
                        out.push(Action::Resumed { job: j });
                    } else {
                        self.queue.push_back(j);
                    }
                }
                self.expansions.insert(job, into);
                if self.stop_starting {
                    self.settle_pending();
                }
            }
        }
        self.start_ready(now, &mut out);
        out
    }
}
