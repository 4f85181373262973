//! The `prun` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match prun::run(prun::Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(err) => err.report(),
    }
}
