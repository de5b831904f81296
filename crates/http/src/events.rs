//! `/events`: the audit trail, listed with filters, and custom events appended by clients.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{
    ApiCaller, ApiJson, ApiQuery, json_integer, json_integer_or_null, parse_field, parse_param,
};
use super::list::{Listed, PageParams};
use super::schema::{EventDetailsObject, EventTypeText};
use super::views::Event;
use shortener_domain::{EventDetails, EventType};
use shortener_service::app::AppState;
use shortener_service::events::{self, NewClientEvent};

/// Body of `POST /events`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateEvent {
    #[serde(deserialize_with = "json_integer")]
    pub url_id: i64,
    #[serde(default, deserialize_with = "json_integer_or_null")]
    pub user_id: Option<i64>,
    #[schema(value_type = EventTypeText)]
    pub event_type: String,
    /// Default `{}`.
    #[schema(value_type = Option<EventDetailsObject>)]
    pub details: Option<Value>,
}

/// Filters of `GET /events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListParams {
    /// Only this link's events.
    #[param(value_type = i64, required = false)]
    pub url_id: Option<String>,
    /// Only this user's events.
    #[param(value_type = i64, required = false)]
    pub user_id: Option<String>,
    /// Only events of this type (empty: any).
    #[param(required = false)]
    pub event_type: Option<String>,
}

/// List events in id order, optionally by link, user and type.
#[utoipa::path(get, path = "/events", tag = "events", params(EventListParams, PageParams),
    responses((status = 200, body = Vec<Event>, headers(("X-Total-Count" = i64, description = "Exact number of items across all pages"), ("Link" = String, description = "RFC 8288 rel=\"next\": the next page, by the after cursor; absent on the last page"))), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    OriginalUri(uri): OriginalUri,
    ApiQuery(params): ApiQuery<EventListParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Listed<Event>, ApiError> {
    let mut errors = FieldErrors::new();
    let filter = events::Filter {
        url_id: parse_param(&params.url_id, "url_id", "an integer", &mut errors),
        user_id: parse_param(&params.user_id, "user_id", "an integer", &mut errors),
        event_type: params.event_type.filter(|t| !t.is_empty()),
    };
    let page = page.page();
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    Ok(Listed::of(
        events::list(&state, &caller, &filter, page?).await?,
        &uri,
    ))
}

/// Append an event to a link's audit trail.
#[utoipa::path(post, path = "/events", tag = "events", request_body = CreateEvent,
    responses((status = 201, body = Event), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<CreateEvent>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let event_type = parse_field(
        &body.event_type,
        "event_type",
        &mut errors,
        EventType::parse,
    );
    let details = EventDetails::parse(body.details)
        .map_err(|e| errors.insert("details".into(), e.to_string()))
        .ok();
    let (Some(event_type), Some(details)) = (event_type, details) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let new = NewClientEvent {
        url_id: body.url_id,
        user_id: body.user_id,
        event_type,
        details,
    };
    let event = events::append(&state, &caller, new).await?;
    Ok((StatusCode::CREATED, axum::Json(Event::from(event))))
}
