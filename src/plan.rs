//! `Plan::resolve`: the command line and the raw jobfile become one validated plan, with
//! defaults filled in, names checked and the output policy settled. The scheduler sees
//! only the plan. Facts about the world (CPU count, the current directory) come in as
//! parameters so every decision here is unit-testable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{Cli, ExecutorKind, OutputMode, Progress};
use crate::diagnostic::{Diagnostic, Source};
use crate::executor::simple::simple_words;
use crate::executor::slurm::{self, SlurmOptions};
use crate::jobfile::{Env, HumanDuration, JobEntry, JobKeys, Jobfile, Mode, Pos, Scalar, Sp};
use crate::matrix::{self, Matrix};
use crate::needs::{self, RawNeeds};
use crate::retry::RetryPolicy;
use crate::select;

/// Default for `hook_timeout`.
const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);
/// Default for `--grace` / `grace:`.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The three hooks of a job or of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hooks {
    pub(crate) on_success: Option<String>,
    pub(crate) on_failure: Option<String>,
    pub(crate) on_complete: Option<String>,
}

impl Hooks {
    /// The hooks to run after an outcome, in order: the matching one, then `on_complete`.
    pub(crate) fn for_outcome(&self, success: bool) -> Vec<(&'static str, &str)> {
        let first = if success {
            ("on_success", self.on_success.as_deref())
        } else {
            ("on_failure", self.on_failure.as_deref())
        };
        [first, ("on_complete", self.on_complete.as_deref())]
            .into_iter()
            .filter_map(|(n, c)| c.map(|c| (n, c)))
            .collect()
    }
}

/// One job, ready to run. Kept small, since a jobfile may hold 100,000 of them: what
/// jobs usually have in common (environment, workdir, options) sits behind an `Arc`
/// shared by consecutive jobs that have the same (see `Shared`).
#[derive(Debug, Clone)]
pub(crate) struct JobSpec {
    /// Position in the jobfile, 1-based (`PRUN_JOB_INDEX`); a matrix's jobs share it.
    pub(crate) index: usize,
    /// `base[key=value,...]` for a matrix job, else the name as written.
    pub(crate) name: Arc<str>,
    /// The name as written (without a matrix suffix); the same `Arc` as `name` otherwise.
    pub(crate) base: Arc<str>,
    pub(crate) run: Box<str>,
    /// The run's `env`, then `defaults.env`, then the job's own, then its matrix values,
    /// later keys winning.
    pub(crate) env: Arc<[(String, String)]>,
    pub(crate) workdir: Arc<Path>,
    /// `run` is exec'd without a shell (a simple command, `executor::simple`).
    pub(crate) direct: bool,
    /// Jobs (indices) that must succeed before this one starts.
    pub(crate) needs: Vec<usize>,
    pub(crate) opts: Arc<JobOptions>,
}

/// A job's less common settings, shared between jobs that have the same.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobOptions {
    /// A matrix job's values (also in `env`).
    pub(crate) matrix: Vec<(String, String)>,
    pub(crate) tags: Vec<String>,
    pub(crate) hooks: Hooks,
    pub(crate) hook_timeout: Duration,
    /// With the Slurm executor: the srun command line the job runs under.
    pub(crate) srun: Option<Vec<String>>,
    /// Its `slurm:` options (the job's over `defaults`'), used with the Slurm executor.
    pub(crate) slurm: Option<SlurmOptions>,
    /// Its own `executor:` (or the default's), if it chose one.
    pub(crate) executor: Option<ExecutorKind>,
    /// SIGTERM to the job's group after this long, SIGKILL `grace` later.
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
}

/// The last environment, workdir and options handed out while jobs are built: the next
/// job with equal ones shares them instead of holding a copy.
#[derive(Default)]
struct Shared {
    env: Option<Arc<[(String, String)]>>,
    workdir: Option<Arc<Path>>,
    opts: Option<Arc<JobOptions>>,
}

impl Shared {
    fn env(&mut self, env: Vec<(String, String)>) -> Arc<[(String, String)]> {
        share(&mut self.env, env, |v| v.into())
    }

    fn workdir(&mut self, dir: PathBuf) -> Arc<Path> {
        share(&mut self.workdir, dir, |d| d.into())
    }

    fn opts(&mut self, opts: JobOptions) -> Arc<JobOptions> {
        share(&mut self.opts, opts, Arc::new)
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

/// Everything the run needs, validated.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) mode: Mode,
    pub(crate) concurrency: usize,
    pub(crate) output: OutputMode,
    pub(crate) keep_order: bool,
    pub(crate) fail_fast: bool,
    pub(crate) shell: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) workdir: PathBuf,
    pub(crate) hooks: Hooks,
    pub(crate) hook_timeout: Duration,
    pub(crate) grace: Duration,
    /// The overlap lock to hold for the run, and how long to wait for it.
    pub(crate) lock: Option<PathBuf>,
    pub(crate) lock_wait: Option<Duration>,
    pub(crate) quiet: bool,
    /// Running under GitHub Actions: blocks become `::group::` sections.
    pub(crate) github: bool,
    pub(crate) progress: bool,
    pub(crate) log_dir: Option<PathBuf>,
    pub(crate) joblog: Option<PathBuf>,
    /// `--resume` / `--resume-failed`: jobs whose last joblog record is a success of
    /// the same command are not run again.
    pub(crate) resume: bool,
    pub(crate) report: Option<PathBuf>,
    pub(crate) junit: Option<PathBuf>,
    pub(crate) timeline: Option<PathBuf>,
    pub(crate) jobs: Vec<JobSpec>,
}

impl Plan {
    /// How many slots the pool has: one in sync mode, else the concurrency.
    pub(crate) fn slots(&self) -> usize {
        match self.mode {
            Mode::Sync => 1,
            Mode::Async => self.concurrency,
        }
    }
}

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
}

/// The largest pool prun runs (one thread per slot).
pub(crate) const MAX_POOL: usize = 4096;

impl Plan {
    /// Validates the jobfile against the command line and fills in every default.
    pub(crate) fn resolve(
        cli: &Cli,
        jf: Jobfile,
        src: &Source,
        facts: &Facts<'_>,
    ) -> Result<Plan, Diagnostic> {
        let err = |loc: &Pos, msg: String| Diagnostic::new(src, at(loc), msg);
        if let Some(v) = &jf.version
            && v.value != 1
        {
            return Err(
                err(&v.referenced, format!("unsupported version {}", v.value)).help(
                    "this prun reads jobfile version 1; write `version: 1` or remove the key",
                ),
            );
        }
        let run_executor = match &jf.executor {
            Some(e) => Some(executor_kind(src, e)?),
            None => None,
        };
        let mode = cli
            .mode
            .or(jf.mode.as_ref().map(|m| m.value))
            .unwrap_or(Mode::Async);
        let concurrency = match (cli.jobs, &jf.concurrency) {
            (Some(n), _) => Some(n.get()),
            (None, Some(c)) if c.value == 0 => {
                return Err(err(&c.referenced, "concurrency must be at least 1".into())
                    .help("set `concurrency: 1` or more, or remove it to use the number of CPUs"));
            }
            (None, Some(c)) if c.value > MAX_POOL as u64 => {
                return Err(err(
                    &c.referenced,
                    format!(
                        "concurrency {} is more than prun's limit of {MAX_POOL}",
                        c.value
                    ),
                )
                .help(format!("use at most {MAX_POOL}")));
            }
            (None, Some(c)) => Some(c.value as usize),
            (None, None) => None,
        };
        let output = match (cli.quiet, cli.output) {
            (true, Some(o @ (OutputMode::Line | OutputMode::Stream))) => {
                return Err(Diagnostic::file("--quiet", format!("cannot be combined with --output {}", o.name()))
                    .help("--quiet prints the output of failed jobs as blocks: leave out --output, or use --output none"));
            }
            (true, o) => o.unwrap_or(OutputMode::Group),
            (false, Some(o)) => o,
            (false, None) => match mode {
                Mode::Sync => OutputMode::Stream,
                Mode::Async => OutputMode::Group,
            },
        };
        if cli.keep_order && output == OutputMode::Stream && mode == Mode::Async {
            return Err(Diagnostic::file(
                "--keep-order",
                "cannot keep order when output is streamed straight through",
            )
            .help("use --output group or --output line with --keep-order"));
        }
        let shell = resolve_shell(src, jf.shell.as_ref(), facts)?;
        let workdir = match &jf.workdir {
            Some(w) => facts.base_dir.join(&w.value),
            None => facts.base_dir.to_path_buf(),
        };
        if !workdir.is_dir() {
            let loc = jf.workdir.as_ref().map(|w| w.referenced);
            let shown = jf
                .workdir
                .as_ref()
                .map_or_else(|| workdir.display().to_string(), |w| w.value.clone());
            return Err(Diagnostic::new(
                src,
                loc.as_ref().and_then(at),
                format!("workdir '{shown}' is not a directory"),
            )
            .help(
                "create it, or fix `workdir:` (relative paths start at the jobfile's directory)",
            ));
        }
        let env = env_pairs(src, jf.env.as_ref())?;
        let defaults = jf.defaults.map(|d| d.value).unwrap_or_default();
        check_defaults(src, &defaults)?;
        for h in [&jf.hook_timeout, &defaults.hook_timeout]
            .into_iter()
            .flatten()
        {
            check_hook_timeout(src, h)?;
        }
        let hook_timeout = jf.hook_timeout.map_or(DEFAULT_HOOK_TIMEOUT, |h| h.value.0);
        let ctx = JobContext {
            src,
            defaults: &defaults,
            env: &env,
            workdir: &workdir,
            hook_timeout,
        };
        if jf.jobs.value.is_empty() {
            return Err(err(
                &jf.jobs.referenced,
                "`jobs` is empty: there is nothing to run".into(),
            )
            .help("add at least one job, e.g.\n  jobs:\n    - echo hello"));
        }
        let mut jobs = Vec::with_capacity(jf.jobs.value.len());
        let mut raw_needs = Vec::with_capacity(jf.jobs.value.len());
        let mut seen: HashMap<Arc<str>, Pos> = HashMap::new();
        let mut shared = Shared::default();
        for (i, entry) in jf.jobs.value.into_iter().enumerate() {
            let (job, needs, matrix) = ctx.job(i + 1, entry, &mut seen, &mut shared)?;
            let Some(m) = matrix else {
                jobs.push(job);
                raw_needs.push(needs);
                continue;
            };
            for combo in matrix::expand(src, &m)? {
                let mut j = job.clone();
                j.name = format!("{}{}", job.name, combo.suffix).into();
                j.env = job.env.iter().chain(&combo.env).cloned().collect();
                Arc::make_mut(&mut j.opts).matrix = combo.env;
                jobs.push(j);
                raw_needs.push(needs.clone());
            }
        }
        drop(seen);
        if raw_needs.iter().any(Option::is_some) {
            let names: Vec<&str> = jobs.iter().map(|j| &*j.name).collect();
            let bases: Vec<&str> = jobs.iter().map(|j| &*j.base).collect();
            let resolved = needs::resolve(src, &names, &bases, &raw_needs)?;
            if mode == Mode::Sync {
                needs::check_sync_order(src, &names, &bases, &raw_needs, &resolved)?;
            }
            for (job, needs) in jobs.iter_mut().zip(resolved) {
                job.needs = needs;
            }
        }
        let mut jobs = select::select(jobs, &cli.tags, &cli.jobs_selected)?;
        let grace = cli
            .grace
            .or(jf.grace.as_ref().map(|g| g.value.0))
            .unwrap_or(DEFAULT_GRACE);
        for j in &mut jobs {
            let kind = cli
                .executor
                .or(j.opts.executor)
                .or(run_executor)
                .unwrap_or(ExecutorKind::Local);
            if kind == ExecutorKind::Slurm {
                let opts = Arc::make_mut(&mut j.opts);
                let slurm = opts.slurm.clone().unwrap_or_default();
                opts.srun = Some(slurm::srun_args(&j.name, &slurm, opts.timeout, grace));
            }
        }
        // Simple commands skip the shell, unless the jobfile chose one, or the job sets
        // PATH (the shell would find the program on the job's PATH, posix_spawnp on ours),
        // or the job runs under srun.
        if jf.shell.is_none() {
            for j in &mut jobs {
                if j.opts.srun.is_none() && !j.env.iter().any(|(k, _)| k == "PATH") {
                    j.direct = simple_words(&j.run).is_some();
                }
            }
        }
        // By default one slot per CPU; a single job needs one slot whatever the CPUs.
        let concurrency = concurrency.unwrap_or_else(|| {
            if jobs.len() <= 1 {
                1
            } else {
                (facts.cpus)().max(1)
            }
        });
        Ok(Plan {
            mode,
            concurrency,
            output,
            keep_order: cli.keep_order,
            fail_fast: cli.fail_fast,
            shell,
            env,
            workdir,
            hooks: Hooks {
                on_success: jf.on_success.map(|s| s.value.0),
                on_failure: jf.on_failure.map(|s| s.value.0),
                on_complete: jf.on_complete.map(|s| s.value.0),
            },
            hook_timeout,
            grace: cli
                .grace
                .or(jf.grace.map(|g| g.value.0))
                .unwrap_or(DEFAULT_GRACE),
            lock: cli
                .lock
                .clone()
                .or(jf.lock.map(|l| facts.base_dir.join(l.value))),
            lock_wait: cli.lock_wait,
            quiet: cli.quiet,
            github: facts.github_actions,
            progress: match cli.progress {
                Progress::Always => true,
                Progress::Never => false,
                // Streamed jobs write to the terminal themselves, under the bar: a bar
                // drawn there would be left behind in pieces.
                Progress::Auto => {
                    let jobs_write_to_the_terminal =
                        output == OutputMode::Stream && facts.stdout_is_terminal;
                    facts.stderr_is_terminal
                        && !facts.is_ci
                        && !cli.quiet
                        && !jobs_write_to_the_terminal
                }
            },
            log_dir: cli.log_dir.as_ref().map(|d| facts.cwd.join(d)),
            joblog: cli.joblog.clone(),
            resume: cli.resume || cli.resume_failed,
            report: cli.report.clone(),
            junit: cli.junit.clone(),
            timeline: cli.timeline.clone(),
            jobs,
        })
    }
}

/// A job as resolved from its entry, with what can only be settled once every job is
/// known: its `needs` by name, and its matrix to expand.
type WrittenJob = (JobSpec, Option<RawNeeds>, Option<Sp<Matrix>>);

/// What every job is resolved against.
struct JobContext<'a> {
    src: &'a Source,
    defaults: &'a JobKeys,
    env: &'a [(String, String)],
    workdir: &'a Path,
    hook_timeout: Duration,
}

impl JobContext<'_> {
    fn job(
        &self,
        index: usize,
        entry: Sp<JobEntry>,
        seen: &mut HashMap<Arc<str>, Pos>,
        shared: &mut Shared,
    ) -> Result<WrittenJob, Diagnostic> {
        let here = entry.referenced;
        let keys = match entry.value {
            JobEntry::Bare(run) => JobKeys {
                run: Some(Sp::new(Scalar(run), here)),
                ..JobKeys::default()
            },
            JobEntry::Full(fields) => JobKeys::from_fields(fields),
        };
        let name: Arc<str> = match &keys.name {
            Some(n) => {
                check_name(self.src, n)?;
                n.value.as_str().into()
            }
            None => format!("job-{index}").into(),
        };
        let name_loc = keys.name.as_ref().map_or(here, |n| n.referenced);
        if let Some(first) = seen.insert(Arc::clone(&name), name_loc) {
            return Err(Diagnostic::new(
                self.src,
                at(&name_loc),
                format!("duplicate job name '{name}'"),
            )
            .help(format!(
                "job names must be unique; the first '{name}' is on line {}{}",
                first.line(),
                if keys.name.is_none() {
                    " (a job without `name:` is called job-<its position>)"
                } else {
                    ""
                }
            )));
        }
        let slurm = self.slurm(&keys);
        let executor = match keys.executor.as_ref().or(self.defaults.executor.as_ref()) {
            Some(e) => Some(executor_kind(self.src, e)?),
            None => None,
        };
        let timeout = self.timeout(&keys)?;
        if let Some(h) = &keys.hook_timeout {
            check_hook_timeout(self.src, h)?;
        }
        let retry = RetryPolicy::resolve(self.src, &keys, self.defaults)?;
        let run = match keys.run {
            Some(r) if r.value.0.contains('\0') => {
                return Err(Diagnostic::new(
                    self.src,
                    at(&r.referenced),
                    format!("job '{name}' has a NUL character in `run:`"),
                )
                .help("a command cannot contain NUL; remove the \\0 escape"));
            }
            Some(r) if !r.value.0.trim().is_empty() => r.value.0.into_boxed_str(),
            Some(r) => {
                return Err(Diagnostic::new(
                    self.src,
                    at(&r.referenced),
                    format!("job '{name}' has an empty `run:`"),
                )
                .help("give the shell command to run, e.g. `run: echo hello`"));
            }
            None => {
                return Err(Diagnostic::new(
                    self.src,
                    at(&here),
                    format!("job '{name}' has no `run:` key"),
                )
                .help("add the shell command to run, e.g. `run: echo hello`"));
            }
        };
        let d = self.defaults;
        let mut env = self.env.to_vec();
        env.extend(env_pairs(self.src, d.env.as_ref())?);
        env.extend(env_pairs(self.src, keys.env.as_ref())?);
        let workdir = match keys.workdir.as_ref().or(d.workdir.as_ref()) {
            Some(w) => self.workdir.join(&w.value),
            None => self.workdir.to_path_buf(),
        };
        let pick = |job: &Option<Sp<Scalar>>, def: &Option<Sp<Scalar>>| {
            job.as_ref().or(def.as_ref()).map(|s| s.value.0.clone())
        };
        let needs = keys.needs.map(|n| n.value);
        let opts = JobOptions {
            matrix: Vec::new(),
            srun: None,
            slurm,
            executor,
            tags: keys
                .tags
                .or(self.defaults.tags.clone())
                .map(|t| t.value)
                .unwrap_or_default(),
            hooks: Hooks {
                on_success: pick(&keys.on_success, &d.on_success),
                on_failure: pick(&keys.on_failure, &d.on_failure),
                on_complete: pick(&keys.on_complete, &d.on_complete),
            },
            timeout,
            retry,
            hook_timeout: keys
                .hook_timeout
                .as_ref()
                .or(d.hook_timeout.as_ref())
                .map_or(self.hook_timeout, |h| h.value.0),
        };
        let spec = JobSpec {
            index,
            base: Arc::clone(&name),
            name,
            run,
            env: shared.env(env),
            workdir: shared.workdir(workdir),
            direct: false,
            needs: Vec::new(),
            opts: shared.opts(opts),
        };
        Ok((spec, needs, keys.matrix))
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
            return Err(Diagnostic::new(
                self.src,
                at(&t.referenced),
                "a timeout of 0 would stop the job at once",
            )
            .help("give a duration like 30s or 2h, or remove `timeout:` for no limit"));
        }
        Ok(Some(t.value.0))
    }
}

/// `executor: local | slurm`.
fn executor_kind(src: &Source, e: &Sp<String>) -> Result<ExecutorKind, Diagnostic> {
    match e.value.as_str() {
        "local" => Ok(ExecutorKind::Local),
        "slurm" => Ok(ExecutorKind::Slurm),
        other => Err(Diagnostic::new(src, at(&e.referenced), format!("unknown executor '{other}'"))
            .help("use `executor: local` (run jobs here, the default) or `executor: slurm` (as Slurm job steps)")),
    }
}

fn at(loc: &Pos) -> Option<(usize, usize)> {
    (*loc != Pos::UNKNOWN).then(|| (loc.line() as usize, loc.column() as usize))
}

/// An `env:` map as pairs, refusing names and values the OS cannot pass on.
fn env_pairs(src: &Source, env: Option<&Sp<Env>>) -> Result<Vec<(String, String)>, Diagnostic> {
    let Some(env) = env else {
        return Ok(Vec::new());
    };
    let mut pairs = Vec::with_capacity(env.value.len());
    for (k, v) in &env.value {
        if k.is_empty() || k.contains(['=', '\0']) || v.0.contains('\0') {
            return Err(Diagnostic::new(
                src,
                at(&env.referenced),
                format!("invalid environment variable {k:?}"),
            )
            .help("names must be non-empty, without '=' or NUL characters; values without NUL"));
        }
        pairs.push((k.clone(), v.0.clone()));
    }
    Ok(pairs)
}

/// `defaults:` may not set what must differ per job.
fn check_defaults(src: &Source, d: &JobKeys) -> Result<(), Diagnostic> {
    let per_job = [
        ("name", d.name.as_ref().map(|s| s.referenced)),
        ("run", d.run.as_ref().map(|s| s.referenced)),
        ("needs", d.needs.as_ref().map(|s| s.referenced)),
        ("matrix", d.matrix.as_ref().map(|s| s.referenced)),
    ];
    for (key, loc) in per_job {
        if let Some(loc) = loc {
            return Err(
                Diagnostic::new(src, at(&loc), format!("`{key}` cannot be a default"))
                    .help(format!("set `{key}:` on each job instead")),
            );
        }
    }
    Ok(())
}

fn check_hook_timeout(src: &Source, h: &Sp<HumanDuration>) -> Result<(), Diagnostic> {
    if h.value.0.is_zero() {
        return Err(Diagnostic::new(
            src,
            at(&h.referenced),
            "a hook_timeout of 0 would stop every hook at once",
        )
        .help("give a duration like 30s or 5m (the default)"));
    }
    Ok(())
}

fn check_name(src: &Source, name: &Sp<String>) -> Result<(), Diagnostic> {
    let ok = !name.value.is_empty()
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        return Ok(());
    }
    let suggestion: String = name
        .value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    Err(Diagnostic::new(
        src,
        at(&name.referenced),
        format!("invalid job name '{}'", name.value),
    )
    .help(format!(
        "names may use only letters, digits, '.', '_' and '-' (they become file names); e.g. '{}'",
        if suggestion.is_empty() {
            "backup-db".to_owned()
        } else {
            suggestion
        }
    )))
}

/// Finds `shell:` (a path, or a name on PATH); it must exist before anything runs.
fn resolve_shell(
    src: &Source,
    shell: Option<&Sp<String>>,
    facts: &Facts<'_>,
) -> Result<PathBuf, Diagnostic> {
    let Some(shell) = shell else {
        return Ok(PathBuf::from("/bin/sh"));
    };
    let name = shell.value.trim();
    let found = if name.contains('/') {
        let p = facts.base_dir.join(name);
        is_executable(&p).then_some(p)
    } else {
        facts
            .path_var
            .unwrap_or("")
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(name))
            .find(|p| is_executable(p))
    };
    found.ok_or_else(|| {
        Diagnostic::new(src, at(&shell.referenced), format!("shell '{name}' was not found or is not executable"))
            .help("give the path of an installed shell, e.g. `shell: /bin/bash`, or remove `shell:` to use /bin/sh")
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
