//! Per-destination pacing: each replica sends one receiver host at most `rate` attempts a
//! second, with up to `rate` at once after a quiet spell. Every delivery over the rate
//! reserves the host's next free slot and is put back due then (`paced` in the outbox),
//! so those over the rate are spread a slot apart rather than all colliding again, and
//! the replica that claims one at its slot sends it without pacing it again.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Hosts remembered before those with no slot reserved ahead are forgotten.
const REMEMBERED_HOSTS: usize = 10_000;

/// One replica's pacing of every receiver host.
pub(super) struct Pacing {
    /// The time between two slots of one host.
    period: Duration,
    /// How far behind now a quiet host's slots may start: its burst.
    burst_span: Duration,
    /// Each host's next free slot.
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl Pacing {
    /// `per_second` attempts a second to one host, and as many at once.
    pub fn new(per_second: NonZeroU32) -> Self {
        let period = Duration::from_secs(1) / per_second.get();
        Self {
            period,
            burst_span: period * (per_second.get() - 1),
            next_slot: Mutex::new(HashMap::new()),
        }
    }

    /// `None` when an attempt to `url`'s host may go now; else how long until the slot
    /// it has been given.
    pub fn wait_for(&self, url: &str) -> Option<Duration> {
        self.wait_for_at(url, Instant::now())
    }

    fn wait_for_at(&self, url: &str, now: Instant) -> Option<Duration> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let earliest = now.checked_sub(self.burst_span).unwrap_or(now);
        let mut next_slot = self
            .next_slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if next_slot.len() > REMEMBERED_HOSTS {
            next_slot.retain(|_, next| *next > earliest);
        }
        let next = next_slot.entry(host).or_insert(earliest);
        let slot = (*next).max(earliest);
        *next = slot + self.period;
        (slot > now).then(|| slot - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_gets_its_burst_then_one_slot_a_period_each_and_another_host_is_apart() {
        let pacing = Pacing::new(NonZeroU32::new(4).unwrap());
        let now = Instant::now() + Duration::from_secs(10);
        let at = |url: &str| pacing.wait_for_at(url, now);
        for _ in 0..4 {
            assert_eq!(at("https://a.example/hook"), None, "the burst");
        }
        assert_eq!(at("https://a.example/x"), Some(Duration::from_millis(250)));
        assert_eq!(
            at("https://a.example/hook"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(at("https://b.example/hook"), None, "another host");
        let later = now + Duration::from_secs(2);
        assert_eq!(pacing.wait_for_at("https://a.example/hook", later), None);
    }
}
