//! A service job (`service: true`): how prun knows it is ready (`ready:`, a `Probe`
//! polled every `interval` for up to `timeout`) and how long it gets to stop
//! (`stop_grace`). Validated here from the job's keys; what follows from it at run time
//! is the core's ([`schedule::services`](crate::schedule::services)) and the runner's ([`runner::service`](crate::runner::service)).

use std::sync::Arc;
use std::time::Duration;

use crate::input::diagnostic::{Diagnostic, Pos, Source};
use crate::input::jobfile::{JobKeys, ReadyKeys, Sp};

/// How often a probe is tried, by default.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_millis(200);
/// How long a service has to become ready, by default.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a service has to stop after SIGTERM before SIGKILL, by default.
pub(crate) const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(5);

/// A job that runs beside the others, takes no slot, and is stopped once no job needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Service {
    /// Where `service:` is written (for errors about the service as a whole).
    pub(crate) at: Pos,
    /// How readiness is seen; `None`: ready once started.
    pub(crate) probe: Option<Probe>,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) stop_grace: Duration,
}

/// What makes a service ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    /// This command (run by the shell, in the service's env and workdir) exits 0.
    Exec(String),
    /// A GET of this `http://` URL answers 2xx or 3xx.
    Http(String),
    /// A TCP connection to `host:port` is accepted.
    Tcp(String),
    /// A line of the service's own output matches this regex (checked at plan time).
    Log(String),
}

impl Probe {
    /// The probe as `--dry-run` and the reasons show it: `tcp 127.0.0.1:5432`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Probe::Exec(cmd) => format!("exec `{cmd}`"),
            Probe::Http(url) => format!("http {url}"),
            Probe::Tcp(addr) => format!("tcp {addr}"),
            Probe::Log(re) => format!("log /{re}/"),
        }
    }
}

/// The `service:`, `ready:` and `stop_grace:` of job `name` (its own keys; `defaults`
/// may give `stop_grace`). `None` for a job that is not a service.
pub(crate) fn resolve(
    src: &Source,
    keys: &JobKeys,
    defaults: &JobKeys,
    name: &str,
) -> Result<Option<Arc<Service>>, Diagnostic> {
    let is_service = keys.service.as_ref().filter(|s| s.value);
    let Some(service) = is_service else {
        if let Some(r) = &keys.ready {
            return Err(at(
                src,
                r.referenced,
                format!("job '{name}' has `ready:` but is not a service"),
            )
            .help("add `service: true` to the job, or remove `ready:`"));
        }
        if let Some(g) = &keys.stop_grace {
            return Err(at(
                src,
                g.referenced,
                format!("job '{name}' has `stop_grace:` but is not a service"),
            )
            .help("add `service: true` to the job, or remove `stop_grace:`"));
        }
        return Ok(None);
    };
    if let Some(r) = &keys.retries {
        return Err(at(src, r.referenced, format!("service '{name}' has `retries:`: a service is not retried"))
            .help("remove `retries:`; a service that fails fails the jobs that need it (a `retries` default does not apply to services)"));
    }
    if let Some(u) = &keys.uses {
        return Err(at(src, u.referenced, format!("service '{name}' has `uses:`: a service holds no resource units"))
            .help("put `uses:` on the jobs that need the service (a `uses` default does not apply to services)"));
    }
    if let Some(m) = &keys.matrix {
        return Err(at(
            src,
            m.referenced,
            format!("service '{name}' has a `matrix:`"),
        )
        .help("write one service job per instance, each with its own name"));
    }
    let (probe, interval, timeout) = match &keys.ready {
        Some(r) => probe(src, r, name)?,
        None => (None, DEFAULT_INTERVAL, DEFAULT_TIMEOUT),
    };
    let stop_grace = keys.stop_grace.as_ref().or(defaults.stop_grace.as_ref());
    Ok(Some(Arc::new(Service {
        at: service.referenced,
        probe,
        interval,
        timeout,
        stop_grace: stop_grace.map_or(DEFAULT_STOP_GRACE, |g| g.value.0),
    })))
}

type Ready = (Option<Probe>, Duration, Duration);

/// The probe of `ready:`, checked: exactly one kind, each well formed.
fn probe(src: &Source, r: &Sp<ReadyKeys>, name: &str) -> Result<Ready, Diagnostic> {
    let ReadyKeys {
        exec,
        http,
        tcp,
        log,
        interval,
        timeout,
    } = &r.value;
    let kinds = [
        exec.as_ref().map(|e| ("exec", e.referenced)),
        http.as_ref().map(|h| ("http", h.referenced)),
        tcp.as_ref().map(|t| ("tcp", t.referenced)),
        log.as_ref().map(|l| ("log", l.referenced)),
    ];
    let mut given = kinds.iter().flatten();
    let Some(_) = given.next() else {
        return Err(at(src, r.referenced, format!("service '{name}': `ready:` has no probe"))
            .help("give one of `exec: CMD`, `http: URL`, `tcp: HOST:PORT` or `log: REGEX`, e.g. `ready: { tcp: \"127.0.0.1:5432\" }`"));
    };
    if let Some((kind, pos)) = given.next() {
        return Err(at(
            src,
            *pos,
            format!("service '{name}': `ready:` has a second probe, `{kind}`"),
        )
        .help("a service has one probe: keep one of exec, http, tcp and log"));
    }
    let probe = if let Some(e) = exec {
        let cmd = e.value.0.trim();
        if cmd.is_empty() || cmd.contains('\0') {
            return Err(at(src, e.referenced, format!("service '{name}': `exec:` must be a command"))
                .help("give a command that exits 0 once the service is ready, e.g. `exec: pg_isready -h 127.0.0.1`"));
        }
        Probe::Exec(e.value.0.clone())
    } else if let Some(h) = http {
        check_url(src, h, name)?;
        Probe::Http(h.value.trim().to_owned())
    } else if let Some(t) = tcp {
        check_address(src, t, name)?;
        Probe::Tcp(t.value.trim().to_owned())
    } else if let Some(l) = log {
        if let Err(e) = regex::Regex::new(&l.value) {
            let first = e.to_string();
            let why = first.lines().last().unwrap_or("invalid").trim().to_owned();
            return Err(at(src, l.referenced, format!("service '{name}': `log:` is not a valid regex: {why}"))
                .help("write a regex (Rust regex syntax) that one line of the service's output matches, e.g. `log: \"listening on port \\\\d+\"`"));
        }
        Probe::Log(l.value.clone())
    } else {
        unreachable!("one kind was given")
    };
    let positive = |d: &Option<Sp<crate::input::jobfile::HumanDuration>>, key, default| match d {
        Some(d) if d.value.0.is_zero() => Err(at(
            src,
            d.referenced,
            format!("service '{name}': `{key}: 0` in `ready:`"),
        )
        .help(format!(
            "give a duration like {}, or leave it out",
            humantime::format_duration(default)
        ))),
        Some(d) => Ok(d.value.0),
        None => Ok(default),
    };
    let interval = positive(interval, "interval", DEFAULT_INTERVAL)?;
    let timeout = positive(timeout, "timeout", DEFAULT_TIMEOUT)?;
    Ok((Some(probe), interval, timeout))
}

/// An `http://` URL with a host (and a port, if any, that is a number).
fn check_url(src: &Source, h: &Sp<String>, name: &str) -> Result<(), Diagnostic> {
    let url = h.value.trim();
    let bad = |why: String| {
        Err(at(
            src,
            h.referenced,
            format!("service '{name}': bad `http:` URL '{url}': {why}"),
        )
        .help("give an http URL such as `http://127.0.0.1:8080/health`"))
    };
    if url.starts_with("https://") {
        return Err(at(src, h.referenced, format!("service '{name}': https probes are not supported yet"))
            .help("probe the service over plain http on loopback, or use `tcp:` or `exec:` (e.g. `exec: curl -fsS https://…`)"));
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return bad("it must start with http://".into());
    };
    match url.parse::<ureq::http::Uri>() {
        Err(e) => bad(e.to_string()),
        Ok(u) if u.host().is_none_or(str::is_empty) => bad("it has no host".into()),
        Ok(_) if rest.starts_with('/') || rest.is_empty() => bad("it has no host".into()),
        Ok(_) => Ok(()),
    }
}

/// `host:port`, the port a number from 1 to 65535.
fn check_address(src: &Source, t: &Sp<String>, name: &str) -> Result<(), Diagnostic> {
    let addr = t.value.trim();
    let ok = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if ok {
        return Ok(());
    }
    Err(at(src, t.referenced, format!("service '{name}': bad `tcp:` address '{addr}'"))
        .help("give HOST:PORT, the port a number from 1 to 65535, e.g. `tcp: \"127.0.0.1:5432\"` or `tcp: \"[::1]:8080\"`"))
}

fn at(src: &Source, pos: Pos, msg: String) -> Diagnostic {
    Diagnostic::at(src, pos, msg)
}
