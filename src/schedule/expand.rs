//! Dynamic matrices: the answer to `Action::Expand`, the jobs a matrix became.

use super::Schedule;
use super::actions::{Action, Expansions, Notice};
use crate::outcome::Reason;

impl Schedule {
    /// The answer to `Action::Expand`: the jobs of `job`'s dynamic matrix, each with its
    /// result from an earlier run if it was done then (`--resume`), or why there are none.
    pub(super) fn expanded(
        &mut self,
        job: usize,
        jobs: Result<Expansions, String>,
        out: &mut Vec<Action>,
    ) {
        self.expanding = false;
        match jobs {
            Err(why) => self.fail_unstarted(job, Reason::Matrix(why), out),
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
                self.blocked.ended(job);
                if self.stopping.starting {
                    self.settle_pending();
                }
            }
        }
        // Then, as after every event (`handle`): what may start now, and the services
        // (one needed only by this matrix, which became no job or failed, is stopped).
    }
}
