//! The redirect cache: L1 in process, L2 in Redis (optional), then Postgres.
//!
//! A miss fills both tiers; unknown codes are cached briefly as `Missing`. The service
//! layer that changes a link invalidates both tiers once, before it answers
//! ([`LinkCache::invalidate`]); a Postgres trigger (`NOTIFY link_cache`) tells the other
//! replicas' [`invalidation`] listeners, which evict their own in-process entry.

mod breaker;
pub mod invalidation;
mod local;
mod shared;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use breaker::{Breaker, BreakerState};
use local::LocalCache;
pub use shared::{RedisSettings, SharedCache, SharedLookup};

use crate::db::{Db, cache_state, urls};
use crate::metrics::Metrics;

/// What the cache knows about a short code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheEntry {
    /// A live (not deleted) link, active or not.
    Link(CachedLink),
    /// No live link has this code.
    Missing,
}

/// The part of a link a redirect needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedLink {
    pub url_id: i64,
    pub original_url: String,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Lifetimes and bounds of the tiers.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub local_max_bytes: u64,
    pub local_ttl: Duration,
    pub shared_ttl: Duration,
    pub missing_ttl: Duration,
    pub redis: Option<RedisSettings>,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            local_max_bytes: 64 * 1024 * 1024,
            local_ttl: Duration::from_secs(60),
            shared_ttl: Duration::from_secs(300),
            missing_ttl: Duration::from_secs(5),
            redis: None,
        }
    }
}

/// The two-tier cache; cloning shares it.
#[derive(Clone)]
pub struct LinkCache {
    local: LocalCache,
    shared: Option<Arc<SharedCache>>,
    settings: Arc<CacheSettings>,
    /// Bumped by every invalidation: a database read that overlapped one is not cached,
    /// since it may have read the value just replaced.
    invalidations: Arc<AtomicU64>,
    metrics: Metrics,
}

impl LinkCache {
    /// Builds the tiers; Redis is not contacted until first use.
    pub fn new(settings: CacheSettings, metrics: Metrics) -> Result<Self, String> {
        let shared = match &settings.redis {
            Some(redis) => Some(Arc::new(SharedCache::new(redis, metrics.clone())?)),
            None => None,
        };
        Ok(Self {
            local: LocalCache::new(
                settings.local_max_bytes,
                settings.local_ttl,
                settings.missing_ttl,
            ),
            shared,
            settings: Arc::new(settings),
            invalidations: Arc::new(AtomicU64::new(0)),
            metrics,
        })
    }

    /// The Redis tier, when configured.
    pub fn shared(&self) -> Option<&SharedCache> {
        self.shared.as_deref()
    }

    /// What `code` resolves to: from L1, else L2, else Postgres (filling the tiers).
    pub async fn resolve(&self, db: &Db, code: &str) -> Result<Arc<CacheEntry>, sqlx::Error> {
        let hot = &self.metrics.hot;
        if let Some(entry) = self.local.get(code) {
            match entry.as_ref() {
                CacheEntry::Link(_) => hot.l1_hit.inc(),
                CacheEntry::Missing => hot.l1_negative_hit.inc(),
            }
            return Ok(entry);
        }
        hot.l1_miss.inc();
        // Any invalidation from here on may concern what the reads below return: then
        // their answer is used but not kept.
        let seen = self.invalidations.load(Ordering::SeqCst);
        if let Some(shared) = &self.shared {
            match shared.get(code).await {
                SharedLookup::Hit(entry) => {
                    let entry = Arc::new(entry);
                    self.count("l2", hit_label(&entry));
                    if self.invalidations.load(Ordering::SeqCst) == seen {
                        self.local.insert(code, entry.clone());
                    }
                    return Ok(entry);
                }
                SharedLookup::Miss => self.count("l2", "miss"),
                SharedLookup::Unavailable => self.count("l2", "skipped"),
            }
        }
        let target = {
            let mut connection = db.connection("urls.find_target").await?;
            urls::find_target(&mut connection, code).await?
        };
        let entry = Arc::new(match target {
            Some(target) => CacheEntry::Link(CachedLink {
                url_id: target.id,
                original_url: target.original_url,
                is_active: target.is_active,
                expires_at: target.expires_at,
            }),
            None => CacheEntry::Missing,
        });
        self.count("db", hit_label(&entry));
        if self.invalidations.load(Ordering::SeqCst) == seen {
            self.local.insert(code, entry.clone());
            if let Some(shared) = &self.shared {
                let ttl = match entry.as_ref() {
                    CacheEntry::Link(_) => self.settings.shared_ttl,
                    CacheEntry::Missing => self.settings.missing_ttl,
                };
                shared.set(code, &entry, ttl).await;
                // An invalidation that landed while the write was in flight may have
                // deleted the key before it was written: undo the fill.
                if self.invalidations.load(Ordering::SeqCst) != seen {
                    shared.delete(code).await;
                    self.local.remove(code);
                }
            }
        }
        Ok(entry)
    }

    /// Forgets `codes` in both tiers: the in-process entries, then the Redis entries in
    /// one round trip. When Redis cannot be reached, moves the shared cache to a new
    /// generation so the stale entries are never read again. Called once per change, by
    /// whoever owns it: the service layer for its own writes, the listener for writes
    /// from outside any replica.
    pub async fn invalidate(&self, db: &Db, codes: &[&str]) {
        if codes.is_empty() {
            return;
        }
        self.forget_local(codes);
        let Some(shared) = &self.shared else {
            return;
        };
        if shared.delete_all(codes).await {
            self.count_invalidations("l2", codes.len());
            return;
        }
        self.count_invalidations("l2_failed", codes.len());
        let bump = || async {
            let mut connection = db.connection("cache_state.bump_generation").await?;
            cache_state::bump_generation(&mut connection).await
        };
        match shared.move_past_missed_delete(bump).await {
            Ok(Some(generation)) => {
                self.count_invalidations("generation_bump", 1);
                tracing::warn!(
                    generation,
                    codes = codes.len(),
                    "redis unreachable during invalidation; moved the shared cache to a new generation"
                );
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, codes = codes.len(), "redis unreachable during invalidation and the generation could not be moved; the entries may be stale until their TTL");
            }
        }
    }

    /// Invalidates the links a write of this replica changed (the service layer calls it
    /// after the commit, before answering): both tiers now, and Redis once more after
    /// [`Self::settle_time`], in case another replica's read of the old row was filling
    /// Redis while the first delete ran. The other replicas' listeners only evict their
    /// in-process entries (see [`invalidation`]).
    pub async fn invalidate_own_write(&self, db: &Db, codes: &[&str]) {
        self.invalidate(db, codes).await;
        if self.shared.is_none() || codes.is_empty() {
            return;
        }
        let cache = self.clone();
        let codes: Vec<String> = codes.iter().map(|code| (*code).to_owned()).collect();
        let settle = self.settle_time();
        tokio::spawn(async move {
            tokio::time::sleep(settle).await;
            let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
            cache.forget_local(&codes);
            if let Some(shared) = &cache.shared
                && shared.delete_all(&codes).await
            {
                cache.count_invalidations("l2", codes.len());
            }
        });
    }

    /// Forgets `codes` in this replica's tier only (another replica owns the Redis
    /// entries of its own writes).
    pub fn forget_local(&self, codes: &[&str]) {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        for code in codes {
            self.local.remove(code);
        }
        self.count_invalidations("l1", codes.len());
    }

    /// After notifications may have been missed (listener reconnected): forget L1 and
    /// re-read the shared cache generation.
    pub async fn resync(&self, db: &Db) -> Result<(), sqlx::Error> {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        self.local.clear();
        if let Some(shared) = &self.shared {
            let mut connection = db.connection("cache_state.generation").await?;
            shared.adopt_generation(cache_state::generation(&mut connection).await?);
        }
        Ok(())
    }

    /// Adopts a generation announced by another replica.
    pub fn adopt_generation(&self, generation: i64) {
        if let Some(shared) = &self.shared {
            shared.adopt_generation(generation);
        }
    }

    /// How long after another replica's write its Redis delete may still be in flight
    /// (a few Redis command timeouts): the listener evicts the in-process entry again
    /// then, in case a read in between copied the stale Redis entry.
    pub fn settle_time(&self) -> Duration {
        self.settings
            .redis
            .as_ref()
            .map_or(Duration::ZERO, |redis| {
                (redis.command_timeout * 4).max(Duration::from_millis(200))
            })
    }

    fn count_invalidations(&self, kind: &str, count: usize) {
        self.metrics
            .cache_invalidations
            .with_label_values(&[kind])
            .inc_by(count as u64);
    }

    fn count(&self, tier: &str, result: &str) {
        self.metrics
            .cache_lookups
            .with_label_values(&[tier, result])
            .inc();
    }
}

fn hit_label(entry: &CacheEntry) -> &'static str {
    match entry {
        CacheEntry::Link(_) => "hit",
        CacheEntry::Missing => "negative_hit",
    }
}
