//! `resources:` and `uses:` (docs/jobs-together.md, `Lock`): named counting semaphores and the
//! units each job takes from them, checked against each other.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::{Sp, Uses};

/// The most units one resource may have: every unit a job holds is named in one
/// variable, and Linux refuses a variable over 128 KiB (10,000 units: 49 KB).
pub(crate) const MAX_CAPACITY: i64 = 10_000;

/// One resource: its name, its variable (`PRUN_RESOURCE_<name>`) and how many units it
/// has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resource {
    pub(crate) name: Arc<str>,
    pub(crate) capacity: u32,
}

impl Resource {
    pub(crate) fn new(name: &str, capacity: u32) -> Self {
        Resource {
            name: name.into(),
            capacity,
        }
    }
}

/// A job's claim: (index into the plan's resources, units), by resource index.
pub(crate) type Claim = Vec<(usize, u32)>;

/// The resources declared at the top level, in name order.
pub(super) fn declared(
    src: &Source,
    written: Option<&Sp<BTreeMap<String, Sp<i64>>>>,
) -> Result<Vec<Resource>, Diagnostic> {
    let Some(written) = written else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(written.value.len());
    for (name, cap) in &written.value {
        if !crate::names::is_variable_name(name) {
            return Err(Diagnostic::at(
                src,
                written.referenced,
                format!("resource name '{name}' cannot be part of a variable name"),
            )
            .help(
                "a resource is named in PRUN_RESOURCE_<name>: use letters, digits and _, not starting with a digit",
            ));
        }
        if cap.value < 1 {
            return Err(Diagnostic::at(
                src,
                cap.referenced,
                format!(
                    "resource '{name}' has capacity {}: no job could ever use it",
                    cap.value
                ),
            )
            .help(format!("give '{name}' at least 1 unit, e.g. `{name}: 1`")));
        }
        if cap.value > MAX_CAPACITY {
            return Err(Diagnostic::at(
                src,
                cap.referenced,
                format!(
                    "resource '{name}' has capacity {}, more than prun's limit of {MAX_CAPACITY}",
                    cap.value
                ),
            )
            .help("count in bigger units"));
        }
        out.push(Resource::new(name, cap.value as u32));
    }
    Ok(out)
}

/// A job's `uses:` (or its default's) checked against `resources`: every name declared,
/// every count at least 1 and at most the capacity; a name given twice is refused.
pub(super) fn claim(
    src: &Source,
    job: &str,
    uses: &Sp<Uses>,
    resources: &[Resource],
) -> Result<Claim, Diagnostic> {
    let at = uses.referenced;
    let mut claim: Claim = Vec::with_capacity(uses.value.0.len());
    for (name, units) in &uses.value.0 {
        let Some(i) = resources.iter().position(|r| &*r.name == name) else {
            let help = if resources.is_empty() {
                format!("declare it at the top level, e.g. `resources: {{{name}: 1}}`")
            } else {
                let names: Vec<&str> = resources.iter().map(|r| &*r.name).collect();
                format!(
                    "the resources are: {}; or declare '{name}' under `resources:`",
                    names.join(", ")
                )
            };
            return Err(Diagnostic::at(
                src,
                at,
                format!("job '{job}' uses '{name}', which is not a resource"),
            )
            .help(help));
        };
        let cap = resources[i].capacity;
        if *units < 1 {
            return Err(Diagnostic::at(
                src,
                at,
                format!("job '{job}' asks for {units} units of '{name}'"),
            )
            .help("ask for at least 1 unit, or leave the resource out of `uses:`"));
        }
        if *units > i64::from(cap) {
            return Err(Diagnostic::at(
                src,
                at,
                format!(
                    "job '{job}' asks for {units} units of '{name}', which has {cap}: it could never start"
                ),
            )
            .help(format!(
                "ask for at most {cap}, or raise the capacity under `resources:`"
            )));
        }
        if claim.iter().any(|&(j, _)| j == i) {
            return Err(Diagnostic::at(
                src,
                at,
                format!("job '{job}' names '{name}' twice in `uses:`"),
            )
            .help(format!(
                "write it once, with the units it needs: `{{{name}: 2}}`"
            )));
        }
        claim.push((i, *units as u32));
    }
    claim.sort_unstable();
    Ok(claim)
}

/// `units` grouped by resource: (resource index, its units).
pub(crate) fn by_resource(units: &[(u32, u32)]) -> impl Iterator<Item = (usize, &[(u32, u32)])> {
    units
        .chunk_by(|a, b| a.0 == b.0)
        .map(|c| (c[0].0 as usize, c))
}

/// Units as text: `0,1`.
pub(crate) fn list(units: &[(u32, u32)]) -> String {
    let mut s = String::with_capacity(units.len() * 3);
    for (i, &(_, u)) in units.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_number(&mut s, u);
    }
    s
}

/// `n` in decimal, without going through `fmt` (once per job that holds units).
fn push_number(s: &mut String, n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.extend(digits[i..].iter().map(|&d| char::from(d)));
}

/// Units held, for people: `nas:0 gpu:0,1`.
pub(crate) fn describe(resources: &[Resource], units: &[(u32, u32)]) -> String {
    let parts: Vec<String> = by_resource(units)
        .map(|(r, us)| format!("{}:{}", resources[r].name, list(us)))
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_grouped_and_written_plainly() {
        let rs = [Resource::new("gpu", 3), Resource::new("nas", 12)];
        let units = [(0, 0), (0, 2), (1, 10)];
        assert_eq!(describe(&rs, &units), "gpu:0,2 nas:10");
        assert_eq!(list(&[(0, 4_000_000_000)]), "4000000000");
    }
}
