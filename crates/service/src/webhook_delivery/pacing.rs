//! Per-destination pacing: each replica sends one receiver host at most `rate` attempts a
//! second, with up to `rate` at once after a quiet spell. Every attempt reserves the
//! host's next free slot, so deliveries over the rate are put back each for its own turn
//! (spread a slot apart), not all at once to collide again; a delivery back for the slot
//! it was given goes, without taking another.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Hosts (and deliveries holding a slot) remembered before the stale ones are forgotten.
const REMEMBERED: usize = 10_000;

/// How early a delivery may come back for its slot (the database's clock and this
/// replica's differ a little; a poll rounds too).
const EARLY: Duration = Duration::from_millis(20);

/// One replica's pacing of every receiver host.
pub(super) struct Pacing {
    /// The time between two slots of one host.
    period: Duration,
    /// How far behind now a quiet host's slots may start: its burst.
    burst_span: Duration,
    /// Each host's next free slot, and the slots given to deliveries put back.
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    next: HashMap<String, Instant>,
    given: HashMap<i64, Instant>,
}

impl Pacing {
    /// `per_second` attempts a second to one host, and as many at once.
    pub fn new(per_second: NonZeroU32) -> Self {
        let period = Duration::from_secs(1) / per_second.get();
        Self {
            period,
            burst_span: period * (per_second.get() - 1),
            slots: Mutex::new(Slots::default()),
        }
    }

    /// `None` when delivery `id`'s attempt to `url`'s host may go now; else how long
    /// until the slot it has been given.
    pub fn wait_for(&self, id: i64, url: &str) -> Option<Duration> {
        self.wait_for_at(id, url, Instant::now())
    }

    fn wait_for_at(&self, id: i64, url: &str, now: Instant) -> Option<Duration> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.given.remove(&id) {
            if slot <= now + EARLY {
                return None;
            }
            slots.given.insert(id, slot);
            return Some(slot - now);
        }
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let earliest = now.checked_sub(self.burst_span).unwrap_or(now);
        if slots.next.len() > REMEMBERED {
            slots.next.retain(|_, next| *next > earliest);
        }
        if slots.given.len() > REMEMBERED {
            // Taken by another replica, or deleted: their slots are long gone.
            let stale = now.checked_sub(Duration::from_secs(60)).unwrap_or(now);
            slots.given.retain(|_, slot| *slot > stale);
        }
        let next = slots.next.entry(host).or_insert(earliest);
        let slot = (*next).max(earliest);
        *next = slot + self.period;
        if slot <= now {
            return None;
        }
        slots.given.insert(id, slot);
        Some(slot - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_gets_its_burst_then_one_slot_a_period_each_reserved_and_others_are_apart() {
        let pacing = Pacing::new(NonZeroU32::new(4).unwrap());
        let now = Instant::now() + Duration::from_secs(10);
        let at = |id: i64, url: &str| pacing.wait_for_at(id, url, now);
        for id in 0..4 {
            assert_eq!(at(id, "https://a.example/hook"), None, "the burst");
        }
        assert_eq!(
            at(4, "https://a.example/x"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            at(5, "https://a.example/hook"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(at(6, "https://b.example/hook"), None, "another host");
        // Back early, the same slot; back on time, it goes and takes no other.
        assert_eq!(
            at(5, "https://a.example/hook"),
            Some(Duration::from_millis(500))
        );
        let then = now + Duration::from_millis(500);
        assert_eq!(pacing.wait_for_at(5, "https://a.example/hook", then), None);
        assert_eq!(
            pacing.wait_for_at(7, "https://a.example/hook", then),
            Some(Duration::from_millis(250)),
            "the next free slot is still after 5's"
        );
    }
}
