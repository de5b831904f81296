//! `/urls`: create, read, list, update and soft-delete short links; their events and stats.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiId, ApiJson, ApiQuery, nullable, parse_param};
use super::list::Listed;
use super::users::parse_present;
use crate::db::events::{self, Event, EventFilter};
use crate::db::stats::{self, LinkStats};
use crate::db::urls::{self, CodeChoice, Creation, Link, LinkChanges, LinkFilter, NewLink};
use crate::domain::{Page, PageParams, ShortCode, TargetUrl, timestamp};
use crate::error::{ApiError, ErrorBody, FieldErrors};
use crate::metrics::Timed;
use crate::state::AppState;

/// Longest title accepted, in characters.
const MAX_TITLE_CHARS: usize = 255;
const LINK_NOT_FOUND: &str = "url not found";

/// Body of `POST /urls`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateLink {
    /// Absolute http(s) URL with a host, at most 2048 characters (alias: `url`).
    #[serde(alias = "url")]
    pub original_url: String,
    /// Owner; must be an existing user.
    pub user_id: Option<i64>,
    pub title: Option<String>,
    /// Custom code: 3–32 of `[A-Za-z0-9_-]`, not a reserved path. Generated when absent.
    pub short_code: Option<String>,
    /// UTC, `YYYY-MM-DDTHH:MM:SS` (or RFC 3339 with an offset); must be in the future.
    #[schema(value_type = Option<String>, example = "2026-12-31T23:59:59")]
    pub expires_at: Option<String>,
}

/// Body of `PUT /urls/{id}`: only the fields present change; `null` clears title or expiry.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateLink {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub original_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub is_active: Option<Option<bool>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, example = "2026-12-31T23:59:59")]
    pub expires_at: Option<Option<String>>,
}

/// Filters of `GET /urls`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LinkListParams {
    #[param(value_type = Option<i64>)]
    pub user_id: Option<String>,
    #[param(value_type = Option<bool>)]
    pub is_active: Option<String>,
}

/// Shorten a URL.
#[utoipa::path(post, path = "/urls", tag = "urls", request_body = CreateLink,
    responses((status = 201, body = Link), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateLink>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let original_url =
        TargetUrl::parse(&body.original_url).map_err(|e| errors.insert("original_url".into(), e));
    let title = body
        .title
        .map(|t| parse_title(&t).map_err(|e| errors.insert("title".into(), e)));
    let code = match &body.short_code {
        Some(raw) => ShortCode::parse(raw)
            .map(CodeChoice::Custom)
            .map_err(|e| errors.insert("short_code".into(), e)),
        None => Ok(CodeChoice::Generated(state.codes)),
    };
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|raw| parse_future_expiry(raw).map_err(|e| errors.insert("expires_at".into(), e)));
    let (Ok(original_url), Ok(code)) = (original_url, code) else {
        return Err(ApiError::invalid_fields(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let new = NewLink {
        user_id: body.user_id,
        original_url,
        title: title.and_then(Result::ok).flatten(),
        expires_at: expires_at.and_then(Result::ok),
        code,
    };
    match urls::create(&state.pool, &new)
        .timed(&state.metrics.db, "urls.create")
        .await?
    {
        Creation::Created(link) => {
            state
                .metrics
                .links_created
                .with_label_values(&["api"])
                .inc();
            // The code may be cached as unknown; every other replica hears of it by NOTIFY.
            state.cache.invalidate(&state.pool, &link.short_code).await;
            Ok((StatusCode::CREATED, axum::Json(link)))
        }
        Creation::UnknownUser => Err(ApiError::NotFound("user not found".into())),
    }
}

/// A title, trimmed; empty means none.
fn parse_title(raw: &str) -> Result<Option<String>, String> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("must be at most {MAX_TITLE_CHARS} characters"));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

fn parse_future_expiry(raw: &str) -> Result<DateTime<Utc>, String> {
    let at = timestamp::parse(raw)?;
    if at <= Utc::now() {
        return Err("must be in the future".to_owned());
    }
    Ok(at)
}

/// List live links in id order, optionally by owner and state.
#[utoipa::path(get, path = "/urls", tag = "urls", params(LinkListParams, PageParams),
    responses((status = 200, body = Vec<Link>, headers(("X-Total-Count" = i64))), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<LinkListParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Listed<Link>, ApiError> {
    let mut errors = FieldErrors::new();
    let filter = LinkFilter {
        user_id: parse_param(&params.user_id, "user_id", "an integer", &mut errors),
        is_active: parse_param(&params.is_active, "is_active", "true or false", &mut errors),
    };
    let page = Page::from_params(&page);
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let (items, total) = urls::list(&state.pool, filter, page?)
        .timed(&state.metrics.db, "urls.list")
        .await?;
    Ok(Listed { items, total })
}

/// Get one link.
#[utoipa::path(get, path = "/urls/{id}", tag = "urls", params(("id" = i64, Path)),
    responses((status = 200, body = Link), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiId(id): ApiId,
) -> Result<axum::Json<Link>, ApiError> {
    find_link(&state, id).await.map(axum::Json)
}

async fn find_link(state: &AppState, id: i64) -> Result<Link, ApiError> {
    urls::find(&state.pool, id)
        .timed(&state.metrics.db, "urls.find")
        .await?
        .ok_or_else(|| ApiError::NotFound(LINK_NOT_FOUND.into()))
}

/// Change a link's destination, title, state or expiry; one `updated` event per changed field.
#[utoipa::path(put, path = "/urls/{id}", tag = "urls", params(("id" = i64, Path)), request_body = UpdateLink,
    responses((status = 200, body = Link), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<UpdateLink>,
) -> Result<axum::Json<Link>, ApiError> {
    let mut errors = FieldErrors::new();
    let changes = LinkChanges {
        original_url: parse_present(
            body.original_url,
            "original_url",
            &mut errors,
            TargetUrl::parse,
        ),
        title: body.title.map(|title| match title {
            None => None,
            Some(raw) => parse_title(&raw)
                .map_err(|e| errors.insert("title".into(), e))
                .ok()
                .flatten(),
        }),
        is_active: match body.is_active {
            Some(None) => {
                errors.insert("is_active".into(), "must not be null".into());
                None
            }
            other => other.flatten(),
        },
        expires_at: body.expires_at.map(|expiry| match expiry {
            None => None,
            Some(raw) => timestamp::parse(&raw)
                .map_err(|e| errors.insert("expires_at".into(), e))
                .ok(),
        }),
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let link = urls::update(&state.pool, id, &changes)
        .timed(&state.metrics.db, "urls.update")
        .await?
        .ok_or_else(|| ApiError::NotFound(LINK_NOT_FOUND.into()))?;
    state.cache.invalidate(&state.pool, &link.short_code).await;
    Ok(axum::Json(link))
}

/// Soft-delete a link; a `deleted` event is written.
#[utoipa::path(delete, path = "/urls/{id}", tag = "urls", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ApiId(id): ApiId,
) -> Result<StatusCode, ApiError> {
    let code = urls::soft_delete(&state.pool, id)
        .timed(&state.metrics.db, "urls.delete")
        .await?
        .ok_or_else(|| ApiError::NotFound(LINK_NOT_FOUND.into()))?;
    state.cache.invalidate(&state.pool, &code).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A link's events in id order.
#[utoipa::path(get, path = "/urls/{id}/events", tag = "urls", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Vec<Event>, headers(("X-Total-Count" = i64))), (status = 404, body = ErrorBody)))]
pub async fn link_events(
    State(state): State<AppState>,
    ApiId(id): ApiId,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Listed<Event>, ApiError> {
    let page = Page::from_params(&params)?;
    find_link(&state, id).await?;
    let filter = EventFilter {
        url_id: Some(id),
        ..EventFilter::default()
    };
    let (items, total) = events::list(&state.pool, &filter, page)
        .timed(&state.metrics.db, "events.list")
        .await?;
    Ok(Listed { items, total })
}

/// A link's clicks: total, last, per day over 30 days, top referrers.
#[utoipa::path(get, path = "/urls/{id}/stats", tag = "urls", params(("id" = i64, Path)),
    responses((status = 200, body = LinkStats), (status = 404, body = ErrorBody)))]
pub async fn link_stats(
    State(state): State<AppState>,
    ApiId(id): ApiId,
) -> Result<axum::Json<LinkStats>, ApiError> {
    let link = find_link(&state, id).await?;
    Ok(axum::Json(
        stats::for_link(&state.pool, link.id, link.short_code)
            .timed(&state.metrics.db, "stats.for_link")
            .await?,
    ))
}
