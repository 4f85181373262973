//! What this machine has, asked when a test runs: a test that needs what is missing
//! says so on stderr (`SKIPPED <test>: <why>`) and returns; with `PRUN_REQUIRE=all` (as
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
    /// PostgreSQL's `initdb`, `postgres` and `psql` on PATH.
    Postgres,
}

impl Facility {
    fn name(self) -> &'static str {
        match self {
            Facility::Slurm => "slurm",
            Facility::Script => "script",
            Facility::Root => "root",
            Facility::Cgroups => "cgroups",
            Facility::Postgres => "postgres",
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Facility::Slurm => {
                "no Slurm cluster answers here: start one with scripts/slurm-single-node.sh"
            }
            Facility::Script => "no `script` (util-linux) here to make a terminal",
            Facility::Root => "needs root, to run prun as another user",
            Facility::Cgroups => {
                "no writable cgroup v2 here (run as root, or in a delegated slice)"
            }
            Facility::Postgres => {
                "no initdb, postgres and psql on PATH (Debian: apt-get install postgresql, then PATH=/usr/lib/postgresql/15/bin:$PATH)"
            }
        }
    }

    fn present(self) -> bool {
        static FOUND: [OnceLock<bool>; 5] = [const { OnceLock::new() }; 5];
        *FOUND[self as usize].get_or_init(|| match self {
            Facility::Slurm => slurm_answers(),
            Facility::Script => succeeds("script", &["--version"]),
            // SAFETY: geteuid has no preconditions.
            Facility::Root => (unsafe { libc::geteuid() }) == 0,
            Facility::Cgroups => cgroup_writable(),
            Facility::Postgres => ["initdb", "postgres", "psql"]
                .iter()
                .all(|p| succeeds(p, &["--version"])),
        })
    }
}

/// Whether the machine has every one of `needed`. Where it has not, the test is to
/// return at once: this says so, or panics where `PRUN_REQUIRE` asks for it.
pub(crate) fn has(needed: &[Facility]) -> bool {
    let Some(f) = needed.iter().find(|f| !f.present()) else {
        return true;
    };
    let required = std::env::var("PRUN_REQUIRE").unwrap_or_default();
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    if required == "all" || required.split(',').any(|r| r.trim() == f.name()) {
        panic!("{test}: {} (PRUN_REQUIRE={required})", f.missing());
    }
    eprintln!("SKIPPED {test}: {}", f.missing());
    false
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
