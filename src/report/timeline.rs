//! `--timeline FILE.svg`: a picture of the run. One row per pool slot, one bar per attempt
//! from its start to its end, coloured by how it ended and labelled with the job's name
//! (hover for the details), over a time axis — where the time went, and which jobs held
//! the pool, at a glance.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::{AttemptRecord, Status};

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
    let height = TOP + ROW * slots as f64 + 60.0;
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
    for slot in 1..=slots {
        let y = TOP + ROW * (slot - 1) as f64;
        let fill = if slot % 2 == 0 { "#f4f4f4" } else { "#fbfbfb" };
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{y}" width="{PLOT_W}" height="{ROW}" fill="{fill}"/><text x="8" y="{}" fill="#333">slot {slot}</text>"##,
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
        let mut how = a.ending().words().to_string();
        if !a.held.is_empty() {
            label = format!("{label} [{}]", a.held);
            how = format!("{how}, holding {}", a.held);
        }
        let _ = write!(
            s,
            r##"<g class="attempt"><title>{} (attempt {}): {}, {how}, {:.3}s from {:.3}s</title><rect x="{x0:.2}" y="{y}" width="{w:.2}" height="{BAR}" rx="3" fill="{}" stroke="#00000033"/>"##,
            esc(&a.name),
            a.attempt,
            a.status,
            a.duration.as_secs_f64(),
            t0,
            colour(a.status)
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
    axis(&mut s, total_s, TOP + ROW * slots as f64);
    legend(&mut s, TOP + ROW * slots as f64 + 45.0);
    s.push_str("</svg>\n");
    s
}

/// A time axis under the rows, with round tick steps.
fn axis(s: &mut String, total_s: f64, y: f64) {
    let raw = total_s / 8.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|st| *st >= raw)
        .unwrap_or(mag * 10.0);
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#333"/>"##,
        LEFT + PLOT_W
    );
    let mut t = 0.0;
    while t <= total_s + 1e-9 {
        let x = LEFT + t / total_s * PLOT_W;
        let label = if step >= 1.0 {
            format!("{t:.0}s")
        } else {
            format!("{:.0}ms", t * 1000.0)
        };
        let _ = writeln!(
            s,
            r##"<line x1="{x:.2}" y1="{y}" x2="{x:.2}" y2="{}" stroke="#333"/><text x="{x:.2}" y="{}" text-anchor="middle" fill="#333">{label}</text>"##,
            y + 5.0,
            y + 18.0
        );
        t += step;
    }
}

fn legend(s: &mut String, y: f64) {
    let mut x = LEFT;
    for st in [
        Status::Success,
        Status::Failed,
        Status::TimedOut,
        Status::Interrupted,
    ] {
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{y}" fill="#333">{}</text>"##,
            y - 10.0,
            colour(st),
            x + 16.0,
            st
        );
        x += 110.0;
    }
    s.push('\n');
}

fn colour(st: Status) -> &'static str {
    match st {
        Status::Success => "#2e7d32",
        Status::Failed => "#c62828",
        Status::TimedOut => "#ef6c00",
        Status::Interrupted => "#6a1b9a",
        Status::Skipped | Status::NotRun => "#9e9e9e",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
