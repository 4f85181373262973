//! `${{ needs.JOB.outputs.KEY }}` in a job's `env` values: a value built from the outputs
//! of a job it needs, substituted when the job starts — as data, into the variable, never
//! into `run` or hook text. Checked before anything runs: the syntax, that JOB is one of
//! the job's `needs`, and that it is one job (not a matrix's base name, which would be
//! ambiguous).

use crate::input::diagnostic::{Diagnostic, Pos, Source};

/// A piece of a templated value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Text(String),
    /// The output `key` of the job `job` (its index once resolved).
    Output {
        name: String,
        key: String,
        job: usize,
    },
}

/// An `env` variable whose value uses outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) var: String,
    pub(crate) parts: Vec<Part>,
    /// Where its `env:` is, for errors.
    pub(crate) at: Pos,
}

impl Template {
    /// The value as written, for `--dry-run`.
    pub(crate) fn written(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Output { name, key, .. } => format!("${{{{ needs.{name}.outputs.{key} }}}}"),
            })
            .collect()
    }

    /// The value, with `output(job, key)` for each reference; `Err` names the first
    /// output that is missing.
    pub(crate) fn render<'a>(
        &self,
        output: impl Fn(usize, &str) -> Option<&'a str>,
    ) -> Result<String, (&str, &str)> {
        let mut value = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => value.push_str(t),
                Part::Output { name, key, job } => match output(*job, key) {
                    Some(v) => value.push_str(v),
                    None => return Err((name, key)),
                },
            }
        }
        Ok(value)
    }
}

/// The parts of `value`, or `None` when it uses no output (then it is plain text).
pub(crate) fn parse(value: &str) -> Result<Option<Vec<Part>>, String> {
    if !value.contains("${{") {
        return Ok(None);
    }
    let mut parts = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else {
            return Err("`${{` is not closed by `}}`".to_owned());
        };
        parts.push(reference(after[..end].trim())?);
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(Some(parts))
}

/// The first `${{ needs.… }}` written in `code` (a command, a hook): outputs are data,
/// never put into code, so such a reference is refused (the shell would say "Bad
/// substitution" at run time).
pub(crate) fn output_reference_in_code(code: &str) -> Option<&str> {
    let mut rest = code;
    while let Some(start) = rest.find("${{") {
        let after = &rest[start + 3..];
        let end = after.find("}}")?;
        if after[..end].trim().starts_with("needs.") {
            return Some(&rest[start..start + 3 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    None
}

/// `needs.JOB.outputs.KEY` (JOB may hold dots).
fn reference(expr: &str) -> Result<Part, String> {
    let bad = || {
        format!(
            "`${{{{ {expr} }}}}` is not a reference to an output: write `${{{{ needs.JOB.outputs.KEY }}}}`"
        )
    };
    let inner = expr.strip_prefix("needs.").ok_or_else(bad)?;
    let (name, key) = inner.rsplit_once(".outputs.").ok_or_else(bad)?;
    let key_ok = crate::names::is_variable_name(key);
    if name.is_empty() || !key_ok {
        return Err(bad());
    }
    Ok(Part::Output {
        name: name.to_owned(),
        key: key.to_owned(),
        job: usize::MAX,
    })
}

/// Resolves each reference of `t`, a template of job `job` named `jobname`, to the job it
/// names: one of `needs` (the job's resolved needs), not a matrix base.
pub(crate) fn resolve(
    src: &Source,
    t: &mut Template,
    jobname: &str,
    needs: &[usize],
    names: &[&str],
    bases: &[&str],
    dynamic: &[bool],
) -> Result<(), Diagnostic> {
    for p in &mut t.parts {
        let Part::Output { name, job, .. } = p else {
            continue;
        };
        let matches: Vec<usize> = needs
            .iter()
            .copied()
            .filter(|&d| names[d] == name.as_str() || bases[d] == name.as_str())
            .collect();
        let here = |msg: String| Diagnostic::at(src, t.at, msg);
        match matches[..] {
            [d] if names[d] == name.as_str() && !dynamic[d] => *job = d,
            [] => {
                return Err(here(format!(
                    "job '{jobname}': env {} uses outputs of '{name}', which it does not need",
                    t.var
                ))
                .help(format!("add '{name}' to its `needs:`")));
            }
            _ => {
                return Err(here(format!(
                    "job '{jobname}': env {}: '{name}' is a matrix, several jobs: whose outputs?",
                    t.var
                ))
                .help(
                    "name one of its jobs, e.g. `needs.build[os=linux].outputs.KEY`, and need it",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_in_text_and_their_syntax() {
        assert_eq!(parse("plain $HOME").unwrap(), None);
        let parts = parse("--dbs=${{ needs.list-dbs.outputs.dbs }}!")
            .unwrap()
            .unwrap();
        assert_eq!(parts.len(), 3);
        assert!(
            matches!(&parts[1], Part::Output { name, key, .. } if name == "list-dbs" && key == "dbs")
        );
        assert!(
            matches!(&parse("${{needs.a.b.outputs.k}}").unwrap().unwrap()[0],
            Part::Output { name, .. } if name == "a.b")
        );
        for bad in [
            "${{ needs.a.outputs }}",
            "${{ env.X }}",
            "${{ needs.a.outputs.1k }}",
            "${{ needs.a.outputs.k",
            "${{ }}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rendering_is_data_and_a_missing_output_is_named() {
        let t = Template {
            var: "V".into(),
            parts: parse("x=${{ needs.a.outputs.k }};").unwrap().unwrap(),
            at: Pos::UNKNOWN,
        };
        let mut t = t;
        if let Part::Output { job, .. } = &mut t.parts[1] {
            *job = 0;
        }
        assert_eq!(
            t.render(|_, _| Some("$(touch pwned)")).unwrap(),
            "x=$(touch pwned);"
        );
        assert_eq!(t.render(|_, _| None).unwrap_err(), ("a", "k"));
    }
}
