//! Running a service: its attempt on a thread of its own (it takes no pool worker, as it
//! takes no slot), its probe on another (`exec`, `http`, `tcp`; a `log` probe is watched
//! by its worker, `log_watch`), and stopping it as the core says (TERM, then KILL). The
//! probe reports what it saw — passed, or failed and how — and never decides: the core
//! keeps the readiness deadline.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender as Sender;
use std::time::{Duration, Instant};

use super::attempt::{self, Attempt};
use super::context::{RunContext, ServiceShared};
use super::env;
use super::event::{Ended, Event};
use crate::executor::command::{Capture, Request, Stdin};
use crate::executor::finished::Finished;
use crate::executor::local;
use crate::plan::JobSpec;
use crate::plan::service::Probe;
use crate::schedule::actions::Event as CoreEvent;
use crate::schedule::attempt::Fate;

/// The longest one probe check may take, whatever is left of the readiness timeout.
const CHECK_LIMIT: Duration = Duration::from_secs(10);
/// How often a probe waiting for its next try looks whether it is to stop.
const STOP_POLL: Duration = Duration::from_millis(50);

/// What the service in `slot` shares with the driver.
fn shared(ctx: &RunContext, slot: usize) -> &ServiceShared {
    &ctx.services[slot - ctx.workers - 1]
}

/// Starts service attempt `a` (in a slot past the pool's) on a thread of its own, and
/// its probe on another if it has one that polls.
pub(super) fn start(ctx: &Arc<RunContext>, a: Attempt, tx: &Sender<Event>) {
    let sh = shared(ctx, a.slot);
    sh.fate.store(Fate::Running as u8, Ordering::SeqCst);
    sh.probe_stop.store(false, Ordering::SeqCst);
    let spec = a
        .spec
        .clone()
        .unwrap_or_else(|| Arc::new(ctx.plan.jobs[a.job].clone()));
    let probe = spec.opts.service.as_ref().and_then(|s| {
        let polled = s.probe.as_ref().filter(|p| !matches!(p, Probe::Log(_)))?;
        Some((polled.clone(), s.interval, s.timeout))
    });
    let (job, slot, env) = (a.job, a.slot, a.env.clone());
    let (ctx2, tx2) = (Arc::clone(ctx), tx.clone());
    let ran = std::thread::Builder::new()
        .name(format!("prun-service-{}", a.slot - ctx.workers))
        .spawn(move || {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                attempt::run(&ctx2, &a, &tx2)
            }));
            let ended = ran.unwrap_or_else(|_| {
                // What it had started must not run on unwatched.
                ctx2.signal_slot(a.slot, libc::SIGKILL);
                Box::new(Ended::internal_error(a.job, a.attempt, a.slot))
            });
            drop(ctx2);
            let _ = tx2.send(Event::Ended(ended));
        });
    if let Err(e) = ran {
        let why = format!(
            "cannot start its thread ({e}{})",
            crate::executor::spawn::out_of_resources(&e)
        );
        let mut ended = Ended::internal_error(job, 1, slot);
        ended.attempt.finished = Finished::not_started(why);
        let _ = tx.send(Event::Ended(Box::new(ended)));
        return;
    }
    let Some((probe, interval, timeout)) = probe else {
        return;
    };
    let (ctx, tx3) = (Arc::clone(ctx), tx.clone());
    let polled = std::thread::Builder::new()
        .name(format!("prun-probe-{}", slot - ctx.workers))
        .spawn(move || {
            let poll = Poll {
                ctx: &ctx,
                spec: &spec,
                job,
                slot,
                env,
                deadline: crate::times::after(Instant::now(), timeout),
            };
            super::event::serving(&tx3.clone(), || poll.run(&probe, interval, &tx3));
        });
    if let Err(e) = polled {
        let why = format!("cannot start its probe's thread ({e})");
        let _ = tx.send(Event::ProbeFailed { job, why });
    }
}

/// Service `job`'s probe passed: it stops, and the core hears it with what the service
/// wrote to `PRUN_OUTPUT` before, for the jobs that need it.
pub(super) fn ready(ctx: &RunContext, job: usize) -> CoreEvent {
    stop_probe(ctx, slot_of(ctx, job));
    let path = ctx.run_dir.output_file(job, 1);
    let outputs = crate::outcome::outputs::peek(path.as_ref());
    CoreEvent::ServiceReady { job, outputs }
}

/// The slot of service `job`.
fn slot_of(ctx: &RunContext, job: usize) -> usize {
    ctx.plan
        .service_slot(job)
        .expect("the core names services only")
}

/// Stops service `job`: its worker is told why (`fate`), its probe stops, and its group
/// gets SIGTERM (a service whose group does not exist yet gets it as it starts:
/// `attempt::run`).
pub(super) fn stop(ctx: &RunContext, job: usize, fate: Fate) {
    let slot = slot_of(ctx, job);
    let sh = shared(ctx, slot);
    sh.fate.store(fate as u8, Ordering::SeqCst);
    stop_probe(ctx, slot);
    ctx.signal_slot(slot, libc::SIGTERM);
}

/// Service `job`'s `stop_grace` passed: SIGKILL.
pub(super) fn kill(ctx: &RunContext, job: usize) {
    ctx.signal_slot(slot_of(ctx, job), libc::SIGKILL);
}

/// The probe of the service in `slot` stops (it passed, or the service is stopping);
/// a probe command running now is killed.
fn stop_probe(ctx: &RunContext, slot: usize) {
    let sh = shared(ctx, slot);
    sh.probe_stop.store(true, Ordering::SeqCst);
    let pgid = sh.probe_group.load(Ordering::SeqCst);
    if pgid > 0 {
        crate::executor::group::send(pgid, libc::SIGKILL);
    }
}

/// One service's probe, polling.
struct Poll<'a> {
    ctx: &'a RunContext,
    spec: &'a JobSpec,
    job: usize,
    slot: usize,
    env: Vec<(String, String)>,
    /// The readiness timeout: no check runs past it.
    deadline: Instant,
}

impl Poll<'_> {
    /// Tries `probe` every `interval` until it passes or it is told to stop; says when
    /// it passes, and how it failed each time that changes.
    fn run(&self, probe: &Probe, interval: Duration, tx: &Sender<Event>) {
        let sh = shared(self.ctx, self.slot);
        let mut last: Option<String> = None;
        loop {
            if sh.probe_stop.load(Ordering::SeqCst) {
                return;
            }
            let tried = Instant::now();
            let limit = self
                .deadline
                .saturating_duration_since(tried)
                .clamp(Duration::from_millis(100), CHECK_LIMIT);
            match self.check(probe, limit) {
                Ok(()) => {
                    let _ = tx.send(Event::ServiceReady { job: self.job });
                    return;
                }
                Err(why) if last.as_deref() != Some(why.as_str()) => {
                    last = Some(why.clone());
                    let _ = tx.send(Event::ProbeFailed { job: self.job, why });
                }
                Err(_) => {}
            }
            let next = tried + interval;
            while Instant::now() < next {
                if sh.probe_stop.load(Ordering::SeqCst) || Instant::now() >= self.deadline {
                    break;
                }
                std::thread::sleep(STOP_POLL.min(next.saturating_duration_since(Instant::now())));
            }
            // Past the deadline the core fails the service and stops this probe; until
            // it does, trying again costs little.
        }
    }

    /// One try: `Err` says how it failed, as the reason shows it.
    fn check(&self, probe: &Probe, limit: Duration) -> Result<(), String> {
        match probe {
            Probe::Tcp(addr) => tcp(addr, limit),
            Probe::Http(url) => http(url, limit),
            Probe::Exec(cmd) => self.exec(cmd, limit),
            Probe::Log(_) => Err("no line matched yet".into()),
        }
    }

    /// The command, in the service's environment and workdir, exits 0 within `limit`.
    fn exec(&self, cmd: &str, limit: Duration) -> Result<(), String> {
        let ctx = self.ctx;
        let mut vars = env::job(self.spec, self.slot, 1, &ctx.run_id);
        vars.extend(self.env.iter().cloned());
        let req = Request {
            shell: &ctx.plan.shell,
            script: cmd,
            direct: None,
            wrapper: None,
            env_base: &ctx.env_base,
            env: &vars,
            workdir: &self.spec.workdir,
            capture: Capture::Null,
            stdin: Stdin::Null,
            timeout: Some(limit),
            grace: Duration::from_millis(500),
            stop: None,
            keeper: ctx.keeper.as_ref(),
            // Not the service's cgroup (a probe left there would hold its end): one of
            // its own, so what a probe leaves running is stopped when it ends.
            cgroup: ctx.cgroup.as_ref().and_then(|c| c.probe(self.slot)),
            tuning: Default::default(),
        };
        let sh = shared(ctx, self.slot);
        let finished = local::run(
            &req,
            &mut |pgid| {
                sh.probe_group.store(pgid, Ordering::SeqCst);
                // Told to stop while it was being started.
                if sh.probe_stop.load(Ordering::SeqCst) {
                    crate::executor::group::send(pgid, libc::SIGKILL);
                }
            },
            &mut |_| {},
        );
        sh.probe_group.store(0, Ordering::SeqCst);
        let shown = format!("exec `{cmd}`");
        if finished.success() {
            Ok(())
        } else if let Some(e) = finished.error {
            Err(format!("{shown}: {e}"))
        } else if finished.timed_out {
            Err(format!(
                "{shown} did not end within {}",
                humantime::format_duration(limit)
            ))
        } else {
            let ending = finished.ending;
            Err(format!("{shown} ended with {}", ending.words()))
        }
    }
}

/// A TCP connection to `addr` is accepted within `limit`.
fn tcp(addr: &str, limit: Duration) -> Result<(), String> {
    let addrs: Vec<_> = match addr.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return Err(format!("tcp {addr}: {e}")),
    };
    let mut why = format!("tcp {addr}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, limit) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                why = format!("tcp {addr} refused");
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                why = format!(
                    "tcp {addr}: no answer within {}",
                    humantime::format_duration(limit)
                );
            }
            Err(e) => why = format!("tcp {addr}: {e}"),
        }
    }
    Err(why)
}

/// A GET of `url` answers 2xx or 3xx within `limit` (redirects are not followed: a 3xx
/// is an answer).
fn http(url: &str, limit: Duration) -> Result<(), String> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(limit))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    match agent.get(url).call() {
        Ok(r) if r.status().is_success() || r.status().is_redirection() => Ok(()),
        Ok(r) => Err(format!("http {url} answered {}", r.status())),
        Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(format!("http {url}: connection refused"))
        }
        Err(e) => Err(format!("http {url}: {e}")),
    }
}
