//! Whose clicks a figure counts, one link or a scope of links, and the figures read the
//! same way for both: the days, classes and top keys of a range, and a breakdown by any
//! dimension. The link's rollups or the scope's, chosen here once.

use shortener_domain::{
    ClassCounts, ClassFilter, DateRange, DayClicks, Dimension, KeyClicks, TrafficClass, timestamp,
};
use shortener_store::breakdowns::{self, HourClicks};
use shortener_store::{scope_stats, stats};
use sqlx::PgConnection;

use super::{BreakdownQuery, TOP_DIMENSIONS, TOP_KEYS};

/// One link (its id), or a scope of links: 0 for every link, a user's id for theirs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counted {
    Link(i64),
    Scope(i64),
}

type Days = (chrono::NaiveDate, chrono::NaiveDate);

impl Counted {
    async fn days(
        self,
        conn: &mut PgConnection,
        days: Days,
    ) -> Result<Vec<DayClicks>, sqlx::Error> {
        match self {
            Self::Link(id) => stats::clicks_by_day(conn, id, days.0, days.1).await,
            Self::Scope(scope) => scope_stats::clicks_by_day(conn, scope, days).await,
        }
    }

    async fn hours(
        self,
        conn: &mut PgConnection,
        days: Days,
    ) -> Result<Vec<HourClicks>, sqlx::Error> {
        match self {
            Self::Link(id) => breakdowns::clicks_by_hour(conn, id, days).await,
            Self::Scope(scope) => scope_stats::clicks_by_hour(conn, scope, days).await,
        }
    }

    async fn keys(
        self,
        conn: &mut PgConnection,
        letter: u8,
        days: Days,
        class: ClassFilter,
        limit: i64,
    ) -> Result<Vec<KeyClicks>, sqlx::Error> {
        match self {
            Self::Link(id) => breakdowns::clicks_by_key(conn, id, letter, days, class, limit).await,
            Self::Scope(scope) => {
                scope_stats::clicks_by_key(conn, scope, letter, days, class, limit).await
            }
        }
    }

    async fn top_keys(
        self,
        conn: &mut PgConnection,
        letters: &[u8],
        days: Days,
    ) -> Result<Vec<(u8, KeyClicks)>, sqlx::Error> {
        match self {
            Self::Link(id) => breakdowns::top_keys(conn, id, letters, days, TOP_KEYS).await,
            Self::Scope(scope) => scope_stats::top_keys(conn, scope, letters, days, TOP_KEYS).await,
        }
    }

    /// The links counted, ranked by their clicks over the range (a link: itself).
    async fn links(
        self,
        conn: &mut PgConnection,
        days: Days,
        class: ClassFilter,
        limit: i64,
    ) -> Result<Vec<KeyClicks>, sqlx::Error> {
        match self {
            Self::Link(id) => {
                let total = ClassCounts::of_days(&self.days(conn, days).await?);
                let clicks = class.clicks(total.humans, total.bots, total.previews);
                Ok((clicks > 0)
                    .then(|| KeyClicks {
                        key: Some(id.to_string()),
                        clicks,
                        visitors: class.visitors(total.visitors),
                    })
                    .into_iter()
                    .collect())
            }
            Self::Scope(scope) => scope_stats::top_links(conn, scope, days, class, limit).await,
        }
    }
}

/// What the stats show of a range: each day, the range's sums, the top keys of each of
/// [`TOP_DIMENSIONS`] (people's clicks).
pub(crate) struct RangeFigures {
    pub days: Vec<DayClicks>,
    pub totals: ClassCounts,
    pub top_keys: Vec<(Dimension, Vec<KeyClicks>)>,
}

impl RangeFigures {
    pub(crate) async fn read(
        conn: &mut PgConnection,
        counted: Counted,
        range: DateRange,
    ) -> Result<Self, sqlx::Error> {
        let days = (range.from(), range.to());
        let by_day = counted.days(conn, days).await?;
        let letters: Vec<u8> = TOP_DIMENSIONS.iter().filter_map(|d| d.code()).collect();
        let top_rows = counted.top_keys(conn, &letters, days).await?;
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
        Ok(Self {
            totals: ClassCounts::of_days(&by_day),
            days: by_day,
            top_keys,
        })
    }
}

/// The clicks counted over the range by `query.dimension`: the time dimensions in time
/// order, zero-filled; the others most clicks first, keys without clicks left out.
pub(crate) async fn breakdown(
    conn: &mut PgConnection,
    counted: Counted,
    query: BreakdownQuery,
) -> Result<Vec<KeyClicks>, sqlx::Error> {
    let range = query.range;
    let days = (range.from(), range.to());
    let row = |key: String, class: ClassFilter, h, b, p, v| KeyClicks {
        key: Some(key),
        clicks: class.clicks(h, b, p),
        visitors: class.visitors(v),
    };
    let limit = i64::from(query.limit);
    match query.dimension {
        Dimension::Day => {
            let class = query.class.unwrap_or_default();
            let by_day = counted.days(conn, days).await?;
            Ok(by_day
                .into_iter()
                .map(|d| {
                    let key = d.date.to_string();
                    row(key, class, d.humans, d.bots, d.previews, d.visitors)
                })
                .collect())
        }
        Dimension::Hour => {
            let class = query.class.unwrap_or_default();
            let by_hour = counted.hours(conn, days).await?;
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
            let total = ClassCounts::of_days(&counted.days(conn, days).await?);
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
        Dimension::Link => {
            let class = query.class.unwrap_or_default();
            counted.links(conn, days, class, limit).await
        }
        keyed => {
            let letter = keyed.code().expect("every other dimension is kept by key");
            let class = query.class.unwrap_or_default();
            counted.keys(conn, letter, days, class, limit).await
        }
    }
}
