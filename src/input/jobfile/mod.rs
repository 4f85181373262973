//! Reading the jobfile: its text into the raw form of `keys` (the YAML as written), by
//! the fast path for the jobs list of big generated jobfiles (`fast`) or by serde-saphyr,
//! with YAML and type errors made diagnostics that point at the culprit.

use serde_saphyr::Location;

use crate::input::diagnostic::{Diagnostic, Source};

mod fast;
mod keys;
#[cfg(test)]
mod rules;
#[cfg(test)]
mod schema;
mod values;

pub(crate) use keys::*;

/// Parses jobfile text. YAML and type errors become a `Diagnostic` pointing at the culprit.
pub(crate) fn parse(src: &Source) -> Result<Jobfile, Diagnostic> {
    let blank = src.text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    });
    if blank {
        return Err(Diagnostic::new(src, None, "the jobfile is empty").help(
            "a jobfile is a YAML mapping with a `jobs:` list, e.g.\n  jobs:\n    - echo hello",
        ));
    }
    // A generated jobfile's list is read by the fast path, the rest by serde-saphyr; if
    // the list is not in the fast path's subset, or anything else is wrong, all of it
    // goes through serde-saphyr, so errors are always its own (see `fast`).
    if let Some(jf) = fast::parse(&src.text) {
        return Ok(jf);
    }
    keys::from_yaml(&src.text, src.text.len()).map_err(|e| yaml_error(src, &e))
}

/// Turns a serde-saphyr error into a diagnostic with a fix.
fn yaml_error(src: &Source, err: &serde_saphyr::Error) -> Diagnostic {
    use serde_saphyr::MessageFormatter;
    let raw = serde_saphyr::UserMessageFormatter
        .format_message(err.without_snippet())
        .into_owned();
    let loc = err.location().filter(|l| *l != Location::UNKNOWN);
    let at = loc.map(|l| (l.line() as usize, l.column() as usize));
    crate::input::diagnostic::explain(src, at, &raw)
}
