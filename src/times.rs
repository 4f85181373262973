//! Times and durations as prun computes and writes them: a deadline that never
//! overflows, RFC 3339 timestamps (reports, the joblog, run ids) and seconds as people
//! read them.

use std::time::{Duration, Instant, SystemTime};

/// `from + d`, or a hundred years on when that cannot be represented: durations come from
/// the user (`timeout: 1000y`, `--grace 500y`) and must never overflow into a panic.
pub(crate) fn after(from: Instant, d: Duration) -> Instant {
    from.checked_add(d)
        .unwrap_or_else(|| from + Duration::from_secs(100 * 365 * 86_400))
}

/// The longest duration prun takes from a jobfile or the command line, ten (humantime)
/// years: past it, a
/// deadline, a sleep or a count of nanoseconds could overflow, and no run waits so long.
pub(crate) const LONGEST: Duration = Duration::from_secs(10 * 31_557_600);

/// A duration as people write it (humantime: `90s`, `1h 30m`), at most `LONGEST`; why
/// not, in words.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| e.to_string())?;
    if d > LONGEST {
        return Err(format!(
            "longer than prun waits for anything (at most {})",
            humantime::format_duration(LONGEST)
        ));
    }
    Ok(d)
}

/// The wall clock for run ids and a history's ages. In a debug build, `PRUN_TEST_NOW`
/// (seconds since the epoch) sets it: the tests' clock, so that runs a second apart need
/// no second of sleep.
pub(crate) fn run_clock() -> SystemTime {
    #[cfg(debug_assertions)]
    if let Some(secs) = std::env::var("PRUN_TEST_NOW")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        return SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    }
    SystemTime::now()
}

/// RFC 3339 UTC time with milliseconds.
pub(crate) fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Seconds with two decimals, as shown to people (`1.25s`).
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_too_far_away_is_a_hundred_years_on_not_a_panic() {
        let now = Instant::now();
        assert_eq!(
            after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let far = after(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(99 * 365 * 86_400));
    }

    #[test]
    fn durations_past_ten_years_are_refused_not_overflowed() {
        assert_eq!(parse_duration(" 90s "), Ok(Duration::from_secs(90)));
        assert!(parse_duration("9y").is_ok());
        assert!(parse_duration("11y").unwrap_err().contains("at most"));
        assert!(parse_duration("500000000000y").is_err());
        assert!(parse_duration("90").is_err());
    }

    #[test]
    fn times_as_written() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_400_000_123);
        assert_eq!(timestamp(t), "2026-12-04T16:00:00.123Z");
        assert_eq!(secs(Duration::from_millis(1250)), "1.25s");
    }
}
