//! Building each job of the jobfile: its keys over `defaults:` over the run's, checked,
//! into a `JobSpec` that shares what it has in common with its neighbours.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::hooks::Hooks;
use super::job::{JobDef, JobOptions, JobSpec};
use super::needs::RawNeeds;
use super::retry::RetryPolicy;
use super::template::{self, Template};
use super::validate;
use crate::input::diagnostic::{Diagnostic, Pos, Source};
use crate::input::jobfile::SlurmOptions;
use crate::input::jobfile::{JobEntry, JobKeys, Matrix, Scalar, Sp, When};
use smol_str::{SmolStr, format_smolstr};

/// The last environment, workdir and options handed out while jobs are built: the next
/// job with equal ones shares them instead of holding a copy.
#[derive(Default)]
pub(super) struct Shared {
    /// `env_file`s read so far, and what to warn about them.
    pub(super) dotenv: super::dotenv::Cache,
    env: Option<Arc<[(String, String)]>>,
    workdir: Option<Arc<Path>>,
    opts: Option<Arc<JobOptions>>,
    def: Option<Arc<JobDef>>,
}

impl Shared {
    pub(super) fn env(&mut self, env: Vec<(String, String)>) -> Arc<[(String, String)]> {
        share(&mut self.env, env, |v| v.into())
    }

    pub(super) fn workdir(&mut self, dir: PathBuf) -> Arc<Path> {
        share(&mut self.workdir, dir, |d| d.into())
    }

    pub(super) fn opts(&mut self, opts: JobOptions) -> Arc<JobOptions> {
        share(&mut self.opts, opts, Arc::new)
    }

    /// The last definition again if `def` is the same (see `JobDef::same`): a million
    /// bare jobs share one.
    pub(super) fn def(&mut self, def: JobDef) -> Arc<JobDef> {
        match &self.def {
            Some(last) if last.same(&def) => Arc::clone(last),
            _ => Arc::clone(self.def.insert(Arc::new(def))),
        }
    }
}

/// The names given so far, to refuse a duplicate. A job without `name:` is `job-N` (N its
/// position), and those cannot repeat among themselves: only written names are kept,
/// and an automatic name is looked up only if a written one looks like one. A million
/// unnamed jobs keep nothing here.
pub(super) struct Names {
    written: HashMap<SmolStr, Pos>,
    /// Which entries (by position - 1) have no `name:`.
    unnamed: Vec<bool>,
}

impl Names {
    pub(super) fn new(entries: usize) -> Self {
        Names {
            written: HashMap::new(),
            unnamed: Vec::with_capacity(entries),
        }
    }

    /// Where an earlier job has `name`, the name of entry `index` (`unnamed`: the
    /// automatic one), at `at`; `entries` give the positions of unnamed jobs. Entries
    /// come in order, each once.
    fn duplicate(
        &mut self,
        name: &SmolStr,
        at: Pos,
        unnamed: bool,
        entries: &[Sp<JobEntry>],
    ) -> Option<Pos> {
        self.unnamed.push(unnamed);
        if unnamed {
            return self.written.get(name).copied();
        }
        if let Some(first) = self.written.insert(name.clone(), at) {
            return Some(first);
        }
        // `job-K` written after the unnamed job K.
        let k: usize = name.strip_prefix("job-")?.parse().ok()?;
        let earlier = k >= 1 && k < self.unnamed.len() && self.unnamed[k - 1];
        (earlier && name.as_str() == format!("job-{k}")).then(|| entries[k - 1].referenced)
    }
}

/// `last` again if it equals `value`, else `value` made shared (and remembered).
fn share<T: ?Sized + PartialEq, V: std::borrow::Borrow<T>>(
    last: &mut Option<Arc<T>>,
    value: V,
    make: impl FnOnce(V) -> Arc<T>,
) -> Arc<T> {
    match last {
        Some(l) if **l == *value.borrow() => Arc::clone(l),
        _ => Arc::clone(last.insert(make(value))),
    }
}

/// A job as resolved from its entry, with what can only be settled once every job is
/// known: its `needs` by name, and its matrix to expand.
pub(super) type WrittenJob = (JobSpec, Option<RawNeeds>, Option<Sp<Matrix>>);

/// What every job is resolved against.
pub(super) struct JobContext<'a> {
    pub(super) src: &'a Source,
    /// The jobfile's directory (`env_file` paths start there).
    pub(super) base_dir: &'a Path,
    pub(super) resources: &'a [super::resources::Resource],
    pub(super) defaults: &'a JobKeys,
    pub(super) env: &'a [(String, String)],
    pub(super) workdir: &'a Path,
    pub(super) hook_timeout: Duration,
}

impl JobContext<'_> {
    /// The job at position `index` (1-based) of `jobs:`, from its `entry`; [`names`](crate::names) and
    /// `entries` find a duplicate name, `shared` hands out the parts jobs share.
    pub(super) fn job(
        &self,
        index: usize,
        entry: Sp<JobEntry>,
        names: &mut Names,
        entries: &[Sp<JobEntry>],
        shared: &mut Shared,
    ) -> Result<WrittenJob, Diagnostic> {
        let here = entry.referenced;
        let keys = match entry.value {
            JobEntry::Bare(run) => JobKeys {
                run: Some(Sp::new(Scalar(run.into()), here)),
                ..JobKeys::default()
            },
            JobEntry::Full(fields) => JobKeys::from_fields(fields),
        };
        let name = self.name(&keys, index, here, names, entries)?;
        let run = self.run_text(&keys, &name, here)?;
        validate::no_outputs_in_keys(self.src, &keys, &format!("job '{name}': "))?;
        let (env, templates, env_files) = self.env(&keys, &name, shared)?;
        let opts = self.options(&keys, &name, env_files, templates)?;
        let d = self.defaults;
        let workdir = match keys.workdir.as_ref().or(d.workdir.as_ref()) {
            Some(w) => self.workdir.join(&w.value),
            None => self.workdir.to_path_buf(),
        };
        let def = JobDef {
            base: None,
            env: shared.env(env),
            workdir: shared.workdir(workdir),
            dynamic: None,
            needs: Arc::default(),
            opts: shared.opts(opts),
        };
        let spec = JobSpec {
            name,
            run,
            matrix: Box::default(),
            def: shared.def(def),
            index: index as u32,
            direct: false,
        };
        Ok((spec, keys.needs.map(|n| n.value), keys.matrix))
    }

    /// Its `name:`, checked, or `job-<index>`; unique.
    fn name(
        &self,
        keys: &JobKeys,
        index: usize,
        here: Pos,
        names: &mut Names,
        entries: &[Sp<JobEntry>],
    ) -> Result<SmolStr, Diagnostic> {
        let name: SmolStr = match &keys.name {
            Some(n) => {
                validate::check_name(self.src, n)?;
                SmolStr::new(&n.value)
            }
            None => format_smolstr!("job-{index}"),
        };
        let name_loc = keys.name.as_ref().map_or(here, |n| n.referenced);
        let Some(first) = names.duplicate(&name, name_loc, keys.name.is_none(), entries) else {
            return Ok(name);
        };
        Err(
            Diagnostic::at(self.src, name_loc, format!("duplicate job name '{name}'")).help(
                format!(
                    "job names must be unique; the first '{name}' is on line {}{}",
                    first.line(),
                    if keys.name.is_none() {
                        " (a job without `name:` is called job-<its position>)"
                    } else {
                        ""
                    }
                ),
            ),
        )
    }

    /// Its `run:`: there, not blank, without NUL.
    fn run_text(&self, keys: &JobKeys, name: &str, here: Pos) -> Result<SmolStr, Diagnostic> {
        match &keys.run {
            Some(r) if r.value.0.contains('\0') => Err(Diagnostic::at(
                self.src,
                r.referenced,
                format!("job '{name}' has a NUL character in `run:`"),
            )
            .help("a command cannot contain NUL; remove the \\0 escape")),
            Some(r) if !r.value.0.trim().is_empty() => Ok(SmolStr::from(r.value.0.as_str())),
            Some(r) => Err(Diagnostic::at(
                self.src,
                r.referenced,
                format!("job '{name}' has an empty `run:`"),
            )
            .help("give the shell command to run, e.g. `run: echo hello`")),
            None => Err(
                Diagnostic::at(self.src, here, format!("job '{name}' has no `run:` key"))
                    .help("add the shell command to run, e.g. `run: echo hello`"),
            ),
        }
    }

    /// Its environment, later winning: the run's env, `defaults.env`, the job's
    /// `env_file` (or the default's), the job's own `env`; values that use outputs of
    /// other jobs become templates, filled in when it starts. A file's values are data,
    /// never templates. Also the env files and the names each gave.
    #[allow(clippy::type_complexity)]
    fn env(
        &self,
        keys: &JobKeys,
        name: &str,
        shared: &mut Shared,
    ) -> Result<
        (
            Vec<(String, String)>,
            Vec<Template>,
            Vec<(String, Vec<String>)>,
        ),
        Diagnostic,
    > {
        let d = self.defaults;
        let mut env = self.env.to_vec();
        let mut templates = Vec::new();
        let (from_files, env_files) = match keys.env_file.as_ref().or(d.env_file.as_ref()) {
            Some(f) => super::dotenv::read(self.src, self.base_dir, f, &mut shared.dotenv)?,
            None => Default::default(),
        };
        let mut from_files = Some(from_files);
        for written in [d.env.as_ref(), None, keys.env.as_ref()] {
            let Some(written) = written else {
                for (var, value) in from_files.take().unwrap_or_default() {
                    env.retain(|(k, _)| *k != var);
                    templates.retain(|t: &Template| t.var != var);
                    env.push((var, value));
                }
                continue;
            };
            for (var, value) in validate::env_pairs(self.src, Some(written))? {
                env.retain(|(k, _)| *k != var);
                templates.retain(|t: &Template| t.var != var);
                match template::parse(&value) {
                    Ok(None) => env.push((var, value)),
                    Ok(Some(parts)) => templates.push(Template {
                        var,
                        parts,
                        at: written.referenced,
                    }),
                    Err(why) => {
                        return Err(Diagnostic::at(
                            self.src,
                            written.referenced,
                            format!("job '{name}': env {var}: {why}"),
                        ));
                    }
                }
            }
        }
        Ok((env, templates, env_files))
    }

    /// Its less common settings, each its own or the default's.
    fn options(
        &self,
        keys: &JobKeys,
        name: &str,
        env_files: Vec<(String, Vec<String>)>,
        templates: Vec<Template>,
    ) -> Result<JobOptions, Diagnostic> {
        let d = self.defaults;
        let executor = match keys.executor.as_ref().or(d.executor.as_ref()) {
            Some(e) => Some(validate::executor_kind(self.src, e)?),
            None => None,
        };
        if let Some(h) = &keys.hook_timeout {
            validate::check_hook_timeout(self.src, h)?;
        }
        let pick = |job: &Option<Sp<Scalar>>, def: &Option<Sp<Scalar>>| {
            job.as_ref().or(def.as_ref()).map(|s| s.value.0.clone())
        };
        let uses = match keys.uses.as_ref().or(d.uses.as_ref()) {
            Some(u) if !keys.service.as_ref().is_some_and(|s| s.value) => {
                super::resources::claim(self.src, name, u, self.resources)?
            }
            _ => Vec::new(),
        };
        let service = super::service::resolve(self.src, keys, d, name)?;
        let up_to_date = super::uptodate::resolve(self.src, keys, d, name)?;
        // A `retries` default does not apply to services (they are never retried).
        let retry = match service {
            Some(_) => RetryPolicy::default(),
            None => RetryPolicy::resolve(self.src, keys, d)?,
        };
        Ok(JobOptions {
            secrets: super::secrets::names(self.src, keys.secrets.as_ref().or(d.secrets.as_ref()))?,
            condition: super::policy::condition(self.src, keys, d, name)?,
            allow: super::policy::allow(self.src, keys, d, name)?,
            limits: super::limits::Limits::resolve(self.src, keys, d)?,
            service,
            up_to_date,
            env_files,
            uses,
            when: self.when(keys, name)?,
            wrapper: None,
            slurm: self.slurm(keys),
            executor,
            tags: keys
                .tags
                .clone()
                .or(d.tags.clone())
                .map(|t| t.value)
                .unwrap_or_default(),
            hooks: Hooks {
                on_success: pick(&keys.on_success, &d.on_success),
                on_failure: pick(&keys.on_failure, &d.on_failure),
                on_complete: pick(&keys.on_complete, &d.on_complete),
                on_recover: None,
            },
            timeout: self.timeout(keys)?,
            retry,
            templates,
            hook_timeout: keys
                .hook_timeout
                .as_ref()
                .or(d.hook_timeout.as_ref())
                .map_or(self.hook_timeout, |h| h.value.0),
        })
    }

    /// Its `when:`; `failure` needs something to fail.
    fn when(&self, keys: &JobKeys, name: &str) -> Result<When, Diagnostic> {
        let when = keys.when.as_ref().map(|w| w.value).unwrap_or_default();
        let no_needs = keys.needs.as_ref().is_none_or(|n| n.value.is_empty());
        if let (Some(w), true) = (&keys.when, no_needs)
            && w.value == When::Failure
        {
            return Err(Diagnostic::at(
                self.src,
                w.referenced,
                format!("job '{name}' has `when: failure` but no needs: it could never run"),
            )
            .help("list the jobs whose failure it handles under `needs:`; for a job that runs whatever happens, use `when: always`"));
        }
        Ok(when)
    }
}

impl JobContext<'_> {
    /// The job's `slurm:` options over the defaults'.
    fn slurm(&self, keys: &JobKeys) -> Option<SlurmOptions> {
        let d = self.defaults.slurm.as_ref().map(|s| (*s.value).clone());
        match (keys.slurm.as_ref().map(|s| (*s.value).clone()), d) {
            (Some(j), Some(d)) => Some(j.or(&d)),
            (j, d) => j.or(d),
        }
    }

    /// The job's `timeout`, or the default's; zero is refused.
    fn timeout(&self, keys: &JobKeys) -> Result<Option<Duration>, Diagnostic> {
        let Some(t) = keys.timeout.as_ref().or(self.defaults.timeout.as_ref()) else {
            return Ok(None);
        };
        if t.value.0.is_zero() {
            return Err(Diagnostic::at(
                self.src,
                t.referenced,
                "a timeout of 0 would stop the job at once",
            )
            .help("give a duration like 30s or 2h, or remove `timeout:` for no limit"));
        }
        Ok(Some(t.value.0))
    }
}
