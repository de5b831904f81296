//! The redirect cache: L1 in process, L2 in Redis (optional), then Postgres.
//!
//! A miss fills both tiers; unknown codes are cached briefly as `Missing`. Writes are
//! announced by a Postgres trigger (`NOTIFY link_cache`), which every replica's
//! [`invalidation`] listener applies; the writing replica also evicts at once.

mod breaker;
pub mod invalidation;
mod local;
mod shared;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

pub use breaker::{Breaker, BreakerState};
use local::LocalCache;
pub use shared::{RedisSettings, SharedCache, SharedLookup};

use crate::db::{cache_state, urls};
use crate::metrics::{Metrics, Timed};

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
    pub async fn resolve(&self, pool: &PgPool, code: &str) -> Result<Arc<CacheEntry>, sqlx::Error> {
        let hot = &self.metrics.hot;
        if let Some(entry) = self.local.get(code) {
            match entry.as_ref() {
                CacheEntry::Link(_) => hot.l1_hit.inc(),
                CacheEntry::Missing => hot.l1_negative_hit.inc(),
            }
            return Ok(entry);
        }
        hot.l1_miss.inc();
        if let Some(shared) = &self.shared {
            match shared.get(code).await {
                SharedLookup::Hit(entry) => {
                    let entry = Arc::new(entry);
                    self.count("l2", hit_label(&entry));
                    self.local.insert(code, entry.clone());
                    return Ok(entry);
                }
                SharedLookup::Miss => self.count("l2", "miss"),
                SharedLookup::Unavailable => self.count("l2", "skipped"),
            }
        }
        let seen = self.invalidations.load(Ordering::SeqCst);
        let mut connection = self.metrics.db.acquire(pool).await?;
        let target = urls::find_target(&mut connection, code)
            .timed(&self.metrics.db, "urls.find_target")
            .await?;
        drop(connection);
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

    /// Forgets `code` in both tiers. When Redis cannot be reached, moves the shared
    /// cache to a new generation so the stale entry is never read again.
    pub async fn invalidate(&self, pool: &PgPool, code: &str) {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        self.local.remove(code);
        self.metrics
            .cache_invalidations
            .with_label_values(&["l1"])
            .inc();
        let Some(shared) = &self.shared else {
            return;
        };
        if shared.delete(code).await {
            self.metrics
                .cache_invalidations
                .with_label_values(&["l2"])
                .inc();
            return;
        }
        self.metrics
            .cache_invalidations
            .with_label_values(&["l2_failed"])
            .inc();
        match shared
            .move_past_missed_delete(|| cache_state::bump_generation(pool))
            .await
        {
            Ok(Some(generation)) => {
                self.metrics
                    .cache_invalidations
                    .with_label_values(&["generation_bump"])
                    .inc();
                tracing::warn!(
                    generation,
                    code,
                    "redis unreachable during invalidation; moved the shared cache to a new generation"
                );
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, code, "redis unreachable during invalidation and the generation could not be moved; the entry may be stale until its TTL");
            }
        }
    }

    /// After notifications may have been missed (listener reconnected): forget L1 and
    /// re-read the shared cache generation.
    pub async fn resync(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        self.local.clear();
        if let Some(shared) = &self.shared {
            shared.adopt_generation(cache_state::generation(pool).await?);
        }
        Ok(())
    }

    /// Adopts a generation announced by another replica.
    pub fn adopt_generation(&self, generation: i64) {
        if let Some(shared) = &self.shared {
            shared.adopt_generation(generation);
        }
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
