//! L2: Redis shared by every replica, behind strict timeouts and a circuit breaker.
//! Keys live in a generation namespace kept in Postgres (see `docs/decisions.md`); values
//! are `<version>|<entry as JSON>`, and a write never replaces a newer version.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use deadpool_redis::redis::AsyncCommands;
use deadpool_redis::{Config, Pool, PoolConfig, PoolError, Runtime, TimeoutType, Timeouts};

use super::CacheEntry;
use super::breaker::{Breaker, BreakerState};
use shortener_metrics::Metrics;

/// Keys per `DEL` command when many entries are deleted at once.
const DELETE_CHUNK: usize = 1000;

/// The key of a code's entry. The `v4` names the entry's form (issue 24 added the link's
/// behaviour, then its rules and split): a replica of another form never reads an entry
/// it would misread.
fn key_of(generation: i64, code: &str) -> String {
    format!("shortener:link:v4:{generation}:{code}")
}

/// Sets `KEYS[1]` to `ARGV[1]|ARGV[2]` for `ARGV[3]` ms unless it holds a newer version:
/// a reader that read an old row never overwrites what a newer one wrote.
const SET_IF_NOT_OLDER: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%-?%d+)|'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
";

/// How to reach Redis and how quickly to give up on it.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    pub pool_size: usize,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
}

/// What a Redis read found.
#[derive(Debug)]
pub enum SharedLookup {
    Hit(CacheEntry),
    Miss,
    /// Redis was skipped (breaker open) or failed: go to the database.
    Unavailable,
}

/// The Redis tier.
pub struct SharedCache {
    pool: Pool,
    breaker: Breaker,
    command_timeout: Duration,
    generation: AtomicI64,
    /// Set once this replica moved the generation past a failed delete, until Redis
    /// answers again: one move per outage is enough.
    moved_since_success: AtomicBool,
    metrics: Metrics,
}

impl SharedCache {
    /// Builds the pool (no connection is made until first use).
    pub fn new(settings: &RedisSettings, metrics: Metrics) -> Result<Self, String> {
        let mut pool_config = PoolConfig::new(settings.pool_size.max(1));
        pool_config.timeouts = Timeouts {
            wait: Some(settings.command_timeout),
            create: Some(settings.connect_timeout),
            recycle: Some(settings.command_timeout),
        };
        let mut config = Config::from_url(settings.url.clone());
        config.pool = Some(pool_config);
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|error| format!("invalid Redis settings: {error}"))?;
        Ok(Self {
            pool,
            breaker: Breaker::new(
                settings.breaker_failures,
                settings.breaker_cooldown,
                metrics.clone(),
            ),
            command_timeout: settings.command_timeout,
            generation: AtomicI64::new(1),
            moved_since_success: AtomicBool::new(false),
            metrics,
        })
    }

    /// The breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// The namespace generation in use.
    pub fn generation(&self) -> i64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Adopts a newer generation (never goes back); `true` when it was newer.
    pub fn adopt_generation(&self, generation: i64) -> bool {
        self.generation.fetch_max(generation, Ordering::SeqCst) < generation
    }

    fn key(&self, code: &str) -> String {
        key_of(self.generation(), code)
    }

    /// Reads an entry, unless the breaker says to skip Redis.
    pub async fn get(&self, code: &str) -> SharedLookup {
        let key = self.key(code);
        let result = self
            .call(|mut conn| async move { conn.get::<_, Option<Vec<u8>>>(key).await })
            .await;
        match result {
            None => SharedLookup::Unavailable,
            Some(None) => SharedLookup::Miss,
            Some(Some(bytes)) => match decode(&bytes) {
                Some(entry) => SharedLookup::Hit(entry),
                // An entry written by another release: treat as absent.
                None => SharedLookup::Miss,
            },
        }
    }

    /// Writes an entry with a lifetime unless Redis holds a newer version of it; failures
    /// only feed the breaker.
    pub async fn set_if_not_older(&self, code: &str, entry: &CacheEntry, ttl: Duration) {
        let key = self.key(code);
        let Ok(json) = serde_json::to_vec(entry) else {
            return;
        };
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let version = entry.version();
        self.call(|mut conn| async move {
            deadpool_redis::redis::cmd("EVAL")
                .arg(SET_IF_NOT_OLDER)
                .arg(1)
                .arg(key)
                .arg(version)
                .arg(json)
                .arg(millis)
                .query_async::<i64>(&mut conn)
                .await
        })
        .await;
    }

    /// Deletes an entry; `false` when Redis could not be reached (the entry may survive).
    pub async fn delete(&self, code: &str) -> bool {
        self.delete_all(&[code]).await
    }

    /// Deletes the entries of `codes` in one round trip (one `DEL` per chunk of keys,
    /// pipelined); `false` when Redis could not be reached (some may survive).
    pub async fn delete_all(&self, codes: &[&str]) -> bool {
        let generation = self.generation();
        let mut pipeline = deadpool_redis::redis::pipe();
        for chunk in codes.chunks(DELETE_CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|code| key_of(generation, code)).collect();
            pipeline.del(keys).ignore();
        }
        self.call(|mut conn| async move { pipeline.query_async::<()>(&mut conn).await })
            .await
            .is_some()
    }

    /// After a failed delete: whether this replica should move the generation on (it has
    /// not since Redis last answered); marks it done.
    pub fn should_move_on_after_failed_delete(&self) -> bool {
        !self.moved_since_success.swap(true, Ordering::SeqCst)
    }

    /// Runs one command through the breaker; `None` when skipped or failed.
    ///
    /// Waiting for a pooled connection and running the command have a command timeout
    /// each. A wait that runs out means every connection is busy: load, not a sick Redis,
    /// so it skips Redis without telling the breaker (counted in
    /// `shortener_redis_pool_exhausted_total`). Only a failed connect, a failed command or
    /// a command past its timeout count as failures.
    async fn call<T, F, Fut>(&self, command: F) -> Option<T>
    where
        F: FnOnce(deadpool_redis::Connection) -> Fut,
        Fut: std::future::Future<Output = deadpool_redis::redis::RedisResult<T>>,
    {
        if !self.breaker.allow() {
            return None;
        }
        let started = Instant::now();
        let outcome = match self.pool.get().await {
            Ok(conn) => match tokio::time::timeout(self.command_timeout, command(conn)).await {
                Ok(result) => result.map_err(|error| error.to_string()),
                Err(_elapsed) => Err(format!("timed out after {:?}", self.command_timeout)),
            },
            Err(PoolError::Timeout(TimeoutType::Wait)) => {
                // Half-open, this skipped call was the probe: the next one after the
                // cool-down probes instead (Breaker::allow).
                self.metrics.redis_pool_exhausted.inc();
                tracing::debug!("every redis connection busy; skipping redis");
                return None;
            }
            // A failed connect, or a pooled connection that failed its recycle check
            // (a hung Redis takes the recycle timeout): a Redis failure.
            Err(error) => Err(error.to_string()),
        };
        self.metrics
            .redis_command_seconds
            .observe(started.elapsed().as_secs_f64());
        match outcome {
            Ok(value) => {
                self.breaker.record_success();
                self.moved_since_success.store(false, Ordering::SeqCst);
                Some(value)
            }
            Err(error) => {
                tracing::debug!(%error, "redis call failed");
                self.breaker.record_failure();
                None
            }
        }
    }
}

/// An entry from `<version>|<json>`; `None` for anything else.
fn decode(bytes: &[u8]) -> Option<CacheEntry> {
    let split = bytes.iter().position(|b| *b == b'|')?;
    serde_json::from_slice(&bytes[split + 1..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link_entry;

    #[tokio::test]
    async fn a_write_never_replaces_a_newer_version() {
        let cache = SharedCache::new(&settings(2), Metrics::default()).unwrap();
        cache.adopt_generation(i64::from(std::process::id()) + 1_000_000);
        let code = "versioned";
        assert!(
            cache.delete(code).await,
            "the test needs a reachable Redis at REDIS_URL"
        );
        let ttl = Duration::from_secs(60);
        cache
            .set_if_not_older(code, &link_entry(5, "https://new.example/"), ttl)
            .await;
        cache
            .set_if_not_older(code, &link_entry(4, "https://old.example/"), ttl)
            .await;
        cache
            .set_if_not_older(code, &CacheEntry::Missing { version: 0 }, ttl)
            .await;
        let SharedLookup::Hit(entry) = cache.get(code).await else {
            panic!("written")
        };
        assert_eq!(entry, link_entry(5, "https://new.example/"));
        cache
            .set_if_not_older(code, &CacheEntry::Missing { version: 6 }, ttl)
            .await;
        let SharedLookup::Hit(entry) = cache.get(code).await else {
            panic!("written")
        };
        assert_eq!(entry, CacheEntry::Missing { version: 6 });
        assert!(cache.delete(code).await);
    }

    /// The shared Redis of the test machine (`REDIS_URL`, as in `scripts/test`).
    fn settings(pool_size: usize) -> RedisSettings {
        RedisSettings {
            url: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            pool_size,
            connect_timeout: Duration::from_millis(500),
            command_timeout: Duration::from_millis(20),
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_busy_pool_skips_redis_without_opening_the_breaker() {
        let metrics = Metrics::default();
        let cache = SharedCache::new(&settings(1), metrics.clone()).unwrap();
        assert!(
            matches!(cache.get("warm-up").await, SharedLookup::Miss),
            "the test needs a reachable Redis at REDIS_URL"
        );
        // Every connection of the pool is taken, as under a burst of load.
        let held = cache.pool.get().await.unwrap();
        for _ in 0..10 {
            assert!(matches!(cache.get("busy").await, SharedLookup::Unavailable));
        }
        assert_eq!(cache.breaker_state(), BreakerState::Closed);
        assert_eq!(metrics.redis_pool_exhausted.get(), 10);
        drop(held);
        assert!(matches!(cache.get("free").await, SharedLookup::Miss));
    }

    #[tokio::test]
    async fn an_unreachable_redis_still_opens_the_breaker() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let unreachable = RedisSettings {
            url: format!("redis://127.0.0.1:{port}"),
            ..settings(1)
        };
        let cache = SharedCache::new(&unreachable, Metrics::default()).unwrap();
        for _ in 0..3 {
            assert!(matches!(cache.get("x").await, SharedLookup::Unavailable));
        }
        assert_eq!(cache.breaker_state(), BreakerState::Open);
    }
}
