//! `--completions SHELL` and `--man`: shell completion scripts and the man page, generated
//! from the clap definition (`cli.rs`) so they never drift from the options prun takes.

use std::io::Write;

use clap::CommandFactory;

use crate::error::Error;
use crate::input::cli::Cli;

/// Writes the completion script for `shell` to stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Error> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "prun", &mut out);
    write_stdout(&out, "the completion script")
}

/// Writes the man page (roff) to stdout.
pub(crate) fn man_page() -> Result<(), Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::io("rendering the man page", e))?;
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
