//! Running a plan: everything around the core that has effects. The driver (`driver`)
//! sets the run up and loops: it gathers events — workers' output and ends (`event`),
//! hooks' ends, signals (`signals`), the core's wake-up times — feeds them to the core
//! ([`schedule`](crate::schedule)) and carries out the actions it answers with, on the pool of N workers
//! (`pool`, one attempt each: `attempt`), the services' own threads (`service`, with
//! `log_watch` for a log probe) and the serial hook runner (`hooks`). `env` is
//! the one place that names the `PRUN_*` variables jobs and hooks see; `run_dir` holds
//! the files behind `PRUN_OUTPUT` and `PRUN_NEEDS`.

mod attempt;
mod condition;
mod context;
pub(crate) mod driver;
pub(crate) mod env;
pub(crate) mod event;
mod hook_queue;
pub(crate) mod hooks;
mod log_watch;
mod lost;
mod machine;
pub(crate) mod pool;
pub(crate) mod run_dir;
pub(crate) mod service;
mod setup;
pub(crate) mod signals;
mod uptodate;
