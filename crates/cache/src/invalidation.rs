//! Applies the changes every write announces through Postgres `NOTIFY`.
//!
//! The payload is `<short_code> <version> <application_name of the writer>`, sent by the
//! `urls` triggers when the change commits, whoever wrote it (a replica, psql, a restore,
//! `seed`). Every replica notes the version and evicts its in-process entry; none touches
//! Redis: a stale Redis entry is read past by any replica that was told of the newer
//! version, and replaced by the first to read it. A replica that lost its subscription
//! (and so may have missed notifications) moves the shared tier to a new generation when
//! it subscribes again.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::LinkCache;
use shortener_store::Db;
use shortener_store::cache_state::GENERATION_CHANNEL;

/// The channel on which the `urls` triggers announce changed short codes.
pub const LINK_CHANNEL: &str = "link_cache";

/// How often the listener checks whether versions had to be forgotten for room.
const OVERFLOW_CHECK: Duration = Duration::from_secs(1);

/// The code and version of a `link_cache` payload (no version: a payload of a release
/// before versions).
fn parse_payload(payload: &str) -> (&str, Option<i64>) {
    let mut parts = payload.splitn(3, ' ');
    let code = parts.next().unwrap_or("");
    let version = parts.next().and_then(|version| version.parse().ok());
    (code, version)
}

/// Listens until `stop` is cancelled, reconnecting with back-off. After each connect the
/// in-process tier is cleared, and after a reconnect the shared tier moves to a new
/// generation, since notifications sent meanwhile were lost. `listening` tells whether
/// the subscription is up.
pub async fn run(
    db: Db,
    cache: LinkCache,
    stop: CancellationToken,
    listening: watch::Sender<bool>,
) {
    tokio::join!(
        listen(&db, &cache, &stop, listening),
        watch_for_overflow(&db, &cache, &stop)
    );
}

/// Every [`OVERFLOW_CHECK`]: when versions had to be forgotten for room, the shared tier
/// moves to a new generation. Apart from the listener, whose `try_recv` must not be cut
/// off half-way.
async fn watch_for_overflow(db: &Db, cache: &LinkCache, stop: &CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(OVERFLOW_CHECK) => {}
        }
        if let Err(error) = cache.move_on_if_versions_overflowed(db).await {
            tracing::warn!(%error, "moving the shared cache to a new generation failed");
        }
    }
}

async fn listen(
    db: &Db,
    cache: &LinkCache,
    stop: &CancellationToken,
    listening: watch::Sender<bool>,
) {
    let listener_pool = db.listener_pool();
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
        if let Err(error) = cache.resync(db, had_connection).await {
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
                    LINK_CHANNEL => match parse_payload(notification.payload()) {
                        (code, Some(version)) => cache.announced(code, version),
                        (code, None) => cache.announced_without_version(code).await,
                    },
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
    fn payloads_carry_the_code_and_its_version() {
        assert_eq!(
            parse_payload("abc 42 shortener-replica:app-1:x"),
            ("abc", Some(42))
        );
        assert_eq!(parse_payload("abc 42 "), ("abc", Some(42)));
        assert_eq!(parse_payload("abc 42"), ("abc", Some(42)));
        // A payload of the release before versions: `<code> <writer>`.
        assert_eq!(
            parse_payload("abc shortener-replica:app-1:x"),
            ("abc", None)
        );
        assert_eq!(parse_payload("abc"), ("abc", None));
    }
}
