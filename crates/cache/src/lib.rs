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

use serde::{Deserialize, Serialize};

pub use breaker::{Breaker, BreakerState};
use local::LocalCache;
pub use shared::{RedisSettings, SharedCache, SharedLookup};

use shortener_domain::RedirectTarget;
use shortener_metrics::Metrics;
use shortener_store::{Db, cache_state, urls};

/// What the cache knows about a short code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheEntry {
    /// A live (not deleted) link, active or not.
    Link(RedirectTarget),
    /// No live link has this code.
    Missing,
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
    /// Bumped when an invalidation starts and again when its Redis delete has landed: a
    /// read that overlapped one is not kept in the in-process tier, since it may have read
    /// the value just replaced (from Postgres, or from Redis before the delete).
    invalidations: Arc<AtomicU64>,
    /// Invalidations between their start and their Redis delete; while any runs, nothing
    /// read from Redis or Postgres is kept in the in-process tier.
    invalidating: Arc<AtomicU64>,
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
            invalidating: Arc::new(AtomicU64::new(0)),
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
        let seen = self.quiet_since();
        if let Some(shared) = &self.shared {
            match shared.get(code).await {
                SharedLookup::Hit(entry) => {
                    let entry = Arc::new(entry);
                    self.count("l2", hit_label(&entry));
                    self.keep_locally(code, &entry, seen);
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
        let entry = Arc::new(target.map_or(CacheEntry::Missing, CacheEntry::Link));
        self.count("db", hit_label(&entry));
        if self.keep_locally(code, &entry, seen)
            && let Some(shared) = &self.shared
        {
            let ttl = match entry.as_ref() {
                CacheEntry::Link(_) => self.settings.shared_ttl,
                CacheEntry::Missing => self.settings.missing_ttl,
            };
            shared.set(code, &entry, ttl).await;
            // An invalidation that landed while the write was in flight may have
            // deleted the key before it was written: undo the fill.
            if self.quiet_since() != seen {
                shared.delete(code).await;
                self.local.remove(code);
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
        // Until the Redis delete below has landed, a read may still find the old entry
        // there: no read keeps anything in the in-process tier meanwhile.
        let in_progress = self.begin_invalidation();
        self.forget_local(codes);
        let Some(shared) = &self.shared else {
            return;
        };
        if shared.delete_all(codes).await {
            // Over before it is counted: whoever waits for the count finds reads cached again.
            drop(in_progress);
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
            // An invalidation like the first: a read between this eviction and the
            // delete below must not keep what it finds in Redis.
            let in_progress = cache.begin_invalidation();
            cache.forget_local(&codes);
            if let Some(shared) = &cache.shared
                && shared.delete_all(&codes).await
            {
                drop(in_progress);
                cache.count_invalidations("l2", codes.len());
            }
        });
    }

    /// The invalidation counter when no invalidation is in progress; `None` while one is
    /// (then nothing read now may be kept in the in-process tier).
    fn quiet_since(&self) -> Option<u64> {
        let seen = self.invalidations.load(Ordering::SeqCst);
        (self.invalidating.load(Ordering::SeqCst) == 0).then_some(seen)
    }

    /// Puts `entry`, read after [`Self::quiet_since`] said `seen`, into the in-process
    /// tier unless an invalidation overlapped the read; `true` when it stays there.
    /// Insert first, check after: an invalidation bumps the counter before it evicts, so
    /// either this check sees the bump and takes the entry out again, or the eviction
    /// comes after the insert and removes it.
    fn keep_locally(&self, code: &str, entry: &Arc<CacheEntry>, seen: Option<u64>) -> bool {
        let Some(seen) = seen else {
            return false;
        };
        self.local.insert(code, entry.clone());
        if self.quiet_since() == Some(seen) {
            return true;
        }
        self.local.remove(code);
        false
    }

    /// Marks an invalidation as running until the returned guard is dropped (its Redis
    /// delete has landed, failed, or the caller was cancelled).
    fn begin_invalidation(&self) -> InvalidationInProgress {
        self.invalidating.fetch_add(1, Ordering::SeqCst);
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        InvalidationInProgress {
            invalidations: self.invalidations.clone(),
            invalidating: self.invalidating.clone(),
        }
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

/// An invalidation between its start and its Redis delete (see [`LinkCache::invalidate`]).
struct InvalidationInProgress {
    invalidations: Arc<AtomicU64>,
    invalidating: Arc<AtomicU64>,
}

impl Drop for InvalidationInProgress {
    fn drop(&mut self) {
        // Bump before leaving: a read that started while this ran sees a new count.
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        self.invalidating.fetch_sub(1, Ordering::SeqCst);
    }
}

fn hit_label(entry: &CacheEntry) -> &'static str {
    match entry {
        CacheEntry::Link(_) => "hit",
        CacheEntry::Missing => "negative_hit",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::postgres::PgPoolOptions;

    use super::*;

    fn link(url: &str) -> CacheEntry {
        CacheEntry::Link(RedirectTarget {
            url_id: 1,
            original_url: url.to_owned(),
            is_active: true,
            expires_at: None,
        })
    }

    /// A cache on the machine's Redis (`REDIS_URL`), in a generation named after this
    /// process so that runs do not meet; its database is never reached (lazy pool).
    fn cache_and_db() -> (LinkCache, Db) {
        let redis = RedisSettings {
            url: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            pool_size: 2,
            connect_timeout: Duration::from_millis(500),
            command_timeout: Duration::from_millis(500),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(60),
        };
        let settings = CacheSettings {
            redis: Some(redis),
            ..CacheSettings::default()
        };
        let cache = LinkCache::new(settings, Metrics::default()).unwrap();
        cache.adopt_generation(i64::from(std::process::id()));
        let pool = PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/never")
            .unwrap();
        (cache, Db::new(pool, Metrics::default().db.clone()))
    }

    /// The interleaving an outside run hit on a hot link: the edit's invalidation has
    /// evicted the in-process entry but its Redis delete has not landed, and a redirect
    /// reads the old entry from Redis in between. Before the fix that read was kept in
    /// the in-process tier for CACHE_LOCAL_TTL_SECS; now it is served but not kept.
    #[tokio::test]
    async fn a_redis_read_between_the_eviction_and_the_delete_is_not_kept_in_process() {
        let (cache, db) = cache_and_db();
        let shared = cache.shared().unwrap();
        shared
            .set(
                "hot",
                &link("https://old.example/"),
                Duration::from_secs(60),
            )
            .await;
        assert_eq!(
            *cache.resolve(&db, "hot").await.unwrap(),
            link("https://old.example/"),
            "the test needs a reachable Redis at REDIS_URL"
        );
        assert!(cache.local.get("hot").is_some(), "a quiet read is kept");

        // The edit has committed; its invalidation starts and evicts the local entry...
        let in_progress = cache.begin_invalidation();
        cache.forget_local(&["hot"]);
        // ...and a redirect runs before the Redis delete lands.
        let during = cache.resolve(&db, "hot").await.unwrap();
        assert_eq!(*during, link("https://old.example/"));
        assert!(
            cache.local.get("hot").is_none(),
            "a read that overlapped the invalidation stays out of the in-process tier"
        );
        // The delete lands and the invalidation ends: nothing stale is left anywhere.
        assert!(shared.delete("hot").await);
        drop(in_progress);
        assert!(cache.local.get("hot").is_none());
        assert!(matches!(shared.get("hot").await, SharedLookup::Miss));
    }

    /// The fill's check-then-insert: an invalidation that lands between a read and its
    /// insert must win, whichever order the two steps interleave in.
    #[tokio::test]
    async fn an_invalidation_that_starts_after_the_read_wins_over_its_insert() {
        let (cache, _db) = cache_and_db();
        let entry = Arc::new(link("https://old.example/"));
        let seen = cache.quiet_since();
        let in_progress = cache.begin_invalidation();
        assert!(!cache.keep_locally("code", &entry, seen));
        assert!(cache.local.get("code").is_none());
        drop(in_progress);
        // Once it has ended, a read that started afterwards is kept again.
        let seen = cache.quiet_since();
        assert!(cache.keep_locally("code", &entry, seen));
        assert!(cache.local.get("code").is_some());
    }
}
