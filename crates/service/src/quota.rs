//! The quota on creates per API key: a GCRA limiter (governor) in each replica, keyed by
//! the key's name, and what a caller is told about it (remaining, refill, retry).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, QuantaInstant};
use governor::middleware::{NoOpMiddleware, StateInformationMiddleware};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// The configured quota: one create comes back every `refill_every`, up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateQuotaSettings {
    pub refill_every: Duration,
    pub burst: NonZeroU32,
}

impl CreateQuotaSettings {
    /// `per_second` creates a second, sustained, with `burst` at once.
    pub fn per_second(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            refill_every: Duration::from_secs(1) / per_second.get(),
            burst,
        }
    }
}

/// One replica's limiter over every key.
pub struct CreateQuota {
    settings: CreateQuotaSettings,
    limiter: RateLimiter<
        String,
        DefaultKeyedStateStore<String>,
        DefaultClock,
        StateInformationMiddleware,
    >,
    clock: DefaultClock,
}

/// Whether a create may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; `remaining` more may follow at once, and the whole burst is back after
    /// `full_in`.
    Allowed { remaining: u32, full_in: Duration },
    /// Over quota: the next create is allowed after `retry_after`.
    Refused { retry_after: Duration },
}

impl CreateQuota {
    pub fn new(settings: CreateQuotaSettings) -> Self {
        let clock = DefaultClock::default();
        let quota = Quota::with_period(settings.refill_every)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(settings.burst);
        let limiter: RateLimiter<String, _, _, NoOpMiddleware<QuantaInstant>> =
            RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone());
        let limiter = limiter.with_middleware::<StateInformationMiddleware>();
        Self {
            settings,
            limiter,
            clock,
        }
    }

    /// The quota as configured.
    pub fn settings(&self) -> CreateQuotaSettings {
        self.settings
    }

    /// The time the whole burst takes to refill: the policy's window.
    pub fn window(&self) -> Duration {
        refill_time(self.settings, self.settings.burst.get())
    }

    /// Forgets the keys whose burst has refilled, once more than `remembered` are held:
    /// a limiter keyed by clients would otherwise grow with every client ever seen.
    pub fn forget_idle_beyond(&self, remembered: usize) {
        if self.limiter.len() > remembered {
            self.limiter.retain_recent();
        }
    }

    /// Takes one create from `key`'s quota, if there is one left.
    pub fn check(&self, key: &str) -> Decision {
        match self.limiter.check_key(&key.to_owned()) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Decision::Allowed {
                    remaining,
                    full_in: refill_time(
                        self.settings,
                        self.settings.burst.get().saturating_sub(remaining),
                    ),
                }
            }
            Err(not_until) => Decision::Refused {
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }
}

/// Why `n` creates at once were not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManyRefused {
    /// Not now: all of them are allowed after this.
    Wait(Duration),
    /// Never at once: more than the key's burst.
    BeyondBurst { burst: u32 },
}

impl CreateQuota {
    /// Takes `n` creates from `key`'s quota at once, or none.
    pub fn check_many(&self, key: &str, n: u32) -> Result<(), ManyRefused> {
        let Some(n) = NonZeroU32::new(n) else {
            return Ok(());
        };
        match self.limiter.check_key_n(&key.to_owned(), n) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(not_until)) => Err(ManyRefused::Wait(
                not_until.wait_time_from(self.clock.now()),
            )),
            Err(_) => Err(ManyRefused::BeyondBurst {
                burst: self.settings.burst.get(),
            }),
        }
    }
}

fn refill_time(settings: CreateQuotaSettings, cells: u32) -> Duration {
    settings.refill_every * cells
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(per_second: u32, burst: u32) -> CreateQuota {
        CreateQuota::new(CreateQuotaSettings::per_second(
            NonZeroU32::new(per_second).unwrap(),
            NonZeroU32::new(burst).unwrap(),
        ))
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait_and_keys_are_apart() {
        let quota = quota(1, 3);
        for expected in [2, 1, 0] {
            match quota.check("a") {
                Decision::Allowed { remaining, .. } => assert_eq!(remaining, expected),
                refused => panic!("within the burst: {refused:?}"),
            }
        }
        match quota.check("a") {
            Decision::Refused { retry_after } => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
            }
            allowed => panic!("past the burst: {allowed:?}"),
        }
        assert!(matches!(
            quota.check("b"),
            Decision::Allowed { remaining: 2, .. }
        ));
        assert_eq!(quota.window(), Duration::from_secs(3));
    }
}
