//! `matrix:` expansion: a map of lists becomes one job per combination, named
//! `name[key=value,...]`, with each value passed as an environment variable `key` —
//! never pasted into the command text, so values need no quoting. In the name a value is
//! shown escaped (`names::escape_value`); the variable gets it exactly as written.

use crate::diagnostic::{Diagnostic, Source};
use crate::jobfile::{Matrix, Sp};

/// At most this many jobs from one matrix, to catch a runaway product.
const MAX_COMBINATIONS: usize = 10_000;

/// One combination: the name suffix (`[os=linux,v=1]`) and the variables.
pub(crate) struct Combination {
    pub(crate) suffix: String,
    pub(crate) env: Vec<(String, String)>,
}

/// Every combination of `m`, first key varying slowest; checks the matrix first.
pub(crate) fn expand(src: &Source, m: &Sp<Matrix>) -> Result<Vec<Combination>, Diagnostic> {
    let fail = |msg: String, help: &str| Err(Diagnostic::at(src, m.referenced, msg).help(help));
    if m.value.0.is_empty() {
        return fail(
            "`matrix` is empty".into(),
            "give at least one key with a list of values, or remove `matrix:`",
        );
    }
    let mut total: usize = 1;
    for (key, values) in &m.value.0 {
        let valid = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return fail(
                format!("matrix key '{key}' cannot be an environment variable name"),
                "use letters, digits and '_', not starting with a digit, e.g. `os` or `PY_VERSION`",
            );
        }
        if values.is_empty() {
            return fail(
                format!("matrix key '{key}' has no values"),
                "list at least one value, e.g. `os: [linux]`",
            );
        }
        for (i, v) in values.iter().enumerate() {
            if values[..i].iter().any(|w| w.0 == v.0) {
                return fail(
                    format!("matrix key '{key}' lists '{}' twice", v.0),
                    "remove the repeated value",
                );
            }
        }
        total = total.saturating_mul(values.len());
    }
    if total > MAX_COMBINATIONS {
        return fail(
            format!("this matrix makes {total} jobs, more than prun's limit of {MAX_COMBINATIONS}"),
            "split it into several jobs or fewer values",
        );
    }
    let mut combos = vec![Vec::<(String, String)>::new()];
    for (key, values) in &m.value.0 {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((key.clone(), v.0.clone()));
                    c
                })
            })
            .collect();
    }
    let combos: Vec<Combination> = combos
        .into_iter()
        .map(|env| Combination {
            suffix: format!(
                "[{}]",
                env.iter()
                    .map(|(k, v)| format!("{k}={}", crate::names::escape_value(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            env,
        })
        .collect();
    // Values holding `,` and `=` could spell the same name twice.
    let mut seen = std::collections::HashSet::with_capacity(combos.len());
    for c in &combos {
        if !seen.insert(c.suffix.as_str()) {
            return fail(
                format!("this matrix makes two jobs named '{}'", c.suffix),
                "values containing ',' and '=' can read as other keys; change them",
            );
        }
    }
    Ok(combos)
}
