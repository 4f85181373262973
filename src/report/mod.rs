//! What a run produced, and the ways it is shown: the live terminal output
//! (`terminal`), the summary table (`summary`) and the JSON summary (`json`). The
//! scheduler owns the `RunSummary`; these modules only read it.

pub(crate) mod console;
pub(crate) mod joblog;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod owner;
pub(crate) mod progress;
pub(crate) mod spool;
pub(crate) mod step_summary;
pub(crate) mod summary;
pub(crate) mod terminal;
pub(crate) mod timeline;

use std::io::Write;
use std::time::{Duration, SystemTime};

use crate::error::exit;
use crate::executor::Finished;
pub(crate) use crate::outcome::{HookFailure, JobResult, Status};

/// One ended attempt of a job: a joblog line, a bar in the timeline.
#[derive(Debug, Clone)]
pub(crate) struct AttemptRecord {
    pub(crate) name: smol_str::SmolStr,
    pub(crate) attempt: u32,
    pub(crate) slot: usize,
    pub(crate) start: SystemTime,
    pub(crate) duration: Duration,
    pub(crate) exit_code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) status: Status,
    /// The resource units it held, as `resources::describe` words them (timeline).
    pub(crate) held: String,
}

impl AttemptRecord {
    /// How it ended.
    pub(crate) fn ending(&self) -> crate::outcome::Ending {
        crate::outcome::Ending::of(Some(crate::executor::Exit {
            code: self.exit_code,
            signal: self.signal,
        }))
    }

    /// The record of attempt `attempt` of `spec`, run in `slot`, that ended as `f`.
    pub(crate) fn new(
        spec: &crate::plan::JobSpec,
        attempt: u32,
        slot: usize,
        f: &Finished,
        status: Status,
    ) -> Self {
        let exit = f.exit.unwrap_or_default();
        AttemptRecord {
            name: spec.name.clone(),
            attempt,
            slot,
            start: f.started,
            duration: f.duration,
            exit_code: exit.code,
            signal: exit.signal,
            status,
            held: String::new(),
        }
    }
}

/// The whole run, as the scheduler recorded it.
#[derive(Debug)]
pub(crate) struct RunSummary {
    pub(crate) run_id: String,
    pub(crate) started: SystemTime,
    pub(crate) duration: Duration,
    /// The jobs in the order they are shown (the jobfile's, with each dynamic matrix
    /// replaced by the jobs it became): `order[i]` is the job whose name is `name(i)`
    /// and whose result is `results[i]`.
    pub(crate) order: Vec<usize>,
    /// The plan, for the names of its jobs.
    pub(crate) plan: std::sync::Arc<crate::plan::Plan>,
    /// The plan's resources (`JobResult::units` indexes them).
    pub(crate) resources: Vec<crate::plan::resources::Resource>,
    /// Moved out of the scheduler and put in order in place, not copied.
    pub(crate) results: Vec<JobResult>,
    /// The jobs dynamic matrices made (ids from the plan's job count on).
    pub(crate) extra: Vec<std::sync::Arc<crate::plan::JobSpec>>,
    pub(crate) hook_failures: Vec<HookFailure>,
    /// The signal that interrupted the run, if one did.
    pub(crate) signal: Option<i32>,
    /// Every ended attempt (kept only for `--timeline`).
    pub(crate) attempts: Vec<AttemptRecord>,
    /// The end of each job's output, in `order` (kept only for `--junit`).
    pub(crate) tails: std::collections::HashMap<usize, Vec<u8>>,
    /// Output prun could not deliver or record (stdout, log files, the joblog): each
    /// makes the exit code 1.
    pub(crate) output_errors: Vec<String>,
}

/// Counts of job outcomes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) total: usize,
    pub(crate) succeeded: usize,
    /// Failed, timed out or interrupted.
    pub(crate) failed: usize,
    /// Skipped or never started.
    pub(crate) skipped: usize,
}

impl RunSummary {
    /// The name of the job shown `i`-th.
    pub(crate) fn name(&self, i: usize) -> &str {
        &self.plan.job(self.order[i], &self.extra).name
    }

    /// The spec of each job shown, in `order`.
    pub(crate) fn specs(&self) -> Vec<&crate::plan::JobSpec> {
        self.order
            .iter()
            .map(|&j| self.plan.job(j, &self.extra))
            .collect()
    }

    pub(crate) fn totals(&self) -> Totals {
        let mut t = Totals {
            total: self.results.len(),
            ..Totals::default()
        };
        for r in &self.results {
            match r.status {
                Status::Success => t.succeeded += 1,
                s if s.is_failure() => t.failed += 1,
                _ => t.skipped += 1,
            }
        }
        t
    }

    /// The run's exit code (DESIGN.md §4): one place decides it.
    pub(crate) fn exit_code(&self) -> u8 {
        if let Some(sig) = self.signal {
            return exit::SIGNAL_BASE.saturating_add(sig as u8);
        }
        // A job skipped only because a `when:` condition did not hold is no failure.
        let all_well = self.results.iter().all(|r| {
            r.status == Status::Success || (r.status == Status::Skipped && r.by_condition)
        });
        if all_well && self.hook_failures.is_empty() && self.output_errors.is_empty() {
            exit::SUCCESS
        } else {
            exit::FAILURE
        }
    }
}

/// Writes the reports asked for (`--report`, `--junit`, `--timeline`, and the GitHub step
/// summary) after a run. Every
/// one is attempted; returns what went wrong, one message per report that could not be
/// written (the caller prints them, once).
pub(crate) fn write_files(
    plan: &crate::plan::Plan,
    jobfile: &str,
    run: &RunSummary,
) -> Vec<String> {
    let mut failed = Vec::new();
    let mut write =
        |path: &Option<std::path::PathBuf>,
         fill: &mut dyn FnMut(&mut std::fs::File) -> std::io::Result<()>| {
            if let Some(path) = path
                && let Err(e) = crate::files::write_atomically(path, fill)
            {
                failed.push(format!("cannot write {}: {e}", path.display()));
            }
        };
    let specs = run.specs();
    write(&plan.report, &mut |f| {
        let doc = json::RunDoc {
            run,
            specs: &specs,
            resources: &plan.resources,
        };
        json::write(f, &doc, true)
    });
    write(&plan.junit, &mut |f| {
        f.write_all(junit::render(run, &specs, &run.tails, jobfile).as_bytes())
    });
    write(&plan.timeline, &mut |f| {
        let title = format!("prun {jobfile} — run {}", run.run_id);
        let page = timeline::render(
            &title,
            &run.attempts,
            plan.slots(),
            run.started,
            run.duration,
        );
        f.write_all(page.as_bytes())
    });
    // Appended to: the job's steps share the file (GitHub creates it, one per step).
    if let Some(path) = &plan.step_summary {
        let md = step_summary::render(run, &run.tails, jobfile);
        let appended = crate::files::open_in_place(path, crate::files::InPlace::Append)
            .and_then(|mut f| f.write_all(md.as_bytes()));
        if let Err(e) = appended {
            failed.push(format!(
                "cannot append the run's summary to $GITHUB_STEP_SUMMARY ({}): {e}",
                path.display()
            ));
        }
    }
    failed
}

/// Seconds with two decimals, as shown to people (`1.25s`).
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}
