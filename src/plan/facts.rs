//! What the plan needs to know about the world, passed in so that every decision of
//! `Plan::resolve` can be tested without it.

use std::path::Path;

/// What `resolve` needs to know about the world.
pub(crate) struct Facts<'a> {
    /// The number of CPUs, asked only when neither `-j` nor `concurrency:` says (it reads
    /// cgroup files: time on every start).
    pub(crate) cpus: fn() -> usize,
    /// The directory relative paths in the jobfile start from (the jobfile's own).
    pub(crate) base_dir: &'a Path,
    /// `PATH`, to find a `shell:` given by name.
    pub(crate) path_var: Option<&'a str>,
    /// The current directory, for paths given on the command line.
    pub(crate) cwd: &'a Path,
    pub(crate) stderr_is_terminal: bool,
    pub(crate) stdout_is_terminal: bool,
    /// `CI` is set (to anything but `false`/`0`).
    pub(crate) is_ci: bool,
    /// `GITHUB_ACTIONS=true`.
    pub(crate) github_actions: bool,
    /// `$GITHUB_STEP_SUMMARY`, under GitHub Actions.
    pub(crate) step_summary: Option<&'a Path>,
    /// `NO_COLOR` is set (to anything but empty).
    pub(crate) no_color: bool,
    /// `CLICOLOR_FORCE` is set (to anything but empty or `0`).
    pub(crate) clicolor_force: bool,
    /// prun's own environment (where `secrets:` not set in `env` are found).
    pub(crate) env_var: fn(&str) -> Option<String>,
}
