//! What this machine has, asked when a test runs: a test that needs what is missing
//! stops and is reported ignored, with why (`util::trials`); with `PRUN_REQUIRE=all` (as
//! in CI), or the facility named in `PRUN_REQUIRE` (`slurm,root`), it fails instead, so
//! CI never passes a test that did not test. Nothing here affects the `prun` program.

use std::process::Command;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Facility {
    /// A Slurm cluster that answers (`scripts/slurm-single-node.sh` starts one).
    Slurm,
    /// util-linux `script`, to give prun a terminal.
    Script,
    /// Root, to change file owners or run prun as another user.
    Root,
    /// A writable cgroup v2 directory where prun makes its run's cgroups.
    Cgroups,
    /// The cgroup v2 `pids` controller offered there (not where `pids` is bound to v1).
    PidsController,
    /// A temp dir on a filesystem with a block device under it (not tmpfs), where a
    /// job's writes are block I/O to count.
    BlockIo,
    /// PostgreSQL's `initdb`, `postgres` and `psql` on PATH.
    Postgres,
    /// A real Healthchecks server on loopback (`../shared/healthchecks/hc`), started
    /// once for the whole test run (`util::healthchecks`).
    Healthchecks,
    /// A program that reads one of prun's files, on PATH (`.ci/run` installs them):
    /// `promtool`, `prometheus-node-exporter`, `xmllint`, `xmlschema-validate`,
    /// `check-jsonschema`, `cmark-gfm`, `groff`.
    Reader(&'static str),
}

impl Facility {
    fn name(self) -> &'static str {
        match self {
            Facility::Healthchecks => "healthchecks",
            Facility::Reader(program) => program,
            Facility::Slurm => "slurm",
            Facility::Script => "script",
            Facility::Root => "root",
            Facility::Cgroups => "cgroups",
            Facility::PidsController => "pids-controller",
            Facility::BlockIo => "block-io",
            Facility::Postgres => "postgres",
        }
    }

    fn missing(self) -> String {
        match self {
            Facility::Healthchecks => {
                return "no Healthchecks server could be started (../shared/healthchecks/hc up: needs python3 with venv, and PyPI the first time)".into();
            }
            Facility::Reader(program) => {
                return format!("no `{program}` on PATH to read prun's file with (.ci/run installs it: Debian prometheus, prometheus-node-exporter, libxml2-utils, cmark-gfm, groff; PyPI xmlschema, check-jsonschema)");
            }
            Facility::Slurm => {
                "no Slurm cluster answers here: start one with scripts/slurm-single-node.sh"
            }
            Facility::Script => "no `script` (util-linux) here to make a terminal",
            Facility::Root => "needs root, to run prun as another user",
            Facility::Cgroups => {
                "no writable cgroup v2 here (run as root, or in a delegated slice)"
            }
            Facility::PidsController => {
                "no cgroup v2 pids controller offered here (the pids hierarchy is cgroup v1's)"
            }
            Facility::BlockIo => "the temp dir is on tmpfs or ramfs: no block I/O to count",
            Facility::Postgres => {
                "no initdb, postgres and psql on PATH (Debian: apt-get install postgresql, then PATH=/usr/lib/postgresql/15/bin:$PATH)"
            }
        }
        .into()
    }

    fn present(self) -> bool {
        use std::collections::HashMap;
        use std::sync::Mutex;
        static FOUND: OnceLock<Mutex<HashMap<&'static str, bool>>> = OnceLock::new();
        let found = FOUND.get_or_init(Mutex::default);
        if let Some(&known) = found.lock().unwrap().get(self.name()) {
            return known;
        }
        let present = match self {
            Facility::Healthchecks => super::healthchecks::server().is_some(),
            Facility::Reader(program) => on_path(program),
            Facility::Slurm => slurm_answers(),
            Facility::Script => succeeds("script", &["--version"]),
            // SAFETY: geteuid has no preconditions.
            Facility::Root => (unsafe { libc::geteuid() }) == 0,
            Facility::Cgroups => cgroup_writable(),
            Facility::PidsController => super::own_cgroup_dir().is_some_and(|d| {
                std::fs::read_to_string(d.join("cgroup.controllers"))
                    .is_ok_and(|c| c.split_whitespace().any(|w| w == "pids"))
            }),
            Facility::BlockIo => !matches!(temp_fs().as_str(), "tmpfs" | "ramfs"),
            Facility::Postgres => ["initdb", "postgres", "psql"]
                .iter()
                .all(|p| succeeds(p, &["--version"])),
        };
        *found.lock().unwrap().entry(self.name()).or_insert(present)
    }
}

/// The test goes on only where the machine has every one of `needed`: else it stops here
/// and is reported ignored (`trials::Skip`), or fails where `PRUN_REQUIRE` asks for what
/// is missing (`all`, or names: `slurm,root`; `-name` takes one out of `all`).
pub(crate) fn need(needed: &[Facility]) {
    let Some(f) = needed.iter().find(|f| !f.present()) else {
        return;
    };
    let required = std::env::var("PRUN_REQUIRE").unwrap_or_default();
    let listed: Vec<&str> = required.split(',').map(str::trim).collect();
    let asked = (listed.contains(&"all") && !listed.contains(&format!("-{}", f.name()).as_str()))
        || listed.contains(&f.name());
    if asked {
        panic!("{} (PRUN_REQUIRE={required})", f.missing());
    }
    std::panic::resume_unwind(Box::new(super::trials::Skip(f.missing())));
}

/// The type of the filesystem of the temp dir (`stat -f`).
fn temp_fs() -> String {
    Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(std::env::temp_dir())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Whether `program` is an executable file in a directory of PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|d| {
            let p = d.join(program);
            std::fs::metadata(&p).is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
        })
    })
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `sinfo` lists the cluster's nodes (within 5 s: a client whose controller is down
/// waits far longer).
fn slurm_answers() -> bool {
    Command::new("timeout")
        .args(["5", "sinfo", "-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// Whether this process's cgroup v2 directory (where prun makes its run's) is writable.
fn cgroup_writable() -> bool {
    super::own_cgroup_dir().is_some_and(|dir| {
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
            return false;
        };
        // SAFETY: access with a NUL-terminated path.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    })
}
