//! Whether a job with `sources`/`status` is up to date: a pure function of what its
//! worker found ([`state::fingerprint`](crate::state::fingerprint)), which the worker calls before it would spawn the
//! job, as it calls `attempt::status` after.

use crate::outcome::fingerprint::{Fingerprint, Saved, Stale, Verdict};

/// What a worker found about a job, just before it would start.
pub(crate) struct Found<'a> {
    pub(crate) forced: bool,
    /// The fingerprint now (`None`: the job has no `sources`).
    pub(crate) now: Option<&'a Fingerprint>,
    /// A `sources` glob that matched nothing.
    pub(crate) empty_glob: Option<&'a str>,
    /// The saved one: none yet, or why it cannot be used.
    pub(crate) saved: Result<Option<&'a Saved>, String>,
    /// The first `generates` glob that matches no path.
    pub(crate) missing: Option<&'a str>,
    /// The first `status` command that did not exit 0, and how it ended; `None` when all
    /// did (or there are none). Only asked for when everything else holds.
    pub(crate) status_failed: Option<(String, String)>,
}

/// The verdict, in the order a user reads the reasons: forced, then what the saved
/// fingerprint says, then what is missing, then `status`.
pub(crate) fn verdict(f: Found<'_>) -> Verdict {
    if f.forced {
        return Verdict::Stale(Stale::Forced);
    }
    if let Some(glob) = f.empty_glob {
        return Verdict::Stale(Stale::NoSources(glob.to_owned()));
    }
    let mut since = None;
    if let Some(now) = f.now {
        let saved = match f.saved {
            Err(why) => return Verdict::Stale(Stale::Unreadable(why)),
            Ok(None) => return Verdict::Stale(Stale::NoFingerprint),
            Ok(Some(s)) => s,
        };
        if let Some(why) = difference(&saved.fingerprint, now) {
            return Verdict::Stale(why);
        }
        since = Some(saved.saved_at());
    }
    if let Some(glob) = f.missing {
        return Verdict::Stale(Stale::Missing(glob.to_owned()));
    }
    if let Some((command, ended)) = f.status_failed {
        return Verdict::Stale(Stale::Status { command, ended });
    }
    Verdict::UpToDate {
        sources: f.now.map_or(0, |n| n.sources.len()),
        since: since.unwrap_or(std::time::SystemTime::UNIX_EPOCH),
        by_status: f.now.is_none(),
    }
}

/// The first way `now` differs from `saved`, if it does.
pub(crate) fn difference(saved: &Fingerprint, now: &Fingerprint) -> Option<Stale> {
    if saved.run != now.run {
        return Some(Stale::RunChanged);
    }
    if saved.shell != now.shell {
        return Some(Stale::ShellChanged);
    }
    if saved.workdir != now.workdir {
        return Some(Stale::WorkdirChanged);
    }
    if saved.env != now.env {
        let mut vars: Vec<String> = (saved.env.iter())
            .filter(|(k, v)| now.env.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .chain(
                now.env
                    .keys()
                    .filter(|k| !saved.env.contains_key(*k))
                    .cloned(),
            )
            .collect();
        vars.sort();
        return Some(Stale::EnvChanged(vars));
    }
    if saved.matrix != now.matrix {
        return Some(Stale::MatrixChanged);
    }
    if saved.sources != now.sources {
        let changed = (now.sources.iter())
            .filter(|(p, h)| saved.sources.get(*p).is_some_and(|s| s != *h))
            .map(|(p, _)| p.clone())
            .collect();
        let added = (now.sources.keys())
            .filter(|p| !saved.sources.contains_key(*p))
            .cloned()
            .collect();
        let removed = (saved.sources.keys())
            .filter(|p| !now.sources.contains_key(*p))
            .cloned()
            .collect();
        return Some(Stale::Sources {
            changed,
            added,
            removed,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(sources: &[(&str, &str)]) -> Fingerprint {
        Fingerprint {
            run: "r".into(),
            sources: sources
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Fingerprint::default()
        }
    }

    fn saved(f: Fingerprint) -> Saved {
        Saved {
            prun_state: 1,
            job: "j".into(),
            saved: 0.0,
            fingerprint: f,
            outputs: Vec::new(),
        }
    }

    fn found<'a>(now: &'a Fingerprint, s: Option<&'a Saved>) -> Found<'a> {
        Found {
            forced: false,
            now: Some(now),
            empty_glob: None,
            saved: Ok(s),
            missing: None,
            status_failed: None,
        }
    }

    #[test]
    fn each_reason_in_its_order() {
        let a = fp(&[("a", "1"), ("b", "2")]);
        let s = saved(a.clone());
        assert!(matches!(
            verdict(found(&a, Some(&s))),
            Verdict::UpToDate { sources: 2, .. }
        ));
        assert_eq!(
            verdict(found(&a, None)),
            Verdict::Stale(Stale::NoFingerprint)
        );
        assert_eq!(
            verdict(Found {
                forced: true,
                ..found(&a, Some(&s))
            }),
            Verdict::Stale(Stale::Forced)
        );
        assert_eq!(
            verdict(Found {
                missing: Some("target/app"),
                ..found(&a, Some(&s))
            })
            .words(),
            "target/app missing"
        );
        let b = fp(&[("a", "9"), ("c", "3")]);
        assert_eq!(
            verdict(found(&b, Some(&s))).words(),
            "a changed, c added, b removed"
        );
        let mut e = a.clone();
        e.env.insert("TOKEN".into(), "h".into());
        assert_eq!(verdict(found(&e, Some(&s))).words(), "env TOKEN changed");
        let mut r = a.clone();
        r.run = "other".into();
        assert_eq!(verdict(found(&r, Some(&s))).words(), "run text changed");
        let st = Found {
            status_failed: Some(("test -f x".into(), "ended with exit 1".into())),
            ..found(&a, Some(&s))
        };
        assert_eq!(verdict(st).words(), "status `test -f x` ended with exit 1");
    }

    #[test]
    fn many_changes_are_counted() {
        let s = saved(fp(&[("a", "1"), ("b", "1"), ("c", "1")]));
        let now = fp(&[("a", "2"), ("b", "2"), ("c", "2")]);
        assert_eq!(
            verdict(found(&now, Some(&s))).words(),
            "3 sources changed (a and 2 more)"
        );
    }
}
