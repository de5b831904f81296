//! People's visits to one capped link, counted together: while one count is in Postgres,
//! the visits that arrive queue, and the next count takes them all in one statement
//! (`visits::use_some`), granting the first ones as many as are left. The cap is as
//! exact as with one statement a visit (Postgres orders every replica's counts on the
//! row's lock); a link many people visit at once pays one round trip per batch instead
//! of one per visit, each queued behind the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use shortener_cache::LinkCache;
use shortener_store::{Db, visits};

/// One waiting visit's answer: let through (`true`) or not, or the count failed.
type Waiter = oneshot::Sender<Result<bool, ()>>;

/// The visits waiting for each capped link's next count, on this replica.
#[derive(Clone, Default)]
pub struct VisitBatches(Arc<Mutex<HashMap<i64, Vec<Waiter>>>>);

/// The most visits one statement counts.
const MOST_A_BATCH: usize = 1000;

impl VisitBatches {
    /// Counts one person's visit to `url_id`: `Ok(true)` when one of its visits was left,
    /// `Err` when Postgres could not be asked. A counter task per link runs while visits
    /// wait, so a visit whose request is dropped never strands the others.
    pub async fn use_one(&self, db: &Db, cache: &LinkCache, url_id: i64) -> Result<bool, ()> {
        let (sender, receiver) = oneshot::channel();
        let start_counter = {
            let mut waiting = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            match waiting.get_mut(&url_id) {
                Some(queue) => {
                    queue.push(sender);
                    false
                }
                None => {
                    waiting.insert(url_id, vec![sender]);
                    true
                }
            }
        };
        if start_counter {
            tokio::spawn(self.clone().count(db.clone(), cache.clone(), url_id));
        }
        receiver.await.unwrap_or(Err(()))
    }

    /// Counts the link's waiting visits, batch after batch, until none waits.
    async fn count(self, db: Db, cache: LinkCache, url_id: i64) {
        loop {
            let batch = {
                let mut waiting = self.0.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(queue) = waiting.get_mut(&url_id) else {
                    return;
                };
                if queue.is_empty() {
                    waiting.remove(&url_id);
                    return;
                }
                let take = queue.len().min(MOST_A_BATCH);
                queue.drain(..take).collect::<Vec<_>>()
            };
            let granted = count_batch(&db, &cache, url_id, batch.len()).await;
            for (position, waiter) in batch.into_iter().enumerate() {
                let _ = waiter.send(granted.map(|granted| position < granted));
            }
        }
    }
}

/// Asks Postgres for `wanted` visits of the link; how many it granted. The count that
/// takes the last one moves the link's version, which tells every replica.
async fn count_batch(db: &Db, cache: &LinkCache, url_id: i64, wanted: usize) -> Result<usize, ()> {
    let wanted = i32::try_from(wanted).map_err(|_| ())?;
    let mut conn = db.connection("redirects.use_visits").await.map_err(
        |error| tracing::warn!(%error, url_id, "counting a capped link's visits failed"),
    )?;
    let used = visits::use_some(&mut conn, url_id, wanted).await.map_err(
        |error| tracing::warn!(%error, url_id, "counting a capped link's visits failed"),
    )?;
    let Some(used) = used else {
        return Ok(0);
    };
    if used.left == 0 {
        match visits::announce_used_up(&mut conn, url_id).await {
            Ok(Some(changed)) => {
                drop(conn);
                cache
                    .changed(db, &[(changed.short_code.as_str(), changed.version)])
                    .await;
            }
            Ok(None) => {}
            // The visits are counted; the replicas learn the link has ended when their
            // copies are next read (each asks Postgres until then, which refuses).
            Err(error) => tracing::warn!(%error, url_id, "announcing a used-up link failed"),
        }
    }
    Ok(usize::try_from(used.granted).unwrap_or(0))
}
