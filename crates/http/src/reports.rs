//! Locks and reports: an admin locks a link (`/urls/{id}/lock`) and lists reports
//! (`/reports`); anyone reports a link by its short code (`/urls/{short_code}/report`,
//! public, limited per client, small bodies only).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{ApiCaller, ApiId, ApiJson, ApiQuery, parse_field};
use super::list::{Listed, PageParams};
use super::schema::{LockReasonText, ReportCommentText, RowId};
use super::views::{Link, Report, ReportReceived};
use shortener_domain::{MAX_LOCK_REASON_CHARS, MAX_REPORT_COMMENT_CHARS, ReportReason, parse_note};
use shortener_service::app::AppState;
use shortener_service::links;
use shortener_service::reports::{self, NewReport};

/// Largest report body accepted: a reason and a comment of 1,000 characters fit.
pub const REPORT_BODY_LIMIT: usize = 8 * 1024;

/// Body of `PUT /urls/{id}/lock`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LockLink {
    /// Why the link is locked, shown to its owner when they try to turn it back on.
    #[schema(value_type = LockReasonText)]
    pub reason: String,
}

/// Body of `POST /urls/{short_code}/report`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportLink {
    #[schema(value_type = ReportReasonName)]
    pub reason: String,
    /// What the reporter saw.
    #[schema(value_type = Option<ReportCommentText>)]
    pub comment: Option<String>,
}

/// The reasons a link may be reported for (documentation only).
#[derive(ToSchema, Serialize)]
#[serde(rename_all = "lowercase")]
#[schema(as = ReportReason)]
#[expect(dead_code, reason = "describes the reasons in the OpenAPI document")]
pub enum ReportReasonName {
    Phishing,
    Malware,
    Spam,
    Abuse,
    Other,
}

/// Lock a link: inactive with a reason; its owner cannot turn it back on until an admin
/// lifts the lock.
#[utoipa::path(put, path = "/urls/{id}/lock", tag = "urls", params(("id" = inline(RowId), Path)), request_body = LockLink,
    responses((status = 200, body = Link), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn lock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<LockLink>,
) -> Result<axum::Json<Link>, ApiError> {
    let reason = parse_note(&body.reason, MAX_LOCK_REASON_CHARS)
        .map_err(|error| ApiError::invalid_field("reason", error.to_string()))?;
    Ok(axum::Json(
        links::lock(&state, &caller, id, &reason).await?.into(),
    ))
}

/// Lift a link's lock; it stays inactive until someone turns it on.
#[utoipa::path(delete, path = "/urls/{id}/lock", tag = "urls", params(("id" = inline(RowId), Path)),
    responses((status = 200, body = Link), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
) -> Result<axum::Json<Link>, ApiError> {
    Ok(axum::Json(links::unlock(&state, &caller, id).await?.into()))
}

/// Report a link by its short code (public; at most 5 at once and one every 12 s per
/// client).
#[utoipa::path(post, path = "/urls/{id}/report", tag = "redirect",
    params(("id" = String, Path, description = "The link's short code (the path of its short URL)")),
    request_body = ReportLink,
    responses((status = 202, body = ReportReceived), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody, description = "No active link has this code"), (status = 413, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many reports from this client (Retry-After says when to try again)")))]
pub async fn report(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReportLink>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let reason = parse_field(&body.reason, "reason", &mut errors, ReportReason::parse);
    let comment = body.comment.as_deref().map(|raw| {
        parse_field(raw, "comment", &mut errors, |raw| {
            parse_note(raw, MAX_REPORT_COMMENT_CHARS)
        })
    });
    let (Some(reason), true) = (reason, errors.is_empty()) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let report = NewReport {
        reason,
        comment: comment.flatten(),
    };
    let stored = reports::create(&state, &code, report, client_of(&headers)).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ReportReceived::from(Report::from(stored))),
    ))
}

/// List the reports in id order (admin).
#[utoipa::path(get, path = "/reports", tag = "urls", params(PageParams),
    responses((status = 200, body = Vec<Report>, headers(("X-Total-Count" = i64, description = "Exact number of items across all pages"), ("Link" = String, description = "RFC 8288 rel=\"next\": the next page, by the after cursor; absent on the last page"))), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Listed<Report>, ApiError> {
    Ok(Listed::of(reports::list(&state, page.page()?).await?, &uri))
}

/// Who the client is, for the per-client limit: the address the proxy in front saw
/// (`X-Real-IP`, which Nginx and the Ingress set, replacing a client's own). Without a
/// proxy every client shares one allowance.
fn client_of(headers: &HeaderMap) -> &str {
    headers
        .get("x-real-ip")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .unwrap_or("direct")
}
