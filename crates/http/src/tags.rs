//! `GET /tags`: the tags of the key's live links, with how many hold each.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{ApiCaller, ApiQuery, parse_param};
use super::views::TagCount;
use shortener_service::app::AppState;
use shortener_service::links;

/// Most tags one answer lists, and the default.
const MAX_LIMIT: i64 = 1000;
const DEFAULT_LIMIT: i64 = 100;

/// Parameters of `GET /tags`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TagListParams {
    /// Only this user's links (an owner key: its own, whatever it names).
    #[param(value_type = i64, required = false)]
    pub user_id: Option<String>,
    /// At most this many tags, 1 to 1000 (default 100).
    #[param(value_type = i64, required = false, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// The tags of the live links the key may reach, most held first (ties by name), each
/// with how many links hold it: exact, from counters kept with the links.
#[utoipa::path(get, path = "/tags", tag = "urls", params(TagListParams),
    responses((status = 200, body = Vec<TagCount>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(params): ApiQuery<TagListParams>,
) -> Result<axum::Json<Vec<TagCount>>, ApiError> {
    let mut errors = FieldErrors::new();
    let user_id = parse_param(&params.user_id, "user_id", "an integer", &mut errors);
    let limit = parse_param(
        &params.limit,
        "limit",
        "an integer from 1 to 1000",
        &mut errors,
    )
    .unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.insert("limit".into(), "must be an integer from 1 to 1000".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let tags = links::tags(&state, &caller, user_id, limit).await?;
    Ok(axum::Json(tags.into_iter().map(TagCount::from).collect()))
}
