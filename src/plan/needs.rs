//! `needs:` as a graph: names resolved to job indices, unknown names and cycles refused
//! with the cycle spelt out (`a → b → a`), before anything runs.

use std::collections::HashMap;

use crate::input::diagnostic::{Diagnostic, Source, did_you_mean};
use crate::input::jobfile::Sp;

/// One job's `needs:` as written, with where each name is.
pub(crate) type RawNeeds = Vec<Sp<String>>;

/// Resolves every job's needs to indices; `names[i]` is job i's name and `bases[i]` the
/// name it was written with (a matrix job's expansions share it: needing the base name
/// needs every expansion).
pub(crate) fn resolve(
    src: &Source,
    names: &[&str],
    bases: &[&str],
    raw: &[Option<RawNeeds>],
) -> Result<Vec<Vec<usize>>, Diagnostic> {
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in names.iter().enumerate() {
        index.entry(n).or_default().push(i);
        if bases[i] != *n {
            index.entry(bases[i]).or_default().push(i);
        }
    }
    let mut needs = vec![Vec::new(); names.len()];
    for (job, list) in raw.iter().enumerate() {
        for need in list.iter().flatten() {
            let Some(deps) = index.get(need.value.as_str()) else {
                let mut msg = format!(
                    "job '{}' needs '{}', which is not a job here",
                    names[job], need.value
                );
                if let Some(best) = did_you_mean(&need.value, names) {
                    msg.push_str(&format!(" (did you mean '{best}'?)"));
                }
                return Err(
                    at(src, need, msg).help("`needs:` lists names of other jobs in this jobfile")
                );
            };
            for &dep in deps {
                if dep == job {
                    return Err(at(src, need, format!("job '{}' needs itself", names[job]))
                        .help("remove its own name from its `needs:`"));
                }
                if !needs[job].contains(&dep) {
                    needs[job].push(dep);
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(&needs) {
        let path: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
        let first = cycle[0];
        let second = cycle[1];
        let need = raw[first]
            .iter()
            .flatten()
            .find(|n| n.value == names[second] || n.value == bases[second])
            .expect("the cycle's edge comes from a written need");
        return Err(
            at(src, need, format!("dependency cycle: {}", path.join(" → ")))
                .help("jobs in a cycle could never start; remove one of these needs"),
        );
    }
    Ok(needs)
}

/// In sync mode jobs run in file order, one at a time, so a job can only need jobs above
/// it: a need on a later job could never be met. Refused before anything runs, at the
/// need that points down.
pub(crate) fn check_sync_order(
    src: &Source,
    names: &[&str],
    bases: &[&str],
    raw: &[Option<RawNeeds>],
    needs: &[Vec<usize>],
) -> Result<(), Diagnostic> {
    for (job, deps) in needs.iter().enumerate() {
        let Some(&later) = deps.iter().find(|&&d| d > job) else {
            continue;
        };
        let need = raw[job]
            .iter()
            .flatten()
            .find(|n| n.value == names[later] || n.value == bases[later])
            .expect("a resolved need comes from a written one");
        return Err(at(
            src,
            need,
            format!(
                "job '{}' needs '{}', which comes later in a sync jobfile",
                names[job], need.value
            ),
        )
        .help(format!(
            "in sync mode jobs run one at a time in file order: move '{}' above '{}', or use `mode: async`",
            need.value, bases[job]
        )));
    }
    Ok(())
}

/// A cycle as a path that starts and ends at the same job, if there is one.
fn find_cycle(needs: &[Vec<usize>]) -> Option<Vec<usize>> {
    // 0 = unvisited, 1 = on the current path, 2 = done. Iterative DFS: deep chains of
    // needs in big generated jobfiles must not overflow the stack.
    let mut state = vec![0u8; needs.len()];
    for root in 0..needs.len() {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = needs[node].get(*next) {
                *next += 1;
                match state[dep] {
                    0 => {
                        state[dep] = 1;
                        stack.push((dep, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(dep);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    None
}

fn at(src: &Source, s: &Sp<String>, msg: String) -> Diagnostic {
    Diagnostic::at(src, s.referenced, msg)
}

/// Every service is needed by a job (one no job needs would only be started and
/// stopped).
pub(crate) fn check_services_needed(
    src: &Source,
    jobs: &[crate::plan::job::JobSpec],
) -> Result<(), Diagnostic> {
    let mut needed = vec![false; jobs.len()];
    for j in jobs {
        for &n in j.needs.iter() {
            needed[n] = true;
        }
    }
    let unneeded = jobs
        .iter()
        .zip(&needed)
        .find(|(j, needed)| j.opts.service.is_some() && !**needed);
    let Some((j, _)) = unneeded else {
        return Ok(());
    };
    let at = j.opts.service.as_ref().map_or(Default::default(), |s| s.at);
    Err(Diagnostic::at(
        src,
        at,
        format!("service '{}' is needed by no job", j.name),
    )
    .help(format!(
        "add `needs: [{}]` to the jobs that use it, or remove `service: true` to run it as a job",
        j.name
    )))
}

#[cfg(test)]
mod tests {
    use super::find_cycle;

    #[test]
    fn finds_a_cycle_and_nothing_in_a_dag() {
        assert_eq!(find_cycle(&[vec![1], vec![2], vec![]]), None);
        assert_eq!(
            find_cycle(&[vec![1], vec![2], vec![0]]),
            Some(vec![0, 1, 2, 0])
        );
        assert_eq!(find_cycle(&[vec![], vec![2], vec![1]]), Some(vec![1, 2, 1]));
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let chain: Vec<Vec<usize>> = (0..200_000)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        assert_eq!(find_cycle(&chain), None);
    }
}
