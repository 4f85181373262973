//! A job's retry policy (`retries`, `retry_delay`, `backoff`, `retry_delay_max`,
//! `retry_on_exit`): validated from the jobfile, and asked after each failed attempt
//! whether and when to try again.

use std::time::Duration;

use crate::input::diagnostic::{Diagnostic, Source};
use crate::input::jobfile::{JobKeys, Sp};

/// At most this many retries per job, to catch typos like `retries: 10000`.
const MAX_RETRIES: i64 = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts after the first.
    pub(crate) retries: u32,
    pub(crate) delay: Duration,
    pub(crate) exponential: bool,
    pub(crate) delay_max: Option<Duration>,
    /// Retry only when the attempt exited with one of these codes.
    pub(crate) on_exit: Option<Vec<i32>>,
}

impl RetryPolicy {
    /// The policy of a job whose own keys are `job`, falling back to `defaults`.
    pub(crate) fn resolve(
        src: &Source,
        job: &JobKeys,
        defaults: &JobKeys,
    ) -> Result<Self, Diagnostic> {
        let retries = match job.retries.as_ref().or(defaults.retries.as_ref()) {
            None => 0,
            Some(r) if (0..=MAX_RETRIES).contains(&r.value) => r.value as u32,
            Some(r) => {
                return Err(diag(
                    src,
                    r,
                    format!(
                        "retries must be between 0 and {MAX_RETRIES}, not {}",
                        r.value
                    ),
                )
                .help("`retries: 2` means up to 3 attempts in all"));
            }
        };
        let exponential = match job.backoff.as_ref().or(defaults.backoff.as_ref()) {
            None => false,
            Some(b) if b.value == "exponential" => true,
            Some(b) if b.value == "fixed" => false,
            Some(b) => {
                return Err(diag(src, b, format!("unknown backoff '{}'", b.value))
                    .help("use `backoff: fixed` (the default) or `backoff: exponential`"));
            }
        };
        let delay_max = job
            .retry_delay_max
            .as_ref()
            .or(defaults.retry_delay_max.as_ref());
        if let Some(m) = delay_max
            && !exponential
        {
            return Err(diag(
                src,
                m,
                "`retry_delay_max` only applies with `backoff: exponential`".into(),
            )
            .help("add `backoff: exponential`, or remove `retry_delay_max`"));
        }
        let on_exit = job
            .retry_on_exit
            .as_ref()
            .or(defaults.retry_on_exit.as_ref());
        let on_exit = match on_exit {
            None => None,
            Some(codes) => Some(exit_codes(src, codes)?),
        };
        let delay = job.retry_delay.as_ref().or(defaults.retry_delay.as_ref());
        Ok(RetryPolicy {
            retries,
            delay: delay.map_or(Duration::ZERO, |d| d.value.0),
            exponential,
            delay_max: delay_max.map(|m| m.value.0),
            on_exit,
        })
    }

    /// Whether attempt number `attempt` (from 1), which failed with `exit_code` (`None`
    /// when it was killed or timed out), is followed by another.
    pub(crate) fn retry_after(&self, attempt: u32, exit_code: Option<i32>) -> bool {
        if attempt > self.retries {
            return false;
        }
        match (&self.on_exit, exit_code) {
            (None, _) => true,
            (Some(codes), Some(c)) => codes.contains(&c),
            (Some(_), None) => false,
        }
    }

    /// How long to wait before attempt `attempt + 1`.
    pub(crate) fn delay_after(&self, attempt: u32) -> Duration {
        if !self.exponential {
            return self.delay;
        }
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        let d = self.delay.saturating_mul(factor);
        self.delay_max.map_or(d, |m| d.min(m))
    }
}

fn exit_codes(src: &Source, codes: &Sp<Vec<i64>>) -> Result<Vec<i32>, Diagnostic> {
    if codes.value.is_empty() {
        return Err(diag(
            src,
            codes,
            "`retry_on_exit` is empty, so nothing would be retried".into(),
        )
        .help(
            "list the exit codes to retry on, e.g. `retry_on_exit: [75, 111]`, or remove the key",
        ));
    }
    codes
        .value
        .iter()
        .map(|&c| match c {
            1..=255 => Ok(c as i32),
            _ => Err(
                diag(src, codes, format!("exit code {c} cannot be retried on"))
                    .help("exit codes that mean failure are 1 to 255"),
            ),
        })
        .collect()
}

fn diag<T>(src: &Source, at: &Sp<T>, msg: String) -> Diagnostic {
    Diagnostic::at(src, at.referenced, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(retries: u32, delay: u64, exponential: bool, max: Option<u64>) -> RetryPolicy {
        RetryPolicy {
            retries,
            delay: Duration::from_secs(delay),
            exponential,
            delay_max: max.map(Duration::from_secs),
            on_exit: None,
        }
    }

    #[test]
    fn exponential_backoff_doubles_up_to_the_cap() {
        let p = policy(5, 1, true, Some(5));
        let delays: Vec<u64> = (1..=5).map(|a| p.delay_after(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        assert_eq!(policy(5, 3, false, None).delay_after(4).as_secs(), 3);
    }

    #[test]
    fn retries_stop_after_the_last_attempt_and_honour_exit_codes() {
        let mut p = policy(2, 0, false, None);
        assert!(p.retry_after(1, Some(1)) && p.retry_after(2, None));
        assert!(!p.retry_after(3, Some(1)));
        p.on_exit = Some(vec![75]);
        assert!(p.retry_after(1, Some(75)));
        assert!(!p.retry_after(1, Some(1)) && !p.retry_after(1, None));
    }
}
