//! Checks of single values of the jobfile, each refusing what cannot work with a
//! located error and how to fix it: the version, names, environment variables, the shell,
//! the workdir, executors, `defaults:` and hook timeouts.

use std::path::{Path, PathBuf};

use super::facts::Facts;
use crate::input::diagnostic::{Diagnostic, Pos, Source};
use crate::input::jobfile::{Env, HumanDuration, JobKeys, ShellWords, Sp};
use crate::input::settings::ExecutorKind;
use crate::input::settings::Shell;

/// No `${{ needs.… }}` in `code` (a command, a hook, a status check) written at `at`:
/// outputs are data and never put into code, so it would reach the shell as "Bad
/// substitution". `what` names it ("job 'b': `run:`").
pub(super) fn no_outputs_in_code(
    src: &Source,
    at: Pos,
    code: &str,
    what: &str,
) -> Result<(), Diagnostic> {
    let Some(r) = super::template::output_reference_in_code(code) else {
        return Ok(());
    };
    Err(Diagnostic::at(
        src,
        at,
        format!("{what} uses `{r}`: outputs are never put into code"),
    )
    .help(format!(
        "set a variable from it in `env:` (e.g. `env: {{ VALUE: \"{r}\" }}`) and use \"$VALUE\" in the command"
    )))
}

/// No `${{ needs.… }}` in the `run`, hooks or `status` of a job or of `defaults:`
/// (`who` says which: "job 'b': ", "defaults: ").
pub(super) fn no_outputs_in_keys(
    src: &Source,
    keys: &JobKeys,
    who: &str,
) -> Result<(), Diagnostic> {
    let scalars = [
        ("run", &keys.run),
        ("on_success", &keys.on_success),
        ("on_failure", &keys.on_failure),
        ("on_complete", &keys.on_complete),
        ("if", &keys.condition),
    ];
    let scalars = (scalars.into_iter())
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.referenced, v.value.0.as_str())));
    let status = (keys.status.iter()).flat_map(|s| {
        s.value
            .0
            .iter()
            .map(move |c| ("status", s.referenced, c.as_str()))
    });
    for (key, at, code) in scalars.chain(status) {
        no_outputs_in_code(src, at, code, &format!("{who}`{key}:`"))?;
    }
    Ok(())
}

/// `version:` must be 1.
pub(super) fn version(src: &Source, v: Option<&Sp<u64>>) -> Result<(), Diagnostic> {
    match v {
        Some(v) if v.value != 1 => Err(Diagnostic::at(
            src,
            v.referenced,
            format!("unsupported version {}", v.value),
        )
        .help("this prun reads jobfile version 1; write `version: 1` or remove the key")),
        _ => Ok(()),
    }
}

/// `name:`: what the run is called in the metrics' `jobfile` label and the JUnit suite,
/// so a word a person reads there: letters, digits, `.`, `_`, `-`, `/` and `@` (a host
/// or a path-like name), at most 128 of them.
pub(super) fn run_name(src: &Source, n: &Sp<String>) -> Result<String, Diagnostic> {
    let v = &n.value;
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '@');
    if v.is_empty() || v.len() > 128 || !v.chars().all(fits) {
        let why = match v.chars().find(|&c| !fits(c)) {
            Some(c) => format!("`name:` '{}' has {:?}", crate::names::printable(v), c),
            None if v.is_empty() => "`name:` is empty".to_owned(),
            None => format!("`name:` is {} characters long", v.len()),
        };
        return Err(Diagnostic::at(src, n.referenced, format!("{why}: it is the value of the metrics' `jobfile` label and the JUnit suite's name"))
            .help("use letters, digits, `.`, `_`, `-`, `/` or `@` (at most 128), e.g. `name: backup-db01`"));
    }
    Ok(v.clone())
}

/// `workdir:` (relative to the jobfile's directory) must be a directory.
pub(super) fn workdir(
    src: &Source,
    w: Option<&Sp<String>>,
    facts: &Facts<'_>,
) -> Result<PathBuf, Diagnostic> {
    let dir = match w {
        Some(w) => facts.base_dir.join(&w.value),
        None => facts.base_dir.to_path_buf(),
    };
    if dir.is_dir() {
        return Ok(dir);
    }
    let shown = w.map_or_else(|| dir.display().to_string(), |w| w.value.clone());
    Err(Diagnostic::at(
        src,
        w.map_or(Pos::UNKNOWN, |w| w.referenced),
        format!("workdir '{shown}' is not a directory"),
    )
    .help("create it, or fix `workdir:` (relative paths start at the jobfile's directory)"))
}

/// `executor: local | slurm`.
pub(super) fn executor_kind(src: &Source, e: &Sp<String>) -> Result<ExecutorKind, Diagnostic> {
    match e.value.as_str() {
        "local" => Ok(ExecutorKind::Local),
        "slurm" => Ok(ExecutorKind::Slurm),
        other => Err(Diagnostic::at(src, e.referenced, format!("unknown executor '{other}'"))
            .help("use `executor: local` (run jobs here, the default) or `executor: slurm` (as Slurm job steps)")),
    }
}

/// The top-level `env:`: as `env_pairs`, and no value may use outputs (only a job's own
/// `env` can, from the jobs it needs).
pub(super) fn run_env(
    src: &Source,
    env: Option<&Sp<Env>>,
) -> Result<Vec<(String, String)>, Diagnostic> {
    let pairs = env_pairs(src, env)?;
    if let (Some(env), Some((k, _))) = (env, pairs.iter().find(|(_, v)| v.contains("${{"))) {
        return Err(Diagnostic::at(
            src,
            env.referenced,
            format!("env {k}: only a job's own `env` can use outputs (`${{{{ needs... }}}}`)"),
        )
        .help(
            "move it to the `env:` of the jobs that need it, and add the job to their `needs:`",
        ));
    }
    Ok(pairs)
}

/// An `env:` map as pairs, refusing names and values the OS cannot pass on.
pub(super) fn env_pairs(
    src: &Source,
    env: Option<&Sp<Env>>,
) -> Result<Vec<(String, String)>, Diagnostic> {
    let Some(env) = env else {
        return Ok(Vec::new());
    };
    let mut pairs = Vec::with_capacity(env.value.len());
    for (k, v) in &env.value {
        if k.is_empty() || k.contains(['=', '\0']) || v.0.contains('\0') {
            return Err(Diagnostic::at(
                src,
                env.referenced,
                format!("invalid environment variable {k:?}"),
            )
            .help("names must be non-empty, without '=' or NUL characters; values without NUL"));
        }
        pairs.push((k.clone(), v.0.clone()));
    }
    Ok(pairs)
}

/// `defaults:` may not set what must differ per job.
pub(super) fn check_defaults(src: &Source, d: &JobKeys) -> Result<(), Diagnostic> {
    let per_job = [
        ("name", d.name.as_ref().map(|s| s.referenced)),
        ("run", d.run.as_ref().map(|s| s.referenced)),
        ("needs", d.needs.as_ref().map(|s| s.referenced)),
        ("matrix", d.matrix.as_ref().map(|s| s.referenced)),
        ("when", d.when.as_ref().map(|s| s.referenced)),
        ("service", d.service.as_ref().map(|s| s.referenced)),
        ("ready", d.ready.as_ref().map(|s| s.referenced)),
    ];
    for (key, loc) in per_job {
        if let Some(loc) = loc {
            return Err(
                Diagnostic::at(src, loc, format!("`{key}` cannot be a default"))
                    .help(format!("set `{key}:` on each job instead")),
            );
        }
    }
    Ok(())
}

pub(super) fn check_hook_timeout(src: &Source, h: &Sp<HumanDuration>) -> Result<(), Diagnostic> {
    if h.value.0.is_zero() {
        return Err(Diagnostic::at(
            src,
            h.referenced,
            "a hook_timeout of 0 would stop every hook at once",
        )
        .help("give a duration like 30s or 5m (the default)"));
    }
    Ok(())
}

pub(super) fn check_name(src: &Source, name: &Sp<String>) -> Result<(), Diagnostic> {
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
    Err(Diagnostic::at(
        src,
        name.referenced,
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
pub(super) fn resolve_shell(
    src: &Source,
    shell: Option<&Sp<ShellWords>>,
    facts: &Facts<'_>,
) -> Result<Shell, Diagnostic> {
    let Some(shell) = shell else {
        return Ok(Shell::default());
    };
    let Some((name, args)) = shell.value.0.split_first() else {
        return Err(
            Diagnostic::at(src, shell.referenced, "`shell` is empty").help(
                "give a shell, e.g. `shell: bash -eo pipefail`, or remove `shell:` to use /bin/sh",
            ),
        );
    };
    if let Some(bad) = shell.value.0.iter().find(|w| w.contains('\0')) {
        return Err(Diagnostic::at(
            src,
            shell.referenced,
            format!(
                "`shell` word '{}' has a NUL character",
                bad.replace('\0', "\\0")
            ),
        )
        .help("remove the \\0"));
    }
    let found = if name.contains('/') {
        let p = facts.base_dir.join(name);
        is_executable(&p).then_some(p)
    } else {
        // Without PATH (`env -i`), where execvp would look: the system's default path.
        facts
            .path_var
            .unwrap_or("/usr/bin:/bin")
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(name))
            .find(|p| is_executable(p))
    };
    let program = found.ok_or_else(|| {
        Diagnostic::at(src, shell.referenced, format!("shell '{name}' was not found or is not executable"))
            .help("give the path or name of an installed shell, with its options if any, e.g. `shell: bash -eo pipefail`, or remove `shell:` to use /bin/sh")
    })?;
    Ok(Shell {
        program,
        args: args.to_vec(),
    })
}

pub(super) fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
