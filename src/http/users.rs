//! `/users`: create, read, list, update and soft-delete users.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{ApiId, ApiJson, ApiQuery, nullable};
use super::list::Listed;
use crate::db::users::{self, User};
use crate::domain::{Email, Page, PageParams, Username};
use crate::error::{ApiError, ErrorBody, FieldErrors};
use crate::metrics::Timed;
use crate::state::AppState;

/// Body of `POST /users`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    /// 1–64 characters after trimming; need not be unique.
    pub username: String,
    /// A valid address, unique (case-insensitively) among users.
    pub email: String,
}

/// Body of `PUT /users/{id}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUser {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
}

const USER_NOT_FOUND: &str = "user not found";

/// Create a user.
#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let username = Username::parse(&body.username).map_err(|e| errors.insert("username".into(), e));
    let email = Email::parse(&body.email).map_err(|e| errors.insert("email".into(), e));
    let (Ok(username), Ok(email)) = (username, email) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let user = users::create(&state.pool, &username, &email)
        .timed(&state.metrics.db, "users.create")
        .await?;
    state
        .metrics
        .users_created
        .with_label_values(&["api"])
        .inc();
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// List live users in id order.
#[utoipa::path(get, path = "/users", tag = "users", params(PageParams),
    responses((status = 200, body = Vec<User>, headers(("X-Total-Count" = i64))), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Listed<User>, ApiError> {
    let page = Page::from_params(&params)?;
    let (items, total) = users::list(&state.pool, page)
        .timed(&state.metrics.db, "users.list")
        .await?;
    Ok(Listed { items, total })
}

/// Get one user.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiId(id): ApiId,
) -> Result<axum::Json<User>, ApiError> {
    users::find(&state.pool, id)
        .timed(&state.metrics.db, "users.find")
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))
}

/// Change a user's username and/or email.
#[utoipa::path(put, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<axum::Json<User>, ApiError> {
    let mut errors = FieldErrors::new();
    let username = parse_present(body.username, "username", &mut errors, Username::parse);
    let email = parse_present(body.email, "email", &mut errors, Email::parse);
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    users::update(&state.pool, id, username.as_ref(), email.as_ref())
        .timed(&state.metrics.db, "users.update")
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))
}

/// Parses a field of a partial update: absent stays `None`, null or invalid is a field error.
pub(super) fn parse_present<T>(
    value: Option<Option<String>>,
    field: &str,
    errors: &mut FieldErrors,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    match value? {
        None => {
            errors.insert(field.to_owned(), "must not be null".to_owned());
            None
        }
        Some(raw) => parse(&raw)
            .map_err(|e| errors.insert(field.to_owned(), e))
            .ok(),
    }
}

/// Soft-delete a user: they disappear from reads, their links are deactivated, events kept.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ApiId(id): ApiId,
) -> Result<StatusCode, ApiError> {
    let deactivated = users::soft_delete(&state.pool, id)
        .timed(&state.metrics.db, "users.delete")
        .await?
        .ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))?;
    for code in deactivated {
        state.cache.invalidate(&state.pool, &code).await;
    }
    Ok(StatusCode::NO_CONTENT)
}
