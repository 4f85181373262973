//! `monitor:`: where prun pings at the start and the end of a run (healthchecks.io, or
//! the URLs of Cronitor, Uptime Kuma, any webhook), validated here. Sending the pings is
//! [`report::monitor`](crate::report::monitor).

use std::time::Duration;

use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::{MonitorKeys, Sp};

/// Default for `monitor.timeout`: the most one ping may take, its tries included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// What a body is cut to when neither `monitor.body_limit` nor the server's
/// `Ping-Body-Limit` answer says otherwise: what hosted healthchecks.io keeps.
pub(crate) const DEFAULT_BODY_LIMIT: usize = 100_000;

/// Where and how to ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Monitor {
    pub(crate) urls: Urls,
    pub(crate) timeout: Duration,
    /// `monitor.body_limit`, when given: the most a body may be, whatever the server
    /// says it keeps.
    pub(crate) body_limit: Option<usize>,
}

/// Which URLs are pinged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Urls {
    /// healthchecks.io's protocol: `<path>/start`, then `<path>/<exit code>`, the query
    /// (`?create=1`) kept on each and `rid=<uuid>` added to pair them.
    Healthchecks(Healthchecks),
    /// URLs of one's own, pinged as given (Cronitor, Uptime Kuma, a webhook).
    Given {
        start: Option<String>,
        success: Option<String>,
        failure: Option<String>,
    },
}

/// A Healthchecks check's ping URL, split where a path can be added to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Healthchecks {
    /// Scheme, host and path, without a trailing `/`: `https://hc-ping.com/KEY/backup-db`.
    path: String,
    /// What came after `?` (`create=1`), or "".
    query: String,
}

impl Healthchecks {
    /// The check's URL with `/suffix` added to its path (`start`, `0`, `1`, …), its query
    /// kept and `rid` added.
    pub(crate) fn url(&self, suffix: &str, rid: &str) -> String {
        let sep = if self.query.is_empty() { "" } else { "&" };
        format!("{}/{suffix}?{}{sep}rid={rid}", self.path, self.query)
    }
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
    let urls = match &k.healthchecks {
        Some(hc) => {
            if let Some(other) = [&k.start, &k.success, &k.failure]
                .into_iter()
                .flatten()
                .next()
            {
                return Err(Diagnostic::at(src, other.referenced, "`monitor:` has both `healthchecks:` and its own URLs")
                    .help("give `healthchecks: URL` (prun pings URL/start, then URL/<exit code>), or `start:`, `success:` and `failure:` URLs, not both"));
            }
            Urls::Healthchecks(healthchecks(src, hc)?)
        }
        None => Urls::Given {
            start: url(&k.start)?,
            success: url(&k.success)?,
            failure: url(&k.failure)?,
        },
    };
    if let Urls::Given {
        start: None,
        success: None,
        failure: None,
    } = urls
    {
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
    let body_limit = (k.body_limit.as_ref())
        .map(|b| {
            size(&b.value.0).ok_or_else(|| {
                Diagnostic::at(
                    src,
                    b.referenced,
                    format!("`monitor.body_limit` '{}' is not a size", b.value.0),
                )
                .help("give bytes (`10000`) or a size with a unit: `10KB`, `100KB`, `64KiB`, `1MB`")
            })
        })
        .transpose()?;
    Ok((!no_monitor).then_some(Monitor {
        urls,
        timeout,
        body_limit,
    }))
}

/// `healthchecks:`: a check's ping URL (by UUID, or `<ping key>/<slug>` with an optional
/// `?create=1`), to which prun adds `/start` and `/<exit code>`.
fn healthchecks(src: &Source, u: &Sp<String>) -> Result<Healthchecks, Diagnostic> {
    let url = check_url(src, u)?;
    let refuse = |why: String, fix: &str| {
        Err(Diagnostic::at(
            src,
            u.referenced,
            format!("`monitor.healthchecks` URL '{url}' {why}"),
        )
        .help(fix))
    };
    if url.contains('#') {
        return refuse(
            "has a fragment (`#…`), which is never sent, so prun could not add /start or the exit code after it".into(),
            "give the check's ping URL without `#…`",
        );
    }
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let path = path.trim_end_matches('/');
    let after_host = path.split_once("://").map_or("", |(_, r)| r);
    if !after_host.contains('/') {
        return refuse(
            "names no check: prun pings its path with /start and /<exit code> added".into(),
            "give the check's ping URL, `https://hc-ping.com/<uuid>` or `https://hc-ping.com/<ping key>/<slug>`",
        );
    }
    let mut segments = path.rsplit('/');
    let (last, before) = (
        segments.next().unwrap_or_default(),
        segments.next().unwrap_or_default(),
    );
    // `<uuid>/0`…`<uuid>/255` is an exit code; after a ping key, digits may be a slug.
    let exit_code = is_uuid(before)
        && !last.is_empty()
        && last.len() <= 3
        && last.bytes().all(|b| b.is_ascii_digit());
    if matches!(last, "start" | "fail" | "log") || exit_code {
        return refuse(
            format!(
                "already ends in `/{last}`: prun adds /start at the start and /<exit code> at the end itself"
            ),
            &format!("give the check's own URL, without `/{last}`"),
        );
    }
    if query
        .split('&')
        .any(|kv| kv == "rid" || kv.starts_with("rid="))
    {
        return refuse(
            "has its own `rid`: prun adds one per run, to pair its start and end pings".into(),
            "leave `rid` out of the URL",
        );
    }
    Ok(Healthchecks {
        path: path.to_owned(),
        query: query.to_owned(),
    })
}

/// `0d2f…-…`: a check's UUID as Healthchecks writes it.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
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
    use super::{Healthchecks, size};

    #[test]
    fn a_healthchecks_url_gets_its_suffix_in_the_path_and_keeps_its_query() {
        let hc = |path: &str, query: &str| Healthchecks {
            path: path.into(),
            query: query.into(),
        };
        let slug = hc("https://hc-ping.com/KEY/backup-db", "create=1");
        assert_eq!(
            slug.url("start", "R"),
            "https://hc-ping.com/KEY/backup-db/start?create=1&rid=R"
        );
        assert_eq!(
            slug.url("1", "R"),
            "https://hc-ping.com/KEY/backup-db/1?create=1&rid=R"
        );
        assert_eq!(
            hc("http://h/ping/u", "").url("0", "R"),
            "http://h/ping/u/0?rid=R"
        );
    }

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
