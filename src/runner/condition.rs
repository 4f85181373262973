//! A job's `if:`, on its worker, just before the job would be spawned (after its needs
//! ended): prun runs the command like a hook — in the job's env (with `PRUN_NEEDS` and
//! the outputs its `env` uses) and workdir, stdin and output to /dev/null, within
//! `hook_timeout` — and asks the core what its end means ([`schedule::attempt::condition`](crate::schedule::attempt::condition)).

use std::sync::atomic::Ordering;

use super::context::RunContext;
use crate::executor::command::{Capture, Request, Stdin};
use crate::executor::local;
use crate::plan::JobSpec;
use crate::schedule::attempt::{self as decide, Condition};

/// Runs `cmd`, job `spec`'s condition, whose environment over prun's is `env`, in the
/// cgroup of `slot`, where the job will run (so what it leaves running is stopped when
/// it ends, as a hook's is).
pub(crate) fn check(
    ctx: &RunContext,
    spec: &JobSpec,
    slot: usize,
    cmd: &str,
    env: &[(String, String)],
) -> Condition {
    let timeout = spec.opts.hook_timeout;
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
        cgroup: ctx.cgroup.as_ref().map(|c| c.slot(slot)),
        tuning: Default::default(),
    };
    let finished = local::run(&req, &mut |_| {}, &mut |_| {});
    decide::condition(&finished, timeout, ctx.stop_signal.load(Ordering::SeqCst))
}
