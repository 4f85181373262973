//! The progress bar (indicatif) on stderr: done / total, failures, the running jobs'
//! names and the elapsed time. Services are counted apart: not in done / total, but
//! listed while they run. Shown only when stderr is a terminal and this is not CI
//! (or with `--progress always`); job output is printed above it, never through it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct ProgressView {
    bar: ProgressBar,
    running: BTreeMap<usize, String>,
    failed: usize,
    /// The services, and those running now.
    services: BTreeSet<usize>,
    up: BTreeMap<usize, String>,
    /// Why the throttles hold jobs back now.
    waiting: Option<String>,
}

impl ProgressView {
    /// A bar for `total` jobs, of which `services` are services.
    pub(crate) fn new(total: usize, services: BTreeSet<usize>) -> Self {
        let total = total - services.len();
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        // The bar and its counters take about 55 columns; a narrow terminal gets the
        // counters alone, so that the line never wraps (the running names are cut to fit).
        let template = match stderr_columns() {
            Some(w) if w < 80 => "{pos}/{len} {wide_msg}",
            _ => "{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}",
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        ProgressView {
            bar,
            running: BTreeMap::new(),
            failed: 0,
            services,
            up: BTreeMap::new(),
            waiting: None,
        }
    }

    pub(crate) fn started(&mut self, job: usize, name: &str) {
        // The bar is drawn by indicatif, not through prun's masked writers.
        let name = &*crate::mask::current().text(name);
        if self.services.contains(&job) {
            self.up.insert(job, name.to_owned());
            return self.refresh();
        }
        self.running.insert(job, name.to_owned());
        self.refresh();
    }

    /// A job reached its final state (`ok` = succeeded).
    pub(crate) fn ended(&mut self, job: usize, ok: bool) {
        if self.services.contains(&job) {
            self.up.remove(&job);
            if !ok {
                self.failed += 1;
            }
            return self.refresh();
        }
        self.running.remove(&job);
        if !ok {
            self.failed += 1;
        }
        self.bar.inc(1);
        self.refresh();
    }

    /// An attempt ended that will be retried: the job is no longer running.
    pub(crate) fn paused(&mut self, job: usize) {
        self.running.remove(&job);
        self.refresh();
    }

    /// The throttles hold jobs back, for this reason (`None`: no longer).
    pub(crate) fn waiting(&mut self, why: Option<&str>) {
        self.waiting = why.map(str::to_owned);
        self.refresh();
    }

    /// A dynamic matrix (counted as one job) became `n` jobs.
    pub(crate) fn add(&mut self, n: usize) {
        let len = self.bar.length().unwrap_or(0);
        self.bar.set_length((len + n as u64).saturating_sub(1));
    }

    /// Runs `f` (which prints) with the bar hidden, then redraws it.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn refresh(&self) {
        // The parts there are, one " · " between two (none at the end).
        let mut parts = Vec::new();
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        if let Some(why) = &self.waiting {
            parts.push(format!("waiting: {why}"));
        }
        if !self.running.is_empty() {
            let names: Vec<&str> = self.running.values().map(String::as_str).collect();
            parts.push(format!("running: {}", names.join(", ")));
        }
        if !self.up.is_empty() {
            let up: Vec<&str> = self.up.values().map(String::as_str).collect();
            parts.push(format!("services: {}", up.join(", ")));
        }
        self.bar.set_message(parts.join(" · "));
    }
}

/// The width of the terminal on stderr, if it is one.
fn stderr_columns() -> Option<u16> {
    terminal_size::terminal_size_of(std::io::stderr()).map(|(w, _)| w.0)
}
