//! What a job may take of the machine (`limits: {memory, cpus, pids}`, `nice`, `io`,
//! `hook_nice`): read from the jobfile with located errors, each key its own or the
//! defaults'; and how each is enforced, given the cgroup controllers the run has
//! (`tuning`), said honestly where it is not (`not_enforced`):
//!
//! - `nice` and `io`: set by the child on itself before it execs, everywhere;
//! - `memory`, `cpus`, `pids`: the slot cgroup's `memory.max`, `cpu.max`, `pids.max`
//!   where those controllers are enabled; else memory as RLIMIT_AS (address space, not
//!   resident memory), and cpus and pids not at all;
//! - under Slurm: memory and cpus become `--mem` and `--cpus-per-task` (unless `slurm:`
//!   sets them), Slurm enforces them; nice, io and pids are not applied.

use crate::executor::Executor;
use crate::executor::cgroup::{CgroupLimits, Controllers};
use crate::executor::command::Tuning;
use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::{JobKeys, LimitKeys, Scalar, Sp};

/// A job's limits, as asked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Limits {
    /// Bytes.
    pub(crate) memory: Option<u64>,
    pub(crate) cpus: Option<f64>,
    pub(crate) pids: Option<u32>,
    pub(crate) nice: Option<i32>,
    pub(crate) io: Option<Io>,
    pub(crate) hook_nice: Option<i32>,
}

/// An I/O scheduling class (`ioprio_set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Io {
    /// Disk time only when no one else wants it.
    Idle,
    /// The default class, at level 0 (first) to 7 (last); 4 when not given.
    BestEffort(u8),
}

impl Io {
    /// The value `ioprio_set` takes: class << 13 | level.
    pub(crate) fn ioprio(self) -> i32 {
        match self {
            Io::Idle => 3 << 13,
            Io::BestEffort(level) => 2 << 13 | i32::from(level),
        }
    }
}

impl std::fmt::Display for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Io::Idle => f.write_str("idle"),
            Io::BestEffort(level) => write!(f, "best-effort:{level}"),
        }
    }
}

impl Limits {
    /// Whether it asks for any limit at all (`hook_nice` is its hooks').
    pub(crate) fn any(&self) -> bool {
        self.memory.is_some()
            || self.cpus.is_some()
            || self.pids.is_some()
            || self.nice.is_some()
            || self.io.is_some()
    }

    /// The cgroup controllers its limits need.
    pub(crate) fn controllers(&self) -> Controllers {
        Controllers {
            memory: self.memory.is_some(),
            cpu: self.cpus.is_some(),
            pids: self.pids.is_some(),
        }
    }

    /// What the child sets on itself and what its cgroup limits it to, given the
    /// controllers the run has (none where its executor enforces limits itself).
    pub(crate) fn tuning(&self, c: Controllers, ex: &dyn Executor) -> Tuning {
        if !ex.limits_by_prun() {
            return Tuning::default();
        }
        Tuning {
            nice: self.nice,
            ioprio: self.io.map(Io::ioprio),
            address_space: self.memory.filter(|_| !c.memory),
            cgroup: CgroupLimits {
                memory: self.memory.filter(|_| c.memory),
                cpus: self.cpus.filter(|_| c.cpu),
                pids: self.pids.filter(|_| c.pids),
            },
        }
    }

    /// Which of its limits are not enforced as asked, and why, in words; `None` when
    /// every one is.
    pub(crate) fn not_enforced(&self, c: Controllers, ex: &dyn Executor) -> Option<String> {
        let mut not = Vec::new();
        if !ex.limits_by_prun() {
            for (asked, what) in [
                (self.pids.is_some(), "pids"),
                (self.nice.is_some(), "nice"),
                (self.io.is_some(), "io"),
            ] {
                if asked {
                    not.push(format!("{what} (not applied under {})", ex.name()));
                }
            }
        } else {
            if self.memory.is_some() && !c.memory {
                not.push("memory only as RLIMIT_AS, which limits address space, not resident memory (no cgroup memory controller here)".to_owned());
            }
            if self.cpus.is_some() && !c.cpu {
                not.push("cpus (no cgroup cpu controller here)".to_owned());
            }
            if self.pids.is_some() && !c.pids {
                not.push("pids (no cgroup pids controller here)".to_owned());
            }
        }
        (!not.is_empty()).then(|| not.join("; "))
    }

    /// The limits of a job whose own keys are `job`, each falling back to `defaults`.
    pub(crate) fn resolve(
        src: &Source,
        job: &JobKeys,
        defaults: &JobKeys,
    ) -> Result<Limits, Diagnostic> {
        let (own, def) = (keys(job), keys(defaults));
        let memory = match own.memory.as_ref().or(def.memory.as_ref()) {
            None => None,
            Some(m) => Some(memory(src, m)?),
        };
        let cpus = match own.cpus.as_ref().or(def.cpus.as_ref()) {
            None => None,
            Some(c) => Some(cpus(src, c)?),
        };
        let pids = match own.pids.as_ref().or(def.pids.as_ref()) {
            None => None,
            Some(p) if (1..=i64::from(u32::MAX)).contains(&p.value) => Some(p.value as u32),
            Some(p) => {
                return Err(diag(
                    src,
                    p,
                    format!("limits: pids must be 1 or more, not {}", p.value),
                )
                .help(
                    "the most processes and threads the job may have at once, e.g. `pids: 256`",
                ));
            }
        };
        let nice_of = |n: Option<&Sp<i64>>, key: &str| match n {
            None => Ok(None),
            Some(n) if (-20..=19).contains(&n.value) => Ok(Some(n.value as i32)),
            Some(n) => Err(diag(
                src,
                n,
                format!("{key} must be between -20 and 19, not {}", n.value),
            )
            .help("19 is the kindest to other work; below 0 needs root (CAP_SYS_NICE)")),
        };
        let io = match job.io.as_ref().or(defaults.io.as_ref()) {
            None => None,
            Some(i) => Some(io(src, i)?),
        };
        Ok(Limits {
            memory,
            cpus,
            pids,
            nice: nice_of(job.nice.as_ref().or(defaults.nice.as_ref()), "nice")?,
            io,
            hook_nice: nice_of(
                job.hook_nice.as_ref().or(defaults.hook_nice.as_ref()),
                "hook_nice",
            )?,
        })
    }
}

/// What prun says once at the start: each way the jobs' limits are not enforced here,
/// with the jobs it concerns; `None` when every limit asked is enforced. `jobs`: each
/// job's (base) name, limits, and executor.
pub(crate) fn not_enforced_words<'a>(
    jobs: impl Iterator<Item = (&'a str, &'a Limits, &'static dyn Executor)>,
    c: Controllers,
) -> Option<String> {
    let mut by_why: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, limits, ex) in jobs {
        let Some(why) = limits.not_enforced(c, ex) else {
            continue;
        };
        match by_why.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(name),
            None => by_why.push((why, vec![name])),
        }
    }
    let lines: Vec<String> = by_why
        .into_iter()
        .map(|(why, mut names)| {
            names.dedup();
            let shown: Vec<String> = names.iter().take(5).map(|n| format!("'{n}'")).collect();
            let more = match names.len() {
                n if n > 5 => format!(" and {} more", n - 5),
                _ => String::new(),
            };
            let s = if names.len() == 1 { "" } else { "s" };
            format!(
                "limits not enforced here for job{s} {}{more}: {why}",
                shown.join(", ")
            )
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\nprun: warning: "))
}

fn keys(k: &JobKeys) -> LimitKeys {
    k.limits
        .as_ref()
        .map(|l| l.value.clone())
        .unwrap_or_default()
}

fn memory(src: &Source, m: &Sp<Scalar>) -> Result<u64, Diagnostic> {
    match crate::sizes::parse(&m.value.0) {
        Ok(0) => Err(diag(src, m, "limits: memory must be more than 0".into())
            .help("e.g. `memory: 2G`; leave the key out for no limit")),
        Ok(bytes) => Ok(bytes),
        Err(why) => Err(diag(src, m, format!("limits: memory: {why}"))),
    }
}

fn cpus(src: &Source, c: &Sp<Scalar>) -> Result<f64, Diagnostic> {
    match c.value.0.trim().parse::<f64>() {
        Ok(n) if (0.01..=4096.0).contains(&n) => Ok(n),
        _ => Err(diag(
            src,
            c,
            format!("limits: invalid cpus '{}'", c.value.0),
        )
        .help("the CPUs' worth of time the job may use, 0.01 or more: `cpus: 1.5` is one and a half CPUs")),
    }
}

fn io(src: &Source, i: &Sp<String>) -> Result<Io, Diagnostic> {
    let text = i.value.trim();
    let bad = || {
        diag(src, i, format!("unknown io '{text}'"))
            .help("use `io: idle`, `io: best-effort` or `io: best-effort:N` with N from 0 (first) to 7 (last)")
    };
    match text.split_once(':') {
        None if text == "idle" => Ok(Io::Idle),
        None if text == "best-effort" => Ok(Io::BestEffort(4)),
        Some(("best-effort", n)) => match n.trim().parse::<u8>() {
            Ok(level @ 0..=7) => Ok(Io::BestEffort(level)),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

fn diag<T>(src: &Source, at: &Sp<T>, message: String) -> Diagnostic {
    Diagnostic::at(src, at.referenced, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_classes_become_ioprio_values() {
        assert_eq!(Io::Idle.ioprio(), 3 << 13);
        assert_eq!(Io::BestEffort(7).ioprio(), 2 << 13 | 7);
        assert_eq!(Io::BestEffort(4).to_string(), "best-effort:4");
    }

    #[test]
    fn each_limit_goes_where_it_is_enforced_and_the_rest_is_said() {
        let l = Limits {
            memory: Some(1 << 30),
            cpus: Some(1.5),
            pids: Some(64),
            nice: Some(10),
            io: Some(Io::Idle),
            hook_nice: None,
        };
        let none = Controllers::default();
        let local = crate::executor::of(crate::input::settings::ExecutorKind::Local);
        let slurm = crate::executor::of(crate::input::settings::ExecutorKind::Slurm);
        let t = l.tuning(none, local);
        assert_eq!(
            (t.nice, t.ioprio, t.address_space),
            (Some(10), Some(3 << 13), Some(1 << 30))
        );
        assert_eq!(t.cgroup, CgroupLimits::default());
        let why = l.not_enforced(none, local).unwrap();
        assert!(
            why.contains("RLIMIT_AS") && why.contains("cpus") && why.contains("pids"),
            "{why}"
        );
        let all = Controllers {
            memory: true,
            cpu: true,
            pids: true,
        };
        let t = l.tuning(all, local);
        assert_eq!(t.address_space, None);
        assert_eq!(t.cgroup.memory, Some(1 << 30));
        assert_eq!(l.not_enforced(all, local), None);
        assert_eq!(l.tuning(all, slurm), Tuning::default());
        let why = l.not_enforced(none, slurm).unwrap();
        assert!(why.contains("pids") && !why.contains("memory"), "{why}");
    }

    #[test]
    fn limits_are_read_and_bad_ones_located() {
        let plan = crate::plan::test_plan(
            "defaults: {limits: {memory: 1G, pids: 64}, nice: 10}\njobs:\n  - name: a\n    limits: {memory: 2G, cpus: 1.5}\n    io: best-effort:6\n    run: x\n",
            &[],
        );
        let l = plan.jobs[0].opts.limits;
        assert_eq!(l.memory, Some(2 << 30));
        assert_eq!(l.cpus, Some(1.5));
        assert_eq!(l.pids, Some(64));
        assert_eq!(l.nice, Some(10));
        assert_eq!(l.io, Some(Io::BestEffort(6)));
        assert_eq!(l.hook_nice, None);
    }
}
