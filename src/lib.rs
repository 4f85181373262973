//! prun runs the shell commands of a YAML jobfile in a fixed-size process pool, one at a
//! time (`mode: sync`) or up to N at once (`mode: async`), and after each job runs that
//! job's completion hooks in the parent. See DESIGN.md for the contract; `run` below is
//! the whole flow in one function.

mod cli;
mod diagnostic;
mod error;
mod event;
mod executor;
mod hooks;
mod jobfile;
mod keeper;
mod lock;
mod needs;
mod plan;
mod pool;
mod report;
mod retry;
mod scheduler;
mod signals;
mod source;

pub use cli::Cli;
pub use error::{Error, exit};
pub use keeper::run_if_keeper;

use std::time::SystemTime;

/// Reads the jobfile, resolves the plan, runs it, prints the summary; returns the exit
/// code. Every error that stops prun before the run comes back as `Err`.
pub fn run(cli: Cli) -> Result<u8, Error> {
    let src = source::read(&cli.jobfile)?;
    let jobfile = jobfile::parse(&src)?;
    let base_dir = source::base_dir(&cli.jobfile)?;
    let path_var = std::env::var("PATH").ok();
    let facts = plan::Facts {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        base_dir: &base_dir,
        path_var: path_var.as_deref(),
    };
    let plan = plan::Plan::resolve(&cli, jobfile, &src, &facts)?;
    if plan.lock_wait.is_some() && plan.lock.is_none() {
        return Err(Error::Usage(
            "--lock-wait needs a lock: add --lock FILE or `lock:` to the jobfile".into(),
        ));
    }
    let _lock = match &plan.lock {
        Some(path) => Some(lock::Lock::acquire(path, plan.lock_wait)?),
        None => None,
    };
    let summary = scheduler::run(plan, new_run_id())?;
    eprint!("{}", report::summary::render(&summary));
    Ok(summary.exit_code())
}

/// A run id that sorts by time and is unique on this host: `20261127T042733Z-4242`.
fn new_run_id() -> String {
    let now = report::json::timestamp(SystemTime::now());
    let compact: String = now
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{compact}Z-{}", std::process::id())
}
