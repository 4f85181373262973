//! prun runs the shell commands of a YAML jobfile in a fixed-size process pool, one at a
//! time (`mode: sync`) or up to N at once (`mode: async`), and after each job runs that
//! job's completion hooks in the parent. What it promises is in `docs/` and the README;
//! how the source is laid out, who decides and who prints, in docs/ARCHITECTURE.md.
//!
//! `run` below is the whole flow in one function: read the jobfile ([`input`](crate::input)), resolve it
//! into a `Plan` ([`plan`](crate::plan)), say it is valid (`--check`) or show it (`--dry-run`,
//! [`report::dry_run`](crate::report::dry_run)), take the lock and read what an earlier run did ([`state`](crate::state)), run it
//! ([`runner`](crate::runner), around the core in [`schedule`](crate::schedule), over the process layer in [`executor`](crate::executor)), write
//! the reports ([`report`](crate::report)), print the summary, return the exit code ([`exit`](crate::exit), [`error`](crate::error)).

// The layers, lowest first: each module uses only those above it in this list (checked
// by tests/architecture.rs; docs/ARCHITECTURE.md, "Layers").
mod alloc;
mod docs;
mod error;
mod executor;
pub mod exit;
mod files;
mod input;
mod mask;
mod names;
mod outcome;
mod output;
mod plan;
mod report;
mod runner;
mod schedule;
mod sizes;
mod state;
mod times;

#[global_allocator]
static ALLOC: alloc::StartArena = alloc::StartArena;

pub use docs::complete_from_env;
pub use error::Error;
pub use input::cli::Cli;

use output::console;

use std::io::IsTerminal;

/// Reads the jobfile, resolves the plan, runs it, writes the reports and prints the
/// summary; returns the exit code. Every error that stops prun before the run comes back
/// as `Err`.
pub fn run(cli: Cli) -> Result<u8, Error> {
    if let Some(shell) = cli.completions {
        return docs::completions(shell).map(|()| exit::SUCCESS);
    }
    if let Some(page) = cli.man {
        return docs::man_page(page).map(|()| exit::SUCCESS);
    }
    if let Some(input::cli::Command::History(args)) = &cli.command {
        return history(args);
    }
    // clap requires a jobfile unless --completions or --man is given.
    let path = cli.jobfile.as_deref().unwrap_or("-");
    let src = input::source::read(path)?;
    // A line that is not YAML is quoted as it is: with any secret it holds masked.
    let jobfile = input::jobfile::parse(&src).map_err(|d| {
        d.masked(&plan::secrets::text_values(&src.text, |k| {
            std::env::var(k).ok()
        }))
    })?;
    let base_dir = input::source::base_dir(path)?;
    let cwd = std::env::current_dir().map_err(|e| Error::io("finding the current directory", e))?;
    let path_var = std::env::var("PATH").ok();
    let step_summary = std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|s| !s.is_empty())
        .map(std::path::PathBuf::from);
    let flag =
        |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let facts = plan::Facts {
        cpus: || std::thread::available_parallelism().map_or(1, |n| n.get()),
        base_dir: &base_dir,
        cwd: &cwd,
        path_var: path_var.as_deref(),
        stderr_is_terminal: std::io::stderr().is_terminal(),
        stdout_is_terminal: std::io::stdout().is_terminal(),
        is_ci: flag("CI"),
        github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        step_summary: step_summary.as_deref(),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        clicolor_force: flag("CLICOLOR_FORCE"),
        env_var: |k| std::env::var(k).ok(),
    };
    // An error about the jobfile may quote a line holding a secret: masked, although
    // the masker is set up only once the plan is.
    let early = plan::secrets::early_values(&jobfile, facts.env_var);
    let mut plan =
        plan::Plan::resolve(&cli, jobfile, &src, &facts).map_err(|d| d.masked(&early))?;
    // Before anything else is printed: from here on every writer of prun's masks them.
    if !plan.secrets.is_empty() {
        mask::install(&plan.secrets);
        if facts.github_actions {
            // Unmasked, on purpose: this tells GitHub what to mask in the log.
            let _ = std::io::Write::write_all(
                &mut std::io::stdout().lock(),
                mask::github_commands(&plan.secrets).as_bytes(),
            );
        }
    }
    // Every error about the text has been said: a million-job jobfile's text is not
    // kept through the run.
    drop(src.text);
    for w in &plan.warnings {
        console::eprint(&format!("prun: warning: {w}\n"));
    }
    if let Some(s) = plan.sharded.filter(|_| plan.jobs.is_empty()) {
        console::eprint(&format!(
            "prun: {}: shard {} is empty ({} job{} in {} shards): nothing to run\n",
            src.name,
            s.shard,
            s.of,
            if s.of == 1 { "" } else { "s" },
            s.shard.count
        ));
        return Ok(exit::SUCCESS);
    }
    if cli.check {
        console::eprint(&format!(
            "prun: {}: valid, {} job(s)\n",
            src.name,
            plan.jobs.len()
        ));
        return Ok(exit::SUCCESS);
    }
    if cli.dry_run {
        let containment = executor::cgroup::describe(plan.containment);
        console::print(&report::dry_run::render(&plan, &src.name, &containment))
            .map_err(|e| Error::io("writing the plan to stdout", e))?;
        return Ok(exit::SUCCESS);
    }
    // Everything that can be checked before the run is: a typo in a path must not cost
    // the whole night.
    if plan.lock_wait.is_some() && plan.lock.is_none() {
        return Err(error::UsageError::LockWaitWithoutLock.into());
    }
    if (cli.keep.is_some() || cli.keep_days.is_some()) && plan.history.is_none() {
        return Err(error::UsageError::KeepWithoutHistory.into());
    }
    check_report_paths(&plan)?;
    let _lock = match &plan.lock {
        Some(path) => Some(state::lock::Lock::acquire(path, plan.lock_wait)?),
        None => None,
    };
    let mut run_id = new_run_id();
    let history = match &plan.history {
        Some(h) => Some(state::history::Current::begin(h, &run_id)?),
        None => None,
    };
    // The run's own directory holds its logs and joblog unless they were asked for
    // elsewhere (they are copied in at the end then).
    if let Some(h) = &history {
        run_id = h.name().to_owned();
        plan.previous_success = h.previous_success;
        plan.log_dir.get_or_insert_with(|| h.path().join("logs"));
        plan.joblog.get_or_insert_with(|| h.path().join("joblog"));
    }
    if let Some(dir) = &plan.log_dir {
        files::create_dir(dir).map_err(|source| error::PathError {
            what: "the log directory",
            path: dir.display().to_string(),
            source,
        })?;
    }
    let earlier = state::resume::Earlier::read(&plan)?;
    let joblog = plan
        .joblog
        .as_deref()
        .map(state::joblog::Joblog::open)
        .transpose()?;
    let plan = std::sync::Arc::new(plan);
    let mut pings = plan.monitor.clone().map(report::monitor::Pings::new);
    let mut summary = runner::driver::run(
        std::sync::Arc::clone(&plan),
        run_id,
        earlier,
        joblog,
        || pings.iter_mut().for_each(report::monitor::Pings::start),
    )?;
    if let Some(p) = &mut pings {
        // SIGINT, SIGTERM and SIGHUP while the pings wait end the wait (the driver's
        // watch went with the run; without one they were ignored until the ping ended).
        let mut watch = runner::signals::watch().ok();
        let mut signalled = || watch.as_mut().and_then(|w| w.pending().first().copied());
        let (errors, signal) = p.end(&summary, &mut signalled);
        summary.monitor_errors = errors;
        if summary.signal.is_none() {
            summary.signal = signal;
        }
        for w in &summary.monitor_errors {
            console::eprint(&format!("prun: warning: {w}\n"));
        }
    }
    // A bug on a thread of the pings: the run ends as on any other.
    if summary.internal_error.is_none() {
        summary.internal_error = Error::panicked();
    }
    let kept_report = history
        .as_ref()
        .map(|h| h.path().join(state::history::REPORT));
    let unwritten = report::write_files(&plan, &src.name, &summary, kept_report.as_deref());
    if let Some(h) = history {
        let logs: Vec<std::path::PathBuf> = (summary.results.iter())
            .filter_map(|r| r.log().map(std::path::Path::to_path_buf))
            .collect();
        for w in h.finish(&logs, cli.joblog.as_deref()) {
            console::eprint(&format!("prun: warning: {w}\n"));
        }
    }
    if !(plan.output.quiet && summary.prun_exit() == exit::SUCCESS && unwritten.is_empty()) {
        console::eprint(&report::summary::render(
            &summary,
            plan.output.color_stderr,
            plan.output.wide,
        ));
    }
    for e in &unwritten {
        console::eprint(&format!("prun: error: {e}\n"));
    }
    let code = summary.prun_exit();
    Ok(if code == exit::SUCCESS && !unwritten.is_empty() {
        exit::FAILURE
    } else {
        code
    })
}

/// `prun history DIR [--json] [--job NAME]`: the runs kept there, newest first.
fn history(args: &input::cli::HistoryArgs) -> Result<u8, Error> {
    let runs = state::history::list(&args.dir).map_err(|source| error::PathError {
        what: "the history directory",
        path: args.dir.display().to_string(),
        source,
    })?;
    let text = match &args.job {
        None => report::history::render_runs(&runs, args.json),
        Some(name) => match report::history::render_job(&runs, name, args.json) {
            Some(text) => text,
            None => {
                console::eprint(&format!(
                    "prun: no ended run in {} has a job named '{}' ({} run(s) kept)\n",
                    args.dir.display(),
                    names::printable(name),
                    runs.len()
                ));
                return Ok(exit::FAILURE);
            }
        },
    };
    console::print(&text).map_err(|e| Error::io("writing the history to stdout", e))?;
    Ok(exit::SUCCESS)
}

/// Every report file asked for (`report::FILES`) must be creatable before anything runs.
fn check_report_paths(plan: &plan::Plan) -> Result<(), Error> {
    for r in report::FILES {
        if let Some(p) = (r.path)(plan) {
            files::check_can_write(p).map_err(|source| error::PathError {
                what: r.flag,
                path: p.display().to_string(),
                source,
            })?;
        }
    }
    Ok(())
}

/// A run id that sorts by time and is unique on this host: `20261127T042733Z-4242`.
fn new_run_id() -> String {
    let now = times::timestamp(times::run_clock());
    let compact: String = now
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{compact}Z-{}", std::process::id())
}
