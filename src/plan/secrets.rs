//! `secrets:` (top level, `defaults:` or a job): the variables whose values prun masks as
//! `***` in everything it writes ([`mask`](crate::mask)). A value is the variable's in the job's
//! environment as prun gives it (`env`, `env_file`), else in prun's own; the top-level
//! names are looked up in the run's `env` and in every job's.

use std::collections::BTreeSet;

use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::Sp;
use crate::mask::MIN_LEN;
use crate::plan::job::JobSpec;

/// Checked names of a `secrets:` list.
pub(crate) fn names(
    src: &Source,
    list: Option<&Sp<Vec<Sp<String>>>>,
) -> Result<Vec<String>, Diagnostic> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for n in &list.value {
        let name = n.value.trim();
        if !crate::names::is_variable_name(name) {
            return Err(Diagnostic::at(
                src,
                n.referenced,
                format!("`secrets:` names variables; '{}' is not a variable name", n.value),
            )
            .help("list the variables' names, not their values: `secrets: [PGPASSWORD, AWS_SECRET_ACCESS_KEY]`"));
        }
        if !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

/// The values the jobfile's `secrets:` lists (top level, `defaults:`, each job's) name,
/// found without resolving the plan — in its `env` maps and prun's own environment — so
/// that an error about the jobfile, said before the masker is set up, quotes none.
pub(crate) fn early_values(
    jf: &crate::input::jobfile::Jobfile,
    getenv: fn(&str) -> Option<String>,
) -> Vec<String> {
    use crate::input::jobfile::{Env, JobEntry, JobField};
    let mut lists: Vec<&Sp<Vec<Sp<String>>>> = Vec::new();
    let mut envs: Vec<&Env> = Vec::new();
    lists.extend(jf.secrets.as_ref());
    if let Some(d) = &jf.defaults {
        lists.extend(d.value.secrets.as_ref());
        envs.extend(d.value.env.as_ref().map(|e| &e.value));
    }
    for entry in &jf.jobs.value {
        if let JobEntry::Full(fields) = &entry.value {
            for f in fields.iter() {
                match f {
                    JobField::Secrets(l) => lists.push(l),
                    JobField::Env(e) => envs.push(&e.value),
                    _ => {}
                }
            }
        }
    }
    let names = lists
        .iter()
        .flat_map(|l| l.value.iter().map(|n| n.value.trim()));
    envs.extend(jf.env.as_ref().map(|e| &e.value));
    let mut out = Vec::new();
    for name in names {
        let found =
            (envs.iter().filter_map(|e| e.get(name)).map(|v| v.0.clone())).chain(getenv(name));
        out.extend(found.filter(|v| v.len() >= MIN_LEN));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The same for a jobfile that is not even YAML (a syntax error quotes its line): the
/// names found in its text under any `secrets:` key (`[A, B]` or `- A` lines), and
/// their values in prun's environment and in the text — after `NAME:` or `NAME=` on any
/// line, the rest of that line, quoted or not. It masks more than the values where a
/// line holds more, never less.
pub(crate) fn text_values(text: &str, getenv: fn(&str) -> Option<String>) -> Vec<String> {
    let mut names = BTreeSet::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(at) = line.find("secrets:") else {
            continue;
        };
        let rest = line[at + "secrets:".len()..].trim();
        if let Some(flow) = rest.strip_prefix('[') {
            let flow = flow.split(']').next().unwrap_or_default();
            names.extend(flow.split(',').map(|n| n.trim().trim_matches(['"', '\''])));
            continue;
        }
        while let Some(item) = lines.peek().and_then(|l| l.trim().strip_prefix("- ")) {
            names.insert(item.trim().trim_matches(['"', '\'']));
            lines.next();
        }
    }
    let names: Vec<&str> = names
        .into_iter()
        .filter(|n| crate::names::is_variable_name(n))
        .collect();
    let mut out: Vec<String> = names.iter().filter_map(|n| getenv(n)).collect();
    for line in text.lines() {
        for name in &names {
            let mut from = 0;
            while let Some(i) = line[from..].find(name).map(|i| i + from) {
                from = i + name.len();
                let after = line[from..].trim_start_matches([' ', '"', '\'']);
                let Some(value) = after.strip_prefix([':', '=']) else {
                    continue;
                };
                let value = value.trim();
                out.push(value.to_owned());
                out.push(value.trim_matches(['"', '\'', ',', '}']).trim().to_owned());
            }
        }
    }
    out.retain(|v| v.len() >= MIN_LEN);
    out.sort_unstable();
    out.dedup();
    out
}

/// The values of the top-level `secrets:` and of each job's, what to warn about added to
/// `warnings` (nothing is looked up when no list names any).
pub(crate) fn resolve(
    src: &Source,
    top: Option<&Sp<Vec<Sp<String>>>>,
    run_env: &[(String, String)],
    jobs: &[JobSpec],
    getenv: fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, Diagnostic> {
    let top = names(src, top)?;
    if top.is_empty() && jobs.iter().all(|j| j.opts.secrets.is_empty()) {
        return Ok(Vec::new());
    }
    let (found, said) = values(&top, run_env, jobs, getenv);
    warnings.extend(said);
    Ok(found)
}

/// The values to mask, and what to warn about: a name set nowhere, a value too short to
/// mask. `getenv` is prun's own environment.
pub(crate) fn values(
    top: &[String],
    run_env: &[(String, String)],
    jobs: &[JobSpec],
    getenv: fn(&str) -> Option<String>,
) -> (Vec<String>, Vec<String>) {
    let lookup = |env: &[(String, String)], name: &str| -> Option<String> {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| getenv(name))
    };
    // name → its values (a job's env may give another).
    let mut found: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut add = |name: &str, v: Option<String>| {
        let at = match found.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                found.push((name.to_owned(), BTreeSet::new()));
                found.len() - 1
            }
        };
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            found[at].1.insert(v);
        }
    };
    for name in top {
        add(name, lookup(run_env, name));
    }
    // Jobs share their env and options: each pair is looked at once.
    let mut seen = std::collections::HashSet::new();
    for job in jobs {
        let key = (
            job.env.as_ptr() as usize,
            std::sync::Arc::as_ptr(&job.opts) as usize,
        );
        if !seen.insert(key) {
            continue;
        }
        for name in top.iter().chain(&job.opts.secrets) {
            add(name, lookup(&job.env, name));
        }
    }
    let mut values = Vec::new();
    let mut warnings = Vec::new();
    for (name, vals) in found {
        if vals.is_empty() {
            warnings.push(format!(
                "secret {name} is set nowhere (not in `env`, an `env_file` or prun's environment): there is nothing to mask"
            ));
        }
        for v in vals {
            if v.chars().count() < MIN_LEN {
                warnings.push(format!(
                    "secret {name} is shorter than {MIN_LEN} characters: it is not masked (it would hide innocent text); use a longer value"
                ));
            } else {
                values.push(v);
            }
        }
    }
    (values, warnings)
}

#[cfg(test)]
mod tests {
    fn env(k: &str) -> Option<String> {
        match k {
            "FROM_PRUN" => Some("prun-own-value".into()),
            _ => None,
        }
    }

    #[test]
    fn values_come_from_env_files_and_prun_s_environment_and_short_ones_warn() {
        let plan = crate::plan::test_plan(
            "secrets: [TOKEN, FROM_PRUN, MISSING, SHORT]\nenv: {TOKEN: top-token, SHORT: abc}\njobs:\n  - name: a\n    env: {TOKEN: job-token}\n    run: x\n  - name: b\n    secrets: [OWN]\n    env: {OWN: own-secret}\n    run: y\n",
            &[],
        );
        let (values, warnings) = super::values(
            &[
                "TOKEN".into(),
                "FROM_PRUN".into(),
                "MISSING".into(),
                "SHORT".into(),
            ],
            &plan.env,
            &plan.jobs,
            env,
        );
        for v in ["top-token", "job-token", "prun-own-value", "own-secret"] {
            assert!(values.iter().any(|x| x == v), "{v}: {values:?}");
        }
        assert!(!values.iter().any(|x| x == "abc"));
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("MISSING is set nowhere")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("SHORT is shorter than 4")),
            "{warnings:?}"
        );
    }
}
