//! A link's click analytics: its stats over a range of days (totals, classes, unique
//! visitors, each day, the top keys of each dimension and the top referrers), and its
//! clicks broken down by any dimension. Every figure comes from the rollups the click
//! fold keeps plus what is pending, never from a scan of the click events. And the raw
//! clicks still retained, a page at a time, for the CSV export.

use chrono::{DateTime, Utc};

use super::ServiceError;
use super::access::reachable_link;
use crate::app::App;
use counted::{Counted, RangeFigures};
use shortener_domain::{
    Caller, ClassCounts, ClassFilter, DateRange, DayClicks, Dimension, Event, KeyClicks,
};
use shortener_store::{click_export, stats, urls};

pub mod across_links;
mod counted;

/// How many referrers `top_referrers` lists, and keys each top list.
pub const TOP_KEYS: i64 = 10;

/// The dimensions whose top keys the stats list.
pub const TOP_DIMENSIONS: [Dimension; 5] = [
    Dimension::Country,
    Dimension::Browser,
    Dimension::Os,
    Dimension::Device,
    Dimension::Referrer,
];

/// A link's clicks: total and last from its counters; over a range, per day, by class
/// and by the top keys of the [`TOP_DIMENSIONS`]; and the top referrers.
#[derive(Debug, Clone)]
pub struct LinkStats {
    pub url_id: i64,
    pub short_code: String,
    pub clicks: i64,
    pub last_click_at: Option<DateTime<Utc>>,
    pub range: DateRange,
    /// Each day of the range, oldest first, zero-filled.
    pub days: Vec<DayClicks>,
    /// The range's sums of `days`: clicks, each class, and unique visitors (each day's
    /// visitors: a visitor id lives one UTC day, so a person returning on another day of
    /// the range counts again).
    pub range_totals: ClassCounts,
    /// The top [`TOP_KEYS`] keys by human clicks of each of [`TOP_DIMENSIONS`], in that
    /// order.
    pub top_keys: Vec<(Dimension, Vec<KeyClicks>)>,
    /// The top [`TOP_KEYS`] referrers (`None`: none sent), most clicks first.
    pub top_referrers: Vec<(Option<String>, i64)>,
}

/// The click statistics of a live link over `range`.
pub async fn stats(
    app: &App,
    caller: &Caller,
    id: i64,
    range: DateRange,
) -> Result<LinkStats, ServiceError> {
    let mut conn = app.db.connection("links.stats").await?;
    let link = reachable_link(caller, urls::find(&mut conn, id).await?)?;
    let counters = stats::click_counters(&mut conn, link.id).await?;
    let figures = RangeFigures::read(&mut conn, Counted::Link(link.id), range).await?;
    let top_referrers = stats::top_referrers(&mut conn, link.id, TOP_KEYS).await?;
    Ok(LinkStats {
        url_id: link.id,
        short_code: link.short_code,
        clicks: counters.clicks,
        last_click_at: counters.last_click_at,
        range,
        range_totals: figures.totals,
        days: figures.days,
        top_keys: figures.top_keys,
        top_referrers: top_referrers
            .into_iter()
            .map(|r| (r.referrer, r.clicks))
            .collect(),
    })
}

/// What a breakdown is asked for.
#[derive(Debug, Clone, Copy)]
pub struct BreakdownQuery {
    pub dimension: Dimension,
    pub range: DateRange,
    /// The classes counted (`None`: people, or every class for the `class` dimension).
    pub class: Option<ClassFilter>,
    /// Most rows (the time dimensions list every slot of the range).
    pub limit: u32,
}

/// A live link's clicks over the range by `query.dimension`: the time dimensions in time
/// order, zero-filled; the others most clicks first, keys without clicks left out.
pub async fn breakdown(
    app: &App,
    caller: &Caller,
    id: i64,
    query: BreakdownQuery,
) -> Result<Vec<KeyClicks>, ServiceError> {
    let mut conn = app.db.connection("links.breakdown").await?;
    let link = reachable_link(caller, urls::find(&mut conn, id).await?)?;
    Ok(counted::breakdown(&mut conn, Counted::Link(link.id), query).await?)
}

/// Raw clicks exported per page.
pub const EXPORT_PAGE: i64 = 1000;

/// The link `id` whose raw clicks `caller` may export: a live link it may read.
pub async fn exportable_link(app: &App, caller: &Caller, id: i64) -> Result<i64, ServiceError> {
    let mut conn = app.db.connection("links.export").await?;
    Ok(reachable_link(caller, urls::find(&mut conn, id).await?)?.id)
}

/// The next page of the link's raw click events over `range` after event `after_id`, in
/// id order (fewer than [`EXPORT_PAGE`]: the last page).
pub async fn export_page(
    app: &App,
    url_id: i64,
    range: DateRange,
    after_id: i64,
) -> Result<Vec<Event>, ServiceError> {
    let start = |day: chrono::NaiveDate| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let until = range
        .to()
        .succ_opt()
        .map_or(DateTime::<Utc>::MAX_UTC, start);
    let mut conn = app.db.connection("links.export").await?;
    Ok(click_export::page(
        &mut conn,
        url_id,
        (start(range.from()), until),
        after_id,
        EXPORT_PAGE,
    )
    .await?)
}
