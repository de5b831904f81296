//! Users: create, read, list, change and soft-delete them.

use super::{Listing, Resource, ServiceError};
use crate::app::App;
use shortener_domain::{Email, Page, Username};
use shortener_store::{urls, users};

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

/// One live user.
pub async fn get(app: &App, id: i64) -> Result<User, ServiceError> {
    let mut conn = app.db.connection("users.get").await?;
    users::find(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound(Resource::User))
}

/// One page of live users in id order.
pub async fn list(app: &App, page: Page) -> Result<Listing<User>, ServiceError> {
    let mut conn = app.db.connection("users.list").await?;
    Ok(Listing::from_page(
        page,
        users::list(&mut conn, page).await?,
    ))
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

/// Soft-deletes a live user and deactivates their links, in one transaction; their
/// events are kept. The deactivated links leave the redirect cache in one batch.
pub async fn delete(app: &App, id: i64) -> Result<(), ServiceError> {
    let mut tx = app.db.begin("users.delete").await?;
    if !users::soft_delete(&mut tx, id).await? {
        return Err(ServiceError::NotFound(Resource::User));
    }
    let deactivated = urls::deactivate_owned_by(&mut tx, id).await?;
    tx.commit().await?;
    let changes: Vec<(&str, i64)> = deactivated
        .iter()
        .map(|link| (link.short_code.as_str(), link.version))
        .collect();
    app.cache.changed(&app.db, &changes).await;
    Ok(())
}
