//! A link's click analytics: its stats over a range of days (totals, classes, unique
//! visitors, each day, the top keys of each dimension and the top referrers), and its
//! clicks broken down by any dimension. Every figure comes from the rollups the click
//! fold keeps plus what is pending, never from a scan of the click events. And the raw
//! clicks still retained, a page at a time, for the CSV export.

use chrono::{DateTime, Utc};

use super::ServiceError;
use super::access::reachable_link;
use crate::app::App;
use shortener_domain::{
    Caller, ClassFilter, DateRange, DayClicks, Dimension, Event, KeyClicks, TrafficClass, timestamp,
};
use shortener_store::{breakdowns, click_export, stats, urls};

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
    pub range_totals: DayClicks,
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
    let days = (range.from(), range.to());
    let counters = stats::click_counters(&mut conn, link.id).await?;
    let by_day = stats::clicks_by_day(&mut conn, link.id, range.from(), range.to()).await?;
    let letters: Vec<u8> = TOP_DIMENSIONS.iter().filter_map(|d| d.code()).collect();
    let top_rows = breakdowns::top_keys(&mut conn, link.id, &letters, days, TOP_KEYS).await?;
    let top_referrers = stats::top_referrers(&mut conn, link.id, TOP_KEYS).await?;
    let top_keys = TOP_DIMENSIONS
        .iter()
        .map(|&dimension| {
            let rows = top_rows
                .iter()
                .filter(|(letter, _)| Some(*letter) == dimension.code())
                .map(|(_, row)| row.clone())
                .collect();
            (dimension, rows)
        })
        .collect();
    Ok(LinkStats {
        url_id: link.id,
        short_code: link.short_code,
        clicks: counters.clicks,
        last_click_at: counters.last_click_at,
        range,
        range_totals: DayClicks::total(range.to(), &by_day),
        days: by_day,
        top_keys,
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
    let range = query.range;
    let days = (range.from(), range.to());
    let row = |key: String, class: ClassFilter, h, b, p, v| KeyClicks {
        key: Some(key),
        clicks: class.clicks(h, b, p),
        visitors: class.visitors(v),
    };
    match query.dimension {
        Dimension::Day => {
            let class = query.class.unwrap_or_default();
            let by_day = stats::clicks_by_day(&mut conn, link.id, days.0, days.1).await?;
            Ok(by_day
                .into_iter()
                .map(|d| {
                    row(
                        d.date.to_string(),
                        class,
                        d.humans,
                        d.bots,
                        d.previews,
                        d.visitors,
                    )
                })
                .collect())
        }
        Dimension::Hour => {
            let class = query.class.unwrap_or_default();
            let by_hour = breakdowns::clicks_by_hour(&mut conn, link.id, days).await?;
            Ok(by_hour
                .into_iter()
                .map(|h| {
                    let key = timestamp::format(&h.hour);
                    row(key, class, h.humans, h.bots, h.previews, h.visitors)
                })
                .collect())
        }
        Dimension::Class => {
            let class = query.class.unwrap_or(ClassFilter::All);
            let by_day = stats::clicks_by_day(&mut conn, link.id, days.0, days.1).await?;
            let total = DayClicks::total(range.to(), &by_day);
            let mut rows: Vec<KeyClicks> = [
                (TrafficClass::Human, total.humans, total.visitors),
                (TrafficClass::Bot, total.bots, 0),
                (TrafficClass::Preview, total.previews, 0),
            ]
            .into_iter()
            .filter(|(name, clicks, _)| class.counts(*name) && *clicks > 0)
            .map(|(name, clicks, visitors)| KeyClicks {
                key: Some(name.as_str().to_owned()),
                clicks,
                visitors,
            })
            .collect();
            rows.sort_by(|a, b| b.clicks.cmp(&a.clicks).then(a.key.cmp(&b.key)));
            Ok(rows)
        }
        keyed => {
            let letter = keyed.code().expect("every other dimension is kept by key");
            let class = query.class.unwrap_or_default();
            let limit = i64::from(query.limit);
            Ok(breakdowns::clicks_by_key(&mut conn, link.id, letter, days, class, limit).await?)
        }
    }
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
