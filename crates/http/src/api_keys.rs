//! `/api-keys`: keys made, listed and revoked by an admin key. The secret is in the answer
//! to the create, once; every other answer shows only the key's fields.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{ApiCaller, ApiId, ApiJson, ApiQuery, json_integer_or_null, parse_field};
use super::list::{Listed, PageParams};
use super::schema::{ExpiryText, KeyNameText, RowId, ScopeName};
use super::views::{ApiKey, CreatedApiKey};
use shortener_domain::{KEY_NAME_RULE, Scope, is_key_name, parse_future_expiry};
use shortener_service::api_keys::{self, NewApiKey};
use shortener_service::app::AppState;

/// Body of `POST /api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKey {
    #[schema(value_type = KeyNameText)]
    pub name: String,
    #[schema(value_type = ScopeName)]
    pub scope: String,
    /// The user the key acts as (an owner key: only that user's links, events, stats and
    /// user); `null` or absent: across users.
    #[serde(default, deserialize_with = "json_integer_or_null")]
    pub user_id: Option<i64>,
    /// When the key stops opening anything; never when absent.
    #[schema(value_type = Option<ExpiryText>)]
    pub expires_at: Option<String>,
}

/// Make an API key; the answer holds its secret, in `key`, once.
#[utoipa::path(post, path = "/api-keys", tag = "api-keys", request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey, headers(("Location" = String, description = "The key: /api-keys/{id}"))), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::new();
    if !is_key_name(&body.name) {
        errors.insert("name".into(), format!("must be {KEY_NAME_RULE}"));
    }
    let scope = parse_field(&body.scope, "scope", &mut errors, |raw| {
        Scope::from_name(raw).ok_or("must be read, write or admin")
    });
    let now = Utc::now();
    let expires_at = body.expires_at.as_deref().map(|raw| {
        parse_field(raw, "expires_at", &mut errors, |raw| {
            parse_future_expiry(raw, now)
        })
    });
    let (Some(scope), true) = (scope, errors.is_empty()) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let new = NewApiKey {
        name: body.name,
        scope,
        user_id: body.user_id,
        expires_at: expires_at.flatten(),
    };
    let created = CreatedApiKey::from(api_keys::create(&state, &caller, new).await?);
    let location = format!("/api-keys/{}", created.fields.id);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        axum::Json(created),
    ))
}

/// List the live keys in id order (never their secrets).
#[utoipa::path(get, path = "/api-keys", tag = "api-keys", params(PageParams),
    responses((status = 200, body = Vec<ApiKey>, headers(("X-Total-Count" = i64, description = "Exact number of items across all pages"), ("Link" = String, description = "RFC 8288 rel=\"next\": the next page, by the after cursor; absent on the last page"))), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Listed<ApiKey>, ApiError> {
    Ok(Listed::of(
        api_keys::list(&state, page.page()?).await?,
        &uri,
    ))
}

/// Revoke a key: every replica refuses it within a second.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "api-keys", params(("id" = inline(RowId), Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
) -> Result<StatusCode, ApiError> {
    api_keys::revoke(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
