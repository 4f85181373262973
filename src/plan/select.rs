//! `--tag` and `--job`: run a subset of the jobfile. A job is selected when it has one of
//! the tags or one of the names (a matrix job also by its base name); every job a selected
//! job needs is pulled in, transitively. Needs are renumbered for the smaller plan.

use super::job::JobSpec;
use crate::input::diagnostic::{Diagnostic, did_you_mean};

/// The selected jobs, in jobfile order; all jobs when nothing was asked for.
pub(crate) fn select(
    jobs: Vec<JobSpec>,
    tags: &[String],
    names: &[String],
) -> Result<Vec<JobSpec>, Diagnostic> {
    if tags.is_empty() && names.is_empty() {
        return Ok(jobs);
    }
    let mut keep = vec![false; jobs.len()];
    for name in names {
        let mut found = false;
        for (i, j) in jobs.iter().enumerate() {
            if *j.name == **name || j.base() == &**name {
                keep[i] = true;
                found = true;
            }
        }
        if !found {
            let all: Vec<&str> = jobs.iter().map(JobSpec::base).collect();
            let mut msg = format!("no job is named '{name}'");
            if let Some(best) = did_you_mean(name, &all) {
                msg.push_str(&format!(" (did you mean '{best}'?)"));
            }
            return Err(Diagnostic::file("--job", msg)
                .help("give the name of a job in the jobfile; --dry-run lists them"));
        }
    }
    for tag in tags {
        let mut found = false;
        for (i, j) in jobs.iter().enumerate() {
            if j.opts.tags.contains(tag) {
                keep[i] = true;
                found = true;
            }
        }
        if !found {
            let mut known: Vec<&str> = jobs
                .iter()
                .flat_map(|j| j.opts.tags.iter().map(String::as_str))
                .collect();
            known.sort_unstable();
            known.dedup();
            let help = if known.is_empty() {
                "no job in this jobfile has `tags:`".to_owned()
            } else {
                format!("the tags in this jobfile are: {}", known.join(", "))
            };
            return Err(
                Diagnostic::file("--tag", format!("no job has the tag '{tag}'")).help(help),
            );
        }
    }
    Ok(keep_with_needs(jobs, keep))
}

/// The jobs `keep` marks and every job they need, transitively, in jobfile order, with
/// their needs renumbered for the smaller plan.
pub(super) fn keep_with_needs(jobs: Vec<JobSpec>, mut keep: Vec<bool>) -> Vec<JobSpec> {
    let mut stack: Vec<usize> = (0..jobs.len()).filter(|&i| keep[i]).collect();
    while let Some(i) = stack.pop() {
        for &d in jobs[i].needs.iter() {
            if !keep[d] {
                keep[d] = true;
                stack.push(d);
            }
        }
    }
    let mut new_index = vec![usize::MAX; jobs.len()];
    let mut n = 0;
    for (i, k) in keep.iter().enumerate() {
        if *k {
            new_index[i] = n;
            n += 1;
        }
    }
    jobs.into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(mut j, _)| {
            let needs: Vec<usize> = j.needs.iter().map(|&d| new_index[d]).collect();
            if *j.needs != *needs {
                j.def_mut().needs = needs.into();
            }
            j
        })
        .collect()
}
