//! The output policy, settled once: how job output is shown (`--output`, by default from
//! the mode), whether blocks keep jobfile order, whether only failures are shown
//! (`--quiet`), whether blocks become GitHub Actions groups, and whether a progress bar
//! is drawn — from what was asked and the facts about where prun runs (a terminal, CI).
//! Like nextest's display resolver, it is a pure function of those, tested as a table.

use super::facts::Facts;
use crate::input::diagnostic::Diagnostic;
use crate::input::settings::{Color, Mode, OutputMode, Progress, Summary};

/// How everything a run prints is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutputPolicy {
    pub(crate) mode: OutputMode,
    pub(crate) keep_order: bool,
    pub(crate) quiet: bool,
    /// Under GitHub Actions: blocks become `::group::` sections, failures annotations.
    pub(crate) github: bool,
    pub(crate) progress: bool,
    /// ANSI colours in block headers (stdout) and in the summary (stderr).
    pub(crate) color_stdout: bool,
    pub(crate) color_stderr: bool,
    /// `--summary wide`: the end table lists every job, with what it cost.
    pub(crate) wide: bool,
}

/// What the command line asked about output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    pub(crate) output: Option<OutputMode>,
    pub(crate) keep_order: bool,
    pub(crate) quiet: bool,
    pub(crate) progress: Progress,
    pub(crate) color: Color,
    pub(crate) summary: Summary,
}

impl Asked {
    /// What the command line asks.
    pub(crate) fn of(cli: &crate::input::cli::Cli) -> Self {
        Asked {
            output: cli.output,
            keep_order: cli.keep_order,
            quiet: cli.quiet,
            progress: cli.progress,
            color: cli.color,
            summary: cli.summary,
        }
    }
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
    // --color wins; then NO_COLOR (no-color.org), then CLICOLOR_FORCE, then a terminal.
    // Never for --quiet: its output is cron's mail.
    let color = |terminal: bool| match asked.color {
        _ if asked.quiet => false,
        Color::Always => true,
        Color::Never => false,
        Color::Auto => !facts.no_color && (facts.clicolor_force || terminal),
    };
    Ok(OutputPolicy {
        mode: output,
        keep_order: asked.keep_order,
        quiet: asked.quiet,
        github: facts.github_actions,
        progress,
        color_stdout: color(facts.stdout_is_terminal) && !facts.github_actions,
        color_stderr: color(facts.stderr_is_terminal),
        wide: asked.summary == Summary::Wide,
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
            no_color: false,
            clicolor_force: false,
            env_var: |_| None,
        }
    }

    fn asked(output: Option<OutputMode>, quiet: bool, progress: Progress) -> Asked {
        Asked {
            output,
            keep_order: false,
            quiet,
            progress,
            color: Color::Auto,
            summary: Summary::Table,
        }
    }

    #[test]
    fn colours_on_a_terminal_unless_no_color_forced_by_the_flag_or_clicolor_force() {
        let pol = |color, quiet, terminal, no_color, force| {
            let mut f = facts(terminal, false);
            f.no_color = no_color;
            f.clicolor_force = force;
            let a = Asked {
                color,
                ..asked(None, quiet, Progress::Never)
            };
            let p = resolve(a, Mode::Async, &f).unwrap();
            (p.color_stdout, p.color_stderr)
        };
        use Color::{Always, Auto, Never};
        assert_eq!(pol(Auto, false, true, false, false), (true, true));
        assert_eq!(pol(Auto, false, false, false, false), (false, false));
        assert_eq!(pol(Auto, false, true, true, false), (false, false));
        assert_eq!(pol(Auto, false, false, false, true), (true, true));
        assert_eq!(pol(Auto, false, false, true, true), (false, false));
        assert_eq!(pol(Always, false, false, true, false), (true, true));
        assert_eq!(pol(Never, false, true, false, true), (false, false));
        assert_eq!(pol(Always, true, true, false, false), (false, false));
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
