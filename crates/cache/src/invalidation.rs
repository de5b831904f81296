//! Applies the invalidations every write announces through Postgres `NOTIFY`.
//!
//! The payload is `<short_code> <application_name of the writer>`. A write of this
//! replica was already invalidated by its service layer, so it is ignored here. A write of
//! another replica was invalidated in Redis by that replica: here only the in-process
//! entry is evicted, now and once more after twice the settle time (a read in between
//! may have copied the Redis entry before the writer deleted it). A write from anywhere
//! else (psql, a restore, `seed`) has no owner, so every replica invalidates both tiers.

use std::collections::VecDeque;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::LinkCache;
use shortener_store::cache_state::GENERATION_CHANNEL;
use shortener_store::{Db, REPLICA_APPLICATION_PREFIX};

/// The channel on which the `urls` triggers announce changed short codes.
pub const LINK_CHANNEL: &str = "link_cache";

/// Who wrote the change a notification announces, relative to this replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    ThisReplica,
    OtherReplica,
    Outside,
}

/// Splits a `link_cache` payload into the code and who wrote it. A payload without an
/// origin (written before the origin migration) counts as from outside.
fn parse_payload<'a>(payload: &'a str, own_name: Option<&str>) -> (&'a str, Origin) {
    let (code, writer) = payload.split_once(' ').unwrap_or((payload, ""));
    let origin = if own_name.is_some_and(|own| own == writer) {
        Origin::ThisReplica
    } else if writer.starts_with(REPLICA_APPLICATION_PREFIX) {
        Origin::OtherReplica
    } else {
        Origin::Outside
    };
    (code, origin)
}

/// Listens until `stop` is cancelled, reconnecting with back-off. After each (re)connect
/// the cache is resynchronised, since notifications sent meanwhile were lost.
/// `listening` tells whether the subscription is up.
pub async fn run(
    db: Db,
    cache: LinkCache,
    stop: CancellationToken,
    listening: watch::Sender<bool>,
) {
    let listener_pool = dedicated_pool(&db);
    let own_name = db
        .pool()
        .connect_options()
        .get_application_name()
        .filter(|name| name.starts_with(REPLICA_APPLICATION_PREFIX))
        .map(str::to_owned);
    let recheck_after = cache.settle_time() * 2;
    let mut rechecks: VecDeque<(Instant, String)> = VecDeque::new();
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
        if let Err(error) = cache.resync(&db).await {
            tracing::warn!(%error, "cache resync after (re)connect failed");
        }
        if had_connection {
            tracing::info!("cache invalidation listener reconnected; local cache cleared");
        }
        had_connection = true;
        listening.send_replace(true);
        loop {
            let next_recheck = rechecks.front().map(|(at, _)| *at);
            let notification = tokio::select! {
                () = stop.cancelled() => return,
                () = sleep_until(next_recheck) => {
                    while let Some((at, code)) = rechecks.front() {
                        if *at > Instant::now() {
                            break;
                        }
                        cache.forget_local(&[code.as_str()]);
                        rechecks.pop_front();
                    }
                    continue;
                }
                notification = listener.try_recv() => notification,
            };
            match notification {
                Ok(Some(notification)) => match notification.channel() {
                    LINK_CHANNEL => {
                        let (code, origin) =
                            parse_payload(notification.payload(), own_name.as_deref());
                        match origin {
                            Origin::ThisReplica => {}
                            Origin::OtherReplica => {
                                cache.forget_local(&[code]);
                                rechecks
                                    .push_back((Instant::now() + recheck_after, code.to_owned()));
                            }
                            Origin::Outside => cache.invalidate(&db, &[code]).await,
                        }
                    }
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

/// Sleeps until `at`, or for ever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A pool of one connection, for the listener alone: `PgListener` keeps the connection it
/// takes for its whole life, which would otherwise be one less for requests (and, with
/// `DB_MAX_CONNECTIONS=1`, none at all).
fn dedicated_pool(db: &Db) -> sqlx::PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(db.pool().connect_options().as_ref().clone())
}

async fn subscribe(pool: &sqlx::PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([LINK_CHANNEL, GENERATION_CHANNEL])
        .await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_the_writer() {
        let own = Some("shortener-replica:app-1");
        assert_eq!(
            parse_payload("abc shortener-replica:app-1", own),
            ("abc", Origin::ThisReplica)
        );
        assert_eq!(
            parse_payload("abc shortener-replica:app-2", own),
            ("abc", Origin::OtherReplica)
        );
        assert_eq!(parse_payload("abc psql", own), ("abc", Origin::Outside));
        assert_eq!(parse_payload("abc ", own), ("abc", Origin::Outside));
        assert_eq!(parse_payload("abc", own), ("abc", Origin::Outside));
        // Without a replica name of its own, nothing is this replica's.
        assert_eq!(
            parse_payload("abc shortener-replica:app-1", None),
            ("abc", Origin::OtherReplica)
        );
    }
}
