//! `/users`: create, read, list, update, soft-delete and erase users.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{
    ApiCaller, ApiId, ApiJson, ApiQuery, nullable, parse_field, parse_param, parse_present,
};
use super::list::{Listed, PageParams};
use super::schema::{EmailText, RowId, UsernameText};
use super::views::User;
use shortener_domain::{Email, Username};
use shortener_service::app::AppState;
use shortener_service::users;

/// Body of `POST /users`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    #[schema(value_type = UsernameText)]
    pub username: String,
    #[schema(value_type = EmailText)]
    pub email: String,
}

/// Body of `PUT /users/{id}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUser {
    /// A new name (not `null`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = UsernameText, required = false)]
    pub username: Option<Option<String>>,
    /// A new address (not `null`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = EmailText, required = false)]
    pub email: Option<Option<String>>,
}

/// Create a user.
#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User, headers(("Location" = String, description = "The new user: /users/{id}"))), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let username = parse_field(&body.username, "username", &mut errors, Username::parse);
    let email = parse_field(&body.email, "email", &mut errors, Email::parse);
    let (Some(username), Some(email)) = (username, email) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let user = users::create(&state, &username, &email).await?;
    let user = User::from(user);
    let location = format!("/users/{}", user.id);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        axum::Json(user),
    ))
}

/// List live users in id order.
#[utoipa::path(get, path = "/users", tag = "users", params(PageParams),
    responses((status = 200, body = Vec<User>, headers(("X-Total-Count" = i64, description = "Exact number of items across all pages"), ("Link" = String, description = "RFC 8288 rel=\"next\": the next page, by the after cursor; absent on the last page"))), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    OriginalUri(uri): OriginalUri,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Listed<User>, ApiError> {
    let page = params.page()?;
    Ok(Listed::of(users::list(&state, &caller, page).await?, &uri))
}

/// Get one user.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = inline(RowId), Path)),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
) -> Result<axum::Json<User>, ApiError> {
    Ok(axum::Json(users::get(&state, &caller, id).await?.into()))
}

/// Change a user's username and/or email.
#[utoipa::path(put, path = "/users/{id}", tag = "users", params(("id" = inline(RowId), Path)), request_body = UpdateUser,
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
    let user = users::update(&state, id, username.as_ref(), email.as_ref()).await?;
    Ok(axum::Json(user.into()))
}

/// Query parameters of `DELETE /users/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteUserParams {
    /// `true`: erase the user (GDPR erasure), also after a plain delete: their name and
    /// email are overwritten, and their links' clicks keep only their counts (no referrer,
    /// no user agent). `false` or absent: a plain soft delete.
    #[param(value_type = bool, required = false)]
    pub erase: Option<String>,
}

/// Soft-delete a user: they disappear from reads, their links are deactivated, events kept.
///
/// With `erase=true`, also erase them (docs/security.md, "Privacy"): their name and email
/// are overwritten and their links' clicks keep only their counts. An erasure answers `204`
/// for a user deleted before as well (repeating it is harmless); a plain delete of a
/// deleted user is `404`.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = inline(RowId), Path), DeleteUserParams),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ApiId(id): ApiId,
    ApiQuery(params): ApiQuery<DeleteUserParams>,
) -> Result<StatusCode, ApiError> {
    let mut errors = FieldErrors::new();
    let erase = parse_param(&params.erase, "erase", "true or false", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    if erase == Some(true) {
        users::erase(&state, id).await?;
    } else {
        users::delete(&state, id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
