//! The `prun` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    prun::Error::on_panic_exit();
    // The shell's completion script calling back (`prun --completions SHELL`).
    if prun::complete_from_env() {
        return ExitCode::SUCCESS;
    }
    match prun::run(prun::Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(err) => err.report(),
    }
}
