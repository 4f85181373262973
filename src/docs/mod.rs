//! Shell completion and the man pages. Completion is clap's dynamic engine
//! ([`input::complete`](crate::input::complete) says what it offers): `--completions SHELL` prints the few lines a
//! shell sources, which call prun back with `PRUN_COMPLETE` set (`complete_from_env`,
//! from `main` before the command line is parsed). The man pages are prun(1) — the
//! options from the clap definition (`cli.rs`), so they never drift, with what `--help`
//! cannot say (`man`: the jobfile, exit status, environment, files, examples) — and
//! prun-history(1).

mod man;

use std::io::Write;

use clap::CommandFactory;
use clap_complete::env::EnvCompleter;

use crate::error::Error;
use crate::input::cli::{Cli, ManPage};

/// The variable that makes prun complete a command line instead of running it.
const COMPLETE_VAR: &str = "PRUN_COMPLETE";

/// Writes the script that registers prun's completion with `shell` to stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Error> {
    use clap_complete::env::{Bash, Elvish, Fish, Powershell, Zsh};
    let completer: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &Bash,
        clap_complete::Shell::Zsh => &Zsh,
        clap_complete::Shell::Fish => &Fish,
        clap_complete::Shell::Elvish => &Elvish,
        _ => &Powershell,
    };
    let mut out = Vec::new();
    completer
        .write_registration(COMPLETE_VAR, "prun", "prun", "prun", &mut out)
        .map_err(|e| Error::io("writing the completion script", e))?;
    write_stdout(&out, "the completion script")
}

/// When the shell asks (`PRUN_COMPLETE` set): prints what completes the command line in
/// the arguments and returns true.
pub fn complete_from_env() -> bool {
    // Every run passes here: nothing is built unless the shell asks.
    if std::env::var_os(COMPLETE_VAR).is_none() {
        return false;
    }
    let asked = clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(COMPLETE_VAR)
        .try_complete(std::env::args_os(), None);
    // A command line it cannot complete: nothing is offered, and nothing runs.
    asked.unwrap_or(true)
}

/// Writes man page `page` (roff) to stdout.
pub(crate) fn man_page(page: ManPage) -> Result<(), Error> {
    let mut out = Vec::new();
    let rendered = match page {
        ManPage::Prun => man::prun(Cli::command(), &mut out),
        ManPage::History => {
            let cmd = Cli::command();
            let history = (cmd.find_subcommand("history").cloned())
                .unwrap_or_else(|| clap::Command::new("history"))
                .name("prun-history")
                .bin_name("prun history")
                .version(env!("CARGO_PKG_VERSION"));
            man::history(history, &mut out)
        }
    };
    rendered.map_err(|e| Error::io("rendering the man page", e))?;
    write_stdout(&out, "the man page")
}

/// A reader that left (`prun --man | head`) is not an error.
fn write_stdout(bytes: &[u8], what: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io(format!("writing {what}"), e))
        }
        _ => Ok(()),
    }
}
