//! `/webhooks`: an owner's (or an admin's) subscriptions to link events, their secrets
//! (shown on create and on rotation only) and their deliveries.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{
    ApiCaller, ApiId, ApiIdPair, ApiJson, ApiQuery, RequestHost, json_integer_or_null, not_null,
    nullable, parse_field,
};
use super::list::{Listed, PageParams};
use super::schema::{RowId, TargetUrlText, WebhookDescriptionText, WebhookEventName};
use super::webhook_views::{Webhook, WebhookDelivery, WebhookWithSecret};
use shortener_domain::{MAX_WEBHOOK_DESCRIPTION_CHARS, TargetUrl, WebhookEvent, parse_events};
use shortener_service::app::AppState;
use shortener_service::webhooks::{self, WebhookChanges, WebhookSpec};

/// Body of `POST /webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: the rules of a link's destination.
    #[schema(value_type = TargetUrlText)]
    pub url: String,
    /// At least one event.
    #[schema(value_type = Vec<WebhookEventName>, min_items = 1)]
    pub events: Vec<String>,
    #[schema(value_type = Option<WebhookDescriptionText>)]
    pub description: Option<String>,
    /// Whose links' events (an admin key's choice; an owner key's own user when absent);
    /// `null` or absent with an admin key: every link's.
    #[serde(default, deserialize_with = "json_integer_or_null")]
    pub user_id: Option<i64>,
}

/// Body of `PUT /webhooks/{id}`: only the fields present change; `null` clears the
/// description.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateWebhook {
    /// A new URL (not `null`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = TargetUrlText, required = false)]
    pub url: Option<Option<String>>,
    /// The whole new list of events (not `null`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<WebhookEventName>, required = false, min_items = 1)]
    pub events: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<WebhookDescriptionText>, required = false)]
    pub description: Option<Option<String>>,
    /// Turns deliveries on or off (not `null`); on again clears `disabled_reason`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool, required = false)]
    pub enabled: Option<Option<bool>>,
}

/// A description kept trimmed; blank is none; too long is a field error.
fn description_of(raw: String, errors: &mut FieldErrors) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_WEBHOOK_DESCRIPTION_CHARS {
        errors.insert(
            "description".into(),
            format!("must be at most {MAX_WEBHOOK_DESCRIPTION_CHARS} characters"),
        );
        return None;
    }
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn events_of(raw: &[String], errors: &mut FieldErrors) -> Option<Vec<WebhookEvent>> {
    parse_events(raw)
        .map_err(|error| errors.insert("events".into(), error.to_string()))
        .ok()
}

/// Subscribe a URL to link events; the answer holds the signing secret, in `secret`, once.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookWithSecret, headers(("Location" = String, description = "The subscription: /webhooks/{id}"))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    RequestHost(via): RequestHost,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let url = parse_field(&body.url, "url", &mut errors, TargetUrl::parse);
    let events = events_of(&body.events, &mut errors);
    let description = body
        .description
        .and_then(|raw| description_of(raw, &mut errors));
    let (Some(url), Some(events), true) = (url, events, errors.is_empty()) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let spec = WebhookSpec {
        url,
        events,
        description,
        user_id: body.user_id,
    };
    let made =
        WebhookWithSecret::from(webhooks::create(&state, &caller, spec, via.as_deref()).await?);
    let location = format!("/webhooks/{}", made.fields.id);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        axum::Json(made),
    ))
}

/// List the subscriptions the key manages, in id order (never their secrets).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", params(PageParams),
    responses((status = 200, body = Vec<Webhook>, headers(("X-Total-Count" = i64, description = "Exact number of items across all pages"), ("Link" = String, description = "RFC 8288 rel=\"next\": the next page, by the after cursor; absent on the last page"))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    OriginalUri(uri): OriginalUri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Listed<Webhook>, ApiError> {
    Ok(Listed::of(
        webhooks::list(&state, &caller, page.page()?).await?,
        &uri,
    ))
}

/// One subscription.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = inline(RowId), Path)),
    responses((status = 200, body = Webhook), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
) -> Result<axum::Json<Webhook>, ApiError> {
    Ok(axum::Json(webhooks::get(&state, &caller, id).await?.into()))
}

/// Change a subscription: its URL, events, description, or whether it is on.
#[utoipa::path(put, path = "/webhooks/{id}", tag = "webhooks", params(("id" = inline(RowId), Path)), request_body = UpdateWebhook,
    responses((status = 200, body = Webhook), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    RequestHost(via): RequestHost,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> Result<axum::Json<Webhook>, ApiError> {
    let mut errors = FieldErrors::new();
    let url = not_null(body.url, "url", &mut errors)
        .and_then(|raw| parse_field(&raw, "url", &mut errors, TargetUrl::parse));
    let events =
        not_null(body.events, "events", &mut errors).and_then(|raw| events_of(&raw, &mut errors));
    let enabled = not_null(body.enabled, "enabled", &mut errors);
    let description = body
        .description
        .map(|raw| raw.and_then(|raw| description_of(raw, &mut errors)));
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let changes = WebhookChanges {
        url,
        events,
        description,
        enabled,
    };
    let webhook = webhooks::update(&state, &caller, id, changes, via.as_deref()).await?;
    Ok(axum::Json(webhook.into()))
}

/// Delete a subscription: what it has not delivered yet is never sent.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = inline(RowId), Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a subscription a new signing secret, shown in the answer once; every attempt
/// from now on is signed with it.
#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = inline(RowId), Path)),
    responses((status = 200, body = WebhookWithSecret), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
) -> Result<axum::Json<WebhookWithSecret>, ApiError> {
    Ok(axum::Json(
        webhooks::rotate_secret(&state, &caller, id).await?.into(),
    ))
}

/// A subscription's deliveries in id order: status, attempts, the last answer, the next
/// attempt.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = inline(RowId), Path), PageParams),
    responses((status = 200, body = Vec<WebhookDelivery>, headers(("X-Total-Count" = i64, description = "Exact number of items across all pages"), ("Link" = String, description = "RFC 8288 rel=\"next\": the next page, by the after cursor; absent on the last page"))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    OriginalUri(uri): OriginalUri,
    ApiId(id): ApiId,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Listed<WebhookDelivery>, ApiError> {
    Ok(Listed::of(
        webhooks::deliveries(&state, &caller, id, page.page()?).await?,
        &uri,
    ))
}

/// Send a delivery again now: one more attempt, with the same `webhook-id`.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("id" = inline(RowId), Path), ("delivery_id" = inline(RowId), Path)),
    responses((status = 202, body = WebhookDelivery), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiIdPair(id, delivery_id): ApiIdPair,
) -> Result<(StatusCode, axum::Json<WebhookDelivery>), ApiError> {
    let delivery = webhooks::retry(&state, &caller, id, delivery_id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(delivery.into())))
}
