//! `--dry-run`: the resolved plan as a person reads it — jobs in the order they would
//! start, with their needs, hooks, limits and matrix values — and nothing run.

use crate::plan::hooks::HookKind;
use std::fmt::Write as _;

use crate::plan::Mode;
use crate::plan::Plan;
use crate::plan::policy::Allow;

/// A service's lines: how it is known ready, who waits for it, how it is stopped.
fn service(out: &mut String, plan: &Plan, job: usize, svc: &crate::plan::service::Service) {
    let ready = match &svc.probe {
        Some(crate::plan::service::Probe::Log(re)) => format!(
            "ready when a line of its output matches /{re}/ (within {})",
            humantime::format_duration(svc.timeout)
        ),
        Some(p) => format!(
            "ready when {} passes (every {}, for up to {})",
            p.describe(),
            humantime::format_duration(svc.interval),
            humantime::format_duration(svc.timeout)
        ),
        None => "ready once started (no probe)".to_owned(),
    };
    let _ = writeln!(out, "     service, no slot: {ready}");
    let waiters: Vec<&str> = (plan.jobs.iter())
        .filter(|d| d.needs.contains(&job))
        .map(|d| &*d.name)
        .collect();
    let _ = writeln!(
        out,
        "     waited for by: {}; stopped once they end (SIGTERM, SIGKILL after {})",
        waiters.join(", "),
        humantime::format_duration(svc.stop_grace)
    );
}

/// `containment` says how jobs' processes are kept together ([`executor::cgroup`](crate::executor::cgroup)).
pub(crate) fn render(plan: &Plan, jobfile: &str, containment: &str) -> String {
    let mut out = String::new();
    let slots = plan.slots();
    let _ = writeln!(
        out,
        "{jobfile}: {} job{}, {} mode, {slots} slot{}, output {}{}",
        plan.jobs.len(),
        if plan.jobs.len() == 1 { "" } else { "s" },
        if plan.mode == Mode::Sync {
            "sync"
        } else {
            "async"
        },
        if slots == 1 { "" } else { "s" },
        plan.output.mode.name(),
        if plan.output.keep_order {
            ", in jobfile order"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "shell {}, workdir {}",
        plan.shell,
        plan.workdir.display()
    );
    let _ = writeln!(out, "containment: {containment}");
    if let Some(s) = &plan.sharded {
        let _ = writeln!(out, "{s}");
    }
    env_files(&mut out, "", &plan.env_files);
    if !plan.resources.is_empty() {
        let r: Vec<String> = plan
            .resources
            .iter()
            .map(|r| {
                format!(
                    "{} ({} unit{})",
                    r.name,
                    r.capacity,
                    if r.capacity == 1 { "" } else { "s" }
                )
            })
            .collect();
        let _ = writeln!(out, "resources: {}", r.join(", "));
    }
    for (i, j) in plan.jobs.iter().enumerate() {
        let _ = writeln!(out, "\n{:>3}. {}", i + 1, j.name);
        let _ = writeln!(out, "     run: {}", indented(&j.run, 10));
        env_files(&mut out, "     ", &j.opts.env_files);
        if let Some(svc) = &j.opts.service {
            service(&mut out, plan, i, svc);
        }
        if !j.needs.is_empty() {
            let needs: Vec<&str> = j.needs.iter().map(|&d| &*plan.jobs[d].name).collect();
            let _ = writeln!(out, "     needs: {}", needs.join(", "));
        }
        match j.opts.when {
            crate::input::jobfile::When::Success => {}
            crate::input::jobfile::When::Failure => {
                let _ = writeln!(
                    out,
                    "     when: failure (runs once its needs ended, if one failed, timed out or was interrupted; also after a stop)"
                );
            }
            crate::input::jobfile::When::Always => {
                let _ = writeln!(
                    out,
                    "     when: always (runs once its needs ended, whatever happened; also after a stop)"
                );
            }
        }
        if let Some(c) = &j.opts.condition {
            let _ = writeln!(
                out,
                "     if: {} (run when it would start: not exit 0 = skipped)",
                indented(c, 9)
            );
        }
        match &j.opts.allow {
            Allow::Nothing => {}
            Allow::Any => {
                let _ = writeln!(
                    out,
                    "     allow_failure: any failure of its own (not an interruption)"
                );
            }
            Allow::Codes(c) => {
                let codes: Vec<String> = c.iter().map(ToString::to_string).collect();
                let _ = writeln!(out, "     allow_failure: exit {}", codes.join(", "));
            }
        }
        if !j.opts.uses.is_empty() {
            let uses: Vec<String> = j
                .opts
                .uses
                .iter()
                .map(|&(r, n)| format!("{} x{n}", plan.resources[r].name))
                .collect();
            let _ = writeln!(out, "     uses: {}", uses.join(", "));
        }
        if let Some(d) = &j.dynamic {
            let _ = writeln!(
                out,
                "     matrix, expanded at run time once its needs succeeded: {}",
                d.describe()
            );
        }
        if !j.matrix.is_empty() {
            let vars: Vec<String> = j.matrix.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(out, "     matrix of '{}': {}", j.base(), vars.join(" "));
        }
        for t in &j.opts.templates {
            let _ = writeln!(out, "     env {}: at start, {}", t.var, t.written());
        }
        if let Some(u) = &j.opts.up_to_date {
            if !u.sources.is_empty() {
                let _ = writeln!(out, "     sources: {}", u.sources.join(", "));
            }
            if !u.generates.is_empty() {
                let _ = writeln!(out, "     generates: {}", u.generates.join(", "));
            }
            for s in &u.status {
                let _ = writeln!(out, "     status: {}", indented(s, 15));
            }
            let escaping = u.escaping();
            if !escaping.is_empty() {
                let _ = writeln!(out, "     outside its workdir: {}", escaping.join(", "));
            }
            let _ = writeln!(
                out,
                "     {}",
                crate::state::fingerprint::preview(plan, j, u)
            );
        }
        if let Some(t) = j.opts.timeout {
            let _ = writeln!(out, "     timeout: {}", humantime::format_duration(t));
        }
        if j.opts.retry.retries > 0 {
            let _ = writeln!(out, "     retries: {}", j.opts.retry.retries);
        }
        let l = &j.opts.limits;
        if l.any() {
            let mut words = Vec::new();
            if let Some(m) = l.memory {
                words.push(format!("memory {}", crate::sizes::short(m)));
            }
            if let Some(c) = l.cpus {
                words.push(format!("cpus {c}"));
            }
            if let Some(p) = l.pids {
                words.push(format!("pids {p}"));
            }
            if let Some(n) = l.nice {
                words.push(format!("nice {n}"));
            }
            if let Some(i) = l.io {
                words.push(format!("io {i}"));
            }
            // The controllers are known once the run's cgroups exist: what a run here
            // would have is what the hierarchy offers.
            let c = crate::executor::cgroup::offered_controllers();
            let not = l.not_enforced(c, j.opts.executor());
            let tail = not
                .map(|w| format!(" (not enforced: {w})"))
                .unwrap_or_default();
            let _ = writeln!(out, "     limits: {}{tail}", words.join(", "));
        }
        for (hook, cmd) in j.opts.hooks.for_outcome(true).into_iter().chain(
            j.opts
                .hooks
                .on_failure
                .as_deref()
                .map(|c| (HookKind::Failure, c)),
        ) {
            let hook = hook.as_str();
            let _ = writeln!(out, "     {hook}: {}", indented(cmd, 7 + hook.len()));
        }
        if !j.opts.tags.is_empty() {
            let _ = writeln!(out, "     tags: {}", j.opts.tags.join(", "));
        }
    }
    let run_hooks: Vec<String> = [
        (HookKind::Success, &plan.hooks.on_success),
        (HookKind::Failure, &plan.hooks.on_failure),
        (HookKind::Recover, &plan.hooks.on_recover),
        (HookKind::Complete, &plan.hooks.on_complete),
    ]
    .into_iter()
    .filter_map(|(n, c)| {
        c.as_ref()
            .map(|c| format!("  {n}: {}", indented(c, 4 + n.as_str().len())))
    })
    .collect();
    if !run_hooks.is_empty() {
        let _ = writeln!(out, "\nrun-level hooks:\n{}", run_hooks.join("\n"));
    }
    out
}

/// The names each env file gives, never their values (they may be secrets).
fn env_files(out: &mut String, indent: &str, files: &[(String, Vec<String>)]) {
    for (file, names) in files {
        let shown: Vec<String> = names.iter().map(|n| format!("{n}=…")).collect();
        let _ = writeln!(out, "{indent}env_file {file}: {}", shown.join(", "));
    }
}

/// A command of several lines, its later lines lined up under its first (which starts
/// at column `col`).
fn indented(cmd: &str, col: usize) -> String {
    cmd.trim_end()
        .replace('\n', &format!("\n{}", " ".repeat(col)))
}
