//! Short links: create, read, list, change and soft-delete them; their events and tags.
//! Every change writes its audit events and its webhook deliveries in the same
//! transaction and invalidates the redirect cache once, after the commit and before the
//! caller answers.

use serde_json::{Value, json};
use sqlx::PgConnection;

use super::access::{owner_of_new, reachable_link, user_filter};
use super::{Listing, Resource, ServiceError};
use crate::app::App;
use crate::link_changes::apply_changes;
use crate::link_passwords;
use crate::webhook_events;
use shortener_domain::{
    Caller, Event, EventFilter, LinkPreview, Page, Rule, TargetUrl, Variant, WebhookEvent,
};
use shortener_store::events::{self, NewEvent};
use shortener_store::tags as tag_counts;
use shortener_store::{urls, visits};

pub use crate::link_changes::LinkChanges;
pub use shortener_domain::{Link, LinkBehaviour, LinkFilter as Filter, NewLink};
pub use shortener_store::tags::TagCount;

/// How many random codes to try before giving up (collisions are rare at 7 base62 chars).
const GENERATED_CODE_ATTEMPTS: usize = 8;

/// Creates a link and its `created` event in one transaction. `via` is the host the
/// request came in on: a link to it would redirect to the service itself. An owner key's
/// link is its user's.
pub async fn create(
    app: &App,
    caller: &Caller,
    new: NewLink,
    via: Option<&str>,
) -> Result<Link, ServiceError> {
    let mut tx = app.db.begin("links.create").await?;
    let link = create_in(app, &mut tx, caller, new, via).await?;
    tx.commit().await?;
    announce_created(app, std::slice::from_ref(&link)).await;
    Ok(link)
}

/// Creates a link and its `created` event in the caller's transaction (which
/// [`announce_created`] follows once it commits).
pub(crate) async fn create_in(
    app: &App,
    conn: &mut PgConnection,
    caller: &Caller,
    mut new: NewLink,
    via: Option<&str>,
) -> Result<Link, ServiceError> {
    new.user_id = owner_of_new(caller, new.user_id)?;
    allowed(app, "original_url", &new.original_url, via)?;
    if let Some(fallback) = &new.behaviour.expired_url {
        allowed(app, "expired_url", fallback, via)?;
    }
    preview_allowed(app, new.behaviour.preview.as_ref(), via)?;
    targets_allowed(app, &new.behaviour.rules, &new.behaviour.variants, via)?;
    let password_hash = match new.behaviour.password.take() {
        Some(password) => Some(link_passwords::hash(password).await?),
        None => None,
    };
    let password_hash = password_hash.as_deref();
    if let Some(user_id) = new.user_id
        && !urls::lock_live_owner(conn, user_id).await?
    {
        return Err(ServiceError::NotFound(Resource::User));
    }
    let link = match &new.code {
        Some(code) => urls::insert(conn, &new, code.as_str(), password_hash).await?,
        None => {
            let mut created = None;
            for _ in 0..GENERATED_CODE_ATTEMPTS {
                let code = app.codes.generate();
                created =
                    urls::insert_if_code_free(conn, &new, code.as_str(), password_hash).await?;
                if created.is_some() {
                    break;
                }
            }
            created.ok_or(ServiceError::NoFreeShortCode {
                attempts: GENERATED_CODE_ATTEMPTS,
            })?
        }
    };
    if link.max_visits.is_some() {
        visits::start_counting(conn, link.id).await?;
    }
    let details = json!({"short_code": link.short_code, "original_url": link.original_url});
    events::insert(conn, event(&link, "created", details, caller)).await?;
    webhook_events::link_event(conn, WebhookEvent::LinkCreated, &link, None).await?;
    Ok(link)
}

/// After the commit of new links: counted, and their codes' new versions noted (a code
/// may be cached as unknown: its new version outdates that).
pub(crate) async fn announce_created(app: &App, links: &[Link]) {
    if links.is_empty() {
        return;
    }
    app.metrics()
        .links_created
        .with_label_values(&["api"])
        .inc_by(links.len() as u64);
    let changes: Vec<(&str, i64)> = links
        .iter()
        .map(|link| (link.short_code.as_str(), link.version))
        .collect();
    app.cache.changed(&app.db, &changes).await;
}

/// Checks a destination the link's `field` names against the link policy in force.
pub(crate) fn allowed(
    app: &App,
    field: &'static str,
    url: &TargetUrl,
    via: Option<&str>,
) -> Result<(), ServiceError> {
    app.link_policy()
        .check(url, via)
        .map_err(|refused| ServiceError::Destination { field, refused })
}

/// Checks a preview's image against the link policy, as a destination.
fn preview_allowed(
    app: &App,
    preview: Option<&LinkPreview>,
    via: Option<&str>,
) -> Result<(), ServiceError> {
    let image = preview.and_then(|preview| preview.image.as_deref());
    match image.map(TargetUrl::parse) {
        Some(Ok(image)) => allowed(app, "preview", &image, via),
        _ => Ok(()),
    }
}

/// Checks the URLs of a link's rules and split against the link policy, as destinations.
fn targets_allowed(
    app: &App,
    rules: &[Rule],
    variants: &[Variant],
    via: Option<&str>,
) -> Result<(), ServiceError> {
    let urls = rules.iter().map(|rule| ("rules", rule.url.as_str())).chain(
        variants
            .iter()
            .map(|variant| ("variants", variant.url.as_str())),
    );
    for (field, url) in urls {
        // Parsed when the rules were: a URL that does not parse again is not checked.
        if let Ok(url) = TargetUrl::parse(url) {
            allowed(app, field, &url, via)?;
        }
    }
    Ok(())
}

/// One live link the caller may reach.
pub async fn get(app: &App, caller: &Caller, id: i64) -> Result<Link, ServiceError> {
    let mut conn = app.db.connection("links.get").await?;
    reachable_link(caller, urls::find(&mut conn, id).await?)
}

/// The short URL of a live link the caller may reach: `PUBLIC_BASE_URL` (else the
/// request's `host`), `/`, and its code.
pub async fn short_url(
    app: &App,
    caller: &Caller,
    id: i64,
    host: Option<&str>,
) -> Result<String, ServiceError> {
    let link = get(app, caller, id).await?;
    Ok(app.public_base_url(host).short_url(&link.short_code))
}

/// One page of live links in id order, of those the caller may reach.
pub async fn list(
    app: &App,
    caller: &Caller,
    mut filter: Filter,
    page: Page,
) -> Result<Listing<Link>, ServiceError> {
    let Some(user_id) = user_filter(caller, filter.user_id) else {
        return Ok(Listing::empty());
    };
    filter.user_id = user_id;
    let mut conn = app.db.connection("links.list").await?;
    Ok(Listing::from_page(
        page,
        urls::list(&mut conn, filter, page).await?,
    ))
}

/// The tags of the live links the caller may reach (one owner's, `user_id`), with how
/// many links hold each, most held first, at most `limit`.
pub async fn tags(
    app: &App,
    caller: &Caller,
    user_id: Option<i64>,
    limit: i64,
) -> Result<Vec<TagCount>, ServiceError> {
    let Some(user_id) = user_filter(caller, user_id) else {
        return Ok(Vec::new());
    };
    let mut conn = app.db.connection("links.tags").await?;
    Ok(tag_counts::counts(&mut conn, user_id, limit).await?)
}

/// Applies the changes that differ from the stored link, writing one `updated` event
/// per changed field, in one transaction. A new destination is checked as on create.
pub async fn update(
    app: &App,
    caller: &Caller,
    id: i64,
    mut changes: LinkChanges,
    via: Option<&str>,
) -> Result<Link, ServiceError> {
    // Hashed before the transaction, which would otherwise stay open for argon2's work.
    let new_password = match changes.password.take() {
        Some(Some(password)) => Some(Some(link_passwords::hash(password).await?)),
        Some(None) => Some(None),
        None => None,
    };
    if let Some(url) = &changes.original_url {
        allowed(app, "original_url", url, via)?;
    }
    if let Some(Some(fallback)) = &changes.expired_url {
        allowed(app, "expired_url", fallback, via)?;
    }
    if let Some(preview) = &changes.preview {
        preview_allowed(app, preview.as_ref(), via)?;
    }
    targets_allowed(
        app,
        changes.rules.as_deref().unwrap_or_default(),
        changes.variants.as_deref().unwrap_or_default(),
        via,
    )?;
    let mut tx = app.db.begin("links.update").await?;
    let mut link = reachable_link(caller, urls::find_for_update(&mut tx, id).await?)?;
    if changes.is_active == Some(true) && !link.is_active {
        if let Some(reason) = urls::lock_reason(&mut tx, id).await? {
            return Err(ServiceError::Locked { reason });
        }
        // Held to the commit: the owner cannot be deleted (which turns its links off)
        // between this check and the link going back on.
        if let Some(owner) = link.user_id
            && !urls::lock_live_owner(&mut tx, owner).await?
        {
            return Err(ServiceError::Conflict {
                field: "is_active",
                message: "the link's owner is deleted: it cannot be turned back on",
            });
        }
    }
    let was_capped = link.max_visits.is_some();
    let mut changed = apply_changes(&mut link, changes);
    // A new password always changes the link (a hash cannot be compared to it); the
    // event says only that there is one.
    match &new_password {
        Some(Some(_)) => changed.push(("password", json!("set"))),
        Some(None) if link.protected => changed.push(("password", Value::Null)),
        _ => {}
    }
    if changed.is_empty() {
        return Ok(link);
    }
    // A new cap counts visits from zero; a changed one goes on counting.
    match (was_capped, link.max_visits.is_some()) {
        (false, true) => visits::start_counting(&mut tx, id).await?,
        (true, false) => visits::stop_counting(&mut tx, id).await?,
        _ => {}
    }
    let password = new_password.as_ref().map(Option::as_deref);
    let mut updated = urls::store_fields(&mut tx, &link, password).await?;
    if changed.iter().any(|(field, _)| *field == "original_url") {
        // A new destination's health starts again (a trigger resets it), which the
        // statement's own snapshot does not show.
        updated.destination = None;
    }
    let mut changes = serde_json::Map::new();
    for (field, new_value) in changed {
        changes.insert(field.to_owned(), new_value.clone());
        let details = json!({"field": field, "new_value": new_value});
        events::insert(&mut tx, event(&updated, "updated", details, caller)).await?;
    }
    let changes = Some(Value::Object(changes));
    webhook_events::link_event(&mut tx, WebhookEvent::LinkUpdated, &updated, changes).await?;
    tx.commit().await?;
    app.cache
        .changed(&app.db, &[(updated.short_code.as_str(), updated.version)])
        .await;
    Ok(updated)
}

/// Locks a live link (an admin's act, by the route's scope): inactive with `reason`, and
/// its owner cannot turn it back on until the lock is lifted.
pub async fn lock(app: &App, caller: &Caller, id: i64, reason: &str) -> Result<Link, ServiceError> {
    let mut tx = app.db.begin("links.lock").await?;
    let link = urls::lock(&mut tx, id, reason)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Link))?;
    let details = json!({"field": "is_active", "new_value": false, "locked": reason});
    events::insert(&mut tx, event(&link, "updated", details, caller)).await?;
    let changes = Some(json!({"is_active": false}));
    webhook_events::link_event(&mut tx, WebhookEvent::LinkUpdated, &link, changes).await?;
    tx.commit().await?;
    app.cache
        .changed(&app.db, &[(link.short_code.as_str(), link.version)])
        .await;
    Ok(link)
}

/// Lifts a live link's lock; it stays inactive until someone turns it on.
pub async fn unlock(app: &App, caller: &Caller, id: i64) -> Result<Link, ServiceError> {
    let mut tx = app.db.begin("links.unlock").await?;
    let link = urls::unlock(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Link))?;
    let details = json!({"field": "locked", "new_value": null});
    events::insert(&mut tx, event(&link, "updated", details, caller)).await?;
    tx.commit().await?;
    Ok(link)
}

/// Soft-deletes a live link the caller may reach and writes its `deleted` event.
pub async fn delete(app: &App, caller: &Caller, id: i64) -> Result<(), ServiceError> {
    let mut tx = app.db.begin("links.delete").await?;
    let link = reachable_link(caller, urls::find_for_update(&mut tx, id).await?)?;
    let deleted = urls::soft_delete(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Link))?;
    let event = NewEvent {
        url_id: id,
        user_id: deleted.user_id,
        event_type: "deleted",
        details: json!({"reason": "user_requested"}),
        actor: caller.actor(),
    };
    events::insert(&mut tx, event).await?;
    webhook_events::link_event(&mut tx, WebhookEvent::LinkDeleted, &link, None).await?;
    tx.commit().await?;
    app.cache
        .changed(&app.db, &[(deleted.short_code.as_str(), deleted.version)])
        .await;
    Ok(())
}

/// A live link's events in id order.
pub async fn events(
    app: &App,
    caller: &Caller,
    id: i64,
    page: Page,
) -> Result<Listing<Event>, ServiceError> {
    let mut conn = app.db.connection("links.events").await?;
    reachable_link(caller, urls::find(&mut conn, id).await?)?;
    let filter = EventFilter {
        url_id: Some(id),
        ..EventFilter::default()
    };
    Ok(Listing::from_page(
        page,
        events::list(&mut conn, &filter, page).await?,
    ))
}

/// An audit event about `link`, attributed to its owner and caused by `caller`.
fn event<'a>(link: &Link, event_type: &'a str, details: Value, caller: &'a Caller) -> NewEvent<'a> {
    NewEvent {
        url_id: link.id,
        user_id: link.user_id,
        event_type,
        details,
        actor: caller.actor(),
    }
}
