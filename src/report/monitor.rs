//! Monitor pings (`monitor:`), sent by prun itself over HTTP or HTTPS (ureq, rustls with
//! the system's CA certificates): a POST at the start of the run, and one at the end with
//! the run's summary as the body (`ping_body`). For Healthchecks the end ping is
//! `<check>/<prun's exit code>`, which Healthchecks records as the run's exit status; for
//! URLs of one's own it is the success or the failure URL. Each ping makes up to three
//! tries, 0.5 s and 1 s apart, all within the monitor's `timeout` (an answer that is not
//! 2xx and says the request itself was wrong, such as 404 for an unknown check, is not
//! tried again); one that fails is a warning printed even under `--quiet`, never a
//! change of the exit code. Every answer is read whole: Healthchecks says in its
//! `Ping-Body-Limit` header how much of a body it keeps, and the end body is shortened
//! to that. The start ping goes on a thread of its own while the first jobs start; the
//! end ping waits for it (so the monitor hears them in order): a dead monitor delays the
//! run's end by at most twice its `timeout`, and its start not at all.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::plan::monitor::{Monitor, Urls};

/// Which ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ping {
    Start,
    /// The end of a run that exited with this code.
    End(u8),
}

impl Ping {
    fn word(self) -> &'static str {
        match self {
            Ping::Start => "start",
            Ping::End(0) => "success",
            Ping::End(_) => "failure",
        }
    }
}

/// What one ping came to: a warning when it failed, and what the server said it keeps
/// of a body (`Ping-Body-Limit`).
#[derive(Debug, Default)]
struct Sent {
    warning: Option<String>,
    body_limit: Option<usize>,
}

/// The pings of one run, paired by one run id.
pub(crate) struct Pings {
    monitor: Monitor,
    rid: String,
    /// The start ping's thread answers here.
    start: Option<mpsc::Receiver<Sent>>,
}

impl Pings {
    pub(crate) fn new(monitor: Monitor) -> Self {
        Pings {
            monitor,
            rid: run_uuid(),
            start: None,
        }
    }

    /// Sends the start ping on a thread of its own (once prun may start threads).
    pub(crate) fn start(&mut self) {
        let (tx, rx) = mpsc::channel();
        let (m, rid) = (self.monitor.clone(), self.rid.clone());
        let sent = std::thread::Builder::new()
            .name("prun-monitor".into())
            .spawn(move || {
                let _ = tx.send(send(&m, Ping::Start, &rid, b""));
            });
        self.start = Some(match sent {
            Ok(_) => rx,
            Err(_) => {
                // No thread to be had: the ping is sent here and now instead.
                let (tx, rx) = mpsc::channel();
                let _ = tx.send(send(&self.monitor, Ping::Start, &self.rid, b""));
                rx
            }
        });
    }

    /// Waits for the start ping, then sends the end ping with the run's summary: the
    /// warnings of the pings that failed, and the signal that made prun give up waiting
    /// (`signalled` is asked every 50 ms: a server that never answers must not keep a
    /// SIGTERM from ending prun).
    pub(crate) fn end(
        &mut self,
        run: &crate::outcome::summary::RunSummary,
        signalled: &mut dyn FnMut() -> Option<i32>,
    ) -> (Vec<String>, Option<i32>) {
        let started = match self.start.take() {
            Some(rx) => match wait(&rx, signalled) {
                Ok(s) => s,
                Err(sig) => return (vec![given_up("start", sig)], Some(sig)),
            },
            None => Sent::default(),
        };
        let mut warnings: Vec<String> = started.warning.into_iter().collect();
        // The least of what the jobfile allows and what the server keeps.
        let server = (started.body_limit).unwrap_or(crate::plan::monitor::DEFAULT_BODY_LIMIT);
        let limit = (self.monitor.body_limit).map_or(server, |own| own.min(server));
        let body = super::ping_body::render(run, limit);
        let (tx, rx) = mpsc::channel();
        let (m, rid, code) = (self.monitor.clone(), self.rid.clone(), run.prun_exit());
        let spawned = std::thread::Builder::new()
            .name("prun-monitor".into())
            .spawn(move || {
                let _ = tx.send(send(&m, Ping::End(code), &rid, body.as_bytes()));
            });
        if spawned.is_err() {
            // No thread to be had: sent here, as before a signal could end the wait.
            let body = super::ping_body::render(run, limit);
            let ended = send(&self.monitor, Ping::End(code), &self.rid, body.as_bytes());
            warnings.extend(ended.warning);
            return (warnings, None);
        }
        match wait(&rx, signalled) {
            Ok(ended) => {
                warnings.extend(ended.warning);
                (warnings, None)
            }
            Err(sig) => {
                warnings.push(given_up("end", sig));
                (warnings, Some(sig))
            }
        }
    }
}

/// What a ping's thread answers, or the signal that came first.
fn wait(
    rx: &mpsc::Receiver<Sent>,
    signalled: &mut dyn FnMut() -> Option<i32>,
) -> Result<Sent, i32> {
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(sent) => return Ok(sent),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(Sent::default()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(sig) = signalled() {
                    return Err(sig);
                }
            }
        }
    }
}

/// The warning for a ping given up because of signal `sig`.
fn given_up(which: &str, sig: i32) -> String {
    format!(
        "monitor: the {which} ping was given up: {} arrived while it waited for the server",
        crate::executor::finished::signal_name(sig)
    )
}

/// A random (version 4) UUID, for healthchecks.io's `rid`.
fn run_uuid() -> String {
    let mut b = [0u8; 16];
    // SAFETY: `b` is a valid, writable buffer of `b.len()` bytes.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        // No entropy: the time and the pid still tell runs apart.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b = (t ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The URL of ping `which`, if the monitor has one.
fn url_of(m: &Monitor, which: Ping, rid: &str) -> Option<String> {
    match (&m.urls, which) {
        (Urls::Healthchecks(hc), Ping::Start) => Some(hc.url("start", rid)),
        (Urls::Healthchecks(hc), Ping::End(code)) => Some(hc.url(&code.to_string(), rid)),
        (Urls::Given { start, .. }, Ping::Start) => start.clone(),
        (Urls::Given { success, .. }, Ping::End(0)) => success.clone(),
        (Urls::Given { failure, .. }, Ping::End(_)) => failure.clone(),
    }
}

/// Why a try failed, and whether another may do better.
struct Failed {
    why: String,
    again: bool,
}

/// Sends ping `which` (if the monitor has a URL for it) with `body`.
fn send(m: &Monitor, which: Ping, rid: &str, body: &[u8]) -> Sent {
    let Some(url) = url_of(m, which, rid) else {
        return Sent::default();
    };
    let deadline = crate::times::after(Instant::now(), m.timeout);
    let mut last = String::new();
    let mut tries = 0;
    for delay in [
        Duration::ZERO,
        Duration::from_millis(500),
        Duration::from_secs(1),
    ] {
        if !delay.is_zero() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left <= delay {
                break;
            }
            std::thread::sleep(delay);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tries += 1;
        match post(&url, body, left) {
            Ok(body_limit) => {
                return Sent {
                    warning: None,
                    body_limit,
                };
            }
            Err(f) => {
                last = f.why;
                if !f.again {
                    break;
                }
            }
        }
    }
    Sent {
        warning: Some(format!(
            "monitor: the {} ping to {} failed ({tries} tr{}, within {}): {last}",
            which.word(),
            shown(&url),
            if tries == 1 { "y" } else { "ies" },
            humantime::format_duration(m.timeout)
        )),
        body_limit: None,
    }
}

/// Redirects followed, at most (a ping URL of one's own that forwards to hc-ping.com).
const MAX_REDIRECTS: usize = 5;

/// One POST of `body` to `url`, within `left`: on a 2xx answer, what the server said
/// it keeps of a body (`Ping-Body-Limit`). Redirects are followed here, not by ureq: 307
/// and 308 POST the body again (as runitor does), 301, 302 and 303 become a GET (as
/// browsers do); never from https down to http. Every answer is read to its end (at
/// most 64 KiB of it), so the server never writes to a closed connection.
fn post(url: &str, body: &[u8], left: Duration) -> Result<Option<usize>, Failed> {
    let fail = |why: String, again: bool| Failed { why, again };
    let roots = match system_roots() {
        Some(r) => r,
        None if url.starts_with("https://") => return Err(fail(NO_ROOTS.into(), false)),
        None => ureq::tls::RootCerts::new_with_certs(&[]),
    };
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(left))
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(roots)
                .unversioned_rustls_crypto_provider(std::sync::Arc::new(crypto()))
                .build(),
        )
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut url = url.to_owned();
    let mut get = false;
    for _ in 0..=MAX_REDIRECTS {
        let mut answer = if get {
            agent.get(&url).header("User-Agent", AGENT).call()
        } else {
            agent
                .post(&url)
                .header("Content-Type", "text/plain; charset=utf-8")
                .header("User-Agent", AGENT)
                .send(body)
        }
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => fail("no answer in time".to_owned(), true),
            ureq::Error::Io(io) => fail(io.to_string(), true),
            other => fail(other.to_string(), true),
        })?;
        let status = answer.status();
        let limit = (answer.headers().get("Ping-Body-Limit"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        let location = (answer.headers().get("Location"))
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let said = answer
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        if status.is_success() {
            return Ok(limit);
        }
        if !status.is_redirection() {
            // A request the server calls wrong (404: no such check) is as wrong the
            // next time; a server error, a timeout or too many requests may pass.
            let again = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
            return Err(fail(answered(status, &said), again));
        }
        let Some(to) = location else {
            return Err(fail(
                format!("it answered {status} without a Location"),
                false,
            ));
        };
        let next = join(&url, &to);
        if url.starts_with("https://") && !next.starts_with("https://") {
            return Err(fail(
                format!("it redirected ({status}) from https to {}", shown(&next)),
                false,
            ));
        }
        get |= !matches!(status.as_u16(), 307 | 308);
        url = next;
    }
    Err(fail(format!("more than {MAX_REDIRECTS} redirects"), false))
}

/// A failed answer in words: its status, what it said (one short line), and what a 404
/// from Healthchecks means.
fn answered(status: ureq::http::StatusCode, said: &[u8]) -> String {
    let text = String::from_utf8_lossy(said);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let line: String = crate::names::printable(&line).chars().take(120).collect();
    let mut words = format!("it answered {status}");
    if !line.is_empty() {
        words.push_str(&format!(" (\"{line}\")"));
    }
    if status.as_u16() == 404 {
        words.push_str(": the server has no such check; check the URL (a Healthchecks slug URL creates its check only with `?create=1`)");
    }
    words
}

const AGENT: &str = concat!("prun/", env!("CARGO_PKG_VERSION"));

/// A redirect's `Location` against the URL that answered it.
fn join(base: &str, to: &str) -> String {
    if to.starts_with("http://") || to.starts_with("https://") {
        return to.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net) = to.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    if to.starts_with('/') {
        return format!("{scheme}://{host}{to}");
    }
    let path = rest[host_end..].split('?').next().unwrap_or_default();
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{scheme}://{host}{dir}{to}")
}

/// rustls over ring. Deprecated since rustls 0.23.48 only because ring has no
/// post-quantum key exchange: the other provider, aws-lc-rs, needs cmake and minutes of C
/// to build, for a ping that carries a run's summary (with its secrets masked), not
/// data that must stay secret for decades.
#[allow(deprecated)]
fn crypto() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Why an https ping cannot be sent without CA certificates.
const NO_ROOTS: &str = "no CA certificates found to check the monitor's https certificate with: install the system's (ca-certificates) or set SSL_CERT_FILE to a PEM bundle";

/// The system's CA certificates (`SSL_CERT_FILE`, else Debian's, Red Hat's or Alpine's
/// bundle); `None` when none is there.
fn system_roots() -> Option<ureq::tls::RootCerts> {
    use std::sync::OnceLock;
    static ROOTS: OnceLock<Option<ureq::tls::RootCerts>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
            let known = [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem",
            ]
            .map(std::path::PathBuf::from);
            for path in env.into_iter().chain(known) {
                let Ok(pem) = std::fs::read(&path) else {
                    continue;
                };
                let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                if !certs.is_empty() {
                    return Some(ureq::tls::RootCerts::new_with_certs(&certs));
                }
            }
            None
        })
        .clone()
}

/// A URL as a warning shows it: scheme and host only (a ping URL's path is its secret).
fn shown(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    format!("{scheme}://{host}/…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_is_version_4_and_differs_each_time() {
        let (a, b) = (run_uuid(), run_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!("89ab".contains(&a[19..20]), "{a}");
    }

    #[test]
    fn a_location_is_joined_to_the_url_that_answered() {
        let at = "https://a.example:8443/ping/x?rid=1";
        assert_eq!(join(at, "https://b.example/y"), "https://b.example/y");
        assert_eq!(join(at, "//c.example/z"), "https://c.example/z");
        assert_eq!(join(at, "/top?q=1"), "https://a.example:8443/top?q=1");
        assert_eq!(join(at, "next"), "https://a.example:8443/ping/next");
        assert_eq!(join("http://h", "p"), "http://h/p");
    }

    #[test]
    fn a_warning_shows_only_the_host() {
        assert_eq!(
            shown("https://hc-ping.com/abc-123/start?rid=x"),
            "https://hc-ping.com/…"
        );
    }
}
