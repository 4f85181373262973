//! The man pages' text: prun(1) is clap_mangen's sections from the command line's
//! definition (name, synopsis, description, options, version) with the sections `--help`
//! cannot hold written here (commands, the jobfile, exit status, environment, files,
//! examples, see also); prun-history(1) likewise. Plain roff in ASCII, checked by
//! `groff -ww -man -z` and `man -l` in the tests; every page named here exists.

use std::io::Write;

use clap_mangen::Man;

/// prun(1).
pub(super) fn prun(cmd: clap::Command, w: &mut dyn Write) -> std::io::Result<()> {
    page(cmd, PRUN, w)
}

/// prun-history(1).
pub(super) fn history(cmd: clap::Command, w: &mut dyn Write) -> std::io::Result<()> {
    page(cmd, HISTORY, w)
}

/// clap_mangen's sections of `cmd`, with `sections` before the version.
fn page(cmd: clap::Command, sections: &str, w: &mut dyn Write) -> std::io::Result<()> {
    let man = Man::new(cmd).manual("prun manual");
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    w.write_all(sections.as_bytes())?;
    man.render_version_section(w)
}

const PRUN: &str = r#".SH COMMANDS
.TP
\fBprun history\fR \fIDIR\fR
List the runs a jobfile's \fBhistory:\fR kept in \fIDIR\fR, newest first; see
\fBprun\-history\fR(1).
.SH JOBFILE
A jobfile is YAML. Its top level holds \fBjobs:\fR, a list of jobs, and the run's
settings; a job is a mapping with at least \fBrun:\fR, or a bare string (a job named after
its index). Unknown keys, duplicate keys and names, unknown \fBneeds\fR, cycles and bad
durations are errors before anything runs, with the file, line and column.
.PP
.EX
version: 1
name: backup                # the run's name in metrics and JUnit
mode: async                 # async (default) | sync
concurrency: 4              # pool size when \-j is not given
shell: bash \-euo pipefail   # default /bin/sh
env: { DEST: /srv/backup }
defaults: { timeout: 2h, retries: 1 }
on_failure: mail \-s "backup FAILED" ops < "$PRUN_REPORT"
jobs:
  \- name: postgres
    run: pg_dump app | gzip > "$DEST/app.sql.gz"
    timeout: 30m
    on_success: echo "done in ${PRUN_JOB_DURATION}s"
  \- name: uploads
    needs: [postgres]
    run: rsync \-a /srv/uploads/ "$DEST/uploads/"
.EE
.PP
Top-level keys: \fBversion\fR, \fBname\fR, \fBmode\fR, \fBconcurrency\fR, \fBshell\fR,
\fBenv\fR, \fBenv_file\fR, \fBworkdir\fR, \fBdefaults\fR, \fBon_success\fR,
\fBon_failure\fR, \fBon_complete\fR, \fBon_recover\fR, \fBhook_timeout\fR, \fBgrace\fR,
\fBdelay\fR, \fBmemfree\fR, \fBmax_load\fR, \fBthrottle_warn\fR, \fBlock\fR,
\fBexecutor\fR, \fBcontainment\fR, \fBresources\fR, \fBstate_dir\fR, \fBmonitor\fR,
\fBhistory\fR, \fBmetrics\fR, \fBsecrets\fR, \fBjobs\fR.
.PP
Job keys: \fBname\fR, \fBrun\fR, \fBenv\fR, \fBenv_file\fR, \fBworkdir\fR,
\fBtimeout\fR, \fBretries\fR, \fBretry_delay\fR, \fBretry_on_exit\fR, \fBneeds\fR,
\fBwhen\fR, \fBif\fR, \fBallow_failure\fR, \fBmatrix\fR, \fBtags\fR, \fBuses\fR,
\fBservice\fR, \fBready\fR, \fBsources\fR, \fBgenerates\fR, \fBstatus\fR,
\fBlimits\fR, \fBnice\fR, \fBio\fR, \fBon_success\fR, \fBon_failure\fR,
\fBon_complete\fR, \fBslurm\fR. Durations are written \fB90s\fR, \fB1h 30m\fR.
The whole format, with an example per key, is docs/jobfile.md in prun's sources;
\fBschemas/jobfile\-v1.schema.json\fR lets an editor check a jobfile as it is written.
.SH EXIT STATUS
.TP
.B 0
Every job succeeded (or was up to date, or failed as its \fBallow_failure\fR allows),
and every hook.
.TP
.B 1
A job failed, timed out, or was skipped because of a failure; or a hook failed; or
output could not be delivered or a report written.
.TP
.B 2
The command line or the jobfile is wrong: nothing ran.
.TP
.B 70
prun itself failed (a bug): it says so, and every job is stopped; no report is written.
.TP
.B 75
The \fB\-\-lock\fR is held by another run.
.TP
.B 128+N
Interrupted by signal N: 130 for SIGINT (Ctrl\-C), 143 for SIGTERM, 129 for SIGHUP.
.SH ENVIRONMENT
.SS What a job sees
Its environment is prun's own, the jobfile's \fBenv\fR and \fBenv_file\fR, its matrix
values, and:
.TP
.B PRUN_JOB
its name (a matrix job's carries its values: \fBbuild[os=linux]\fR).
.TP
.B PRUN_JOB_INDEX
its position in the jobfile, from 0.
.TP
.B PRUN_SLOT
its pool slot, 1 to N.
.TP
.B PRUN_ATTEMPT
1, then 2 and on when it is retried.
.TP
.B PRUN_RUN_ID
the run's id (its history directory's name when there is a history).
.TP
.B PRUN_OUTPUT
a file for \fBkey=value\fR lines the jobs that need it can read.
.TP
.B PRUN_NEEDS
a JSON file of the needed jobs' results and outputs.
.TP
.B PRUN_RESOURCE_\fIname\fR
the units of resource \fIname\fR it holds (\fB0\fR, \fB0,1\fR).
.SS What a job's hook sees
The job's environment, its result as JSON on stdin, and:
.TP
.B PRUN_JOB_STATUS
success, failed, timed\-out, skipped or interrupted.
.TP
.B PRUN_JOB_EXIT_CODE
its exit code, if it exited.
.TP
.B PRUN_JOB_SIGNAL
the signal that ended it, if one did.
.TP
.B PRUN_JOB_DURATION
seconds, retries included.
.TP
.B PRUN_JOB_ATTEMPTS
how many attempts it had.
.TP
.B PRUN_JOB_CPU_SECONDS
the CPU time it used, where measured.
.TP
.B PRUN_JOB_MAX_RSS
its peak memory in bytes, where measured.
.TP
.B PRUN_JOB_ALLOWED
true for a failure its \fBallow_failure\fR allows.
.TP
.B PRUN_JOB_LOG
its log file, with \fB\-\-log\-dir\fR.
.SS What a run-level hook sees
The jobfile's \fBenv\fR, \fBPRUN_RUN_ID\fR, and:
.TP
.B PRUN_TOTAL, PRUN_SUCCEEDED, PRUN_FAILED, PRUN_ALLOWED, PRUN_SKIPPED, PRUN_UP_TO_DATE
how many jobs ended so.
.TP
.B PRUN_HOOK_FAILURES
how many hooks failed.
.TP
.B PRUN_REPORT
a JSON file of the whole run (as \fB\-\-report\fR writes it).
.TP
.B PRUN_PREVIOUS_RESULT
success or failure: how the run before this one in the history ended.
.SS What prun reads
.TP
.B NO_COLOR
set and not empty: no colours.
.TP
.B CLICOLOR_FORCE
set and not 0: colours even in a pipe.
.TP
.B CI
set (and not false or 0): no progress bar; plain lines.
.TP
.B GITHUB_ACTIONS, GITHUB_STEP_SUMMARY
under GitHub Actions: failed jobs as annotations, output in groups, a summary appended
to the file \fBGITHUB_STEP_SUMMARY\fR names.
.TP
.B TMPDIR
where the files prun hands jobs are made.
.TP
.B SSL_CERT_FILE
the CA certificates a monitor's https URL is checked against.
.TP
.B PRUN_COMPLETE
set by the shell's completion script: prun completes the command line instead of
running it.
.SH FILES
.TP
.I .prun/
beside the jobfile (\fBstate_dir\fR, \fB\-\-state\-dir\fR): the fingerprints of jobs that
are up to date.
.TP
.I DIR/<start>\-<id>/
with \fBhistory: { dir: DIR }\fR: a run's logs, \fBreport.json\fR and joblog;
\fIDIR\fR\fB/latest\fR points at the newest.
.TP
.I FILE.prom
with \fB\-\-metrics\fR: for node_exporter's textfile collector.
.SH EXAMPLES
Run a jobfile four jobs at a time:
.PP
.EX
prun backup.yaml \-j 4
.EE
.PP
From cron: print nothing unless something failed, never two runs at once:
.PP
.EX
0 2 * * *  prun /etc/prun/backup.yaml \-\-quiet \-\-lock /run/lock/backup.lock
.EE
.PP
In CI: a JUnit report and only the jobs tagged \fBunit\fR:
.PP
.EX
prun ci.yaml \-\-tag unit \-\-junit junit.xml
.EE
.PP
Run again only what failed last time:
.PP
.EX
prun jobs.yaml \-\-joblog jobs.log \-\-resume\-failed
.EE
.PP
Completion for bash (zsh, fish likewise):
.PP
.EX
prun \-\-completions bash > ~/.local/share/bash\-completion/completions/prun
.EE
.SH SEE ALSO
\fBprun\-history\fR(1)
"#;

const HISTORY: &str = r#".SH OUTPUT
One line per run, newest first: its start, duration, result and failed jobs; with
\fB\-\-json\fR an array of the same; with \fB\-\-job\fR \fINAME\fR that job's result and
duration in each run. A run that is still going, or that was killed, says so.
.SH EXIT STATUS
0 when the runs were listed; 1 when no run has the job \fB\-\-job\fR names; 2 when
\fIDIR\fR cannot be read.
.SH EXAMPLES
.EX
prun history /var/log/prun/backup
prun history /var/log/prun/backup \-\-job postgres
prun history /var/log/prun/backup \-\-json | jq '.[0].result'
.EE
.SH SEE ALSO
\fBprun\fR(1)
"#;
