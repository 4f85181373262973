//! The Slurm executor: each job a Slurm job step, shaped at plan time — the command
//! becomes `srun <options> -- <shell> -c <run>`. Inside an allocation (`SLURM_JOB_ID` set) srun
//! starts a step of it; elsewhere it makes an allocation of its own. Everything else —
//! the pool, output capture, hooks on this host, reports, exit codes — is the local
//! executor's: srun is the local child, its process group is what prun signals, and srun
//! passes a SIGTERM on by cancelling the step (`--quit-on-interrupt` makes a single
//! SIGINT do the same). The step gets srun's environment, so `PRUN_*` reach it.

use std::time::Duration;

use super::seam::{Cannot, Executor, Shape};
use crate::input::jobfile::SlurmOptions;

/// Jobs as Slurm job steps, run through `srun` on this host (see the module's text).
pub(crate) struct Slurm;

impl Executor for Slurm {
    fn name(&self) -> &'static str {
        "Slurm"
    }

    fn cannot(&self) -> Cannot {
        Cannot { services: true }
    }

    fn wrapper(&self, job: &Shape<'_>) -> Option<Vec<String>> {
        let opts = job.slurm.cloned().unwrap_or_default();
        Some(srun_args(
            job.name,
            &opts,
            job.timeout,
            job.grace,
            job.cpus,
            job.memory,
        ))
    }

    fn rename(&self, wrapper: &[String], job: &str) -> Vec<String> {
        with_job_name(wrapper, job)
    }

    fn limits_by_prun(&self) -> bool {
        // Slurm enforces memory and CPUs (`--mem`, `--cpus-per-task`); prun's own
        // cgroups and rlimits would apply to srun, not to the step.
        false
    }
}

/// `srun`'s arguments for a job, as `srun_args` made them for another (a dynamic
/// matrix's jobs are made from the matrix's), named for `job`.
/// Only prun's own flag changes: it comes first, before any `extra_args`.
fn with_job_name(args: &[String], job: &str) -> Vec<String> {
    let mut args = args.to_vec();
    if let Some(a) = args.iter_mut().find(|a| a.starts_with(JOB_NAME)) {
        *a = format!("{JOB_NAME}{job}");
    }
    args
}

/// The flag that names the Slurm job, as squeue and sacct show it.
const JOB_NAME: &str = "--job-name=prun:";

/// The srun command line for a job (without the command itself).
///
/// Without `time:`, a job with a `timeout` asks Slurm for the timeout plus the grace
/// period, rounded up to whole minutes: prun's own timeout acts first, Slurm's limit is
/// only the backstop.
fn srun_args(
    job: &str,
    opts: &SlurmOptions,
    timeout: Option<Duration>,
    grace: Duration,
    cpus: Option<f64>,
    memory: Option<u64>,
) -> Vec<String> {
    let mut a = vec![
        "srun".to_owned(),
        format!("{JOB_NAME}{job}"),
        "--ntasks=1".to_owned(),
        "--quiet".to_owned(),
        "--quit-on-interrupt".to_owned(),
        "--kill-on-bad-exit=1".to_owned(),
        "--unbuffered".to_owned(),
    ];
    if let Some(p) = &opts.partition {
        a.push(format!("--partition={p}"));
    }
    // `limits:` where `slurm:` does not say: Slurm enforces them (whole CPUs, MiB).
    let cpus = (opts.cpus_per_task).or(cpus.map(|c| c.ceil().max(1.0) as u32));
    if let Some(c) = cpus {
        a.push(format!("--cpus-per-task={c}"));
    }
    let mem = (opts.mem.clone()).or(memory.map(|b| format!("{}M", b.div_ceil(1 << 20))));
    if let Some(m) = mem {
        a.push(format!("--mem={m}"));
    }
    match (&opts.time, timeout) {
        (Some(t), _) => a.push(format!("--time={t}")),
        (None, Some(t)) => a.push(format!(
            "--time={}",
            t.saturating_add(grace).as_secs().div_ceil(60).max(1)
        )),
        (None, None) => {}
    }
    if let Some(n) = opts.nodes {
        a.push(format!("--nodes={n}"));
    }
    a.extend(opts.extra_args.iter().flatten().cloned());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_made_from_another_is_named_for_itself_and_extra_args_stay() {
        let opts = SlurmOptions {
            extra_args: Some(vec!["--job-name=prun:theirs".into()]),
            ..SlurmOptions::default()
        };
        let a = srun_args("each", &opts, None, Duration::from_secs(5), None, None);
        let b = with_job_name(&a, "each[f=x]");
        assert_eq!(b[1], "--job-name=prun:each[f=x]");
        assert_eq!(b.last().unwrap(), "--job-name=prun:theirs");
        assert_eq!((a.len(), &a[2..a.len() - 1]), (b.len(), &b[2..b.len() - 1]));
    }

    #[test]
    fn options_become_srun_flags_and_the_timeout_a_time_limit() {
        let opts = SlurmOptions {
            partition: Some("debug".into()),
            cpus_per_task: Some(2),
            mem: Some("1G".into()),
            extra_args: Some(vec!["--exclusive".into()]),
            ..SlurmOptions::default()
        };
        let a = srun_args(
            "db",
            &opts,
            Some(Duration::from_secs(90)),
            Duration::from_secs(10),
            Some(3.5),
            Some(3 << 30),
        );
        assert_eq!(a[..2], ["srun".to_owned(), "--job-name=prun:db".to_owned()]);
        for want in [
            "--partition=debug",
            "--cpus-per-task=2",
            "--mem=1G",
            "--time=2",
            "--exclusive",
        ] {
            assert!(a.iter().any(|x| x == want), "{want} missing from {a:?}");
        }
    }

    #[test]
    fn limits_become_mem_and_cpus_per_task_where_slurm_does_not_say() {
        let (cpus, memory) = (Some(1.5), Some(1536 << 20));
        let a = srun_args(
            "j",
            &SlurmOptions::default(),
            None,
            Duration::ZERO,
            cpus,
            memory,
        );
        assert!(a.contains(&"--mem=1536M".to_owned()), "{a:?}");
        assert!(a.contains(&"--cpus-per-task=2".to_owned()), "{a:?}");
    }

    #[test]
    fn job_options_fall_back_to_the_defaults_field_by_field() {
        let d = SlurmOptions {
            partition: Some("batch".into()),
            mem: Some("2G".into()),
            ..Default::default()
        };
        let j = SlurmOptions {
            mem: Some("4G".into()),
            ..Default::default()
        };
        let m = j.or(&d);
        assert_eq!(
            (m.partition.as_deref(), m.mem.as_deref()),
            (Some("batch"), Some("4G"))
        );
    }
}
