//! SIGINT, SIGTERM and SIGHUP become scheduler events. A signal-hook iterator on its own
//! thread forwards each signal to the scheduler's channel; the scheduler decides what it
//! means (stop starting jobs, forward it to every job's process group, escalate).
//! While this watch is alive the signals no longer kill prun itself.

use std::io;
use std::sync::mpsc::SyncSender as Sender;
use std::thread;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::event::Event;

pub(crate) struct SignalWatch {
    handle: Handle,
}

/// Starts forwarding SIGINT, SIGTERM and SIGHUP to `tx` as `Event::Signal`.
pub(crate) fn watch(tx: Sender<Event>) -> io::Result<SignalWatch> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    thread::Builder::new()
        .name("prun-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if tx.send(Event::Signal(sig)).is_err() {
                    break;
                }
            }
        })?;
    Ok(SignalWatch { handle })
}

/// A file size limit (`ulimit -f`) reached while prun writes a log or its stdout must be
/// a write error prun reports, not SIGXFSZ killing prun and leaving its jobs to the
/// keeper. Jobs get the default disposition back (`executor::vfork`).
pub(crate) fn ignore_file_size_signal() {
    // SAFETY: setting a signal to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

impl Drop for SignalWatch {
    /// Stops the forwarding; the thread ends on its own. Not joined: waking it and
    /// waiting for it would add a context switch to every run's exit, for nothing.
    fn drop(&mut self) {
        self.handle.close();
    }
}
