//! The command line, as clap sees it. Raw values only: [`plan`](crate::plan) combines them with the
//! jobfile and decides what they mean.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use clap_complete::engine::ArgValueCompleter;

use crate::input::settings::{
    Color, Containment, ExecutorKind, MAX_POOL, MaxFail, Mode, OutputMode, Progress, Shard, Summary,
};

/// Run the shell commands of a YAML jobfile in a fixed-size process pool.
///
/// Jobs run as `<shell> -c <run>`, each in its own process group, with stdin from
/// /dev/null. After each job prun itself runs that job's hooks (on_success, on_failure,
/// on_complete), one at a time, in the order jobs end.
///
/// Exit codes: 0 all jobs and hooks succeeded; 1 a job or hook failed; 2 usage or jobfile
/// error (nothing ran); 75 lock held; 128+N interrupted by signal N.
#[derive(Debug, Parser)]
#[command(
    name = "prun",
    version,
    about,
    long_about,
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// `prun history DIR`: the runs a jobfile's `history:` kept (a jobfile named
    /// `history` is `./history`).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The jobfile (YAML). `-` reads it from stdin.
    #[arg(
        value_name = "JOBFILE",
        required_unless_present_any = ["completions", "man"],
        add = ArgValueCompleter::new(super::complete::jobfiles)
    )]
    pub jobfile: Option<String>,

    /// Pool size: how many jobs may run at once [default: the jobfile's `concurrency`,
    /// else the number of CPUs].
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<NonZeroUsize>,

    /// `sync`: one job at a time, in file order, its hooks before the next job.
    /// `async`: up to N at once [default: the jobfile's `mode`, else async].
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,

    /// How job output is shown [default: group for async, stream for sync].
    #[arg(long, value_enum, value_name = "HOW")]
    pub output: Option<OutputMode>,

    /// Print output blocks in jobfile order instead of the order jobs end.
    #[arg(long)]
    pub keep_order: bool,

    /// After the first failure start no new job; running jobs finish (`--max-fail 1`).
    #[arg(long, conflicts_with = "max_fail")]
    pub fail_fast: bool,

    /// After N failed jobs start no new job (allowed failures do not count); running
    /// jobs finish, or with `N:kill` get SIGTERM, then SIGKILL after the grace period.
    /// Cleanup jobs (`when: failure | always`) still run.
    #[arg(long, value_name = "N[:kill]", value_parser = parse_max_fail)]
    pub max_fail: Option<MaxFail>,

    /// How long a job may take to stop after SIGTERM (a timeout, a signal to prun) before
    /// it gets SIGKILL [default: the jobfile's `grace`, else 10s].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub grace: Option<Duration>,

    /// At least DUR between two job starts, for a busy machine (GNU parallel's
    /// `--delay`) [default: the jobfile's `delay`, else none].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub delay: Option<Duration>,

    /// Start a job only while the machine has at least SIZE of memory available
    /// (MemAvailable; `2G`, `512M`) [default: the jobfile's `memfree`, else none].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memfree: Option<u64>,

    /// Start a job only while the 1-minute load average is below N [default: the
    /// jobfile's `max_load`, else none].
    #[arg(long, value_name = "N", value_parser = parse_load)]
    pub load: Option<f64>,

    /// After the throttles (--memfree, --load) have held jobs back this long, say so on
    /// stderr, and again every minute [default: the jobfile's `throttle_warn`, else 5m].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub throttle_warn: Option<Duration>,

    /// Hold an exclusive lock on FILE for the whole run: a second run with the same lock
    /// exits 75 at once, with a message naming the lock [default: the jobfile's `lock`].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// With a lock: wait up to DUR for another run to release it before giving up.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub lock_wait: Option<Duration>,

    /// Run only the jobs with this tag (repeatable), and the jobs they need.
    #[arg(long = "tag", value_name = "TAG", add = ArgValueCompleter::new(super::complete::tags))]
    pub tags: Vec<String>,

    /// Run only this job (repeatable; a matrix job by its base name or full name), and the
    /// jobs it needs.
    #[arg(long = "job", value_name = "NAME", add = ArgValueCompleter::new(super::complete::job_names))]
    pub jobs_selected: Vec<String>,

    /// Run the M-th of N even slices of the selected jobs, in jobfile order, and what they
    /// need (`hash:M/N`: by a stable hash of each job's name, so adding a job elsewhere
    /// moves no other). An empty shard says so and exits 0.
    #[arg(long, value_name = "[hash:]M/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Append one line per ended attempt to FILE (tab-separated), flushed at once.
    #[arg(long, value_name = "FILE")]
    pub joblog: Option<PathBuf>,

    /// With --joblog: skip jobs whose name and command already succeeded in the joblog.
    #[arg(long, requires = "joblog", conflicts_with = "resume_failed")]
    pub resume: bool,

    /// With --joblog: run only the jobs whose last attempt in the joblog failed.
    #[arg(long, requires = "joblog")]
    pub resume_failed: bool,

    /// Run jobs with `sources`/`status` even when they are up to date, and save their
    /// fingerprints anew: every selected job, or with `--force=NAME` (repeatable) that
    /// job only (a matrix job by its base name or full name).
    #[arg(long, value_name = "NAME", num_args = 0..=1, require_equals = true, default_missing_value = "", add = ArgValueCompleter::new(super::complete::job_names))]
    pub force: Vec<String>,

    /// Where up-to-date jobs keep their fingerprints [default: the jobfile's `state_dir`,
    /// else `.prun` beside the jobfile].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Keep each run in a directory of its own under DIR: its logs, report.json and
    /// joblog, with DIR/latest the newest [default: the jobfile's `history.dir`].
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,

    /// With a history: keep the newest N runs, remove older ones after the run
    /// [default: the jobfile's `history.keep`, else all].
    #[arg(long, value_name = "N", value_parser = parse_keep)]
    pub keep: Option<usize>,

    /// With a history: remove runs that started more than D days ago
    /// [default: the jobfile's `history.keep_days`, else none].
    #[arg(long, value_name = "D", value_parser = parse_keep)]
    pub keep_days: Option<usize>,

    /// Send no pings to the jobfile's `monitor:` (--check and --dry-run never send any).
    #[arg(long)]
    pub no_monitor: bool,

    /// Write a JSON report of the run to FILE (atomically, at the end).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Write node_exporter textfile-collector metrics to FILE.prom at the end
    /// [default: the jobfile's `metrics`].
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,

    /// Write a JUnit XML report to FILE: one testcase per job.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Print nothing when every job succeeds; on failure, the failed jobs' output and the
    /// summary (for cron, like chronic).
    #[arg(short, long)]
    pub quiet: bool,

    /// Write each job's output (stdout and stderr, in order) to DIR/NAME.log as it comes.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,

    /// The table at the end: `wide` adds each job's CPU seconds and peak memory and
    /// lists every job.
    #[arg(long, value_enum, value_name = "STYLE", default_value = "table")]
    pub summary: Summary,

    /// A progress bar on stderr: auto = when stderr is a terminal and this is not CI.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub progress: Progress,

    /// Draw the run as an SVG picture: one row per slot, one bar per attempt.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,

    /// Where jobs run: `local` (here), or `slurm` (each job as a Slurm job step, through
    /// srun) [default: the jobfile's [`executor`](crate::executor), else local].
    #[arg(long, value_enum, value_name = "WHERE")]
    pub executor: Option<ExecutorKind>,

    /// How a job's processes are kept together, so none outlives it: `auto` = a cgroup
    /// per pool slot where prun may create one (cgroup v2: root, or a delegated slice),
    /// else process groups; `cgroup` = cgroups or refuse to run; `process-group` =
    /// process groups only [default: the jobfile's `containment`, else auto].
    #[arg(long, value_enum, value_name = "HOW")]
    pub containment: Option<Containment>,

    /// Colour failed rows and headers red, skipped ones dim, success green. auto: on a
    /// terminal, unless NO_COLOR is set; CLICOLOR_FORCE forces it. Never with --quiet.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: Color,

    /// Print the resolved plan and run nothing.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// Only validate the jobfile (and the options): exit 0 if it is valid, 2 if not.
    #[arg(long)]
    pub check: bool,

    /// Print the completion script for SHELL and exit, e.g.
    /// `prun --completions bash > ~/.local/share/bash-completion/completions/prun`.
    #[arg(long, value_name = "SHELL", value_enum, exclusive = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Print a man page (roff) and exit: `prun --man > prun.1`,
    /// `prun --man=history > prun-history.1`.
    #[arg(long, value_name = "PAGE", value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "prun", exclusive = true)]
    pub man: Option<ManPage>,
}

/// The man pages prun prints (`--man`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ManPage {
    /// prun(1): running a jobfile, the jobfile's format, exit status, environment.
    Prun,
    /// prun-history(1): `prun history DIR`.
    History,
}

/// What prun does besides running a jobfile.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the runs kept in a history directory, newest first: start, duration,
    /// result, failed jobs.
    History(HistoryArgs),
}

/// `prun history DIR [--json] [--job NAME]`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The history directory (the jobfile's `history.dir`, or `--history DIR`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Print the runs as JSON (an array, newest first), for scripts.
    #[arg(long)]
    pub json: bool,

    /// One job's result and duration in each run (a matrix job by its base name too).
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
}

fn parse_keep(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 would keep nothing, not even this run; use 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number; use e.g. --keep 30")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::times::parse_duration(s)
        .map_err(|e| format!("'{s}' is not a duration ({e}); write it like 10s, 500ms or 1m"))
}

fn parse_size(s: &str) -> Result<u64, String> {
    crate::sizes::parse(s)
}

fn parse_load(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n),
        _ => Err(format!(
            "'{s}' is not a load average: write a number above 0, e.g. 2 or 1.5"
        )),
    }
}

fn parse_max_fail(s: &str) -> Result<MaxFail, String> {
    let (n, kill) = match s.trim().split_once(':') {
        Some((n, "kill")) => (n, true),
        Some((_, how)) => {
            return Err(format!(
                "'{how}' is not a way to stop; write N to let running jobs finish, or N:kill"
            ));
        }
        None => (s.trim(), false),
    };
    match n.parse::<u32>() {
        Ok(0) => Err("0 failures would stop the run before it starts; use 1 or more".into()),
        Ok(failures) => Ok(MaxFail { failures, kill }),
        Err(_) => Err(format!(
            "'{n}' is not a whole number; use e.g. --max-fail 3 or 3:kill"
        )),
    }
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let t = s.trim();
    let (by_hash, rest) = match t.strip_prefix("hash:") {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let bad =
        || format!("'{s}' is not a shard; write M/N (e.g. 2/4) or hash:M/N, with 1 <= M <= N");
    let (m, n) = rest.split_once('/').ok_or_else(bad)?;
    let (Ok(index), Ok(count)) = (m.parse::<u32>(), n.parse::<u32>()) else {
        return Err(bad());
    };
    if index == 0 || count == 0 || index > count {
        return Err(format!(
            "shard {index}/{count} does not exist: shards are numbered 1 to N (e.g. 1/{})",
            count.max(1)
        ));
    }
    Ok(Shard {
        index,
        count,
        by_hash,
    })
}

fn parse_jobs(s: &str) -> Result<NonZeroUsize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("the pool needs at least 1 slot; use -j 1 or more".into()),
        Ok(n) if n > MAX_POOL => Err(format!(
            "{n} is more than prun's limit of {} slots",
            MAX_POOL
        )),
        Ok(n) => Ok(NonZeroUsize::new(n).expect("checked above")),
        Err(_) => Err(format!("'{s}' is not a whole number; use e.g. -j 4")),
    }
}
