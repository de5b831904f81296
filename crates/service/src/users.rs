//! Users: create, read, list, change and soft-delete them.

use super::access::{UsersInView, users_in_view};
use super::{Listing, Resource, ServiceError};
use crate::app::App;
use shortener_domain::{Caller, Email, Page, Username};
use shortener_store::{api_keys, urls, users};

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
    let mut tx = app.db.begin("users.delete").await?;
    if !users::soft_delete(&mut tx, id).await? {
        return Err(ServiceError::NotFound(Resource::User));
    }
    let deactivated = urls::deactivate_owned_by(&mut tx, id).await?;
    let revoked = api_keys::revoke_owned_by(&mut tx, id).await?;
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
