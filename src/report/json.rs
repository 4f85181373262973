//! The JSON forms of results: one job's result (a hook's stdin) and the run summary
//! (the file `PRUN_REPORT` names for run-level hooks). Schema version 1; documented in
//! the README. Fields are only ever added within a version.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::json;

use crate::executor::finished::Finished;
use crate::outcome::summary::RunSummary;
use crate::outcome::{JobResult, Status};
use crate::plan::JobSpec;
use crate::plan::resources::Resource;

/// The version of the JSON schemas below.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// One job's result, as a hook reads it on stdin and the report lists it; `resources`
/// are the plan's (to name the units it held). Serialized straight from the result, keys
/// in alphabetical order: no JSON tree is built per job.
pub(crate) fn job<'a>(
    spec: &'a JobSpec,
    r: &'a JobResult,
    resources: &'a [Resource],
) -> JobDoc<'a> {
    JobDoc { spec, r, resources }
}

/// See `job`.
pub(crate) struct JobDoc<'a> {
    spec: &'a JobSpec,
    r: &'a JobResult,
    resources: &'a [Resource],
}

impl Serialize for JobDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (spec, r) = (self.spec, self.r);
        let mut m = s.serialize_map(None)?;
        // A failure its `allow_failure:` allows (reported as failed).
        m.serialize_entry("allowed", &r.allowed)?;
        // A job not spawned (up to date, or skipped by its `if:`) had no attempt.
        if let Some(f) = r.finished().filter(|_| r.attempts > 0) {
            let earlier = r.earlier().iter().map(|e| (e.status, &e.finished));
            let all = earlier.chain(std::iter::once((r.status, &f)));
            let details = all
                .enumerate()
                .map(|(i, (status, f))| Attempt(i + 1, status, f));
            m.serialize_entry("attempt_details", &Seq(|| details.clone()))?;
        }
        m.serialize_entry("attempts", &r.attempts)?;
        m.serialize_entry("command", &*spec.run)?;
        // What all its attempts cost, and where each figure came from.
        let cost = r.cost();
        if let Some(c) = cost {
            let sources = [
                ("cpu_seconds", c.cpu_source.as_str()),
                ("io_bytes", "rusage"),
                ("max_rss_bytes", c.rss_source()),
            ];
            m.serialize_entry("cost_source", &Map(|| sources.into_iter()))?;
        }
        m.serialize_entry("cpu_seconds", &cost.map(|c| c.cpu.as_secs_f64()))?;
        m.serialize_entry("duration", &r.duration().as_secs_f64())?;
        m.serialize_entry("exit_code", &r.exit_code())?;
        m.serialize_entry("index", &spec.index)?;
        // Storage I/O (rusage: what reached the block layer).
        m.serialize_entry("io_read_bytes", &cost.map(|c| c.read_bytes))?;
        m.serialize_entry("io_write_bytes", &cost.map(|c| c.write_bytes))?;
        let limits = &spec.opts.limits;
        if limits.any() {
            // What it was limited to, and whether every limit held as asked.
            let c = crate::executor::cgroup::run_controllers();
            let not = limits.not_enforced(c, spec.opts.executor());
            m.serialize_entry(
                "limits",
                &json!({
                    "memory_bytes": limits.memory,
                    "cpus": limits.cpus,
                    "pids": limits.pids,
                    "nice": limits.nice,
                    "io": limits.io.map(|i| i.to_string()),
                }),
            )?;
            m.serialize_entry("limits_enforced", &not.is_none())?;
            if let Some(why) = not {
                m.serialize_entry("limits_not_enforced", &why)?;
            }
        }
        if let Some(log) = r.log() {
            m.serialize_entry("log", &log.display().to_string())?;
            m.serialize_entry("log_complete", &r.log_error().is_none())?;
            if let Some(e) = r.log_error() {
                m.serialize_entry("log_error", e)?;
            }
        }
        m.serialize_entry("max_rss_bytes", &cost.map(|c| c.max_rss))?;
        m.serialize_entry("name", &*spec.name)?;
        if r.outputs().is_empty() {
            m.serialize_entry("outputs", &Map(std::iter::empty::<(&str, &str)>))?;
        } else {
            m.serialize_entry("outputs", &crate::outcome::outputs::json(r.outputs()))?;
        }
        if let Some(after) = r.ready_after() {
            // A service: how long after its start it was seen ready.
            m.serialize_entry("ready_after", &after.as_secs_f64())?;
        }
        m.serialize_entry("reason", &r.reason().map(ToString::to_string))?;
        if !r.units().is_empty() {
            // The units its last attempt held, by resource: {"nas": [0]}.
            let by = || {
                crate::plan::resources::by_resource(r.units()).map(|(i, us)| {
                    let units: Vec<u32> = us.iter().map(|&(_, u)| u).collect();
                    (&*self.resources[i].name, units)
                })
            };
            m.serialize_entry("resources", &Map(by))?;
        }
        m.serialize_entry(
            "signal",
            &r.signal().map(crate::executor::finished::signal_name),
        )?;
        m.serialize_entry("slot", &r.slot())?;
        m.serialize_entry("start", &r.started().map(crate::times::timestamp))?;
        m.serialize_entry("status", r.status.as_str())?;
        m.serialize_entry("when", spec.opts.when.as_str())?;
        m.end()
    }
}

/// One attempt of a job, for `attempt_details`: its number, status and how it ended.
#[derive(Clone, Copy)]
struct Attempt<'a>(usize, Status, &'a Finished);

impl Serialize for Attempt<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Attempt(n, status, f) = *self;
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("attempt", &n)?;
        m.serialize_entry("cpu_seconds", &f.cost.map(|c| c.cpu.as_secs_f64()))?;
        m.serialize_entry("duration", &f.duration.as_secs_f64())?;
        m.serialize_entry("exit_code", &f.ending.code())?;
        m.serialize_entry("io_read_bytes", &f.cost.map(|c| c.read_bytes))?;
        m.serialize_entry("io_write_bytes", &f.cost.map(|c| c.write_bytes))?;
        m.serialize_entry("max_rss_bytes", &f.cost.map(|c| c.max_rss))?;
        m.serialize_entry(
            "signal",
            &f.ending
                .signal()
                .map(crate::executor::finished::signal_name),
        )?;
        m.serialize_entry("start", &crate::times::timestamp(f.started))?;
        m.serialize_entry("status", status.as_str())?;
        m.end()
    }
}

/// The whole run (`--report`, `PRUN_REPORT`), serialized as it is written: one job at
/// a time, so that a run of a million jobs is never held as one document.
pub(crate) struct RunDoc<'a> {
    pub(crate) run: &'a RunSummary,
    pub(crate) specs: &'a [&'a JobSpec],
    pub(crate) resources: &'a [Resource],
}

impl RunDoc<'_> {
    /// The jobs shown, each with its result.
    fn jobs(&self) -> impl Iterator<Item = (&JobSpec, &JobResult)> {
        self.specs.iter().copied().zip(self.run.results.iter())
    }
}

impl Serialize for RunDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let run = self.run;
        let t = run.totals();
        let mut m = s.serialize_map(None)?;
        // Keys in alphabetical order, as in every other object prun writes.
        m.serialize_entry("duration", &run.duration.as_secs_f64())?;
        m.serialize_entry("end", &crate::times::timestamp(run.started + run.duration))?;
        m.serialize_entry("exit_code", &run.prun_exit())?;
        let hook_failures = run.hook_failures.iter().map(|h| {
            json!({
                "job": h.job.as_deref(),
                "hook": h.hook,
                "reason": h.reason.to_string(),
            })
        });
        m.serialize_entry("hook_failures", &Seq(|| hook_failures.clone()))?;
        m.serialize_entry("internal_error", &run.internal_error)?;
        m.serialize_entry(
            "jobs",
            &Seq(|| self.jobs().map(|(s, r)| job(s, r, self.resources))),
        )?;
        m.serialize_entry("monitor_errors", &run.monitor_errors)?;
        m.serialize_entry("output_errors", &run.output_errors)?;
        // The Manager: every job's outputs in one document, by job name.
        let outputs = || {
            self.jobs()
                .filter(|(_, r)| !r.outputs().is_empty())
                .map(|(s, r)| (&*s.name, crate::outcome::outputs::json(r.outputs())))
        };
        m.serialize_entry("outputs", &Map(outputs))?;
        m.serialize_entry("prun_version", env!("CARGO_PKG_VERSION"))?;
        m.serialize_entry("run_id", &run.run_id)?;
        m.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        m.serialize_entry(
            "signal",
            &run.signal.map(crate::executor::finished::signal_name),
        )?;
        m.serialize_entry("start", &crate::times::timestamp(run.started))?;
        let totals = json!({
            "total": t.total,
            "succeeded": t.succeeded,
            "failed": t.failed,
            "allowed": t.allowed,
            "skipped": t.skipped,
            "up_to_date": t.up_to_date,
            "hook_failures": run.hook_failures.len(),
        });
        if let Some((waited, why)) = &run.throttled {
            let t = json!({"seconds": waited.as_secs_f64(), "why": why});
            m.serialize_entry("throttled", &t)?;
        }
        m.serialize_entry("totals", &totals)?;
        m.end()
    }
}

/// The results of `jobs` by name (`PRUN_NEEDS`), serialized as it is written.
pub(crate) struct NeedsDoc<'a>(
    pub(crate) &'a [(&'a JobSpec, &'a JobResult)],
    pub(crate) &'a [Resource],
);

impl Serialize for NeedsDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .iter()
                .map(|(spec, r)| (&*spec.name, job(spec, r, self.1))),
        )
    }
}

/// Writes `doc` to `w` (indented when `pretty`), then a newline, through a buffer.
pub(crate) fn write(w: impl Write, doc: &impl Serialize, pretty: bool) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(64 * 1024, w);
    if pretty {
        serde_json::to_writer_pretty(&mut w, doc)?;
    } else {
        serde_json::to_writer(&mut w, doc)?;
    }
    w.write_all(b"\n")?;
    w.flush()
}

/// A sequence serialized item by item from the iterator `.0` makes.
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// A map serialized entry by entry from the iterator `.0` makes.
struct Map<F>(F);

impl<F, I, K, V> Serialize for Map<F>
where
    F: Fn() -> I,
    I: Iterator<Item = (K, V)>,
    K: Serialize,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map((self.0)())
    }
}
