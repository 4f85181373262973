//! The up-to-date check of a job with `sources`/`status`, on its worker, just before it
//! would be spawned: its fingerprint found ([`state::fingerprint`](crate::state::fingerprint)), its `status` commands
//! run (like a hook: prun runs them, in the job's env and workdir, with `hook_timeout`),
//! and the verdict asked of the core ([`schedule::uptodate`](crate::schedule::uptodate)). Saving the fingerprint after
//! a success is `save`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use super::context::RunContext;
use crate::executor::command::{Capture, Request, Stdin};
use crate::executor::local;
use crate::outcome::fingerprint::{Fingerprint, Saved, Stale, Verdict};
use crate::plan::JobSpec;
use crate::plan::uptodate::UpToDate;
use crate::schedule::uptodate::{self as decide, Found};
use crate::state::fingerprint as fp;

/// What the check found.
pub(crate) enum Check {
    /// Not to be run: why, and the outputs saved with its fingerprint.
    UpToDate {
        why: String,
        outputs: Vec<(String, String)>,
    },
    /// To be run, for this reason; with where its fingerprint goes after a success.
    Run {
        why: String,
        save: Option<(PathBuf, Fingerprint)>,
    },
}

/// Checks job `spec` (which has `u`), whose environment over prun's is `env`.
/// `retry`: a retry, which always runs (as if forced, so its fingerprint is saved).
pub(crate) fn check(
    ctx: &RunContext,
    spec: &JobSpec,
    slot: usize,
    u: &UpToDate,
    env: &[(String, String)],
    retry: bool,
) -> Check {
    let plan = &ctx.plan;
    let forced = retry || plan.force.covers(&spec.name, spec.base());
    let state = fp::path(&plan.state_dir, &spec.name);
    let mut now = None;
    let mut empty = None;
    if !u.sources.is_empty() {
        let found = fp::sources(&spec.workdir, &fp::globs_for(spec, &u.sources))
            .and_then(|(files, e)| Ok((fp::hash_all(&spec.workdir, &files)?, e)));
        match found {
            Ok((sources, e)) => {
                empty = e;
                now = Some(fp::fingerprint(plan, spec, &super::env::own(env), sources));
            }
            Err(why) => {
                return Check::Run {
                    why: format!("its sources cannot be read ({why})"),
                    save: None,
                };
            }
        }
    }
    let saved: Result<Option<Saved>, String> = match (&now, forced) {
        (Some(_), false) => fp::load(&state, &spec.name),
        _ => Ok(None),
    };
    let generates = fp::globs_for(spec, &u.generates);
    let found = |status_failed| Found {
        forced,
        now: now.as_ref(),
        empty_glob: empty.as_deref(),
        saved: saved.as_ref().map(Option::as_ref).map_err(Clone::clone),
        missing: fp::missing(&spec.workdir, &generates),
        status_failed,
    };
    let mut verdict = decide::verdict(found(None));
    if matches!(verdict, Verdict::UpToDate { .. }) && !u.status.is_empty() {
        verdict = decide::verdict(found(run_status(ctx, spec, slot, u, env)));
    }
    match verdict {
        Verdict::UpToDate { .. } => Check::UpToDate {
            why: verdict.words(),
            outputs: saved.ok().flatten().map(|s| s.outputs).unwrap_or_default(),
        },
        Verdict::Stale(why) => {
            // Nothing is saved when a glob matched nothing: the job would run every time.
            let save = match (&why, now) {
                (Stale::NoSources(_), _) | (_, None) => None,
                (_, Some(n)) => Some((state, n)),
            };
            Check::Run {
                why: why.to_string(),
                save,
            }
        }
    }
}

/// The first `status` command that does not exit 0, and how it ended.
fn run_status(
    ctx: &RunContext,
    spec: &JobSpec,
    slot: usize,
    u: &UpToDate,
    env: &[(String, String)],
) -> Option<(String, String)> {
    let timeout = spec.opts.hook_timeout;
    for cmd in &u.status {
        let req = Request {
            shell: &ctx.plan.shell,
            script: cmd,
            direct: None,
            wrapper: None,
            env_base: &ctx.env_base,
            env,
            workdir: &spec.workdir,
            capture: Capture::Null,
            stdin: Stdin::Null,
            timeout: Some(timeout),
            grace: ctx.plan.grace,
            stop: ctx.stop_clock.as_ref(),
            keeper: ctx.keeper.as_ref(),
            // In the slot's cgroup, where the job will run: what it leaves is stopped.
            cgroup: ctx.cgroup.as_ref().map(|c| c.slot(slot)),
            tuning: Default::default(),
        };
        let finished = local::run(&req, &mut |_| {}, &mut |_| {});
        if finished.success() {
            continue;
        }
        let ended = if let Some(e) = finished.error {
            format!("could not start: {e}")
        } else if finished.timed_out {
            format!("did not end within {}", humantime::format_duration(timeout))
        } else {
            format!("ended with {}", finished.ending.words())
        };
        return Some((cmd.clone(), ended));
    }
    // A signal to prun while they ran: not up to date (the job is then stopped too).
    (ctx.stop_signal.load(Ordering::SeqCst) != 0)
        .then(|| (u.status[0].clone(), "was cut short".to_owned()))
}

/// Saves a job's fingerprint after its success; why that failed, if it did.
pub(crate) fn save(
    save: Option<(PathBuf, Fingerprint)>,
    name: &str,
    outputs: &[(String, String)],
) -> Option<String> {
    let (path, f) = save?;
    fp::save(&path, name, f, outputs)
        .err()
        .map(|e| format!("cannot save its fingerprint to {}: {e}", path.display()))
}
