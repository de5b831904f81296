//! A circuit breaker for the Redis tier: after consecutive failures the tier is skipped
//! entirely, then probed again by a single request after a cool-down.

use std::sync::Mutex;
use std::time::Duration;

// Tokio's clock, so that tests can pause and advance time instead of sleeping.
use tokio::time::Instant;

use shortener_metrics::Metrics;

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; consecutive failures are counted.
    Closed,
    /// One probe call is in flight; everyone else skips the tier. A probe that never
    /// reports (its request was cancelled) expires after the cool-down.
    HalfOpen,
    /// Calls are skipped until the cool-down ends.
    Open,
}

impl BreakerState {
    fn gauge_value(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half_open",
            Self::Open => "open",
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    /// While open: when to probe. While half-open: when the probe counts as lost.
    open_until: Instant,
}

/// Thread-safe breaker; the lock is held for a few instructions, never across `.await`.
#[derive(Debug)]
pub struct Breaker {
    inner: Mutex<Inner>,
    failure_threshold: u32,
    cooldown: Duration,
    metrics: Metrics,
}

impl Breaker {
    /// A closed breaker that opens after `failure_threshold` consecutive failures and
    /// probes again after `cooldown`.
    pub fn new(failure_threshold: u32, cooldown: Duration, metrics: Metrics) -> Self {
        metrics
            .breaker_state
            .set(BreakerState::Closed.gauge_value());
        Self {
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                open_until: Instant::now(),
            }),
            failure_threshold: failure_threshold.max(1),
            cooldown,
            metrics,
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// Whether a call may go to Redis now. When the cool-down is over, the first caller
    /// becomes the half-open probe and must report its outcome.
    pub fn allow(&self) -> bool {
        let mut inner = self.lock();
        let now = Instant::now();
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::HalfOpen | BreakerState::Open if now < inner.open_until => false,
            BreakerState::HalfOpen => {
                // The previous probe never reported: let this caller probe instead.
                inner.open_until = now + self.cooldown;
                true
            }
            BreakerState::Open => {
                inner.open_until = now + self.cooldown;
                self.transition(&mut inner, BreakerState::HalfOpen);
                true
            }
        }
    }

    /// Reports a successful call.
    pub fn record_success(&self) {
        let mut inner = self.lock();
        inner.consecutive_failures = 0;
        if inner.state != BreakerState::Closed {
            self.transition(&mut inner, BreakerState::Closed);
        }
    }

    /// Reports a failed call (error or timeout).
    pub fn record_failure(&self) {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let should_open = match inner.state {
            BreakerState::Closed => inner.consecutive_failures >= self.failure_threshold,
            BreakerState::HalfOpen => true,
            BreakerState::Open => false,
        };
        if should_open {
            inner.open_until = Instant::now() + self.cooldown;
            self.transition(&mut inner, BreakerState::Open);
        }
    }

    fn transition(&self, inner: &mut Inner, to: BreakerState) {
        let from = inner.state;
        inner.state = to;
        self.metrics.breaker_state.set(to.gauge_value());
        self.metrics
            .breaker_transitions
            .with_label_values(&[to.label()])
            .inc();
        // One line per transition: the log says when Redis was lost and when it came back.
        match to {
            BreakerState::Open => tracing::warn!(
                from = from.label(),
                to = to.label(),
                failures = inner.consecutive_failures,
                "redis cache breaker opened; skipping the shared cache"
            ),
            _ => tracing::info!(
                from = from.label(),
                to = to.label(),
                "redis cache breaker changed state"
            ),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves consistent data (plain fields): keep going.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(cooldown_ms: u64) -> Breaker {
        Breaker::new(3, Duration::from_millis(cooldown_ms), Metrics::default())
    }

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let b = breaker(10_000);
        b.record_failure();
        b.record_failure();
        b.record_success();
        b.record_failure();
        b.record_failure();
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "a success resets the count"
        );
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow());
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_admits_one_probe_then_closes_or_reopens() {
        let b = breaker(20);
        for _ in 0..3 {
            b.record_failure();
        }
        assert!(!b.allow(), "open: skipped during the cool-down");
        tokio::time::advance(Duration::from_millis(19)).await;
        assert!(!b.allow(), "still open just before the cool-down ends");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(b.allow(), "cool-down over: this caller probes");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(!b.allow(), "only one probe at a time");
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open, "a failed probe reopens");
        tokio::time::advance(Duration::from_millis(20)).await;
        assert!(b.allow());
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed, "a good probe closes");
        assert!(b.allow());
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_never_reports_expires_after_the_cooldown() {
        let b = breaker(20);
        for _ in 0..3 {
            b.record_failure();
        }
        tokio::time::advance(Duration::from_millis(20)).await;
        assert!(b.allow(), "first probe");
        assert!(!b.allow(), "probe in flight");
        tokio::time::advance(Duration::from_millis(19)).await;
        assert!(
            !b.allow(),
            "the probe still counts just before the cool-down ends"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(b.allow(), "the lost probe is replaced");
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn state_and_transitions_are_exported() {
        let metrics = Metrics::default();
        let b = Breaker::new(1, Duration::from_secs(60), metrics.clone());
        b.record_failure();
        assert_eq!(metrics.breaker_state.get(), 2);
        assert_eq!(
            metrics
                .breaker_transitions
                .with_label_values(&["open"])
                .get(),
            1
        );
    }
}
