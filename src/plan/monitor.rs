//! `monitor:`: where prun pings at the start and the end of a run (healthchecks.io, or
//! the URLs of Cronitor, Uptime Kuma, any webhook), validated here. Sending the pings is
//! `report::monitor`.

use std::time::Duration;

use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::{MonitorKeys, Sp};

/// Default for `monitor.timeout`: the most one ping may take, its tries included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for `monitor.body_limit`: what healthchecks.io keeps of a body.
const DEFAULT_BODY_LIMIT: usize = 10_000;

/// Where and how to ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Monitor {
    pub(crate) start: Option<String>,
    pub(crate) success: Option<String>,
    pub(crate) failure: Option<String>,
    /// healthchecks.io: `?rid=<uuid>` pairs the start and end pings.
    pub(crate) run_id_param: bool,
    pub(crate) timeout: Duration,
    pub(crate) body_limit: usize,
}

/// The jobfile's `monitor:`, or `None` (also with `--no-monitor`).
pub(crate) fn resolve(
    src: &Source,
    keys: Option<&Sp<MonitorKeys>>,
    no_monitor: bool,
) -> Result<Option<Monitor>, Diagnostic> {
    let Some(k) = keys else {
        return Ok(None);
    };
    let at = k.referenced;
    let k = &k.value;
    let url = |u: &Option<Sp<String>>| -> Result<Option<String>, Diagnostic> {
        u.as_ref().map(|u| check_url(src, u)).transpose()
    };
    let (start, success, failure, run_id_param) = match &k.healthchecks {
        Some(hc) => {
            if let Some(other) = [&k.start, &k.success, &k.failure]
                .into_iter()
                .flatten()
                .next()
            {
                return Err(Diagnostic::at(src, other.referenced, "`monitor:` has both `healthchecks:` and its own URLs")
                    .help("give `healthchecks: URL` (prun pings URL/start, URL and URL/fail), or `start:`, `success:` and `failure:` URLs, not both"));
            }
            let base = check_url(src, hc)?;
            let base = base.trim_end_matches('/').to_owned();
            (
                Some(format!("{base}/start")),
                Some(base.clone()),
                Some(format!("{base}/fail")),
                true,
            )
        }
        None => (url(&k.start)?, url(&k.success)?, url(&k.failure)?, false),
    };
    if start.is_none() && success.is_none() && failure.is_none() {
        return Err(Diagnostic::at(src, at, "`monitor:` names no URL to ping")
            .help("give `healthchecks: https://hc-ping.com/UUID`, or any of `start:`, `success:`, `failure:`"));
    }
    let timeout = k.timeout.as_ref().map_or(DEFAULT_TIMEOUT, |t| t.value.0);
    if timeout.is_zero() {
        let pos = k.timeout.as_ref().map_or(at, |t| t.referenced);
        return Err(Diagnostic::at(
            src,
            pos,
            "`monitor.timeout` of 0 would give up every ping at once",
        )
        .help(
            "give a duration like 10s (the default), the most one ping may take with its tries",
        ));
    }
    let body_limit = match &k.body_limit {
        Some(b) => size(&b.value.0).ok_or_else(|| {
            Diagnostic::at(
                src,
                b.referenced,
                format!("`monitor.body_limit` '{}' is not a size", b.value.0),
            )
            .help("give bytes (`10000`) or a size with a unit: `10KB`, `100KB`, `64KiB`, `1MB`")
        })?,
        None => DEFAULT_BODY_LIMIT,
    };
    Ok((!no_monitor).then_some(Monitor {
        start,
        success,
        failure,
        run_id_param,
        timeout,
        body_limit,
    }))
}

/// An http or https URL with a host.
fn check_url(src: &Source, u: &Sp<String>) -> Result<String, Diagnostic> {
    let url = u.value.trim();
    let bad = |why: &str| {
        Diagnostic::at(src, u.referenced, format!("`monitor:` URL '{url}' {why}"))
            .help("give an http or https URL, e.g. `https://hc-ping.com/UUID`")
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    match url.parse::<ureq::http::Uri>() {
        Err(e) => Err(bad(&format!("is not a URL ({e})"))),
        Ok(p) if p.host().is_none_or(str::is_empty) || rest.starts_with('/') => {
            Err(bad("has no host"))
        }
        Ok(_) => Ok(url.to_owned()),
    }
}

/// `10000`, `10KB`, `10 kB`, `64KiB`, `1MB`, `1MiB`: bytes.
fn size(text: &str) -> Option<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" => 1024,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        _ => return None,
    };
    n.checked_mul(mult).filter(|&b| b > 0)
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_in_bytes_and_units() {
        assert_eq!(size("10000"), Some(10_000));
        assert_eq!(size("10KB"), Some(10_000));
        assert_eq!(size("100 kB"), Some(100_000));
        assert_eq!(size("64KiB"), Some(65_536));
        assert_eq!(size("1MB"), Some(1_000_000));
        assert_eq!(size("0"), None);
        assert_eq!(size("ten"), None);
        assert_eq!(size("10 GB"), None);
    }
}
