//! The `prun` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    prun::Error::on_panic_exit();
    // The shell's completion script calling back (`prun --completions SHELL`).
    if prun::complete_from_env() {
        return ExitCode::SUCCESS;
    }
    let cli = prun::Cli::parse();
    // A panic the run did not turn into its end (one before or after it): exit 70.
    match std::panic::catch_unwind(|| prun::run(cli)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(err)) => err.report(),
        Err(_) => prun::Error::caught_panic(),
    }
}
