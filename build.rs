//! Facts about this machine for the tests: which outside facilities it has. A test that
//! needs one that is missing is then reported by the test runner as *ignored*, with the
//! reason, instead of passing without testing anything:
//!
//! - `prun_no_slurm`: no Slurm cluster answers (`scripts/slurm-single-node.sh` starts
//!   one); with `PRUN_REQUIRE_SLURM=1` (as in CI) that fails the build instead;
//! - `prun_no_script`: no util-linux `script` to give prun a terminal;
//! - `prun_not_root`: not root (tests that change file owners or run prun as `nobody`);
//! - `prun_no_cgroups`: prun's own cgroup v2 directory is not writable here.
//!
//! Nothing here affects the `prun` program itself.

use std::process::Command;

fn main() {
    for cfg in [
        "prun_no_slurm",
        "prun_no_script",
        "prun_not_root",
        "prun_no_cgroups",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PRUN_REQUIRE_SLURM");
    // Rerun when a Slurm controller starts or stops.
    println!("cargo::rerun-if-changed=/run/slurmctld.pid");
    if !slurm_answers() {
        if std::env::var_os("PRUN_REQUIRE_SLURM").is_some() {
            panic!(
                "PRUN_REQUIRE_SLURM is set but no Slurm cluster answers: run scripts/slurm-single-node.sh"
            );
        }
        println!("cargo::rustc-cfg=prun_no_slurm");
    }
    if !succeeds("script", &["--version"]) {
        println!("cargo::rustc-cfg=prun_no_script");
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        println!("cargo::rustc-cfg=prun_not_root");
    }
    if !cgroup_writable() {
        println!("cargo::rustc-cfg=prun_no_cgroups");
    }
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
    let (Ok(mountinfo), Ok(cgroup)) = (
        std::fs::read_to_string("/proc/self/mountinfo"),
        std::fs::read_to_string("/proc/self/cgroup"),
    ) else {
        return false;
    };
    let Some(own) = cgroup.lines().find_map(|l| l.strip_prefix("0::")) else {
        return false;
    };
    let Some(mount) = mountinfo.lines().find_map(|l| {
        let (fields, fs) = l.split_once(" - ")?;
        fs.starts_with("cgroup2 ")
            .then(|| fields.split_whitespace().nth(4).map(str::to_owned))?
    }) else {
        return false;
    };
    let dir = std::path::Path::new(&mount).join(own.trim_start_matches('/'));
    succeeds("test", &["-w", &dir.to_string_lossy()])
}
