//! One job as the plan has it: its own name, command and matrix values (`JobSpec`),
//! and the rest of its definition, shared by the jobs that have the same (`JobDef`,
//! `JobOptions`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use smol_str::SmolStr;

use super::hooks::Hooks;
use super::matrix;
use super::resources;
use super::retry::RetryPolicy;
use super::template;
use crate::input::jobfile::SlurmOptions;
use crate::input::settings::ExecutorKind;

/// One job, ready to run: what is its own (name, command, position, matrix values), and
/// the rest of its definition (`JobDef`, read through `Deref`: `spec.env`), shared by
/// the jobs that have the same. A jobfile may hold a million jobs: 80 bytes each, and a
/// name or command of up to 23 bytes is held inline (`SmolStr`), without an allocation.
#[derive(Debug, Clone)]
pub(crate) struct JobSpec {
    /// `base[key=value,...]` for a matrix job, else the name as written (or `job-N`).
    pub(crate) name: SmolStr,
    pub(crate) run: SmolStr,
    /// A matrix job's values, passed as variables after `env` (so they win). Keys and
    /// values are shared by the jobs of the matrix that have them.
    pub(crate) matrix: Box<[(Arc<str>, Arc<str>)]>,
    pub(crate) def: Arc<JobDef>,
    /// Position in the jobfile, 1-based (`PRUN_JOB_INDEX`); a matrix's jobs share it.
    pub(crate) index: u32,
    /// `run` is exec'd without a shell (a simple command, `direct`).
    pub(crate) direct: bool,
}

// What a million jobs cost is part of the design: keep it so.
const _: () = assert!(size_of::<JobSpec>() <= 80);

impl std::ops::Deref for JobSpec {
    type Target = JobDef;

    fn deref(&self) -> &JobDef {
        &self.def
    }
}

/// What a job is besides its own name, command and matrix values. Consecutive jobs with
/// the same share one (see `jobs::Shared`), as do the jobs of a matrix.
#[derive(Debug, Clone)]
pub(crate) struct JobDef {
    /// A matrix's name as written (its jobs' names add their values); `None` for any
    /// other job, whose base is its name (`JobSpec::base`).
    pub(crate) base: Option<SmolStr>,
    /// The run's `env`, then `defaults.env`, then the job's own, later keys winning.
    pub(crate) env: Arc<[(String, String)]>,
    pub(crate) workdir: Arc<Path>,
    /// Jobs (indices) that must succeed before this one starts.
    pub(crate) needs: Arc<[usize]>,
    pub(crate) opts: Arc<JobOptions>,
    /// A matrix whose values are found at run time: this job is not run itself but
    /// expanded, once its needs succeeded, into the jobs it makes (`matrix::Dynamic`).
    pub(crate) dynamic: Option<Arc<matrix::Dynamic>>,
}

impl JobDef {
    /// The same definition: equal parts, each the very same shared value (what
    /// `jobs::Shared` hands out), so comparing costs a few pointer compares.
    pub(crate) fn same(&self, other: &JobDef) -> bool {
        self.base == other.base
            && Arc::ptr_eq(&self.env, &other.env)
            && Arc::ptr_eq(&self.workdir, &other.workdir)
            && Arc::ptr_eq(&self.needs, &other.needs)
            && Arc::ptr_eq(&self.opts, &other.opts)
            && self.dynamic.is_none()
            && other.dynamic.is_none()
    }
}

/// A job's less common settings, shared between jobs that have the same.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobOptions {
    pub(crate) tags: Vec<String>,
    pub(crate) hooks: Hooks,
    pub(crate) hook_timeout: Duration,
    /// The command line its executor runs its command under (`Executor::wrapper`).
    pub(crate) wrapper: Option<Vec<String>>,
    /// Its `slurm:` options (the job's over `defaults`'), used with the Slurm executor.
    pub(crate) slurm: Option<SlurmOptions>,
    /// Its `executor:` (the job's, the default's, the run's or `--executor`), once the
    /// plan has resolved it; `None`: local.
    pub(crate) executor: Option<ExecutorKind>,
    /// SIGTERM to the job's group after this long, SIGKILL `grace` later.
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    /// `env` values made from outputs of the jobs it needs, filled in when it starts.
    pub(crate) templates: Vec<template::Template>,
    /// The units it takes from the run's resources while an attempt runs.
    pub(crate) uses: resources::Claim,
    /// Its `env_file`s and the names each gave (`--dry-run` shows names, not values).
    pub(crate) env_files: Vec<(String, Vec<String>)>,
    /// When it runs, given how its needs ended.
    pub(crate) when: crate::input::jobfile::When,
    /// `service: true`: how it is known to be ready, and stopped.
    pub(crate) service: Option<Arc<super::service::Service>>,
    /// `sources`/`generates`/`status`: how it is known to have nothing new to do.
    pub(crate) up_to_date: Option<Arc<super::uptodate::UpToDate>>,
    /// `secrets:`: its variables whose values are masked (besides the top-level ones).
    pub(crate) secrets: Vec<String>,
    /// `if:`: run by prun just before the job would start; not exit 0 = skipped.
    pub(crate) condition: Option<String>,
    /// `allow_failure:`: which of its failures do not fail the run.
    pub(crate) allow: super::policy::Allow,
    /// `limits:`, `nice:`, `io:`, `hook_nice:`.
    pub(crate) limits: super::limits::Limits,
}

impl JobOptions {
    /// Where the job runs (resolved by the plan).
    pub(crate) fn executor(&self) -> &'static dyn crate::executor::Executor {
        crate::executor::of(self.executor.unwrap_or(ExecutorKind::Local))
    }
}

impl JobSpec {
    /// Whether the job sets variable `var` (in `env` or as a matrix key).
    pub(crate) fn sets(&self, var: &str) -> bool {
        self.env.iter().any(|(k, _)| k == var)
            || self.matrix.iter().any(|(k, _)| &**k == var)
            || self
                .dynamic
                .as_ref()
                .is_some_and(|d| d.keys.iter().any(|(k, _)| &**k == var))
    }

    /// The job of this one's matrix with the values of `combo`, defined by `def` (this
    /// one's, or for a dynamic matrix the same without the `dynamic` recipe; its `base`
    /// is this one's name).
    /// A job that runs under srun gets its own Slurm job name.
    pub(crate) fn expansion(&self, def: &Arc<JobDef>, combo: matrix::Combination) -> JobSpec {
        let mut job = JobSpec {
            name: smol_str::format_smolstr!("{}{}", self.name, combo.suffix),
            run: self.run.clone(),
            matrix: combo.values,
            def: Arc::clone(def),
            index: self.index,
            direct: self.direct,
        };
        if let Some(w) = &job.opts.wrapper {
            let renamed = job.opts.executor().rename(w, &job.name);
            Arc::make_mut(&mut job.def_mut().opts).wrapper = Some(renamed);
        }
        job
    }

    /// The name as written: a matrix's, for its jobs.
    pub(crate) fn base(&self) -> &str {
        self.def.base.as_deref().unwrap_or(&self.name)
    }

    /// The definition to change (cloned first if another job shares it).
    pub(crate) fn def_mut(&mut self) -> &mut JobDef {
        Arc::make_mut(&mut self.def)
    }
}
