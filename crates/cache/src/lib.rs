//! The redirect cache: L1 in process, L2 in Redis (optional), then Postgres, coherent by
//! versions. Every entry carries the version of the row it copies; every change gets a
//! new version, which the writing replica notes before it answers and every other replica
//! learns from the change's notification ([`invalidation`]). An entry older than the
//! newest version a replica has been told of is neither served nor kept: a stale Redis
//! entry (a writer that died between its commit and its Redis delete, a read that raced a
//! write) is read past, and replaced by the first reader that can tell.

mod breaker;
pub mod invalidation;
mod local;
mod shared;
mod versions;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use breaker::{Breaker, BreakerState};
use local::LocalCache;
pub use shared::{RedisSettings, SharedCache, SharedLookup};
use versions::VersionBook;

use shortener_domain::{CodeLookup, RedirectTarget};
use shortener_metrics::Metrics;
use shortener_store::{Db, cache_state, urls};

/// What the cache knows about a short code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheEntry {
    /// A live (not deleted) link, active or not.
    Link(RedirectTarget),
    /// No live link has this code: deleted at `version`, or never there (`version` 0).
    Missing { version: i64 },
}

impl CacheEntry {
    /// The version of the row this entry copies (0: there is no row).
    pub fn version(&self) -> i64 {
        match self {
            Self::Link(link) => link.version,
            Self::Missing { version } => *version,
        }
    }
}

/// A link entry at `version` leading to `url`, for the crate's tests.
#[cfg(test)]
pub(crate) fn link_entry(version: i64, url: &str) -> CacheEntry {
    CacheEntry::Link(RedirectTarget {
        url_id: 1,
        original_url: url.to_owned(),
        is_active: true,
        expires_at: None,
        version,
        max_visits: None,
        visits_used_up: false,
        expired_url: None,
        redirect_status: shortener_domain::RedirectStatus::Found,
        forward_query: false,
        preview: None,
        protected: false,
        targeting: None,
        destination_down: false,
    })
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
    versions: VersionBook,
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
            // A version is worth knowing as long as a Redis entry can outlive it.
            versions: VersionBook::new(settings.shared_ttl.max(settings.local_ttl)),
            settings: Arc::new(settings),
            metrics,
        })
    }

    /// The Redis tier, when configured.
    pub fn shared(&self) -> Option<&SharedCache> {
        self.shared.as_deref()
    }

    /// What `code` resolves to: from L1, else L2, else Postgres (filling the tiers). An
    /// entry older than a version this replica was told of is read past.
    pub async fn resolve(&self, db: &Db, code: &str) -> Result<Arc<CacheEntry>, sqlx::Error> {
        let hot = &self.metrics.hot;
        if let Some(entry) = self.local.get(code) {
            match entry.as_ref() {
                CacheEntry::Link(_) => hot.l1_hit.inc(),
                CacheEntry::Missing { .. } => hot.l1_negative_hit.inc(),
            }
            return Ok(entry);
        }
        hot.l1_miss.inc();
        if let Some(shared) = &self.shared {
            match shared.get(code).await {
                SharedLookup::Hit(entry) if self.versions.is_current(code, &entry) => {
                    let entry = Arc::new(entry);
                    self.count("l2", hit_label(&entry));
                    self.keep_locally(code, &entry);
                    return Ok(entry);
                }
                // Older than a change this replica was told of: the read below replaces it.
                SharedLookup::Hit(_) => self.count("l2", "stale"),
                SharedLookup::Miss => self.count("l2", "miss"),
                SharedLookup::Unavailable => self.count("l2", "skipped"),
            }
        }
        let mut entry = read(db, code).await?;
        if !self.versions.is_current(code, &entry) {
            // The read began before a change this replica was told of had committed.
            entry = read(db, code).await?;
        }
        let entry = Arc::new(entry);
        self.count("db", hit_label(&entry));
        if self.keep_locally(code, &entry)
            && let Some(shared) = &self.shared
        {
            let ttl = match entry.as_ref() {
                CacheEntry::Link(_) => self.settings.shared_ttl,
                CacheEntry::Missing { .. } => self.settings.missing_ttl,
            };
            shared.set_if_not_older(code, &entry, ttl).await;
        }
        Ok(entry)
    }

    /// Puts `entry` into the in-process tier if it is current; `true` when it stays there.
    /// Insert first, check after: a notification notes the version before it evicts, so
    /// either this check sees the new version and takes the entry out again, or the
    /// eviction comes after the insert and removes it.
    fn keep_locally(&self, code: &str, entry: &Arc<CacheEntry>) -> bool {
        if !self.versions.is_current(code, entry) {
            return false;
        }
        self.local.insert(code, entry.clone());
        if self.versions.is_current(code, entry) {
            return true;
        }
        self.local.remove(code);
        false
    }

    /// Changes this replica committed, each code with its new version: noted and evicted
    /// here before the caller answers (so this replica never serves the old entry again),
    /// and the Redis entries deleted in one round trip (a replica that reads one before
    /// its notification arrives serves it that long; one that has the notification reads
    /// past it). When Redis cannot be reached, the shared tier moves to a new generation,
    /// for the replicas that start later and were told of nothing.
    pub async fn changed(&self, db: &Db, changes: &[(&str, i64)]) {
        if changes.is_empty() {
            return;
        }
        for (code, version) in changes {
            self.announced(code, *version);
        }
        let Some(shared) = &self.shared else {
            return;
        };
        let codes: Vec<&str> = changes.iter().map(|(code, _)| *code).collect();
        if shared.delete_all(&codes).await {
            self.count_invalidations("l2", codes.len());
            return;
        }
        self.count_invalidations("l2_failed", codes.len());
        if shared.should_move_on_after_failed_delete()
            && let Err(error) = self.move_on(db, shared).await
        {
            tracing::error!(%error, codes = codes.len(), "redis unreachable during invalidation and the generation could not be moved; replicas started within CACHE_SHARED_TTL_SECS may serve the old entries");
        }
    }

    /// Moves the shared tier to a new generation (announced to every replica).
    async fn move_on(&self, db: &Db, shared: &SharedCache) -> Result<i64, sqlx::Error> {
        let mut connection = db.connection("cache_state.bump_generation").await?;
        let generation = cache_state::bump_generation(&mut connection).await?;
        shared.adopt_generation(generation);
        self.count_invalidations("generation_bump", 1);
        tracing::warn!(generation, "moved the shared cache to a new generation");
        Ok(generation)
    }

    /// A change announced by its notification (any writer's): the version noted, the
    /// in-process entry evicted.
    pub fn announced(&self, code: &str, version: i64) {
        self.versions.note(code, version);
        self.local.remove(code);
        self.count_invalidations("l1", 1);
    }

    /// A change announced without a version (a notification from before versions): the
    /// in-process entry is evicted and the Redis entry deleted.
    pub async fn announced_without_version(&self, code: &str) {
        self.local.remove(code);
        self.count_invalidations("l1", 1);
        if let Some(shared) = &self.shared {
            shared.delete(code).await;
        }
    }

    /// After (re)subscribing: forgets the in-process tier (notifications may have been
    /// missed) and adopts the shared tier's generation; `move_on` moves the shared tier to
    /// a new generation first, so no entry written before the gap is read again.
    pub async fn resync(&self, db: &Db, move_on: bool) -> Result<(), sqlx::Error> {
        self.local.clear();
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        if move_on {
            tracing::warn!("notifications may have been missed");
            self.move_on(db, shared).await?;
        } else {
            let mut connection = db.connection("cache_state.generation").await?;
            shared.adopt_generation(cache_state::generation(&mut connection).await?);
        }
        Ok(())
    }

    /// When versions had to be forgotten for room, the shared tier moves to a new
    /// generation: this replica can no longer tell which of its entries are stale.
    pub async fn move_on_if_versions_overflowed(&self, db: &Db) -> Result<(), sqlx::Error> {
        if self.shared.is_some() && self.versions.overflowed() {
            tracing::warn!(
                codes = versions::MAX_CODES,
                "more links changed within the shared cache's lifetime than versions are kept for"
            );
            self.resync(db, true).await?;
        }
        Ok(())
    }

    /// Adopts a generation announced by another replica.
    pub fn adopt_generation(&self, generation: i64) {
        if let Some(shared) = &self.shared {
            shared.adopt_generation(generation);
        }
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

/// What Postgres says `code` leads to.
async fn read(db: &Db, code: &str) -> Result<CacheEntry, sqlx::Error> {
    let mut connection = db.connection("urls.find_target").await?;
    Ok(match urls::find_target(&mut connection, code).await? {
        CodeLookup::Live(target) => CacheEntry::Link(target),
        CodeLookup::Deleted { version } => CacheEntry::Missing { version },
        CodeLookup::Unknown => CacheEntry::Missing { version: 0 },
    })
}

fn hit_label(entry: &CacheEntry) -> &'static str {
    match entry {
        CacheEntry::Link(_) => "hit",
        CacheEntry::Missing { .. } => "negative_hit",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::postgres::PgPoolOptions;

    use super::*;

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
            .acquire_timeout(Duration::from_millis(100))
            .connect_lazy("postgres://nobody@127.0.0.1:1/never")
            .unwrap();
        (cache, Db::new(pool, Metrics::default().db.clone()))
    }

    /// The writer of a change died between its commit and its Redis delete: the old
    /// entry is still in Redis. A replica told of the new version reads past it (to
    /// Postgres, here unreachable: an error, not the stale target).
    #[tokio::test]
    async fn a_redis_entry_older_than_a_version_told_is_not_served() {
        let (cache, db) = cache_and_db();
        let shared = cache.shared().unwrap();
        assert!(
            shared.delete("edited").await,
            "the test needs a reachable Redis"
        );
        shared
            .set_if_not_older(
                "edited",
                &link_entry(7, "https://old.example/"),
                Duration::from_secs(60),
            )
            .await;
        assert_eq!(
            *cache.resolve(&db, "edited").await.unwrap(),
            link_entry(7, "https://old.example/"),
            "nothing told: the Redis entry is current"
        );
        cache.announced("edited", 8);
        assert!(
            cache.resolve(&db, "edited").await.is_err(),
            "the stale entry is read past, to the database"
        );
        assert!(shared.delete("edited").await);
    }

    /// The fill's insert-then-check: a version noted between a read and its insert wins,
    /// whichever way the two interleave.
    #[tokio::test]
    async fn a_version_noted_after_the_read_wins_over_its_insert() {
        let (cache, _db) = cache_and_db();
        let old = Arc::new(link_entry(3, "https://old.example/"));
        cache.announced("code", 4);
        assert!(!cache.keep_locally("code", &old), "told before: never kept");
        assert!(cache.local.get("code").is_none());
        let new = Arc::new(link_entry(4, "https://new.example/"));
        assert!(cache.keep_locally("code", &new));
        assert_eq!(cache.local.get("code").as_deref(), Some(&*new));
        cache.announced("code", 5);
        assert!(cache.local.get("code").is_none(), "the notification evicts");
    }
}
