//! The throttles for a busy machine, settled from the command line over the jobfile:
//! `--memfree` / `memfree:` (start a job only while MemAvailable is at least this),
//! `--load` / `max_load:` (only while the 1-minute load average is below this), and
//! `--throttle-warn` / `throttle_warn:` (how long they may hold jobs back before prun
//! says so). `--delay` is the plan's `delay`. The core decides with them
//! ([`schedule::throttle`](crate::schedule::throttle)).

use std::time::Duration;

use crate::input::cli::Cli;
use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::Jobfile;

/// How long the throttles hold jobs back before prun says so, by default.
const WARN_AFTER: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Throttle {
    /// Bytes of MemAvailable a job needs to start.
    pub(crate) memfree: Option<u64>,
    /// The 1-minute load average must be below this for a job to start.
    pub(crate) max_load: Option<f64>,
    pub(crate) warn_after: Duration,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            memfree: None,
            max_load: None,
            warn_after: WARN_AFTER,
        }
    }
}

impl Throttle {
    /// Whether either throttle is on (then the machine is looked at).
    pub(crate) fn any(&self) -> bool {
        self.memfree.is_some() || self.max_load.is_some()
    }
}

/// The throttles `cli` and `jf` ask for.
pub(crate) fn resolve(src: &Source, cli: &Cli, jf: &Jobfile) -> Result<Throttle, Diagnostic> {
    let memfree = match (cli.memfree, &jf.memfree) {
        (Some(b), _) => Some(b),
        (None, None) => None,
        (None, Some(m)) => Some(
            crate::sizes::parse(&m.value.0)
                .map_err(|why| Diagnostic::at(src, m.referenced, format!("memfree: {why}")))?,
        ),
    };
    let max_load = match (cli.load, &jf.max_load) {
        (Some(n), _) => Some(n),
        (None, None) => None,
        (None, Some(l)) => match l.value.0.trim().parse::<f64>() {
            Ok(n) if n > 0.0 && n.is_finite() => Some(n),
            _ => {
                return Err(Diagnostic::at(
                    src,
                    l.referenced,
                    format!("invalid max_load '{}'", l.value.0),
                )
                .help("a 1-minute load average above 0, e.g. `max_load: 2` or `max_load: 1.5`"));
            }
        },
    };
    let warn_after = cli
        .throttle_warn
        .or(jf.throttle_warn.as_ref().map(|d| d.value.0))
        .unwrap_or(WARN_AFTER);
    Ok(Throttle {
        memfree,
        max_load,
        warn_after,
    })
}
