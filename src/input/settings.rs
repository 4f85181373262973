//! The settings the command line and the jobfile share, and the run reads: how jobs are
//! scheduled (`Mode`), how their output is shown (`OutputMode`), where they run
//! (`ExecutorKind`), when a progress bar is drawn (`Progress`). Plain enums, so neither
//! the command line nor the jobfile has to know about the other, and nothing that runs
//! jobs has to know about either.

use serde::Deserialize;

/// The largest pool prun runs (one thread per slot).
pub(crate) const MAX_POOL: usize = 4096;

/// `--max-fail N[:kill]` (`--fail-fast` is `--max-fail 1`): after `failures` failed jobs
/// no new job starts; with `kill`, the jobs still running get SIGTERM, then SIGKILL after
/// the grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxFail {
    pub failures: u32,
    pub kill: bool,
}

impl std::fmt::Display for MaxFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.failures == 1 && !self.kill {
            return f.write_str("--fail-fast");
        }
        write!(f, "--max-fail {}", self.failures)?;
        if self.kill {
            f.write_str(":kill")?;
        }
        Ok(())
    }
}

/// `--shard M/N` (the M-th of N even slices, in jobfile order) or `--shard hash:M/N` (by
/// a stable hash of each job's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
    pub by_hash: bool,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hash = if self.by_hash { "hash:" } else { "" };
        write!(f, "{hash}{}/{}", self.index, self.count)
    }
}

/// `mode: sync | async`, `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One job at a time, in file order; a job's hooks finish before the next job starts.
    Sync,
    /// Up to N jobs at once, started in file order.
    Async,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputMode {
    /// Each job's output as one block, headed by its name, when the job ends.
    Group,
    /// Lines as they come, prefixed with `[name] `; lines are never torn.
    Line,
    /// Passed straight through to prun's stdout and stderr.
    Stream,
    /// Discarded.
    None,
}

impl OutputMode {
    /// The name as written on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            OutputMode::Group => "group",
            OutputMode::Line => "line",
            OutputMode::Stream => "stream",
            OutputMode::None => "none",
        }
    }
}

/// `executor:`, `--executor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutorKind {
    Local,
    Slurm,
}

/// `containment:`, `--containment`: how a job's processes are kept together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Containment {
    /// A cgroup per slot where prun may create one, else process groups.
    Auto,
    /// Cgroups, or refuse to run (for jobs that start daemons).
    Cgroup,
    /// Process groups only (the least cost per job; a job that leaves its group is
    /// not followed).
    ProcessGroup,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set (or forced by `CLICOLOR_FORCE`).
    Auto,
    Always,
    Never,
}

/// `--summary`: the table at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Summary {
    /// Job, status, exit code, attempts, duration; above 30 jobs only those that did
    /// not succeed.
    Table,
    /// The same with each job's CPU seconds and peak memory, every job listed.
    Wide,
}

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Progress {
    Auto,
    Always,
    Never,
}

/// The shell that runs every `run:` and hook: `<program> <args…> -c <text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shell {
    pub(crate) program: std::path::PathBuf,
    /// Options before `-c`, e.g. `-eo pipefail`.
    pub(crate) args: Vec<String>,
}

impl Default for Shell {
    fn default() -> Self {
        Shell {
            program: std::path::PathBuf::from("/bin/sh"),
            args: Vec::new(),
        }
    }
}

impl std::fmt::Display for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.program.display())?;
        for a in &self.args {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}
