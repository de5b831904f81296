//! Webhook subscriptions: an owner key makes them for its user's links, an admin key for
//! any user's or for every link. The secret is shown when it is made and when it is
//! rotated, never again. Their deliveries are listed, and one can be sent again.

use super::{Listing, Resource, ServiceError};
use crate::app::App;
use crate::links::allowed;
use shortener_domain::{
    Caller, Page, Scope, TargetUrl, Webhook, WebhookDelivery, WebhookEvent, WebhookSecret,
};
use shortener_store::urls;
use shortener_store::webhook_deliveries as deliveries;
use shortener_store::webhooks::{self as stored, NewWebhook as StoredNew, WebhookFields};

/// A subscription to make.
#[derive(Debug, Clone)]
pub struct WebhookSpec {
    pub url: TargetUrl,
    pub events: Vec<WebhookEvent>,
    pub description: Option<String>,
    /// Whose links' events (an admin's choice; an owner key's own user regardless);
    /// `None`: every link's.
    pub user_id: Option<i64>,
}

/// A partial update: `None` leaves a field alone; `Some(None)` clears the description.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<TargetUrl>,
    pub events: Option<Vec<WebhookEvent>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// A subscription with its secret: what its create and a rotation answer.
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

/// Whose subscriptions the caller manages: its own user's for an owner key, anyone's for
/// an admin (`None`); any other key none, as a subscription sees every link it covers.
fn managed_by(caller: &Caller) -> Result<Option<i64>, ServiceError> {
    match caller.owner() {
        Some(own) => Ok(Some(own)),
        None if caller.grants(Scope::Admin) => Ok(None),
        None => Err(ServiceError::NeedsScope(Scope::Admin)),
    }
}

/// `webhook` when the caller manages it, else the same 404 as none at all.
fn reachable(caller: &Caller, webhook: Option<Webhook>) -> Result<Webhook, ServiceError> {
    let owner = managed_by(caller)?;
    webhook
        .filter(|webhook| owner.is_none_or(|own| webhook.user_id == Some(own)))
        .ok_or(ServiceError::NotFound(Resource::Webhook))
}

fn names(events: &[WebhookEvent]) -> Vec<String> {
    events.iter().map(|event| event.name().to_owned()).collect()
}

/// Makes a subscription; its URL obeys the rules of a link's destination.
pub async fn create(
    app: &App,
    caller: &Caller,
    spec: WebhookSpec,
    via: Option<&str>,
) -> Result<WithSecret, ServiceError> {
    let user_id = match managed_by(caller)? {
        Some(own) if spec.user_id.is_some_and(|named| named != own) => {
            return Err(ServiceError::NotPermitted {
                field: "user_id",
                message: "this API key acts only as its own user",
            });
        }
        Some(own) => Some(own),
        None => spec.user_id,
    };
    allowed(app, "url", &spec.url, via)?;
    let secret = WebhookSecret::generate().expose();
    let events = names(&spec.events);
    let mut tx = app.db.begin("webhooks.create").await?;
    if let Some(user_id) = user_id
        && !urls::lock_live_owner(&mut tx, user_id).await?
    {
        return Err(ServiceError::NotFound(Resource::User));
    }
    let new = StoredNew {
        user_id,
        url: spec.url.as_str(),
        events: &events,
        description: spec.description.as_deref(),
        secret: &secret,
    };
    let webhook = stored::insert(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(WithSecret { webhook, secret })
}

/// One page of the subscriptions the caller manages, in id order.
pub async fn list(
    app: &App,
    caller: &Caller,
    page: Page,
) -> Result<Listing<Webhook>, ServiceError> {
    let owner = managed_by(caller)?;
    let mut conn = app.db.connection("webhooks.list").await?;
    Ok(Listing::from_page(
        page,
        stored::list(&mut conn, owner, page).await?,
    ))
}

/// One subscription the caller manages.
pub async fn get(app: &App, caller: &Caller, id: i64) -> Result<Webhook, ServiceError> {
    let mut conn = app.db.connection("webhooks.get").await?;
    reachable(caller, stored::find(&mut conn, id).await?)
}

/// Changes a subscription's URL, events, description or whether it is on. Turning it
/// back on clears why the service turned it off; its waiting deliveries go out again.
pub async fn update(
    app: &App,
    caller: &Caller,
    id: i64,
    changes: WebhookChanges,
    via: Option<&str>,
) -> Result<Webhook, ServiceError> {
    if let Some(url) = &changes.url {
        allowed(app, "url", url, via)?;
    }
    let mut tx = app.db.begin("webhooks.update").await?;
    let current = reachable(caller, stored::find_for_update(&mut tx, id).await?)?;
    let events = changes
        .events
        .as_deref()
        .map_or_else(|| current.events.clone(), names);
    let description = changes.description.unwrap_or(current.description);
    let fields = WebhookFields {
        url: changes
            .url
            .as_ref()
            .map_or(&current.url, |url| url.as_str()),
        events: &events,
        description: description.as_deref(),
        enabled: changes.enabled.unwrap_or(current.enabled),
    };
    let webhook = stored::update(&mut tx, id, &fields)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Webhook))?;
    // Off, its waiting deliveries are held out of the claims; on again, they go out.
    match (current.enabled, webhook.enabled) {
        (true, false) => {
            deliveries::hold(&mut tx, id).await?;
        }
        (false, true) => {
            deliveries::release(&mut tx, id).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    Ok(webhook)
}

/// Deletes a subscription; what it has not delivered yet is never sent.
pub async fn delete(app: &App, caller: &Caller, id: i64) -> Result<(), ServiceError> {
    let mut tx = app.db.begin("webhooks.delete").await?;
    reachable(caller, stored::find(&mut tx, id).await?)?;
    if !stored::soft_delete(&mut tx, id).await? {
        return Err(ServiceError::NotFound(Resource::Webhook));
    }
    deliveries::abandon(&mut tx, &[id]).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives a subscription a new secret, shown in the answer; every attempt from now on is
/// signed with it.
pub async fn rotate_secret(
    app: &App,
    caller: &Caller,
    id: i64,
) -> Result<WithSecret, ServiceError> {
    let secret = WebhookSecret::generate().expose();
    let mut tx = app.db.begin("webhooks.rotate_secret").await?;
    reachable(caller, stored::find(&mut tx, id).await?)?;
    let webhook = stored::set_secret(&mut tx, id, &secret)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Webhook))?;
    tx.commit().await?;
    Ok(WithSecret { webhook, secret })
}

/// One page of a subscription's deliveries in id order (oldest first).
pub async fn deliveries(
    app: &App,
    caller: &Caller,
    id: i64,
    page: Page,
) -> Result<Listing<WebhookDelivery>, ServiceError> {
    let mut conn = app.db.connection("webhooks.deliveries").await?;
    reachable(caller, stored::find(&mut conn, id).await?)?;
    Ok(Listing::from_page(
        page,
        deliveries::list(&mut conn, id, page).await?,
    ))
}

/// Sends one of a subscription's deliveries again, now (one more attempt, with the same
/// `webhook-id`). A delivery being sent at this moment, or one of a subscription that is
/// off, is a 409.
pub async fn retry(
    app: &App,
    caller: &Caller,
    id: i64,
    delivery_id: i64,
) -> Result<WebhookDelivery, ServiceError> {
    let mut conn = app.db.connection("webhooks.retry").await?;
    let webhook = reachable(caller, stored::find(&mut conn, id).await?)?;
    if !webhook.enabled {
        return Err(ServiceError::Conflict {
            field: "enabled",
            message: "the subscription is off: turn it on first (its held deliveries then go out)",
        });
    }
    match deliveries::retry_now(&mut conn, id, delivery_id).await? {
        Some(delivery) => Ok(delivery),
        None if deliveries::exists(&mut conn, id, delivery_id).await? => {
            Err(ServiceError::Conflict {
                field: "delivery_id",
                message: "the delivery is being sent right now",
            })
        }
        None => Err(ServiceError::NotFound(Resource::WebhookDelivery)),
    }
}
