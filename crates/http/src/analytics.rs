//! `/urls/{id}/stats` and `/urls/{id}/stats/{dimension}`: a link's click analytics over a
//! range of days. The use cases live in `service::analytics`.

use axum::extract::State;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{ApiCaller, ApiId, ApiIdAndName, ApiQuery};
use super::schema::RowId;
use super::views::{KeyClicks, LinkStats};
use shortener_domain::{
    ClassFilter, DEFAULT_BREAKDOWN_LIMIT, DateRange, Dimension, MAX_BREAKDOWN_LIMIT,
};
use shortener_service::analytics::{self, BreakdownQuery};
use shortener_service::app::AppState;

/// The range of a stats read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsRangeParams {
    /// First day (UTC, `YYYY-MM-DD`); default: 29 days before `to`.
    #[param(value_type = String, format = Date, required = false)]
    pub from: Option<String>,
    /// Last day (UTC, `YYYY-MM-DD`), included; default: today. At most 400 days in all.
    #[param(value_type = String, format = Date, required = false)]
    pub to: Option<String>,
}

impl StatsRangeParams {
    /// The range asked for; a bad one is a 400 naming the parameter.
    pub fn range(&self) -> Result<DateRange, (String, String)> {
        DateRange::parse(
            self.from.as_deref(),
            self.to.as_deref(),
            Utc::now().date_naive(),
        )
        .map_err(|error| (error.field().to_owned(), error.to_string()))
    }
}

/// What a breakdown counts and how many rows it lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BreakdownParams {
    /// The traffic counted: `human` (default; every class for the `class` dimension),
    /// `bot`, `preview` or `all`.
    #[param(value_type = String, required = false, pattern = "^(human|bot|preview|all)$")]
    pub class: Option<String>,
    /// Most rows, 1 to 1000 (default 10); the time dimensions list every slot.
    #[param(value_type = u32, required = false, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// A link's clicks: all-time total and last click; over a range of days (default the
/// last 30), the clicks of each traffic class, unique visitors, each day, and the top 10
/// countries, browsers, OSes, devices and referrer hosts (people's clicks); the top
/// referrers.
#[utoipa::path(get, path = "/urls/{id}/stats", tag = "urls",
    params(("id" = inline(RowId), Path), StatsRangeParams),
    responses((status = 200, body = LinkStats), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn link_stats(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
    ApiQuery(params): ApiQuery<StatsRangeParams>,
) -> Result<axum::Json<LinkStats>, ApiError> {
    let range = params
        .range()
        .map_err(|(field, problem)| ApiError::invalid_field(&field, problem))?;
    Ok(axum::Json(
        analytics::stats(&state, &caller, id, range).await?.into(),
    ))
}

/// A link's clicks over a range of days by one dimension: `day`, `hour` (time order,
/// every slot), `class`, `country`, `browser`, `os`, `device`, `language` or `referrer`
/// (host), most clicks first.
#[utoipa::path(get, path = "/urls/{id}/stats/{dimension}", tag = "urls",
    params(("id" = inline(RowId), Path),
           ("dimension" = String, Path, pattern = "^(day|hour|class|country|browser|os|device|language|referrer)$"),
           StatsRangeParams, BreakdownParams),
    responses((status = 200, body = Vec<KeyClicks>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn link_breakdown(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiIdAndName(id, dimension): ApiIdAndName,
    ApiQuery(range): ApiQuery<StatsRangeParams>,
    ApiQuery(params): ApiQuery<BreakdownParams>,
) -> Result<axum::Json<Vec<KeyClicks>>, ApiError> {
    let mut errors = FieldErrors::new();
    let dimension = Dimension::parse(&dimension);
    if dimension.is_none() {
        errors.insert(
            "dimension".to_owned(),
            "must be one of day, hour, class, country, browser, os, device, language, referrer"
                .to_owned(),
        );
    }
    let range = range
        .range()
        .map_err(|(field, problem)| errors.insert(field, problem))
        .ok();
    let class = match params.class.as_deref() {
        None => Some(None),
        Some(name) => ClassFilter::parse(name).map(Some),
    };
    if class.is_none() {
        errors.insert(
            "class".to_owned(),
            "must be human, bot, preview or all".to_owned(),
        );
    }
    let limit = match params.limit.as_deref() {
        None => Some(DEFAULT_BREAKDOWN_LIMIT),
        Some(raw) => raw.parse::<u32>().ok().filter(|n| {
            (1..=MAX_BREAKDOWN_LIMIT).contains(n) && raw.bytes().all(|b| b.is_ascii_digit())
        }),
    };
    if limit.is_none() {
        errors.insert(
            "limit".to_owned(),
            format!("must be an integer from 1 to {MAX_BREAKDOWN_LIMIT}"),
        );
    }
    let (Some(dimension), Some(range), Some(class), Some(limit)) = (dimension, range, class, limit)
    else {
        return Err(ApiError::invalid_fields(errors));
    };
    let query = BreakdownQuery {
        dimension,
        range,
        class,
        limit,
    };
    let rows = analytics::breakdown(&state, &caller, id, query).await?;
    Ok(axum::Json(rows.into_iter().map(KeyClicks::from).collect()))
}
