//! When a failed delivery is tried again: a fixed back-off, each wait stretched or
//! shrunk by up to a fifth at random so that receivers coming back from an outage are not
//! hit by every delivery in the same second.

use std::time::Duration;

/// The waits after the 1st, 2nd, … failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 10 h. With the first attempt that is 8 attempts over about 27.6 hours.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The waits between attempts; a delivery whose last wait is used up has failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::new(RETRY_DELAYS.to_vec())
    }
}

/// The share of a wait the jitter may add or take away.
const JITTER: f64 = 0.2;

impl RetrySchedule {
    /// A schedule of these waits (tests use short ones).
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// How many attempts a delivery gets in all.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// The wait after the `failed`-th failed attempt (1-based), with `unit` in [0, 1)
    /// placing it within the jitter; `None` when that was the last attempt.
    pub fn delay_after(&self, failed: u32, unit: f64) -> Option<Duration> {
        let index = usize::try_from(failed.checked_sub(1)?).ok()?;
        let base = *self.delays.get(index)?;
        let factor = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
        Some(base.mul_f64(factor))
    }

    /// The longest a delivery can take from its first attempt to its last, jitter included.
    pub fn longest_span(&self) -> Duration {
        self.delays.iter().sum::<Duration>().mul_f64(1.0 + JITTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_grows_retries_first_within_ten_seconds_and_spans_about_a_day() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 8);
        let first = schedule.delay_after(1, 0.999).unwrap();
        assert!(first <= Duration::from_secs(10), "{first:?}");
        for failed in 1..7 {
            assert!(
                schedule.delay_after(failed + 1, 0.0).unwrap()
                    >= schedule.delay_after(failed, 0.0).unwrap()
            );
        }
        let span: Duration = RETRY_DELAYS.iter().sum();
        assert!(span > Duration::from_secs(20 * 3600) && span < Duration::from_secs(30 * 3600));
        assert_eq!(
            schedule.delay_after(8, 0.5),
            None,
            "the 8th attempt is the last"
        );
        assert_eq!(schedule.delay_after(0, 0.5), None);
    }

    #[test]
    fn jitter_stays_within_a_fifth_either_way() {
        let schedule = RetrySchedule::new(vec![Duration::from_secs(100)]);
        assert_eq!(schedule.delay_after(1, 0.0), Some(Duration::from_secs(80)));
        assert_eq!(schedule.delay_after(1, 0.5), Some(Duration::from_secs(100)));
        let top = schedule.delay_after(1, 1.0).unwrap();
        assert!(top <= Duration::from_secs(120) && top > Duration::from_secs(119));
        assert_eq!(schedule.longest_span(), Duration::from_secs(120));
    }
}
