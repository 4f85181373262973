//! The hooks that are due, on their way to the hook thread (`hooks::HookRunner`): the
//! core says whose hooks are due; the queue builds each task (environment, JSON on
//! stdin) just before it hands it over, keeping the thread `AHEAD` hooks ahead, so a run
//! whose hooks fall behind its jobs holds 8 bytes per waiting job, not a task of a
//! kilobyte or two.

use std::collections::VecDeque;
use std::sync::Arc;

use super::context::RunContext;
use super::env;
use super::hooks::{HookInput, HookRunner, HookTask};
use crate::outcome::summary::RunSummary;
use crate::plan::Plan;
use crate::report::json;
use crate::schedule::Schedule;

/// How many hooks the hook thread is given ahead: the one running and the next few.
const AHEAD: usize = 4;

/// A hook that could not be handed to the hook thread (it could not start): the core
/// hears of it as of a hook that failed.
pub(super) struct NotHanded {
    pub(super) job: Option<usize>,
    pub(super) hook: crate::plan::hooks::HookKind,
    pub(super) why: String,
}

pub(super) struct HookQueue {
    runner: HookRunner,
    /// Jobs whose hooks are due but not yet handed over, in the order they fell due.
    backlog: VecDeque<usize>,
    /// Hooks handed over that have not ended (at most `AHEAD`, but for run-level ones).
    in_flight: usize,
    /// The run-level hooks' task, made before the core says they are due.
    run_level: Option<HookTask>,
}

impl HookQueue {
    pub(super) fn new(runner: HookRunner) -> Self {
        HookQueue {
            runner,
            backlog: VecDeque::new(),
            in_flight: 0,
            run_level: None,
        }
    }

    /// `job`'s hooks are due (`Action::RunHooks`).
    pub(super) fn due(&mut self, job: usize) {
        self.backlog.push_back(job);
    }

    /// A hook handed over has ended.
    pub(super) fn ended(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Runs no further hook and kills the one running now (after a second signal).
    pub(super) fn cancel(&mut self) {
        self.backlog.clear();
        self.run_level = None;
        self.runner.cancel();
    }

    /// Hands over the next jobs' tasks, built from their results now; what could not be
    /// handed over is returned, for the core.
    pub(super) fn pump(&mut self, core: &Schedule, ctx: &RunContext) -> Vec<NotHanded> {
        let mut lost = Vec::new();
        while self.in_flight < AHEAD
            && let Some(job) = self.backlog.pop_front()
        {
            if let Some(task) = job_task(core, ctx, job) {
                lost.extend(self.submit(task));
            }
        }
        lost
    }

    /// Keeps the run-level hooks' task until the core says they are due.
    pub(super) fn prepare_run_level(&mut self, task: HookTask) {
        self.run_level = Some(task);
    }

    /// The run-level hooks are due (`Action::RunHooks { job: None }`).
    pub(super) fn run_level_due(&mut self) -> Vec<NotHanded> {
        match self.run_level.take() {
            Some(task) => self.submit(task),
            None => Vec::new(),
        }
    }

    fn submit(&mut self, task: HookTask) -> Vec<NotHanded> {
        let (job, names): (Option<usize>, Vec<crate::plan::hooks::HookKind>) =
            (task.job, task.hooks.iter().map(|h| h.0).collect());
        self.in_flight += names.len();
        match self.runner.submit(task) {
            Ok(()) => Vec::new(),
            Err(e) => {
                self.in_flight -= names.len();
                names
                    .into_iter()
                    .map(|hook| NotHanded {
                        job,
                        hook,
                        why: format!("cannot start the hook runner: {e}"),
                    })
                    .collect()
            }
        }
    }
}

/// `job`'s hooks for its final result, with the job's environment plus the result
/// variables, and the result as JSON on stdin.
fn job_task(core: &Schedule, ctx: &RunContext, job: usize) -> Option<HookTask> {
    let result = core.result(job)?;
    let spec = core.spec(job);
    let plan = &ctx.plan;
    let hooks = owned(spec.opts.hooks.for_job(result.hook_case()));
    let mut vars = env::job(
        spec,
        result.slot().unwrap_or(0),
        result.attempts,
        &ctx.run_id,
    );
    vars.extend(env::result(result));
    vars.extend(ctx.resource_vars.of(result.units()));
    let workdir = if spec.workdir.is_dir() {
        spec.workdir.to_path_buf()
    } else {
        plan.workdir.clone()
    };
    // One line, ending with a newline, so `read -r` in a hook gets all of it.
    let doc = json::job(spec, result, &plan.resources);
    let mut stdin = serde_json::to_vec(&doc).unwrap_or_default();
    stdin.push(b'\n');
    let stdin = crate::mask::current().bytes(&stdin).into_owned();
    Some(HookTask {
        job: Some(job),
        hooks,
        env: vars,
        stdin: HookInput::Bytes(stdin),
        workdir,
        timeout: spec.opts.hook_timeout,
        direct: plan.hooks_skip_shell(spec.sets("PATH")),
        nice: spec.opts.limits.hook_nice,
    })
}

/// The run-level hooks' task (`hooks`, in order), with the run's counters and the JSON
/// summary in the file `PRUN_REPORT` names (and on stdin); and, when that file cannot
/// be written, why (the hooks then run with `PRUN_REPORT` empty: an alert that does
/// not go out is worse than one without its attachment).
pub(super) fn run_level_task(
    plan: &Plan,
    run_id: &str,
    summary: &RunSummary,
    hooks: Vec<(crate::plan::hooks::HookKind, &str)>,
) -> (HookTask, Option<String>) {
    let specs = summary.specs();
    let doc = json::RunDoc {
        run: summary,
        specs: &specs,
        resources: &plan.resources,
    };
    let (report_path, stdin, lost) = match report_file(&doc) {
        Ok(f) => (
            f.path().display().to_string(),
            HookInput::File(Arc::new(f)),
            None,
        ),
        Err(e) => {
            let msg = format!(
                "cannot write the report file for the run-level hooks ({e}); they run with PRUN_REPORT empty"
            );
            let mut bytes = Vec::new();
            let _ = json::write(&mut bytes, &doc, false);
            let bytes = crate::mask::current().bytes(&bytes).into_owned();
            (String::new(), HookInput::Bytes(bytes), Some(msg))
        }
    };
    let mut vars = plan.env.clone();
    vars.extend(env::run_level(
        run_id,
        summary.totals(),
        summary.hook_failures.len(),
        report_path,
        plan.previous_success,
    ));
    let task = HookTask {
        job: None,
        hooks: owned(hooks),
        env: vars,
        stdin,
        workdir: plan.workdir.clone(),
        timeout: plan.hook_timeout,
        direct: plan.hooks_skip_shell(plan.env.iter().any(|(k, _)| k == "PATH")),
        nice: None,
    };
    (task, lost)
}

fn owned(
    hooks: Vec<(crate::plan::hooks::HookKind, &str)>,
) -> Vec<(crate::plan::hooks::HookKind, String)> {
    hooks.into_iter().map(|(n, c)| (n, c.to_owned())).collect()
}

/// The run summary for `PRUN_REPORT`: a new file in the temporary directory, private
/// to prun's user (mode 0600) and of an unpredictable name (`prun-report-XXXXXX.json`,
/// created with O_EXCL: nobody can plant it or a link in its place), removed when the
/// returned guard drops.
fn report_file(doc: &json::RunDoc<'_>) -> std::io::Result<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new()
        .prefix("prun-report-")
        .suffix(".json")
        .tempfile()?;
    let mut w = crate::mask::Writer::new(f.as_file_mut());
    json::write(&mut w, doc, false)?;
    w.finish()?;
    Ok(f)
}
