//! Settings of the redirect cache: the in-process tier and the optional Redis tier.

use std::fmt;
use std::time::Duration;

use clap::Args;

use shortener_cache::{CacheSettings, RedisSettings};

/// The redirect cache: in-process tier, and the optional shared Redis tier.
#[derive(Clone, Args)]
pub struct CacheArgs {
    /// Redis for the shared redirect cache; unset: no shared tier. `rediss://` is TLS,
    /// verified against the system's roots (or the file SSL_CERT_FILE names).
    #[arg(long, env = "REDIS_URL", value_parser = parse_redis_url, hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Connections to Redis per process.
    #[arg(long, env = "REDIS_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub redis_pool_size: u16,
    /// How long opening a Redis connection may take, in milliseconds.
    #[arg(long, env = "REDIS_CONNECT_TIMEOUT_MS", default_value_t = 100)]
    pub redis_connect_timeout_ms: u64,
    /// How long one Redis command may take, in milliseconds. Waiting for a free pooled
    /// connection has the same bound; a wait that runs out skips Redis (load) without
    /// counting as a breaker failure.
    #[arg(long, env = "REDIS_COMMAND_TIMEOUT_MS", default_value_t = 50)]
    pub redis_command_timeout_ms: u64,
    /// Consecutive Redis failures that open the circuit breaker.
    #[arg(long, env = "REDIS_BREAKER_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub redis_breaker_failures: u32,
    /// How long the open breaker skips Redis before one probe, in milliseconds.
    #[arg(long, env = "REDIS_BREAKER_COOLDOWN_MS", default_value_t = 2000)]
    pub redis_breaker_cooldown_ms: u64,
    /// Memory bound of the in-process cache, in MiB.
    #[arg(long, env = "CACHE_LOCAL_MAX_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_local_max_mb: u64,
    /// Lifetime of a link in the in-process cache, in seconds.
    #[arg(long, env = "CACHE_LOCAL_TTL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_local_ttl_secs: u64,
    /// Lifetime of a link in Redis, in seconds: the worst-case staleness if an
    /// invalidation is lost entirely (see docs/failure-modes.md).
    #[arg(long, env = "CACHE_SHARED_TTL_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_shared_ttl_secs: u64,
    /// Lifetime of an "unknown code" answer in both tiers, in seconds.
    #[arg(long, env = "CACHE_MISSING_TTL_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_missing_ttl_secs: u64,
}

impl CacheArgs {
    /// The cache settings these flags describe.
    pub fn settings(&self) -> CacheSettings {
        CacheSettings {
            local_max_bytes: self.cache_local_max_mb * 1024 * 1024,
            local_ttl: Duration::from_secs(self.cache_local_ttl_secs),
            shared_ttl: Duration::from_secs(self.cache_shared_ttl_secs),
            missing_ttl: Duration::from_secs(self.cache_missing_ttl_secs),
            redis: self.redis_url.as_ref().map(|url| RedisSettings {
                url: url.clone(),
                pool_size: usize::from(self.redis_pool_size),
                connect_timeout: Duration::from_millis(self.redis_connect_timeout_ms),
                command_timeout: Duration::from_millis(self.redis_command_timeout_ms),
                breaker_failures: self.redis_breaker_failures,
                breaker_cooldown: Duration::from_millis(self.redis_breaker_cooldown_ms),
            }),
        }
    }
}

// Hand-written so a Redis URL with a password never reaches a log.
impl fmt::Debug for CacheArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheArgs")
            .field("redis", &self.redis_url.is_some())
            .finish_non_exhaustive()
    }
}

fn parse_redis_url(raw: &str) -> Result<String, String> {
    let parsed = url::Url::parse(raw).map_err(|error| format!("not a valid URL ({error})"))?;
    match parsed.scheme() {
        "redis" | "rediss" if parsed.host_str().is_some() => Ok(raw.to_owned()),
        "redis" | "rediss" => Err("must name a host".to_owned()),
        other => Err(format!("scheme must be redis or rediss, not {other}")),
    }
}
