//! Creating many links in one call (`POST /urls/bulk`): each item created or refused on
//! its own (a savepoint each, one transaction for the call), or all or none. With an
//! idempotency key the call's answer is kept, in the same transaction, for 24 hours: a
//! retry gets it back and creates nothing, on any replica. The tag counters its links
//! will write are locked first, in key order, so that concurrent calls cannot deadlock.

use sqlx::Connection;

use super::ServiceError;
use super::access::owner_of_new;
use super::links::{announce_created, create_in};
use crate::app::App;
use crate::quota::ManyRefused;
use shortener_domain::{Caller, Link, NewLink};
use shortener_store::{idempotency, tags as tag_counts};

/// How long an idempotency key is kept.
pub const IDEMPOTENCY_HOURS: i64 = 24;

/// An answer as the edge renders it: kept as is for a retry.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

/// A call's idempotency key and what the call asks (a digest of its body and query).
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_digest: String,
}

/// How a call keeps what it created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Each item created is kept, whatever the others came to.
    Each,
    /// All or none: none if any item is refused (`refused_already`: the edge refused
    /// one before the call; the rest are still tried, to name every refusal).
    AllOrNothing { refused_already: bool },
}

/// What each item came to, in order, and whether the links created were kept (an
/// all-or-nothing call with a refused item keeps none).
pub struct Outcomes {
    pub items: Vec<Result<Link, ServiceError>>,
    pub committed: bool,
}

/// Why a call with more items than the key's burst is refused.
const BEYOND_BURST: &str =
    "more links than this API key may create at once (CREATE_BURST_PER_KEY): split the call";

/// Takes a bulk call's creates from its key's create quota: the call itself took one
/// ([`crate::quota`], at the edge), each further item takes one more, all at once or none.
pub fn take_quota(app: &App, caller: &Caller, items: usize) -> Result<(), ServiceError> {
    let (Some(quota), Some(key)) = (app.create_quota(), caller.actor()) else {
        return Ok(());
    };
    let burst = quota.settings().burst.get();
    if u32::try_from(items).map_or(true, |items| items > burst) {
        return Err(ServiceError::Invalid {
            field: "body",
            message: BEYOND_BURST,
        });
    }
    let more = u32::try_from(items.saturating_sub(1)).unwrap_or(u32::MAX);
    quota
        .check_many(key, more)
        .map_err(|refused| match refused {
            ManyRefused::Wait(wait) => ServiceError::RateLimited {
                what: "creates for this API key",
                retry_after_secs: wait.as_secs_f64().ceil() as u64,
            },
            ManyRefused::BeyondBurst { .. } => ServiceError::Invalid {
                field: "body",
                message: BEYOND_BURST,
            },
        })
}

/// Creates `items` (each as `POST /urls` would) in one transaction and answers with
/// `answer(outcomes)`. An item refused (a taken code, a missing owner, a refused
/// destination) is rolled back alone; with [`Keep::AllOrNothing`], any refusal rolls back
/// all.
/// A database failure fails the whole call. With `idempotency`, a key already used by
/// this caller answers what its first call was answered (`true`: replayed) without
/// creating anything; used with another request, it is a conflict.
pub async fn create_many(
    app: &App,
    caller: &Caller,
    items: Vec<NewLink>,
    via: Option<&str>,
    keep: Keep,
    idempotency: Option<IdempotencyKey>,
    answer: impl FnOnce(Outcomes) -> Answer,
) -> Result<(Answer, bool), ServiceError> {
    let scope = caller.actor().unwrap_or_default().to_owned();
    let mut tx = app.db.begin("links.create_many").await?;
    if let Some(key) = &idempotency
        && !idempotency::claim(&mut tx, &scope, &key.key, &key.request_digest).await?
    {
        return replay(&mut tx, &scope, key).await;
    }
    let (owners, tags) = tag_keys(caller, &items);
    if !tags.is_empty() {
        tag_counts::lock_counters(&mut tx, &owners, &tags).await?;
    }
    let mut outcomes = Outcomes {
        items: Vec::with_capacity(items.len()),
        committed: false,
    };
    for new in items {
        let mut item = tx.begin().await?;
        match create_in(app, &mut item, caller, new, via).await {
            Ok(link) => {
                item.commit().await?;
                outcomes.items.push(Ok(link));
            }
            Err(error @ ServiceError::Database { .. }) => return Err(error),
            Err(refused) => {
                item.rollback().await?;
                outcomes.items.push(Err(refused));
            }
        }
    }
    let refused = outcomes.items.iter().any(Result::is_err);
    let keep_none = match keep {
        Keep::Each => false,
        Keep::AllOrNothing { refused_already } => refused_already || refused,
    };
    if keep_none {
        // Dropped uncommitted: rolled back, the key's claim with it.
        drop(tx);
        return Ok((answer(outcomes), false));
    }
    outcomes.committed = true;
    let created: Vec<Link> = outcomes
        .items
        .iter()
        .filter_map(|item| item.as_ref().ok().cloned())
        .collect();
    let answered = answer(outcomes);
    if let Some(key) = &idempotency {
        let status = i16::try_from(answered.status).unwrap_or(i16::MAX);
        idempotency::keep_answer(&mut tx, &scope, &key.key, status, &answered.body).await?;
    }
    tx.commit().await?;
    announce_created(app, &created).await;
    Ok((answered, false))
}

/// The owner (0: none) and tag of every tag of `items`, for the counters the call will
/// write (an item whose owner the caller may not name writes none).
fn tag_keys(caller: &Caller, items: &[NewLink]) -> (Vec<i64>, Vec<String>) {
    items
        .iter()
        .filter_map(|item| {
            let owner = owner_of_new(caller, item.user_id).ok()?;
            Some(
                item.tags
                    .iter()
                    .map(move |tag| (owner.unwrap_or(0), tag.clone())),
            )
        })
        .flatten()
        .unzip()
}

/// The answer kept for `key`, or a conflict when it was used with another request.
async fn replay(
    conn: &mut sqlx::PgConnection,
    scope: &str,
    key: &IdempotencyKey,
) -> Result<(Answer, bool), ServiceError> {
    let kept = idempotency::remembered(conn, scope, &key.key).await?;
    match kept {
        Some(kept) if kept.request_digest == key.request_digest => match (kept.status, kept.answer)
        {
            (Some(status), Some(body)) => Ok((
                Answer {
                    status: u16::try_from(status).unwrap_or(200),
                    body,
                },
                true,
            )),
            _ => Err(ServiceError::Conflict {
                field: "Idempotency-Key",
                message: "the call with this Idempotency-Key has no answer kept; use a new key",
            }),
        },
        _ => Err(ServiceError::Conflict {
            field: "Idempotency-Key",
            message: "this Idempotency-Key was used with another request",
        }),
    }
}
