//! Applies the invalidations every write announces through Postgres `NOTIFY`.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::LinkCache;
use crate::db::cache_state::GENERATION_CHANNEL;

/// The channel on which the `urls` triggers announce changed short codes.
pub const LINK_CHANNEL: &str = "link_cache";

/// Listens until `stop` is cancelled, reconnecting with back-off. After each (re)connect
/// the cache is resynchronised, since notifications sent meanwhile were lost.
/// `listening` tells whether the subscription is up.
pub async fn run(
    pool: PgPool,
    cache: LinkCache,
    stop: CancellationToken,
    listening: watch::Sender<bool>,
) {
    let listener_pool = dedicated_pool(&pool);
    let mut backoff = Duration::from_millis(100);
    let mut had_connection = false;
    loop {
        let listener = tokio::select! {
            () = stop.cancelled() => return,
            listener = subscribe(&listener_pool) => listener,
        };
        let mut listener = match listener {
            Ok(listener) => listener,
            Err(error) => {
                tracing::debug!(%error, "cache invalidation listener cannot connect; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        if let Err(error) = cache.resync(&pool).await {
            tracing::warn!(%error, "cache resync after (re)connect failed");
        }
        if had_connection {
            tracing::info!("cache invalidation listener reconnected; local cache cleared");
        }
        had_connection = true;
        listening.send_replace(true);
        loop {
            let notification = tokio::select! {
                () = stop.cancelled() => return,
                notification = listener.try_recv() => notification,
            };
            match notification {
                Ok(Some(notification)) => match notification.channel() {
                    LINK_CHANNEL => cache.invalidate(&pool, notification.payload()).await,
                    GENERATION_CHANNEL => {
                        if let Ok(generation) = notification.payload().parse() {
                            cache.adopt_generation(generation);
                        }
                    }
                    _ => {}
                },
                Ok(None) => {
                    tracing::warn!("cache invalidation listener lost its connection");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "cache invalidation listener failed");
                    break;
                }
            }
        }
        listening.send_replace(false);
    }
}

/// A pool of one connection, for the listener alone: `PgListener` keeps the connection it
/// takes for its whole life, which would otherwise be one less for requests (and, with
/// `DB_MAX_CONNECTIONS=1`, none at all).
fn dedicated_pool(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(pool.connect_options().as_ref().clone())
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([LINK_CHANNEL, GENERATION_CHANNEL])
        .await?;
    Ok(listener)
}
