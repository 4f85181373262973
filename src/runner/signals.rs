//! SIGINT, SIGTERM and SIGHUP become the driver's events, one event per delivery. The
//! handler writes the signal's number to a pipe (one byte, async-signal-safe); a thread
//! reads the pipe and forwards each byte to the driver's channel; the core decides what it
//! means (stop starting jobs, forward it to every job's process group, escalate).
//!
//! Counting deliveries matters: two Ctrl-C pressed while the driver is busy must be
//! two events, the second one "kill now" (an iterator that keeps one pending flag per
//! signal would merge them into one). While this watch is alive the signals no longer
//! kill prun itself.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::sync::mpsc::SyncSender as Sender;
use std::thread;

use signal_hook::SigId;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::low_level::{register, unregister};

use crate::runner::event::Event;

pub(crate) struct SignalWatch {
    ids: Vec<SigId>,
    /// The handlers' end of the pipe; dropping it ends the forwarding thread.
    _pipe: io::PipeWriter,
    /// The other end, until the forwarding thread takes it.
    reader: Option<io::PipeReader>,
}

/// Catches SIGINT, SIGTERM and SIGHUP from now on; what arrives waits in the pipe until
/// `forward` starts passing it on (so the thread can start after the first jobs, off
/// their path: nothing is lost meanwhile).
pub(crate) fn watch() -> io::Result<SignalWatch> {
    let (reader, writer) = io::pipe()?;
    let fd = writer.as_raw_fd();
    // Non-blocking: a handler never waits (the pipe holds 65,536 deliveries before one
    // would be dropped).
    crate::executor::command::set_nonblocking(fd);
    let mut ids = Vec::new();
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let byte = sig as u8;
        // SAFETY: the action only calls write(2) on a pipe that outlives the
        // registration (it is unregistered before `_pipe` is dropped): async-signal-safe.
        let id = unsafe {
            register(sig, move || {
                libc::write(fd, (&raw const byte).cast(), 1);
            })
        }?;
        ids.push(id);
    }
    Ok(SignalWatch {
        ids,
        _pipe: writer,
        reader: Some(reader),
    })
}

impl SignalWatch {
    /// Starts the thread that passes each signal on to `tx` as `Event::Signal`. If it
    /// cannot start, the signals get their default action back (they then stop prun at
    /// once, and the keeper stops its jobs) and the error is returned.
    pub(crate) fn forward(&mut self, tx: Sender<Event>) -> io::Result<()> {
        let Some(mut reader) = self.reader.take() else {
            return Ok(());
        };
        let started = thread::Builder::new()
            .name("prun-signals".into())
            .spawn(move || {
                super::event::serving(&tx.clone(), || {
                    let mut buf = [0u8; 64];
                    loop {
                        match reader.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                for &sig in &buf[..n] {
                                    if tx.send(Event::Signal(i32::from(sig))).is_err() {
                                        return;
                                    }
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                });
            });
        if let Err(e) = started {
            for id in self.ids.drain(..) {
                unregister(id);
            }
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                // SAFETY: restores the default action; no handler code is installed.
                unsafe { libc::signal(sig, libc::SIG_DFL) };
            }
            return Err(e);
        }
        Ok(())
    }
}

impl SignalWatch {
    /// The signals caught and not passed on yet, while the forwarding thread has not
    /// started (a run that ends before it does must still hear them); read without
    /// waiting.
    pub(crate) fn pending(&mut self) -> Vec<i32> {
        let Some(reader) = &mut self.reader else {
            return Vec::new();
        };
        let mut got = Vec::new();
        loop {
            let mut fds = [libc::pollfd {
                fd: reader.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: polls one descriptor we own, without waiting.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
            if ready <= 0 || fds[0].revents & libc::POLLIN == 0 {
                return got;
            }
            let mut buf = [0u8; 64];
            match reader.read(&mut buf) {
                Ok(n) if n > 0 => got.extend(buf[..n].iter().map(|&b| i32::from(b))),
                _ => return got,
            }
        }
    }
}

/// A file size limit (`ulimit -f`) reached while prun writes a log or its stdout must be
/// a write error prun reports, not SIGXFSZ killing prun and leaving its jobs to the
/// keeper. Jobs get the default disposition back ([`executor::vfork`](crate::executor::vfork)).
pub(crate) fn ignore_file_size_signal() {
    // SAFETY: setting a signal to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

impl Drop for SignalWatch {
    /// Stops the forwarding: the handlers are removed (the signals are then ignored until
    /// prun exits, a moment later), and the thread sees the pipe close and ends on its
    /// own. Not joined: waiting for it would add a context switch to every run's exit.
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            unregister(id);
        }
    }
}
