//! What prun could not deliver or record in a run: each makes the exit code 1.

use super::context::RunContext;
use crate::outcome::JobResult;
use crate::output::console;
use crate::output::terminal::Terminal;
use crate::state::joblog::Joblog;

/// What prun could not deliver or record, so far: stdout (but not a reader that left),
/// stderr, log files, the joblog, and `lost` (what else the driver noted).
pub(super) fn output_errors(
    terminal: &Terminal,
    ctx: &RunContext,
    lost: &[String],
    results: &[JobResult],
) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(e) = terminal.stdout_error()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        errors.push(format!(
            "writing to stdout failed ({e}): job output was lost"
        ));
    }
    if console::stderr_failed() {
        errors.push("writing to stderr failed: prun's messages were lost".to_owned());
    }
    for r in results {
        if let (Some(e), Some(log)) = (r.log_error(), r.log()) {
            errors.push(format!("the log {} is incomplete: {e}", log.display()));
        }
    }
    if let Some(e) = ctx.joblog.as_ref().and_then(Joblog::failure) {
        errors.push(e.to_owned());
    }
    errors.extend(lost.iter().cloned());
    errors
}
