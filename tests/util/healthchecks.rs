//! A real Healthchecks server (healthchecks.io's own code, `../shared/healthchecks/hc`)
//! on loopback, started once for the whole test run and stopped when the test process
//! exits; tests create checks on it and read back what it recorded of prun's pings.
//! `PRUN_HC_DIR` names a server already up (started with `hc up DIR`) to use instead.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use serde_json::Value;

pub(crate) struct Healthchecks {
    dir: PathBuf,
    /// `http://127.0.0.1:PORT/ping/`
    pub(crate) ping_url: String,
    /// The project's ping key, for slug URLs: `<ping_url><ping_key>/<slug>`.
    pub(crate) ping_key: String,
}

/// The `hc` script, beside the repository.
fn hc() -> PathBuf {
    super::repo().join("../shared/healthchecks/hc")
}

/// The server's process group, stopped at exit when the tests started it.
static STARTED: AtomicI32 = AtomicI32::new(0);

extern "C" fn stop_server() {
    let pid = STARTED.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill has no memory preconditions; the group is the server's (setsid).
        unsafe { libc::kill(-pid, libc::SIGTERM) };
    }
}

/// The shared server, started on first use; `None` when it cannot be had here.
pub(crate) fn server() -> Option<&'static Healthchecks> {
    static SERVER: OnceLock<Option<Healthchecks>> = OnceLock::new();
    SERVER.get_or_init(start).as_ref()
}

fn start() -> Option<Healthchecks> {
    let (dir, up) = match std::env::var_os("PRUN_HC_DIR") {
        Some(d) => (PathBuf::from(d), None),
        None => {
            if !hc().is_file() {
                return None;
            }
            let dir = std::env::temp_dir().join(format!("prun-tests-hc-{}", std::process::id()));
            let out = Command::new("bash")
                .arg(hc())
                .arg("up")
                .arg(&dir)
                .output()
                .ok()?;
            if !out.status.success() {
                eprintln!("hc up failed: {}", String::from_utf8_lossy(&out.stderr));
                return None;
            }
            (dir, Some(out.stdout))
        }
    };
    let url = std::fs::read_to_string(dir.join("url")).ok()?;
    if up.is_some()
        && let Some(pid) = std::fs::read_to_string(dir.join("pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    {
        STARTED.store(pid, Ordering::SeqCst);
        // SAFETY: registers a function with no preconditions, run by exit().
        unsafe { libc::atexit(stop_server) };
    }
    Some(Healthchecks {
        dir,
        ping_url: format!("{}/ping/", url.trim()),
        ping_key: "prunpingkey0123456789a".into(),
    })
}

impl Healthchecks {
    fn hc(&self, args: &[&str]) -> Value {
        let out = Command::new("bash")
            .arg(hc())
            .args(args.iter().take(1))
            .arg(&self.dir)
            .args(args.iter().skip(1))
            .output()
            .expect("run hc");
        assert!(
            out.status.success(),
            "hc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("hc prints JSON")
    }

    /// What the server wrote to its log so far.
    pub(crate) fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Creates a check (slug `name`); its ping URL by UUID.
    pub(crate) fn check(&self, name: &str) -> String {
        let c = self.hc(&["check", name]);
        format!("{}{}", self.ping_url, c["uuid"].as_str().unwrap())
    }

    /// A slug ping URL: `<ping_url><ping_key>/<slug>`.
    pub(crate) fn slug_url(&self, slug: &str) -> String {
        format!("{}{}/{slug}", self.ping_url, self.ping_key)
    }

    /// What the server recorded of check `id` (uuid or slug): `{"status", "pings": [{kind,
    /// exit_status, rid, body, body_bytes}]}`, or `{"error": …}` when there is none.
    pub(crate) fn pings(&self, id: &str) -> Value {
        let out = Command::new("bash")
            .arg(hc())
            .arg("pings")
            .arg(&self.dir)
            .arg(id)
            .output()
            .expect("run hc");
        serde_json::from_slice(&out.stdout).expect("hc prints JSON")
    }
}
