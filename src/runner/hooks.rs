//! Completion hooks, run by prun itself (docs/hooks.md): a job's hooks after it ends, one
//! hook at a time, in the order jobs end, on a thread of their own so a slow hook never
//! holds up the pool. Each hook is a shell command in its own process group with its own
//! timeout; it sees the job's environment plus the result variables, and the job's result
//! as one JSON object on stdin.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{self, Sender, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::executor::command::{Capture, Request, Stdin};
use crate::executor::finished::Finished;
use crate::executor::local;
use crate::runner::context::RunContext;
use crate::runner::event::Event;

/// The hooks to run for one ended job, or the run-level hooks (`job: None`).
pub(crate) struct HookTask {
    pub(crate) job: Option<usize>,
    /// `(hook name, command)`, in the order to run them.
    pub(crate) hooks: Vec<(crate::plan::hooks::HookKind, String)>,
    pub(crate) env: Vec<(String, String)>,
    /// What each hook reads on stdin.
    pub(crate) stdin: HookInput,
    pub(crate) workdir: PathBuf,
    pub(crate) timeout: Duration,
    /// A simple hook command may be exec'd without the shell, as a job's is (the
    /// jobfile chose no shell and the environment does not set PATH).
    pub(crate) direct: bool,
    /// `hook_nice:`.
    pub(crate) nice: Option<i32>,
}

/// What each hook of a task reads on stdin.
pub(crate) enum HookInput {
    /// A job's result as JSON.
    Bytes(Vec<u8>),
    /// The run's report, read from its file by each hook from the start (it may be too
    /// big to hold in memory).
    File(Arc<tempfile::NamedTempFile>),
}

/// How every hook of this run is executed.
pub(crate) struct HookShell {
    pub(crate) shell: crate::input::settings::Shell,
    pub(crate) capture: Capture,
    pub(crate) grace: Duration,
    /// For the keeper, which stops hooks too if prun dies.
    pub(crate) ctx: Arc<RunContext>,
}

impl HookShell {
    /// Runs one hook to its end and returns how it ended and what it printed.
    /// `current` holds the hook's process group while it runs, so it can be killed.
    fn run(&self, command: &str, task: &HookTask, current: &AtomicI32) -> (Finished, Vec<u8>) {
        // Each hook opens the report anew, to read it from the start.
        let reopened = match &task.stdin {
            HookInput::File(f) => f.reopen().ok(),
            HookInput::Bytes(_) => None,
        };
        let stdin = match (&task.stdin, &reopened) {
            (HookInput::Bytes(b), _) => Stdin::Bytes(b),
            (HookInput::File(_), Some(f)) => Stdin::File(f),
            (HookInput::File(_), None) => Stdin::Null,
        };
        let words = if task.direct {
            crate::plan::direct::words(command)
        } else {
            None
        };
        let req = Request {
            shell: &self.shell,
            script: command,
            direct: words.as_deref(),
            wrapper: None,
            env_base: &self.ctx.env_base,
            env: &task.env,
            workdir: &task.workdir,
            capture: self.capture,
            stdin,
            timeout: Some(task.timeout),
            grace: self.grace,
            stop: self.ctx.stop_clock.as_ref(),
            keeper: self.ctx.keeper.as_ref(),
            cgroup: self.ctx.cgroup.as_ref().and_then(|c| c.hooks()),
            // Hooks run at prun's own priority unless the job's `hook_nice:` asks.
            tuning: crate::executor::command::Tuning {
                nice: task.nice,
                ..Default::default()
            },
        };
        let mut output = Vec::new();
        let finished = local::run(
            &req,
            &mut |pgid| current.store(pgid, Ordering::SeqCst),
            &mut |b| output.extend_from_slice(b),
        );
        current.store(0, Ordering::SeqCst);
        let output = match crate::mask::current().bytes(&output) {
            std::borrow::Cow::Borrowed(_) => output,
            std::borrow::Cow::Owned(masked) => masked,
        };
        (finished, output)
    }
}

/// The serial hook runner: a thread that takes `HookTask`s in order.
pub(crate) struct HookRunner {
    /// Until the first hook is queued: what the thread will need. A run without hooks
    /// never starts the thread (one thread less at start-up).
    pending: Option<(HookShell, SyncSender<Event>)>,
    tasks: Option<Sender<HookTask>>,
    thread: Option<JoinHandle<()>>,
    cancelled: Arc<AtomicBool>,
    /// The process group of the hook running now, 0 when none.
    current: Arc<AtomicI32>,
}

impl HookRunner {
    pub(crate) fn new(shell: HookShell, events: SyncSender<Event>) -> Self {
        HookRunner {
            pending: Some((shell, events)),
            tasks: None,
            thread: None,
            cancelled: Arc::new(AtomicBool::new(false)),
            current: Arc::new(AtomicI32::new(0)),
        }
    }

    fn start(&mut self) -> std::io::Result<()> {
        let Some((shell, events)) = self.pending.take() else {
            return Ok(());
        };
        let (tx, rx) = mpsc::channel::<HookTask>();
        let (stop, cur) = (Arc::clone(&self.cancelled), Arc::clone(&self.current));
        let thread = thread::Builder::new()
            .name("prun-hooks".into())
            .spawn(move || {
                super::event::serving(&events.clone(), || {
                    for task in rx {
                        for (hook, command) in &task.hooks {
                            if stop.load(Ordering::SeqCst) {
                                break;
                            }
                            crate::error::Error::test_panic("hooks");
                            let (finished, output) = shell.run(command, &task, &cur);
                            let _ = events.send(Event::HookDone {
                                job: task.job,
                                hook: *hook,
                                finished,
                                output,
                            });
                        }
                    }
                });
            })?;
        self.tasks = Some(tx);
        self.thread = Some(thread);
        Ok(())
    }

    /// Queues hooks behind any already queued (starting the hook thread the first time).
    pub(crate) fn submit(&mut self, task: HookTask) -> std::io::Result<()> {
        self.start()?;
        if let Some(tx) = &self.tasks {
            let _ = tx.send(task);
        }
        Ok(())
    }

    /// Runs no further hook and kills the one running now (after a second signal).
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        let pgid = self.current.load(Ordering::SeqCst);
        if pgid > 0 {
            crate::executor::group::signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

impl Drop for HookRunner {
    fn drop(&mut self) {
        drop(self.tasks.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
