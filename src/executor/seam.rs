//! The seam between the plan and where a job runs (DESIGN §14): the `Executor` trait,
//! what an executor may shape a job by (`Shape`), what it cannot do (`Cannot`), and the
//! default executor, `Local`. The registry is `executor::of`.

use std::time::Duration;

use crate::input::jobfile::SlurmOptions;

/// Where a job runs (DESIGN §14). The plan shapes each job for its executor (`wrapper`)
/// and turns what it `cannot` do into located errors; a worker runs each attempt with
/// `run`. docs/ARCHITECTURE.md, "How to add an executor".
pub(crate) trait Executor: Sync {
    /// Its name, as messages say it.
    fn name(&self) -> &'static str;

    /// What it cannot do: refused by the plan, each with a located error.
    fn cannot(&self) -> Cannot {
        Cannot::default()
    }

    /// The command line a job's command runs under (`None`: as it is), made once at
    /// plan time.
    fn wrapper(&self, _job: &Shape<'_>) -> Option<Vec<String>> {
        None
    }

    /// `wrapper` made for another job (a dynamic matrix's, for each job it becomes),
    /// for `job`.
    fn rename(&self, wrapper: &[String], _job: &str) -> Vec<String> {
        wrapper.to_vec()
    }

    /// Whether prun itself applies a job's `limits:` (cgroups, rlimits, nice, io)
    /// to the processes it starts; else the executor enforces what it can.
    fn limits_by_prun(&self) -> bool {
        true
    }

    /// Runs one attempt of a prepared job to its end: its ending, output and cost.
    fn run(
        &self,
        req: &super::command::Request<'_>,
        on_spawn: &mut dyn FnMut(i32),
        on_output: &mut dyn FnMut(&[u8]),
    ) -> super::finished::Finished {
        super::local::run(req, on_spawn, on_output)
    }
}

/// What an executor cannot do.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Cannot {
    /// Run a service (`service: true`).
    pub(crate) services: bool,
}

/// What an executor may shape a job by (`Executor::wrapper`).
pub(crate) struct Shape<'a> {
    pub(crate) name: &'a str,
    pub(crate) timeout: Option<Duration>,
    /// prun's grace after SIGTERM.
    pub(crate) grace: Duration,
    /// `limits: {cpus, memory}` (bytes).
    pub(crate) cpus: Option<f64>,
    pub(crate) memory: Option<u64>,
    /// `slurm:` options (the job's over `defaults`').
    pub(crate) slurm: Option<&'a SlurmOptions>,
}

/// Jobs run here (`local::run`), each in a process group (and cgroup) of its own: the
/// default executor.
pub(crate) struct Local;

impl Executor for Local {
    fn name(&self) -> &'static str {
        "local"
    }
}
