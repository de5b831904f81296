//! Users: create, read, list, change, soft-delete and erase them.

use chrono::NaiveDate;

use super::access::{UsersInView, users_in_view};
use super::{Listing, Resource, ServiceError};
use crate::app::App;
use shortener_domain::{Caller, Email, Page, Username, WebhookEvent};
use shortener_store::stats::LinkTally;
use shortener_store::{
    api_keys, breakdowns, events, stats, urls, users, webhook_deliveries, webhooks,
};

pub use shortener_domain::User;

/// Creates a user; a live user with the same email (any case) is a conflict.
pub async fn create(app: &App, username: &Username, email: &Email) -> Result<User, ServiceError> {
    let mut conn = app.db.connection("users.create").await?;
    let user = users::insert(&mut conn, username, email).await?;
    app.metrics()
        .users_created
        .with_label_values(&["api"])
        .inc();
    Ok(user)
}

/// One live user the caller may see ([`users_in_view`]): another's answers as missing.
pub async fn get(app: &App, caller: &Caller, id: i64) -> Result<User, ServiceError> {
    if let UsersInView::Only(own) = users_in_view(caller)?
        && own != id
    {
        return Err(ServiceError::NotFound(Resource::User));
    }
    let mut conn = app.db.connection("users.get").await?;
    users::find(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound(Resource::User))
}

/// One page of the live users the caller may see, in id order: all for an admin, its
/// own user alone for an owner key.
pub async fn list(app: &App, caller: &Caller, page: Page) -> Result<Listing<User>, ServiceError> {
    let view = users_in_view(caller)?;
    let mut conn = app.db.connection("users.list").await?;
    let listed = match view {
        UsersInView::All => users::list(&mut conn, page).await?,
        UsersInView::Only(own) => {
            let user = users::find(&mut conn, own).await?;
            let total = i64::from(user.is_some());
            let on_this_page = |user: &User| {
                page.offset() == 0 && page.after().is_none_or(|after| user.id > after)
            };
            (user.into_iter().filter(on_this_page).collect(), total)
        }
    };
    Ok(Listing::from_page(page, listed))
}

/// Changes the given fields of a live user.
pub async fn update(
    app: &App,
    id: i64,
    username: Option<&Username>,
    email: Option<&Email>,
) -> Result<User, ServiceError> {
    let mut conn = app.db.connection("users.update").await?;
    users::update(&mut conn, id, username, email)
        .await?
        .ok_or(ServiceError::NotFound(Resource::User))
}

/// Soft-deletes a live user, deactivates their links and revokes their keys, in one
/// transaction; their events are kept. The deactivated links leave the redirect cache in
/// one batch.
pub async fn delete(app: &App, id: i64) -> Result<(), ServiceError> {
    remove(app, id, Removal::SoftDelete).await
}

/// Erases a user, live or already soft-deleted (the usual order: delete, then erase on
/// request), keeping only counts. First, in one transaction, what [`delete`] does (for a
/// user deleted before, nothing is left to do there) and the name and address replaced by
/// placeholders; then, in bounded statements each complete on its own, the referrer
/// rollup of their links folded into "none sent" and the details of their links' click
/// events emptied. A failure part-way leaves every count whole and the user erased from
/// `users`; running it again finishes the rest and rewrites nothing twice.
///
/// Not covered: the links themselves and their audit trail (`created`, `updated`,
/// `deleted` and events posted by clients), key names, and clicks that another replica
/// records in the moment of the erasure or keeps in its spill during a database outage
/// (this replica's queue is flushed first); a second erasure removes those.
pub async fn erase(app: &App, id: i64) -> Result<(), ServiceError> {
    remove(app, id, Removal::Erase).await?;
    // Clicks this replica took before the links stopped redirecting are written now,
    // so the rounds below find them.
    app.clicks.flush().await;
    // Their deltas too are folded, so the rollups below hold every click committed so far.
    crate::rollups::fold_all(&app.db, app.metrics()).await?;

    let mut conn = app.db.connection("users.erase_clicks").await?;
    let tallies = stats::owned_link_tallies(&mut conn, id).await?;
    for links in rounds(&tallies, |tally| tally.clicks, ERASE_ROUND) {
        let mut after = (0, String::new());
        loop {
            match stats::fold_referrers(&mut conn, &links, &after, ERASE_ROUND).await? {
                (folded, Some(last)) if folded >= ERASE_ROUND => after = last,
                _ => break,
            }
        }
    }
    // The referrer hosts of the analytics rollup, likewise (its other keys, countries,
    // browsers and the like, say nothing of one visitor).
    for links in rounds(&tallies, |tally| tally.clicks, ERASE_ROUND) {
        let mut after = (0, NaiveDate::default(), String::new());
        loop {
            match breakdowns::fold_referrer_hosts(&mut conn, &links, &after, ERASE_ROUND).await? {
                (folded, Some(last)) if folded >= ERASE_ROUND => after = last,
                _ => break,
            }
        }
    }
    for links in rounds(&tallies, |tally| tally.retained, ERASE_ROUND) {
        let mut after = (0, 0);
        loop {
            let round = events::erase_click_details(&mut conn, &links, after, ERASE_ROUND).await?;
            match round.last {
                Some(last) if round.seen >= ERASE_ROUND => after = last,
                _ => break,
            }
        }
    }
    Ok(())
}

/// Rows one statement of an erasure reads or writes at most: well within the statement
/// timeout (`DB_STATEMENT_TIMEOUT_MS`), whatever the number of clicks.
const ERASE_ROUND: i64 = 5_000;

/// The links in groups whose `rows` add up to at most `limit` (a link with more is a
/// group of its own, which its statements take `limit` rows at a time), so a user with
/// many links rarely clicked costs a few statements, not one per link.
fn rounds(tallies: &[LinkTally], rows: impl Fn(&LinkTally) -> i64, limit: i64) -> Vec<Vec<i64>> {
    let mut groups: Vec<Vec<i64>> = Vec::new();
    let mut filled = limit;
    for tally in tallies {
        let rows = rows(tally);
        if rows <= 0 {
            continue;
        }
        if filled + rows > limit {
            groups.push(Vec::new());
            filled = 0;
        }
        filled += rows;
        if let Some(group) = groups.last_mut() {
            group.push(tally.url_id);
        }
    }
    groups
}

/// How [`remove`] marks the user's row.
#[derive(Debug, Clone, Copy)]
enum Removal {
    /// Soft-deletes a live user.
    SoftDelete,
    /// Erases a user, live or deleted.
    Erase,
}

/// Marks the user's row, deactivates their links and revokes their keys in one
/// transaction; then the replica's keys are reloaded if some were revoked, and the
/// deactivated links leave the redirect cache in one batch.
async fn remove(app: &App, id: i64, removal: Removal) -> Result<(), ServiceError> {
    let operation = match removal {
        Removal::SoftDelete => "users.delete",
        Removal::Erase => "users.erase",
    };
    let mut tx = app.db.begin(operation).await?;
    let found = match removal {
        Removal::SoftDelete => users::soft_delete(&mut tx, id).await?,
        Removal::Erase => users::erase(&mut tx, id).await?,
    };
    if !found {
        return Err(ServiceError::NotFound(Resource::User));
    }
    let deactivated = urls::deactivate_owned_by(&mut tx, id).await?;
    let revoked = api_keys::revoke_owned_by(&mut tx, id).await?;
    let removed = webhooks::delete_owned_by(&mut tx, id).await?;
    webhook_deliveries::abandon(&mut tx, &removed).await?;
    // The owner's own subscriptions are gone; an admin's across links hear of it.
    let codes: Vec<&str> = deactivated.iter().map(|l| l.short_code.as_str()).collect();
    let changes = serde_json::json!({"is_active": false});
    let updated = WebhookEvent::LinkUpdated.name();
    webhook_deliveries::enqueue_by_codes(&mut tx, &codes, updated, &changes).await?;
    tx.commit().await?;
    if revoked > 0 {
        app.reload_keys().await;
    }
    let changes: Vec<(&str, i64)> = deactivated
        .iter()
        .map(|link| (link.short_code.as_str(), link.version))
        .collect();
    app.cache.changed(&app.db, &changes).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(url_id: i64, retained: i64) -> LinkTally {
        LinkTally {
            url_id,
            clicks: retained,
            retained,
        }
    }

    #[test]
    fn rounds_group_small_links_up_to_the_limit_and_give_big_ones_their_own() {
        let tallies = [
            tally(1, 4),
            tally(2, 0),
            tally(3, 6),
            tally(4, 11),
            tally(5, 10),
            tally(6, 1),
            tally(7, 9),
        ];
        let groups = rounds(&tallies, |t| t.retained, 10);
        assert_eq!(groups, [vec![1, 3], vec![4], vec![5], vec![6, 7]]);
    }

    #[test]
    fn rounds_of_links_never_clicked_are_none() {
        assert!(rounds(&[tally(1, 0), tally(2, 0)], |t| t.retained, 10).is_empty());
        assert!(rounds(&[], |t| t.retained, 10).is_empty());
    }
}
