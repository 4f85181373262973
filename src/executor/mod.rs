//! The process layer: everything prun does with processes, and nothing else does any.
//! The types here describe a command to run (`Request`) and how it ended (`Finished`) in
//! terms that do not depend on where it ran.
//!
//! - `local`: runs a command and supervises it to its end (output, exit, timeout, what
//!   it leaves behind), in a process group of its own; `reap`: how it ended and what
//!   it cost (`wait4`);
//! - `spawn` and `vfork`: the child, from clone to exec;
//! - the executors, behind one seam (`Executor`, DESIGN §14; `of` is the registry):
//!   `Local` runs a job here (`local::run`), `slurm::Slurm` as a Slurm job step (`srun`);
//! - `cgroup`: the run's cgroups, where they can be made; `keeper`: the process that
//!   stops everything when prun is SIGKILLed.
//!
//! Invariants, each checked by a test: no descriptor of prun's reaches a job or a hook
//! (everything prun opens is close-on-exec; `tests/processes.rs`); a job and a hook start
//! with no signal blocked and none of prun's dispositions (`vfork`, checked at every
//! spawn in debug builds, and in `tests/processes.rs`); a child is in its process group,
//! its cgroup and the keeper's list before it runs any of the job's code.

pub(crate) mod cgroup;
pub(crate) mod command;
pub(crate) mod environ;
pub(crate) mod finished;
pub(crate) mod group;
pub(crate) mod keeper;
pub(crate) mod local;
mod reap;
pub(crate) mod seam;
pub(crate) mod slurm;
pub(crate) mod spawn;
pub(crate) mod vfork;

use crate::input::settings::ExecutorKind;
pub(crate) use seam::{Executor, Local, Shape};

/// The registry: the executor of each kind the jobfile and `--executor` may name.
pub(crate) fn of(kind: ExecutorKind) -> &'static dyn Executor {
    match kind {
        ExecutorKind::Local => &Local,
        ExecutorKind::Slurm => &slurm::Slurm,
    }
}
