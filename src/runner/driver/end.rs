//! The end of a run, summed up: every job's result in the order shown, what was kept
//! for the reports (attempts, output tails), what could not be delivered, the clock.

use std::collections::HashMap;
use std::sync::Arc;

use super::Driver;
use crate::outcome::summary::RunSummary;

impl Driver {
    /// Every job and hook has ended: the summary gets what was kept for the reports and
    /// the failures to write stdout while the run-level hooks printed, the terminal says
    /// its last, and the keeper hears that prun removes the run's files itself.
    pub(super) fn finish(&mut self, summary: &mut RunSummary) {
        summary.output_errors = crate::runner::lost::output_errors(
            &self.terminal,
            &self.ctx,
            &self.lost,
            &summary.results,
        );
        self.terminal.finish();
        if summary.prun_exit() != 0 {
            self.terminal.flush_notices();
        }
        summary.attempts = std::mem::take(&mut self.attempts);
        let mut tails = std::mem::take(&mut self.tails);
        if !tails.is_empty() {
            summary.tails = (summary.order.iter().enumerate())
                .filter_map(|(i, j)| Some((i, tails.remove(j)?)))
                .collect();
        }
        summary.duration = self.clock.elapsed();
        if let Some(k) = &self.ctx.keeper {
            k.finish();
        }
    }

    /// The run as it stands.
    pub(super) fn summary(&mut self, run_id: String) -> RunSummary {
        let order = self.core.order();
        let results = self.core.take_results(&order);
        self.summary_of(run_id, order, results)
    }

    /// The run with these results, in this order.
    pub(super) fn summary_of(
        &self,
        run_id: String,
        order: Vec<usize>,
        results: Vec<crate::outcome::JobResult>,
    ) -> RunSummary {
        RunSummary {
            run_id,
            started: self.started,
            duration: self.clock.elapsed(),
            plan: Arc::clone(&self.plan),
            resources: self.plan.resources.clone(),
            output_errors: crate::runner::lost::output_errors(
                &self.terminal,
                &self.ctx,
                &self.lost,
                &results,
            ),
            monitor_errors: Vec::new(),
            throttled: self.core.throttled_in_all(),
            results,
            order,
            extra: self.core.extra().to_vec(),
            hook_failures: self.core.hook_failures().to_vec(),
            signal: self.core.signal(),
            internal_error: None,
            attempts: Vec::new(),
            tails: HashMap::new(),
        }
    }
}
