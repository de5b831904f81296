//! API keys made over the API: an admin key makes, lists and revokes them. The secret is
//! shown once, when the key is made; only its digest is stored. A key that belongs to a
//! user acts only as that user ([`crate::access`]) and is never an admin key.

use chrono::{DateTime, Utc};

use super::{Listing, Resource, ServiceError};
use crate::app::App;
use shortener_domain::{ApiKeyRecord, Caller, Page, Scope, api_key_digest, new_api_key_secret};
use shortener_store::{api_keys, urls};

/// A key to make; its name follows [`shortener_domain::KEY_NAME_RULE`].
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub scope: Scope,
    /// The user it acts as; `None`: across users, at its scope.
    pub user_id: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key just made, with its secret: the only time the secret is seen.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub record: ApiKeyRecord,
    pub secret: String,
}

/// Makes a key. Every replica holds it within a notification's delay; this one at once.
pub async fn create(
    app: &App,
    caller: &Caller,
    new: NewApiKey,
) -> Result<CreatedApiKey, ServiceError> {
    if new.user_id.is_some() && new.scope == Scope::Admin {
        return Err(ServiceError::Invalid {
            field: "scope",
            message: "a key that belongs to a user is read or write, never admin",
        });
    }
    if app.api_keys().has_name(&new.name) {
        return Err(ServiceError::Conflict {
            field: "name",
            message: "a key in API_KEYS_FILE or API_KEYS has this name",
        });
    }
    let secret = new_api_key_secret();
    let mut tx = app.db.begin("api_keys.create").await?;
    // Held until the commit, so the user cannot be deleted (and its keys revoked) meanwhile.
    if let Some(user_id) = new.user_id
        && !urls::lock_live_owner(&mut tx, user_id).await?
    {
        return Err(ServiceError::NotFound(Resource::User));
    }
    let stored = api_keys::NewKey {
        name: &new.name,
        scope: new.scope,
        user_id: new.user_id,
        expires_at: new.expires_at,
        digest: api_key_digest(&secret),
    };
    let record = api_keys::insert(&mut tx, &stored).await?;
    tx.commit().await?;
    tracing::info!(key = %record.name, id = record.id, scope = %record.scope,
        user_id = record.user_id, by = caller.actor(), "API key made");
    app.reload_keys().await;
    Ok(CreatedApiKey { record, secret })
}

/// One page of the live keys in id order.
pub async fn list(app: &App, page: Page) -> Result<Listing<ApiKeyRecord>, ServiceError> {
    let mut conn = app.db.connection("api_keys.list").await?;
    Ok(Listing::from_page(
        page,
        api_keys::list(&mut conn, page).await?,
    ))
}

/// Revokes a live key: refused on this replica at once, on every other within a
/// notification's delay.
pub async fn revoke(app: &App, caller: &Caller, id: i64) -> Result<(), ServiceError> {
    let mut conn = app.db.connection("api_keys.revoke").await?;
    if !api_keys::revoke(&mut conn, id).await? {
        return Err(ServiceError::NotFound(Resource::ApiKey));
    }
    drop(conn);
    tracing::info!(id, by = caller.actor(), "API key revoked");
    app.reload_keys().await;
    Ok(())
}
