//! The plan: the command line and the raw jobfile become one validated `Plan`, with
//! defaults filled in, names checked, the DAG resolved and the output policy settled.
//! The rest of prun sees only the plan. Facts about the world (the CPU count, whether
//! stderr is a terminal, CI) come in as parameters, so every decision here is
//! unit-testable. The pieces, in the order `Plan::resolve` uses them:
//!
//! - `validate`: single values (version, names, env, shell, workdir, defaults);
//! - [`output`](crate::output): the output policy;
//! - `jobs`: each job built from its keys over `defaults:`; `retry` its retry policy;
//! - `matrix`: a job's matrix expanded into one job per combination;
//! - `needs`: `needs:` resolved to jobs, cycles refused;
//! - `select`: `--tag` / `--job`.

pub(crate) mod direct;
mod dotenv;
pub(crate) mod facts;
pub(crate) mod history;
pub(crate) mod hooks;
pub(crate) mod job;
mod jobs;
pub(crate) mod limits;
pub(crate) mod matrix;
pub(crate) mod monitor;
mod needs;
pub(crate) mod output_policy;
pub(crate) mod policy;
pub(crate) mod resources;
pub(crate) mod retry;
pub(crate) mod secrets;
mod select;
pub(crate) mod service;
pub(crate) mod shard;
pub(crate) mod template;
pub(crate) mod throttle;
pub(crate) mod uptodate;
mod validate;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use smol_str::SmolStr;

use crate::input::cli::Cli;
use crate::input::diagnostic::{Diagnostic, Source};

use crate::input::jobfile::{JobEntry, JobKeys, Jobfile, Sp};
pub(crate) use crate::input::settings::{
    Containment, ExecutorKind, MAX_POOL, MaxFail, Mode, OutputMode, Shell,
};
pub(crate) use facts::Facts;
pub(crate) use hooks::Hooks;
pub(crate) use job::{JobDef, JobSpec};
pub(crate) use output_policy::OutputPolicy;

/// Default for `hook_timeout`.
const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);
/// Default for `--grace` / `grace:`.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Everything the run needs, validated.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) mode: Mode,
    pub(crate) concurrency: usize,
    pub(crate) output: OutputPolicy,
    /// `--max-fail` (or `--fail-fast`): when the run stops starting jobs.
    pub(crate) max_fail: Option<MaxFail>,
    /// `--shard`: which slice this run is.
    pub(crate) sharded: Option<shard::Sharded>,
    pub(crate) shell: Shell,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) workdir: PathBuf,
    pub(crate) hooks: Hooks,
    pub(crate) hook_timeout: Duration,
    pub(crate) grace: Duration,
    /// `--delay` / `delay:`: at least this long between two job starts (zero: none).
    pub(crate) delay: Duration,
    /// `--memfree`, `--load`, `--throttle-warn`.
    pub(crate) throttle: throttle::Throttle,
    pub(crate) containment: Containment,
    /// The overlap lock to hold for the run, and how long to wait for it.
    pub(crate) lock: Option<PathBuf>,
    pub(crate) lock_wait: Option<Duration>,
    pub(crate) log_dir: Option<PathBuf>,
    pub(crate) joblog: Option<PathBuf>,
    /// `--resume` / `--resume-failed`: jobs whose last joblog record is a success of
    /// the same command are not run again.
    pub(crate) resume: bool,
    pub(crate) report: Option<PathBuf>,
    pub(crate) junit: Option<PathBuf>,
    pub(crate) timeline: Option<PathBuf>,
    /// Under GitHub Actions, the file the run's Markdown summary is appended to.
    pub(crate) step_summary: Option<PathBuf>,
    /// `resources:`, in name order (`JobOptions::uses` indexes it).
    pub(crate) resources: Vec<resources::Resource>,
    /// Some job has `when: failure` or `always` (it may run after the run is stopped).
    pub(crate) has_cleanup: bool,
    /// The jobfile chose no `shell:`: simple commands (jobs' and hooks') are exec'd
    /// without one (`direct`).
    pub(crate) direct_exec: bool,
    /// The top-level `env_file`s and the names each gave.
    pub(crate) env_files: Vec<(String, Vec<String>)>,
    /// `monitor:`: where to ping at the start and the end (`None` with --no-monitor).
    pub(crate) monitor: Option<monitor::Monitor>,
    /// `--metrics` / `metrics:`: the textfile-collector file written at the end.
    pub(crate) metrics: Option<PathBuf>,
    /// `name:`, if given: the JUnit suite's name, and what tells this run's jobfile from
    /// any other in the metrics' `jobfile` label (else its canonical path).
    pub(crate) name: Option<String>,
    /// `history:`: where each run is kept, and how many are.
    pub(crate) history: Option<history::History>,
    /// How the run before this one in the history ended (`Some(true)`: it succeeded);
    /// `None` without a history or an earlier run. Set from the history before the run.
    pub(crate) previous_success: Option<bool>,
    /// The values of the `secrets:` variables: masked in everything prun writes.
    pub(crate) secrets: Vec<String>,
    /// Said on stderr before anything runs (an env file others can read).
    pub(crate) warnings: Vec<String>,
    /// Where up-to-date jobs keep their fingerprints.
    pub(crate) state_dir: PathBuf,
    /// `--force`: which of them run anyway.
    pub(crate) force: uptodate::Force,
    pub(crate) jobs: Vec<JobSpec>,
}

impl Plan {
    /// Job `job`: written in the jobfile, or else made by a dynamic matrix at run time
    /// (`extra`, whose ids start at the plan's job count).
    pub(crate) fn job<'a>(&'a self, job: usize, extra: &'a [Arc<JobSpec>]) -> &'a JobSpec {
        match self.jobs.get(job) {
            Some(j) => j,
            None => &extra[job - self.jobs.len()],
        }
    }

    /// How many slots the pool has: one in sync mode, else the concurrency.
    pub(crate) fn slots(&self) -> usize {
        match self.mode {
            Mode::Sync => 1,
            Mode::Async => self.concurrency,
        }
    }

    /// How many workers (and slots) a run of this plan starts: `slots`, but no more than
    /// there are jobs (services aside) — more could never be busy — unless a dynamic matrix may make more
    /// at run time. The one place that says it: the pool, the core, the cgroups and the
    /// timeline all use it.
    pub(crate) fn pool_size(&self) -> usize {
        if self.jobs.iter().any(|j| j.dynamic.is_some()) {
            self.slots()
        } else {
            // Services take no slot.
            let jobs = self.jobs.len() - self.services().count();
            self.slots().min(jobs).max(1)
        }
    }

    /// The service jobs, in file order: service k (from 0) runs in slot `pool_size() + 1
    /// + k`, past the pool's, so it takes none of them.
    pub(crate) fn services(&self) -> impl Iterator<Item = usize> + '_ {
        (self.jobs.iter().enumerate())
            .filter(|(_, j)| j.opts.service.is_some())
            .map(|(i, _)| i)
    }

    /// The slot of service `job` (past the pool's), if it is one.
    pub(crate) fn service_slot(&self, job: usize) -> Option<usize> {
        let k = self.services().position(|s| s == job)?;
        Some(self.pool_size() + 1 + k)
    }

    /// Whether a simple hook command is exec'd without the shell, by the rule jobs
    /// follow (`direct`): the jobfile chose no shell, and what the hook's environment
    /// sets over prun's does not set PATH.
    pub(crate) fn hooks_skip_shell(&self, sets_path: bool) -> bool {
        self.direct_exec && !sets_path
    }
}

impl Plan {
    /// Validates the jobfile against the command line and fills in every default.
    pub(crate) fn resolve(
        cli: &Cli,
        mut jf: Jobfile,
        src: &Source,
        facts: &Facts<'_>,
    ) -> Result<Plan, Diagnostic> {
        validate::version(src, jf.version.as_ref())?;
        let name = (jf.name.as_ref())
            .map(|n| validate::run_name(src, n))
            .transpose()?;
        let run_executor = match &jf.executor {
            Some(e) => Some(validate::executor_kind(src, e)?),
            None => None,
        };
        let mode = cli
            .mode
            .or(jf.mode.as_ref().map(|m| m.value))
            .unwrap_or(Mode::Async);
        let concurrency = concurrency(src, cli.jobs, jf.concurrency.as_ref())?;
        let output = output_policy::resolve(output_policy::Asked::of(cli), mode, facts)?;
        let shell = validate::resolve_shell(src, jf.shell.as_ref(), facts)?;
        let workdir = validate::workdir(src, jf.workdir.as_ref(), facts)?;
        let mut shared = jobs::Shared::default();
        let (env, env_files) = run_env(src, &jf, facts, &mut shared)?;
        let (defaults, hook_timeout) = defaults(src, &mut jf)?;
        validate::no_outputs_in_keys(src, &defaults, "defaults: ")?;
        for (key, hook) in [
            ("on_success", &jf.on_success),
            ("on_failure", &jf.on_failure),
            ("on_complete", &jf.on_complete),
        ] {
            if let Some(h) = hook {
                let what = format!("the run's `{key}:`");
                validate::no_outputs_in_code(src, h.referenced, &h.value.0, &what)?;
            }
        }
        let resources = resources::declared(src, jf.resources.as_ref())?;
        let ctx = jobs::JobContext {
            base_dir: facts.base_dir,
            resources: &resources,
            src,
            defaults: &defaults,
            env: &env,
            workdir: &workdir,
            hook_timeout,
        };
        let written = std::mem::replace(&mut jf.jobs, Sp::new(Vec::new(), Default::default()));
        let mut jobs = build_jobs(&ctx, written, mode, &mut shared)?;
        needs::check_services_needed(src, &jobs)?;
        jobs = select::select(jobs, &cli.tags, &cli.jobs_selected)?;
        let sharded = cli.shard.map(|s| {
            let (kept, info) = shard::apply(std::mem::take(&mut jobs), s);
            jobs = kept;
            info
        });
        let names: Vec<(&str, &str)> = jobs.iter().map(|j| (&*j.name, j.base())).collect();
        let force = uptodate::Force::resolve(&cli.force, &names)?;
        resolve_templates(src, &mut jobs)?;
        let mut warnings = shared.dotenv.distinct_warnings();
        let secret_values = secrets::resolve(
            src,
            jf.secrets.as_ref(),
            &env,
            &jobs,
            facts.env_var,
            &mut warnings,
        )?;
        let history = history::resolve(src, jf.history.as_ref(), cli, facts.base_dir, facts.cwd)?;
        let throttle = throttle::resolve(src, cli, &jf)?;
        if history.is_none() && jf.on_recover.is_some() {
            warnings.push(
                "`on_recover:` never runs without a history: add `history: { dir: DIR }` (or --history DIR), where prun finds how the last run ended".into(),
            );
        }
        let grace = cli
            .grace
            .or(jf.grace.as_ref().map(|g| g.value.0))
            .unwrap_or(DEFAULT_GRACE);
        let executor = |j: &JobSpec| {
            cli.executor
                .or(j.opts.executor)
                .or(run_executor)
                .unwrap_or(ExecutorKind::Local)
        };
        if let Some(j) = jobs.iter().find(|j| {
            j.opts.service.is_some() && crate::executor::of(executor(j)).cannot().services
        }) {
            let at = j.opts.service.as_ref().map_or(Default::default(), |s| s.at);
            let name = crate::executor::of(executor(j)).name();
            return Err(Diagnostic::at(
                src,
                at,
                format!("service '{}' would run under the {name} executor: services are not supported there yet", j.name),
            )
            .help("run the service with `executor: local` (on this machine), or start it outside prun"));
        }
        shape_commands(&mut jobs, executor, grace, jf.shell.is_none());
        // By default one slot per CPU; a single job needs one slot whatever the CPUs
        // (unless it is a dynamic matrix, which may make many).
        let concurrency = concurrency.unwrap_or_else(|| {
            if jobs.len() <= 1 && jobs.iter().all(|j| j.dynamic.is_none()) {
                1
            } else {
                (facts.cpus)().max(1)
            }
        });
        Ok(Plan {
            mode,
            concurrency,
            output,
            sharded,
            max_fail: cli.max_fail.or(cli.fail_fast.then_some(MaxFail {
                failures: 1,
                kill: false,
            })),
            shell,
            env,
            workdir,
            hooks: Hooks::of_run(&mut jf),
            hook_timeout,
            grace,
            containment: cli
                .containment
                .or(jf.containment.map(|c| c.value))
                .unwrap_or(Containment::Auto),
            lock: cli
                .lock
                .clone()
                .or(jf.lock.as_ref().map(|l| facts.base_dir.join(&l.value))),
            lock_wait: cli.lock_wait,
            log_dir: cli.log_dir.as_ref().map(|d| facts.cwd.join(d)),
            joblog: cli.joblog.clone(),
            resume: cli.resume || cli.resume_failed,
            report: cli.report.clone(),
            junit: cli.junit.clone(),
            timeline: cli.timeline.clone(),
            step_summary: facts
                .step_summary
                .filter(|_| facts.github_actions)
                .map(Path::to_path_buf),
            resources,
            has_cleanup: jobs.iter().any(|j| j.opts.when.is_cleanup()),
            direct_exec: jf.shell.is_none(),
            env_files,
            warnings,
            state_dir: uptodate::state_dir(
                cli.state_dir.as_deref(),
                jf.state_dir.as_ref(),
                facts.cwd,
                facts.base_dir,
            ),
            force,
            monitor: monitor::resolve(src, jf.monitor.as_ref(), cli.no_monitor)?,
            history,
            previous_success: None,
            delay: cli
                .delay
                .or(jf.delay.as_ref().map(|d| d.value.0))
                .unwrap_or_default(),
            throttle,
            secrets: secret_values,
            metrics: cli
                .metrics
                .as_ref()
                .map(|m| facts.cwd.join(m))
                .or(jf.metrics.as_ref().map(|m| facts.base_dir.join(&m.value))),
            name,
            jobs,
        })
    }
}

/// `defaults:`, checked, and the run's `hook_timeout`.
fn defaults(src: &Source, jf: &mut Jobfile) -> Result<(JobKeys, Duration), Diagnostic> {
    let defaults = jf.defaults.take().map(|d| d.value).unwrap_or_default();
    validate::check_defaults(src, &defaults)?;
    for h in [&jf.hook_timeout, &defaults.hook_timeout]
        .into_iter()
        .flatten()
    {
        validate::check_hook_timeout(src, h)?;
    }
    let hook_timeout = jf
        .hook_timeout
        .as_ref()
        .map_or(DEFAULT_HOOK_TIMEOUT, |h| h.value.0);
    Ok((defaults, hook_timeout))
}

/// The run's environment: its `env_file`s, then its `env`, later keys winning.
#[allow(clippy::type_complexity)]
fn run_env(
    src: &Source,
    jf: &Jobfile,
    facts: &Facts<'_>,
    shared: &mut jobs::Shared,
) -> Result<(Vec<(String, String)>, Vec<(String, Vec<String>)>), Diagnostic> {
    let (mut env, env_files) = match &jf.env_file {
        Some(f) => dotenv::read(src, facts.base_dir, f, &mut shared.dotenv)?,
        None => Default::default(),
    };
    for (k, v) in validate::run_env(src, jf.env.as_ref())? {
        env.retain(|(name, _)| *name != k);
        env.push((k, v));
    }
    Ok((env, env_files))
}

/// How each job's command runs: under srun where its executor is Slurm; and exec'd
/// without the shell where it is a simple command (`direct`), unless the jobfile chose a
/// shell (`direct_exec` false), the job sets PATH (the shell would find the program on
/// the job's PATH, prun on its own), or the job runs under srun.
fn shape_commands(
    jobs: &mut [JobSpec],
    executor: impl Fn(&JobSpec) -> ExecutorKind,
    grace: Duration,
    direct_exec: bool,
) {
    for j in jobs {
        // The options are shared (a million jobs, one `defaults:`): written only where
        // the executor changes them.
        let kind = executor(j);
        let wrapper = crate::executor::of(kind).wrapper(&crate::executor::Shape {
            name: &j.name,
            timeout: j.opts.timeout,
            grace,
            cpus: j.opts.limits.cpus,
            memory: j.opts.limits.memory,
            slurm: j.opts.slurm.as_ref(),
        });
        if wrapper.is_some() || j.opts.executor.unwrap_or(ExecutorKind::Local) != kind {
            let opts = Arc::make_mut(&mut j.def_mut().opts);
            opts.executor = Some(kind);
            opts.wrapper = wrapper;
        }
        if direct_exec
            && j.opts.wrapper.is_none()
            && !j.sets("PATH")
            && direct::words(&j.run).is_some()
        {
            j.direct = true;
        }
    }
}

/// `-j`, else `concurrency:` (1 to `MAX_POOL`); `None` leaves it to the CPU count.
fn concurrency(
    src: &Source,
    flag: Option<NonZeroUsize>,
    written: Option<&Sp<u64>>,
) -> Result<Option<usize>, Diagnostic> {
    match (flag, written) {
        (Some(n), _) => Ok(Some(n.get())),
        (None, Some(c)) if c.value == 0 => {
            Err(
                Diagnostic::at(src, c.referenced, "concurrency must be at least 1")
                    .help("set `concurrency: 1` or more, or remove it to use the number of CPUs"),
            )
        }
        (None, Some(c)) if c.value > MAX_POOL as u64 => Err(Diagnostic::at(
            src,
            c.referenced,
            format!(
                "concurrency {} is more than prun's limit of {MAX_POOL}",
                c.value
            ),
        )
        .help(format!("use at most {MAX_POOL}"))),
        (None, Some(c)) => Ok(Some(c.value as usize)),
        (None, None) => Ok(None),
    }
}

/// Points every `${{ needs.J.outputs.K }}` at the job J it names (see `template`).
fn resolve_templates(src: &Source, jobs: &mut [JobSpec]) -> Result<(), Diagnostic> {
    if jobs
        .iter()
        .all(|j| j.opts.templates.is_empty() && j.dynamic.is_none())
    {
        return Ok(());
    }
    let dynamic: Vec<bool> = jobs.iter().map(|j| j.dynamic.is_some()).collect();
    let names: Vec<SmolStr> = jobs.iter().map(|j| j.name.clone()).collect();
    let bases: Vec<SmolStr> = jobs.iter().map(|j| j.base().into()).collect();
    let names: Vec<&str> = names.iter().map(|n| &**n).collect();
    let bases: Vec<&str> = bases.iter().map(|n| &**n).collect();
    for j in jobs.iter_mut() {
        let needs = j.needs.clone();
        let name = j.name.clone();
        if !j.opts.templates.is_empty() {
            for t in &mut Arc::make_mut(&mut j.def_mut().opts).templates {
                template::resolve(src, t, &name, &needs, &names, &bases, &dynamic)?;
            }
        }
        if let Some(d) = &mut j.def_mut().dynamic {
            for t in Arc::make_mut(d).templates_mut() {
                template::resolve(src, t, &name, &needs, &names, &bases, &dynamic)?;
            }
        }
    }
    Ok(())
}

/// Every job of `jobs:`, matrices expanded and needs resolved (in `mode`).
fn build_jobs(
    ctx: &jobs::JobContext<'_>,
    written: Sp<Vec<Sp<JobEntry>>>,
    mode: Mode,
    shared: &mut jobs::Shared,
) -> Result<Vec<JobSpec>, Diagnostic> {
    if written.value.is_empty() {
        return Err(Diagnostic::at(
            ctx.src,
            written.referenced,
            "`jobs` is empty: there is nothing to run",
        )
        .help("add at least one job, e.g.\n  jobs:\n    - echo hello"));
    }
    let mut entries = written.value;
    let mut jobs = Vec::with_capacity(entries.len());
    // The needs as written, by job; kept only from the first job that has some.
    let mut raw_needs: Vec<Option<needs::RawNeeds>> = Vec::new();
    let mut names = jobs::Names::new(entries.len());
    for i in 0..entries.len() {
        // Each entry is taken, its position left for later errors (`Names`).
        let at = entries[i].referenced;
        let entry = std::mem::replace(&mut entries[i].value, JobEntry::Bare(SmolStr::default()));
        let (job, needs, matrix) =
            ctx.job(i + 1, Sp::new(entry, at), &mut names, &entries, shared)?;
        let track = needs.is_some() || !raw_needs.is_empty();
        if track {
            raw_needs.resize(jobs.len(), None);
        }
        let Some(m) = matrix else {
            jobs.push(job);
            if track {
                raw_needs.push(needs);
            }
            continue;
        };
        let mut job = job;
        match matrix::expand(ctx.src, &m)? {
            matrix::Expansion::Static(combos) => {
                job.def_mut().base = Some(job.name.clone());
                for combo in combos {
                    jobs.push(job.expansion(&job.def, combo));
                    if track {
                        raw_needs.push(needs.clone());
                    }
                }
            }
            matrix::Expansion::Dynamic(d) => {
                job.def_mut().dynamic = Some(Arc::new(d));
                jobs.push(job);
                if track {
                    raw_needs.push(needs);
                }
            }
        }
    }
    drop(entries);
    if !raw_needs.is_empty() {
        raw_needs.resize(jobs.len(), None);
    }
    if raw_needs.iter().any(Option::is_some) {
        let names: Vec<&str> = jobs.iter().map(|j| &*j.name).collect();
        let bases: Vec<&str> = jobs.iter().map(JobSpec::base).collect();
        let resolved = needs::resolve(ctx.src, &names, &bases, &raw_needs)?;
        if mode == Mode::Sync {
            needs::check_sync_order(ctx.src, &names, &bases, &raw_needs, &resolved)?;
        }
        for (job, needs) in jobs.iter_mut().zip(resolved) {
            if *job.needs != *needs {
                job.def_mut().needs = needs.into();
            }
        }
    }
    Ok(jobs)
}

/// The plan of `yaml` with command-line `args`, for tests (8 CPUs, paths from `/`).
#[cfg(test)]
pub(crate) fn test_plan(yaml: &str, args: &[&str]) -> Plan {
    test_plan_on(yaml, args, || 8)
}

/// The same on a machine of `cpus` CPUs.
#[cfg(test)]
pub(crate) fn test_plan_on(yaml: &str, args: &[&str], cpus: fn() -> usize) -> Plan {
    use clap::Parser;
    let src = Source {
        name: "jobs.yaml".into(),
        text: yaml.into(),
    };
    let cli = Cli::parse_from(["prun", "jobs.yaml"].iter().chain(args));
    let facts = Facts {
        cpus,
        base_dir: Path::new("/"),
        path_var: None,
        cwd: Path::new("/"),
        stderr_is_terminal: false,
        stdout_is_terminal: false,
        is_ci: false,
        github_actions: false,
        step_summary: None,
        no_color: false,
        clicolor_force: false,
        env_var: |_| None,
    };
    let jf = crate::input::jobfile::parse(&src).expect("jobfile");
    Plan::resolve(&cli, jf, &src, &facts).expect("plan")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(yaml: &str, args: &[&str]) -> Plan {
        test_plan(yaml, args)
    }

    #[test]
    fn the_pool_is_never_bigger_than_the_jobs_but_for_a_dynamic_matrix() {
        assert_eq!(plan("jobs: [a, b]\n", &["-j", "5"]).pool_size(), 2);
        assert_eq!(plan("jobs: [a, b, c]\n", &["-j", "2"]).pool_size(), 2);
        assert_eq!(
            plan("mode: sync\njobs: [a, b, c]\n", &["-j", "3"]).pool_size(),
            1
        );
        let dynamic = "jobs:\n  - name: m\n    matrix: {x: {lines: v}}\n    run: x\n";
        assert_eq!(plan(dynamic, &["-j", "4"]).pool_size(), 4);
        // Without -j: one slot per CPU, and one for a single job, unless it is a matrix
        // found at run time.
        assert_eq!(plan("jobs: [a]\n", &[]).pool_size(), 1);
        assert_eq!(plan(dynamic, &[]).pool_size(), 8);
    }

    #[test]
    fn simple_commands_skip_the_shell_unless_a_shell_was_chosen_or_path_is_set() {
        let p = plan(
            "jobs:\n  - true\n  - echo $HOME\n  - {run: 'true', env: {PATH: /x}}\n",
            &[],
        );
        let direct: Vec<bool> = p.jobs.iter().map(|j| j.direct).collect();
        assert_eq!(direct, [true, false, false]);
        assert!(p.hooks_skip_shell(false) && !p.hooks_skip_shell(true));
        let p = plan("shell: /bin/sh\njobs:\n  - true\n", &[]);
        assert!(!p.jobs[0].direct && !p.hooks_skip_shell(false));
    }
}
