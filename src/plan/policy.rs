//! A job's failure policy as the plan has it: `if:`, a condition prun runs just before
//! the job would start, and `allow_failure:`, the failures that do not fail the run.
//! Validated here; what a condition's end means, and whether a failure is allowed, are
//! the core's decisions ([`schedule::attempt::condition`](crate::schedule::attempt::condition), [`schedule::attempt::allowed`](crate::schedule::attempt::allowed)).

use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::{AllowFailure, JobKeys};

/// Which failures of a job are allowed (`allow_failure:`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Allow {
    /// None: a failure fails the run (`allow_failure: false`, or no key).
    #[default]
    Nothing,
    /// Any failure of its own: an exit code, a signal, a timeout (`true`). Never an
    /// interruption (prun was told to stop).
    Any,
    /// Only these exit codes of a command that exited (never a timeout or a signal).
    Codes(Box<[i32]>),
}

/// Job `name`'s `if:` (its own, or else the default's): the command, or `None`.
pub(crate) fn condition(
    src: &Source,
    keys: &JobKeys,
    defaults: &JobKeys,
    name: &str,
) -> Result<Option<String>, Diagnostic> {
    if is_service(keys) {
        if let Some(c) = &keys.condition {
            return Err(Diagnostic::at(src, c.referenced, format!("service '{name}' has `if:`"))
                .help("put `if:` on the jobs that need the service: the service starts only if one of them will run (an `if` default does not apply to services)"));
        }
        return Ok(None);
    }
    let Some(c) = keys.condition.as_ref().or(defaults.condition.as_ref()) else {
        return Ok(None);
    };
    if c.value.0.trim().is_empty() {
        return Err(Diagnostic::at(
            src,
            c.referenced,
            format!("job '{name}': `if:` has an empty command"),
        )
        .help("give a command that exits 0 when the job is to run, e.g. `if: test -d /mnt/nas`, or remove `if:`"));
    }
    Ok(Some(c.value.0.clone()))
}

/// Job `name`'s `allow_failure:` (its own, or else the default's).
pub(crate) fn allow(
    src: &Source,
    keys: &JobKeys,
    defaults: &JobKeys,
    name: &str,
) -> Result<Allow, Diagnostic> {
    if is_service(keys) {
        if let Some(a) = &keys.allow_failure {
            return Err(Diagnostic::at(src, a.referenced, format!("service '{name}' has `allow_failure:`"))
                .help("remove it: a service that fails always fails the jobs that need it (an `allow_failure` default does not apply to services)"));
        }
        return Ok(Allow::Nothing);
    }
    let Some(a) = keys
        .allow_failure
        .as_ref()
        .or(defaults.allow_failure.as_ref())
    else {
        return Ok(Allow::Nothing);
    };
    let codes = match &a.value {
        AllowFailure::All(true) => return Ok(Allow::Any),
        AllowFailure::All(false) => return Ok(Allow::Nothing),
        AllowFailure::Codes(c) => c,
    };
    let bad = |msg: String| {
        Diagnostic::at(src, a.referenced, format!("job '{name}': `allow_failure:` {msg}"))
            .help("give the exit codes it may fail with, e.g. `allow_failure: [1, 3]`, or `allow_failure: true` for any failure")
    };
    if codes.is_empty() {
        return Err(bad("is an empty list, which allows nothing".to_owned()));
    }
    let mut out = Vec::with_capacity(codes.len());
    for &c in codes {
        match c {
            0 => return Err(bad("lists 0, which is a success, not a failure".to_owned())),
            1..=255 => out.push(c as i32),
            _ => {
                return Err(bad(format!(
                    "lists {c}: an exit code is 1 to 255 (a signal is never allowed by a list)"
                )));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(Allow::Codes(out.into_boxed_slice()))
}

fn is_service(keys: &JobKeys) -> bool {
    keys.service.as_ref().is_some_and(|s| s.value)
}
