//! `link.expired`, once per link and expiry time: the first visit after a link's expiry
//! queues it, off the request path, in one statement that also records the occasion
//! (`webhook_deliveries::enqueue_once`), so every replica's first visit asks and only one
//! queues. Each replica remembers what it has asked, so later visits ask nothing.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

use shortener_domain::{WebhookEvent, timestamp};
use shortener_store::{Db, webhook_deliveries};

/// Occasions remembered before the memory is emptied (each then costs one more
/// statement that finds it recorded).
const REMEMBERED: usize = 100_000;

/// The expiries this replica has already asked about.
#[derive(Clone, Default)]
pub(crate) struct ExpiryNotices(Arc<Mutex<HashSet<(i64, i64)>>>);

impl ExpiryNotices {
    /// Queues `link.expired` for `url_id`'s expiry at `expired_at` unless this replica has
    /// asked already; a failure is logged and forgotten, so the next visit asks again.
    pub(crate) fn note(&self, db: &Db, url_id: i64, expired_at: DateTime<Utc>) {
        let key = (url_id, expired_at.timestamp_micros());
        {
            let mut asked = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if asked.len() >= REMEMBERED {
                asked.clear();
            }
            if !asked.insert(key) {
                return;
            }
        }
        let (notices, db) = (self.clone(), db.clone());
        tokio::spawn(async move {
            let occasion = timestamp::format(&expired_at);
            let queued = async {
                let mut conn = db.connection("webhooks.link_expired").await?;
                webhook_deliveries::enqueue_once(
                    &mut conn,
                    url_id,
                    WebhookEvent::LinkExpired.name(),
                    &occasion,
                )
                .await
            }
            .await;
            if let Err(error) = queued {
                tracing::warn!(%error, url_id, "queueing link.expired failed; the next visit tries again");
                notices
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
            }
        });
    }
}
