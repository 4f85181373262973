//! A real HTTP server on loopback that records what it is sent: python3's http.server on
//! a port the kernel picks, one JSON line per request (method, path, body) in a log the
//! test reads back. Some paths answer otherwise, to test what prun does with them:
//! `/hang…` never answers, `/error…` answers 500, `/redirect/P` answers 307 and
//! `/seeother/P` 303, both to `/landed/P`. With `tls`, it serves https with a
//! certificate for 127.0.0.1 signed by a CA made for the test (`ca.pem`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SERVER: &str = r#"
import http.server, json, os, ssl, sys, time
log, portfile, tls = sys.argv[1], sys.argv[2], sys.argv[3] == "tls"
class H(http.server.BaseHTTPRequestHandler):
    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "body": body,
                                "agent": self.headers.get("User-Agent", "")}) + "\n")
        if self.path.startswith("/hang"):
            time.sleep(3600)
        if self.path.startswith("/error"):
            self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers(); return
        if self.path.startswith("/redirect") or self.path.startswith("/seeother"):
            self.send_response(307 if self.path.startswith("/redirect") else 303)
            self.send_header("Location", "/landed/" + self.path.split("/", 2)[2])
            self.send_header("Content-Length", "0"); self.end_headers(); return
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"OK")
    do_POST = do_GET = do_HEAD = handle_one
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
if tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain("server.pem", "server.key")
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
"#;

/// Makes a CA and a certificate for 127.0.0.1 signed by it, in `dir`.
const CERTS: &str = r#"set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=prun-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext 2>/dev/null
"#;

/// One request the recorder got.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) body: String,
    pub(crate) agent: String,
}

pub(crate) struct Recorder {
    dir: tempfile::TempDir,
    child: Child,
    base: String,
}

impl Recorder {
    pub(crate) fn http() -> Self {
        Self::start(false)
    }

    /// https with a certificate signed by the test's own CA: `ca()` is its PEM file.
    pub(crate) fn https() -> Self {
        Self::start(true)
    }

    fn start(tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        if tls {
            let ok = Command::new("sh")
                .args(["-c", CERTS])
                .current_dir(dir.path())
                .status()
                .expect("run openssl");
            assert!(
                ok.success(),
                "openssl could not make the test's certificates"
            );
        }
        let child = Command::new("python3")
            .args([
                "-c",
                SERVER,
                "log",
                "port",
                if tls { "tls" } else { "plain" },
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .spawn()
            .expect("start python3");
        let portfile = dir.path().join("port");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&portfile) {
                break p;
            }
            assert!(
                Instant::now() < deadline,
                "the recorder did not start in 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let scheme = if tls { "https" } else { "http" };
        Recorder {
            base: format!("{scheme}://127.0.0.1:{}", port.trim()),
            dir,
            child,
        }
    }

    /// The URL of `path` on this server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The test CA's certificate (https only).
    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn log(&self) -> &Path {
        self.dir.path()
    }

    /// What it got so far, in order.
    pub(crate) fn requests(&self) -> Vec<Request> {
        let text = std::fs::read_to_string(self.log().join("log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("a recorder line");
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                Request {
                    method: s("method"),
                    path: s("path"),
                    body: s("body"),
                    agent: s("agent"),
                }
            })
            .collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
