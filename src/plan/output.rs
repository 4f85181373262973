//! The output policy, settled once: how job output is shown (`--output`, by default from
//! the mode), whether blocks keep jobfile order, whether only failures are shown
//! (`--quiet`), whether blocks become GitHub Actions groups, and whether a progress bar
//! is drawn — from what was asked and the facts about where prun runs (a terminal, CI).
//! Like nextest's display resolver, it is a pure function of those, tested as a table.

use super::Facts;
use crate::diagnostic::Diagnostic;
use crate::modes::{Mode, OutputMode, Progress};

/// How everything a run prints is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutputPolicy {
    pub(crate) mode: OutputMode,
    pub(crate) keep_order: bool,
    pub(crate) quiet: bool,
    /// Under GitHub Actions: blocks become `::group::` sections, failures annotations.
    pub(crate) github: bool,
    pub(crate) progress: bool,
}

/// What the command line asked about output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    pub(crate) output: Option<OutputMode>,
    pub(crate) keep_order: bool,
    pub(crate) quiet: bool,
    pub(crate) progress: Progress,
}

/// The policy for a run in `mode`, or why what was asked does not go together.
pub(crate) fn resolve(
    asked: Asked,
    mode: Mode,
    facts: &Facts<'_>,
) -> Result<OutputPolicy, Diagnostic> {
    let output = match (asked.quiet, asked.output) {
        (true, Some(o @ (OutputMode::Line | OutputMode::Stream))) => {
            return Err(Diagnostic::file("--quiet", format!("cannot be combined with --output {}", o.name()))
                .help("--quiet prints the output of failed jobs as blocks: leave out --output, or use --output none"));
        }
        (true, o) => o.unwrap_or(OutputMode::Group),
        (false, Some(o)) => o,
        (false, None) => match mode {
            Mode::Sync => OutputMode::Stream,
            Mode::Async => OutputMode::Group,
        },
    };
    if asked.keep_order && output == OutputMode::Stream && mode == Mode::Async {
        return Err(Diagnostic::file(
            "--keep-order",
            "cannot keep order when output is streamed straight through",
        )
        .help("use --output group or --output line with --keep-order"));
    }
    let progress = match asked.progress {
        Progress::Always => true,
        Progress::Never => false,
        // Streamed jobs write to the terminal themselves, under the bar: a bar drawn
        // there would be left behind in pieces.
        Progress::Auto => {
            let jobs_write_to_the_terminal =
                output == OutputMode::Stream && facts.stdout_is_terminal;
            facts.stderr_is_terminal && !facts.is_ci && !asked.quiet && !jobs_write_to_the_terminal
        }
    };
    Ok(OutputPolicy {
        mode: output,
        keep_order: asked.keep_order,
        quiet: asked.quiet,
        github: facts.github_actions,
        progress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(terminal: bool, ci: bool) -> Facts<'static> {
        Facts {
            cpus: || 1,
            base_dir: std::path::Path::new("/"),
            path_var: None,
            cwd: std::path::Path::new("/"),
            stderr_is_terminal: terminal,
            stdout_is_terminal: terminal,
            is_ci: ci,
            github_actions: false,
            step_summary: None,
        }
    }

    fn asked(output: Option<OutputMode>, quiet: bool, progress: Progress) -> Asked {
        Asked {
            output,
            keep_order: false,
            quiet,
            progress,
        }
    }

    #[test]
    fn the_policy_for_each_mode_terminal_ci_quiet_and_progress() {
        use Progress::{Always, Auto, Never};
        let (group, line, stream, none) = (
            OutputMode::Group,
            OutputMode::Line,
            OutputMode::Stream,
            OutputMode::None,
        );
        // (mode, asked output, quiet, progress, terminal, CI) -> (output, bar)
        let table = [
            (Mode::Async, None, false, Auto, true, false, group, true),
            (Mode::Async, None, false, Auto, true, true, group, false),
            (Mode::Async, None, false, Auto, false, false, group, false),
            (Mode::Async, None, true, Auto, true, false, group, false),
            (
                Mode::Async,
                Some(line),
                false,
                Auto,
                true,
                false,
                line,
                true,
            ),
            (Mode::Sync, None, false, Auto, true, false, stream, false),
            (Mode::Sync, None, false, Always, false, true, stream, true),
            (
                Mode::Sync,
                Some(group),
                false,
                Auto,
                true,
                false,
                group,
                true,
            ),
            (
                Mode::Async,
                Some(none),
                true,
                Never,
                true,
                false,
                none,
                false,
            ),
            (Mode::Async, None, false, Never, true, false, group, false),
        ];
        for (mode, output, quiet, progress, terminal, ci, want, bar) in table {
            let p = resolve(asked(output, quiet, progress), mode, &facts(terminal, ci)).unwrap();
            assert_eq!(
                (p.mode, p.progress),
                (want, bar),
                "{mode:?} {output:?} quiet={quiet} {progress:?} terminal={terminal} ci={ci}"
            );
        }
    }

    #[test]
    fn quiet_with_line_or_stream_and_kept_order_streams_are_refused() {
        let f = facts(false, false);
        for o in [OutputMode::Line, OutputMode::Stream] {
            assert!(resolve(asked(Some(o), true, Progress::Auto), Mode::Async, &f).is_err());
        }
        let keep = Asked {
            keep_order: true,
            ..asked(Some(OutputMode::Stream), false, Progress::Auto)
        };
        assert!(resolve(keep, Mode::Async, &f).is_err());
        // In sync mode jobs end in file order anyway.
        assert!(resolve(keep, Mode::Sync, &f).is_ok());
    }
}
