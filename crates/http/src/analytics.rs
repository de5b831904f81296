//! `/urls/{id}/stats` and `/urls/{id}/stats/{dimension}`: a link's click analytics over a
//! range of days; `/stats` and `/stats/{dimension}`: every link the key may read,
//! together. The use cases live in `service::analytics`.

use axum::extract::{Path, State};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{ApiCaller, ApiId, ApiIdAndName, ApiQuery};
use super::schema::RowId;
use super::views::{KeyClicks, LinkStats, ScopeStats};
use shortener_domain::{
    ClassFilter, DEFAULT_BREAKDOWN_LIMIT, DateRange, Dimension, MAX_BREAKDOWN_LIMIT,
};
use shortener_service::analytics::{self, BreakdownQuery, across_links};
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

/// The parameters of `GET /stats/link`: a breakdown's, with at most 100 links.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkBreakdownParams {
    /// The traffic counted: `human` (default), `bot`, `preview` or `all`.
    #[param(value_type = String, required = false, pattern = "^(human|bot|preview|all)$")]
    pub class: Option<String>,
    /// Most links, 1 to 100 (default 10).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl From<LinkBreakdownParams> for BreakdownParams {
    fn from(params: LinkBreakdownParams) -> Self {
        Self {
            class: params.class,
            limit: params.limit,
        }
    }
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
/// every slot), `class`, `country`, `browser`, `os`, `device`, `language`, `referrer`
/// (host) or `variant` (which rule or variant of a targeted link answered: `target`,
/// `rules.N`, `variants.N`), most clicks first.
#[utoipa::path(get, path = "/urls/{id}/stats/{dimension}", tag = "urls",
    params(("id" = inline(RowId), Path),
           ("dimension" = String, Path, pattern = "^(day|hour|class|country|browser|os|device|language|referrer|variant)$"),
           StatsRangeParams, BreakdownParams),
    responses((status = 200, body = Vec<KeyClicks>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn link_breakdown(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiIdAndName(id, dimension): ApiIdAndName,
    ApiQuery(range): ApiQuery<StatsRangeParams>,
    ApiQuery(params): ApiQuery<BreakdownParams>,
) -> Result<axum::Json<Vec<KeyClicks>>, ApiError> {
    let query = breakdown_query(&dimension, &Dimension::OF_A_LINK, &range, &params)?;
    let rows = analytics::breakdown(&state, &caller, id, query).await?;
    Ok(axum::Json(rows.into_iter().map(KeyClicks::from).collect()))
}

/// The clicks of every link the key may read (an owner key: its own; a key without
/// owner: every link): over a range of days (default the last 30), the clicks of each
/// traffic class, unique visitors, each day, and the top 10 countries, browsers, OSes,
/// devices and referrer hosts (people's clicks). The links ranked: `/stats/link`.
#[utoipa::path(get, path = "/stats", tag = "stats", params(StatsRangeParams),
    responses((status = 200, body = ScopeStats), (status = 400, body = ErrorBody)))]
pub async fn scope_stats(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(params): ApiQuery<StatsRangeParams>,
) -> Result<axum::Json<ScopeStats>, ApiError> {
    let range = params
        .range()
        .map_err(|(field, problem)| ApiError::invalid_field(&field, problem))?;
    Ok(axum::Json(
        across_links::stats(&state, &caller, range).await?.into(),
    ))
}

/// The clicks of every link the key may read over a range of days by one of a link's
/// dimensions (`link` has its own route).
#[utoipa::path(get, path = "/stats/{dimension}", tag = "stats",
    params(("dimension" = String, Path, pattern = "^(day|hour|class|country|browser|os|device|language|referrer)$"),
           StatsRangeParams, BreakdownParams),
    responses((status = 200, body = Vec<KeyClicks>), (status = 400, body = ErrorBody)))]
pub async fn scope_breakdown(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(dimension): Path<String>,
    ApiQuery(range): ApiQuery<StatsRangeParams>,
    ApiQuery(params): ApiQuery<BreakdownParams>,
) -> Result<axum::Json<Vec<KeyClicks>>, ApiError> {
    let query = breakdown_query(&dimension, &Dimension::ACROSS_LINKS, &range, &params)?;
    let rows = across_links::breakdown(&state, &caller, query).await?;
    Ok(axum::Json(rows.into_iter().map(KeyClicks::from).collect()))
}

/// The links the key may read with the most clicks of the class over a range of days
/// (the key: the link's id), most first, ranked among each day's first 100 links of the
/// scope (docs/api.md).
#[utoipa::path(get, path = "/stats/link", tag = "stats",
    params(StatsRangeParams, LinkBreakdownParams),
    responses((status = 200, body = Vec<KeyClicks>), (status = 400, body = ErrorBody)))]
pub async fn scope_link_breakdown(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(range): ApiQuery<StatsRangeParams>,
    ApiQuery(params): ApiQuery<LinkBreakdownParams>,
) -> Result<axum::Json<Vec<KeyClicks>>, ApiError> {
    let link = Dimension::Link;
    let query = breakdown_query(link.as_str(), &[link], &range, &params.into())?;
    let rows = across_links::breakdown(&state, &caller, query).await?;
    Ok(axum::Json(rows.into_iter().map(KeyClicks::from).collect()))
}

/// The breakdown asked for: the dimension `name` (one of `among`), the range, the class
/// and the limit; every bad one is named in one 400.
fn breakdown_query(
    name: &str,
    among: &[Dimension],
    range: &StatsRangeParams,
    params: &BreakdownParams,
) -> Result<BreakdownQuery, ApiError> {
    let mut errors = FieldErrors::new();
    let dimension = Dimension::named(name, among);
    if dimension.is_none() {
        let names: Vec<&str> = among.iter().map(|d| d.as_str()).collect();
        errors.insert(
            "dimension".to_owned(),
            format!("must be one of {}", names.join(", ")),
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
    let max_limit = dimension.map_or(MAX_BREAKDOWN_LIMIT, Dimension::max_limit);
    let limit = match params.limit.as_deref() {
        None => Some(DEFAULT_BREAKDOWN_LIMIT),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max_limit).contains(n) && raw.bytes().all(|b| b.is_ascii_digit())),
    };
    if limit.is_none() {
        errors.insert(
            "limit".to_owned(),
            format!("must be an integer from 1 to {max_limit}"),
        );
    }
    let (Some(dimension), Some(range), Some(class), Some(limit)) = (dimension, range, class, limit)
    else {
        return Err(ApiError::invalid_fields(errors));
    };
    Ok(BreakdownQuery {
        dimension,
        range,
        class,
        limit,
    })
}
