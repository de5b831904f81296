//! `/events`: the audit trail, listed with filters, and custom events appended by clients.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiQuery, parse_param};
use super::list::Listed;
use crate::db::events::{self, Event, EventFilter, NewEvent};
use crate::db::{urls, users};
use crate::domain::{Page, PageParams};
use crate::error::{ApiError, ErrorBody, FieldErrors};
use crate::metrics::Timed;
use crate::state::AppState;

/// Longest event type accepted, in characters.
const MAX_EVENT_TYPE_CHARS: usize = 32;

/// Body of `POST /events`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateEvent {
    pub url_id: i64,
    pub user_id: Option<i64>,
    /// 1–32 characters.
    pub event_type: String,
    /// A JSON object (default `{}`).
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// Filters of `GET /events`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventListParams {
    #[param(value_type = Option<i64>)]
    pub url_id: Option<String>,
    #[param(value_type = Option<i64>)]
    pub user_id: Option<String>,
    pub event_type: Option<String>,
}

/// List events in id order, optionally by link, user and type.
#[utoipa::path(get, path = "/events", tag = "events", params(EventListParams, PageParams),
    responses((status = 200, body = Vec<Event>, headers(("X-Total-Count" = i64))), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<EventListParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Listed<Event>, ApiError> {
    let mut errors = FieldErrors::new();
    let filter = EventFilter {
        url_id: parse_param(&params.url_id, "url_id", "an integer", &mut errors),
        user_id: parse_param(&params.user_id, "user_id", "an integer", &mut errors),
        event_type: params.event_type.filter(|t| !t.is_empty()),
    };
    let page = Page::from_params(&page);
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let (items, total) = events::list(&state.pool, &filter, page?)
        .timed(&state.metrics.db, "events.list")
        .await?;
    Ok(Listed { items, total })
}

/// Append an event to a link's audit trail.
#[utoipa::path(post, path = "/events", tag = "events", request_body = CreateEvent,
    responses((status = 201, body = Event), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateEvent>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let event_type = body.event_type.trim();
    if event_type.is_empty() || event_type.chars().count() > MAX_EVENT_TYPE_CHARS {
        errors.insert(
            "event_type".into(),
            format!("must be 1 to {MAX_EVENT_TYPE_CHARS} characters"),
        );
    }
    let details = match body.details {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(object @ Value::Object(_)) => object,
        Some(_) => {
            errors.insert("details".into(), "must be a JSON object".into());
            Value::Null
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    if urls::find(&state.pool, body.url_id)
        .timed(&state.metrics.db, "urls.find")
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound("url not found".into()));
    }
    if let Some(user_id) = body.user_id
        && !users::exists(&state.pool, user_id)
            .timed(&state.metrics.db, "users.exists")
            .await?
    {
        return Err(ApiError::NotFound("user not found".into()));
    }
    let new = NewEvent {
        url_id: body.url_id,
        user_id: body.user_id,
        event_type: event_type.to_owned(),
        details,
    };
    let event = events::insert(&state.pool, &new)
        .timed(&state.metrics.db, "events.insert")
        .await?;
    Ok((StatusCode::CREATED, axum::Json(event)))
}
