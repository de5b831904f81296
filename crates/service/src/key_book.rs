//! The stored API keys as this replica holds them: loaded from Postgres at start, again
//! whenever a change is announced (`NOTIFY api_keys`, sent by the table's trigger when a
//! key is made, revoked or changed, by any replica or by hand), after the subscription is
//! re-established, and every [`RELOAD_EVERY`] as a net. A request's key check reads only
//! this memory. When a request used a stored key is noted here and written for all of them
//! every [`MARK_USED_EVERY`]: never a query per request.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use shortener_domain::{ApiKey, StoredKeys};
use shortener_store::{Db, api_keys};

/// The channel the `api_keys` trigger notifies.
pub const KEYS_CHANNEL: &str = "api_keys";
/// How often the keys are reloaded even if no change was announced.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// How soon a failed reload after a change is tried again.
pub const RETRY_EVERY: Duration = Duration::from_millis(200);
/// How often the keys used since the last time have their `last_used_at` written.
pub const MARK_USED_EVERY: Duration = Duration::from_secs(5);

/// The live stored keys, and the ids of those used since they were last written.
#[derive(Clone, Default)]
pub struct KeyBook {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    keys: RwLock<StoredKeys>,
    /// Held from the read of the table to the swap: reloads run one at a time, so an
    /// older read never replaces a newer one (a revoked key would come back).
    reloading: tokio::sync::Mutex<()>,
    used: Mutex<BTreeSet<i64>>,
    /// Whether the keys were loaded at least once.
    loaded: watch::Sender<bool>,
}

impl KeyBook {
    /// The stored key whose secret is `presented`, live at `now`; notes that it was used.
    pub fn authenticate(&self, presented: &str, now: DateTime<Utc>) -> Option<ApiKey> {
        let key = self
            .inner
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .authenticate(presented, now)
            .cloned()?;
        if let Some(id) = key.stored_id() {
            self.inner
                .used
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id);
        }
        Some(key)
    }

    /// Reads the live keys from the database and holds them from now on.
    pub async fn reload(&self, db: &Db) -> Result<(), sqlx::Error> {
        let _one_at_a_time = self.inner.reloading.lock().await;
        let mut conn = db.connection("api_keys.live").await?;
        let keys = StoredKeys::new(api_keys::live(&mut conn).await?);
        *self
            .inner
            .keys
            .write()
            .unwrap_or_else(PoisonError::into_inner) = keys;
        self.inner.loaded.send_replace(true);
        Ok(())
    }

    /// Waits until the keys were loaded once (at most `timeout`); `false` if not.
    pub async fn wait_until_loaded(&self, timeout: Duration) -> bool {
        let mut loaded = self.inner.loaded.subscribe();
        tokio::time::timeout(timeout, loaded.wait_for(|loaded| *loaded))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// Writes when the keys used since the last call were used (by now).
    async fn mark_used(&self, db: &Db) -> Result<(), sqlx::Error> {
        let used: Vec<i64> = std::mem::take(
            &mut *self
                .inner
                .used
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
        .into_iter()
        .collect();
        if used.is_empty() {
            return Ok(());
        }
        let mut conn = db.connection("api_keys.mark_used").await?;
        api_keys::mark_used(&mut conn, &used, Utc::now()).await
    }
}

/// Keeps `book` current until `stop` is cancelled: the listener, and apart from it (its
/// `try_recv` must not be cut off half-way) the periodic reload and the writing of
/// `last_used_at`.
pub async fn run(db: Db, book: KeyBook, stop: CancellationToken) {
    tokio::join!(
        listen(&db, &book, &stop),
        every_few_seconds(&db, &book, &stop)
    );
}

async fn every_few_seconds(db: &Db, book: &KeyBook, stop: &CancellationToken) {
    let mut since_reload = Duration::ZERO;
    loop {
        let stopping = tokio::select! {
            () = stop.cancelled() => true,
            () = tokio::time::sleep(MARK_USED_EVERY) => false,
        };
        if let Err(error) = book.mark_used(db).await {
            tracing::warn!(%error, "writing when API keys were last used failed");
        }
        if stopping {
            return;
        }
        since_reload += MARK_USED_EVERY;
        if since_reload >= RELOAD_EVERY {
            since_reload = Duration::ZERO;
            reload(db, book).await;
        }
    }
}

async fn listen(db: &Db, book: &KeyBook, stop: &CancellationToken) {
    let listener_pool = db.listener_pool();
    let mut backoff = Duration::from_millis(100);
    loop {
        let listener = tokio::select! {
            () = stop.cancelled() => return,
            listener = subscribe(&listener_pool) => listener,
        };
        let mut listener = match listener {
            Ok(listener) => listener,
            Err(error) => {
                tracing::debug!(%error, "API key listener cannot connect; retrying");
                // Without the subscription, the keys still follow the table, by polling.
                reload(db, book).await;
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // Whatever changed while unsubscribed is in this load.
        reload_until_done(db, book, stop).await;
        loop {
            let notification = tokio::select! {
                () = stop.cancelled() => return,
                notification = listener.try_recv() => notification,
            };
            match notification {
                Ok(Some(_)) => reload_until_done(db, book, stop).await,
                Ok(None) => {
                    tracing::warn!("API key listener lost its connection");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "API key listener failed");
                    break;
                }
            }
        }
    }
}

/// Reloads after an announced change, retrying every [`RETRY_EVERY`] until it succeeds
/// (or the replica stops): a change must not wait for the periodic reload.
async fn reload_until_done(db: &Db, book: &KeyBook, stop: &CancellationToken) {
    while let Err(error) = book.reload(db).await {
        tracing::warn!(%error, "reloading the API keys after a change failed; retrying");
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(RETRY_EVERY) => {}
        }
    }
}

async fn reload(db: &Db, book: &KeyBook) {
    if let Err(error) = book.reload(db).await {
        tracing::warn!(%error, "reloading the API keys failed; the last set stays");
    }
}

async fn subscribe(pool: &sqlx::PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(KEYS_CHANNEL).await?;
    Ok(listener)
}
