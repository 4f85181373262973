//! `--timeline FILE.svg`: a picture of the run. One row per pool slot (and one per
//! service, which takes no slot: below them, labelled `service`), one bar per attempt
//! that started, from its start to its end, coloured by how it ended and labelled with
//! the job's name (hover for the details), over a time axis — where the time went, and
//! which jobs held the pool, at a glance. Text from jobs goes through [`report::visible`](crate::report::visible):
//! the SVG is well-formed XML whatever a matrix value holds.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::outcome::Status;
use crate::outcome::attempt::AttemptRecord;

const LEFT: f64 = 70.0;
const PLOT_W: f64 = 1000.0;
const TOP: f64 = 50.0;
const ROW: f64 = 28.0;
const BAR: f64 = 20.0;
const CHAR_W: f64 = 7.0;

/// The timeline of `attempts` on `slots` rows, as SVG.
pub(crate) fn render(
    title: &str,
    attempts: &[AttemptRecord],
    slots: usize,
    start: SystemTime,
    total: Duration,
) -> String {
    let total_s = total.as_secs_f64().max(1e-3);
    // Services run in the slots past the pool's.
    let rows = (attempts.iter().map(|a| a.slot).max().unwrap_or(0)).max(slots);
    let height = TOP + ROW * rows as f64 + 60.0;
    let width = LEFT + PLOT_W + 20.0;
    let x = |t: f64| LEFT + t / total_s * PLOT_W;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>
<text x="{LEFT}" y="38" fill="#555">{} attempts on {slots} slots in {:.2}s</text>
"##,
        esc(title),
        attempts.len(),
        total_s
    );
    for row in 1..=rows {
        let y = TOP + ROW * (row - 1) as f64;
        let fill = if row % 2 == 0 { "#f4f4f4" } else { "#fbfbfb" };
        let label = if row <= slots {
            format!("slot {row}")
        } else {
            "service".to_owned()
        };
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{y}" width="{PLOT_W}" height="{ROW}" fill="{fill}"/><text x="8" y="{}" fill="#333">{label}</text>"##,
            y + ROW / 2.0 + 4.0
        );
    }
    for a in attempts {
        let t0 = a
            .start
            .duration_since(start)
            .unwrap_or_default()
            .as_secs_f64();
        let (x0, x1) = (x(t0), x(t0 + a.duration.as_secs_f64()));
        let w = (x1 - x0).max(1.0);
        let y = TOP + ROW * (a.slot.max(1) - 1) as f64 + (ROW - BAR) / 2.0;
        let mut label = if a.attempt > 1 {
            format!("{} #{}", a.name, a.attempt)
        } else {
            a.name.to_string()
        };
        let mut how = a.ending.words().to_string();
        if !a.held.is_empty() {
            label = format!("{label} [{}]", a.held);
            how = format!("{how}, holding {}", a.held);
        }
        if let Some(c) = a.cost {
            let at_most = if c.max_rss_exact { "" } else { "at most " };
            how = format!(
                "{how}, {:.3}s of CPU, peak memory {at_most}{}",
                c.cpu.as_secs_f64(),
                crate::sizes::short(c.max_rss)
            );
        }
        let _ = write!(
            s,
            r##"<g class="attempt"><title>{} (attempt {}): {}, {how}, {:.3}s from {:.3}s</title><rect x="{x0:.2}" y="{y}" width="{w:.2}" height="{BAR}" rx="3" fill="{}" stroke="#00000033"/>"##,
            esc(&a.name),
            a.attempt,
            if a.allowed {
                format!("{} (allowed)", a.status)
            } else {
                a.status.to_string()
            },
            a.duration.as_secs_f64(),
            t0,
            if a.allowed { ALLOWED } else { colour(a.status) }
        );
        let fits = (w - 6.0) / CHAR_W;
        if fits >= 3.0 {
            let text: String = if label.chars().count() as f64 <= fits {
                label
            } else {
                let keep = (fits as usize).saturating_sub(1);
                label.chars().take(keep).chain(['…']).collect()
            };
            let _ = write!(
                s,
                r##"<text x="{:.2}" y="{}" fill="#fff">{}</text>"##,
                x0 + 3.0,
                y + BAR / 2.0 + 4.0,
                esc(&text)
            );
        }
        s.push_str("</g>\n");
    }
    axis(&mut s, total_s, TOP + ROW * rows as f64);
    legend(
        &mut s,
        TOP + ROW * rows as f64 + 45.0,
        attempts.iter().any(|a| a.allowed),
    );
    s.push_str("</svg>\n");
    s
}

/// Round tick steps, in seconds: ms, s, min and h steps people read at a glance.
const STEPS: [f64; 27] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0,
    120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0,
];

/// A time axis under the rows, with round tick steps in the unit that fits the run
/// (`250ms`, `30s`, `15min`, `2h`); the last label never runs off the picture.
fn axis(s: &mut String, total_s: f64, y: f64) {
    let raw = total_s / 8.0;
    let step = STEPS
        .into_iter()
        .find(|st| *st >= raw)
        .unwrap_or_else(|| (raw / 86400.0).ceil() * 86400.0);
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#333"/>"##,
        LEFT + PLOT_W
    );
    let mut k = 0.0;
    loop {
        let t = k * step;
        if t > total_s + 1e-9 {
            break;
        }
        let x = LEFT + t / total_s * PLOT_W;
        let label = tick_label(t, step);
        let anchor = if x > LEFT + PLOT_W - 25.0 {
            "end"
        } else {
            "middle"
        };
        let _ = writeln!(
            s,
            r##"<line x1="{x:.2}" y1="{y}" x2="{x:.2}" y2="{}" stroke="#333"/><text x="{x:.2}" y="{}" text-anchor="{anchor}" fill="#333">{label}</text>"##,
            y + 5.0,
            y + 18.0
        );
        k += 1.0;
    }
}

/// `t` seconds in the unit of the axis' `step`.
fn tick_label(t: f64, step: f64) -> String {
    if step < 1.0 {
        format!("{:.0}ms", t * 1000.0)
    } else if step < 60.0 {
        format!("{t:.0}s")
    } else if step < 3600.0 {
        format!("{:.0}min", t / 60.0)
    } else {
        format!("{:.0}h", t / 3600.0)
    }
}

fn legend(s: &mut String, y: f64, allowed: bool) {
    let mut x = LEFT;
    let statuses = [
        Status::Success,
        Status::Failed,
        Status::TimedOut,
        Status::Interrupted,
    ];
    let entries = statuses.iter().map(|&st| (colour(st), st.as_str()));
    let allowed = allowed.then_some((ALLOWED, "allowed failure"));
    for (fill, word) in entries.chain(allowed) {
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{}" width="12" height="12" fill="{fill}"/><text x="{}" y="{y}" fill="#333">{word}</text>"##,
            y - 10.0,
            x + 16.0,
        );
        x += 110.0;
    }
    s.push('\n');
}

/// An allowed failure's bar: amber, not red.
const ALLOWED: &str = "#f9a825";

fn colour(st: Status) -> &'static str {
    match st {
        Status::Success => "#2e7d32",
        Status::Failed => "#c62828",
        Status::TimedOut => "#ef6c00",
        Status::Interrupted => "#6a1b9a",
        Status::Skipped | Status::NotRun => "#9e9e9e",
        Status::UpToDate => "#a5d6a7",
    }
}

fn esc(s: &str) -> String {
    super::visible::text(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_are_labelled_in_minutes_and_hours_and_the_last_label_fits() {
        let labels = |total: f64| {
            let mut s = String::new();
            axis(&mut s, total, 0.0);
            s.split("fill=\"#333\">")
                .skip(1)
                .map(|p| p.split('<').next().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(labels(0.8)[..3], ["0ms", "100ms", "200ms"]);
        assert_eq!(labels(40.0)[..3], ["0s", "5s", "10s"]);
        assert_eq!(labels(3600.0)[..3], ["0min", "10min", "20min"]);
        assert_eq!(labels(8.0 * 3600.0)[..3], ["0h", "1h", "2h"]);
        let mut s = String::new();
        axis(&mut s, 40.0, 0.0);
        assert!(
            s.trim_end()
                .ends_with(r##"text-anchor="end" fill="#333">40s</text>"##),
            "{s}"
        );
    }
}
