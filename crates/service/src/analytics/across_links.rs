//! Click analytics across links (`GET /stats`): every link the caller may read together,
//! an owner key's own links or, for a key without owner, every link; from the rollups
//! the fold keeps per scope, never a sum over the links' own.

use super::counted::{self, Counted, RangeFigures};
use super::{BreakdownQuery, TOP_KEYS};
use crate::ServiceError;
use crate::app::App;
use shortener_domain::{
    Caller, ClassCounts, ClassFilter, DateRange, DayClicks, Dimension, KeyClicks,
};
use shortener_store::scope_stats::{self, EVERY_LINK};

/// The clicks of the links a caller may read over a range: the days, the range's sums,
/// the top keys of each dimension and the top links (people's clicks).
#[derive(Debug, Clone)]
pub struct ScopeStats {
    /// Whose links: a user's (an owner key), or `None` for every link.
    pub owner: Option<i64>,
    pub range: DateRange,
    pub days: Vec<DayClicks>,
    pub range_totals: ClassCounts,
    pub top_keys: Vec<(Dimension, Vec<KeyClicks>)>,
    /// The [`TOP_KEYS`] links with the most human clicks (the key: the link's id), as the
    /// `link` breakdown ranks them.
    pub top_links: Vec<KeyClicks>,
}

/// The scope the caller reads: its owner's links, or every link.
fn scope_of(caller: &Caller) -> i64 {
    caller.owner().unwrap_or(EVERY_LINK)
}

/// The stats of every link the caller may read, over `range`: a few rows per day of the
/// range, however many links.
pub async fn stats(
    app: &App,
    caller: &Caller,
    range: DateRange,
) -> Result<ScopeStats, ServiceError> {
    let scope = scope_of(caller);
    let mut conn = app.db.connection("stats.scope").await?;
    let figures = RangeFigures::read(&mut conn, Counted::Scope(scope), range).await?;
    let top_links = scope_stats::top_links(
        &mut conn,
        scope,
        (range.from(), range.to()),
        ClassFilter::Human,
        TOP_KEYS,
    )
    .await?;
    Ok(ScopeStats {
        owner: caller.owner(),
        range,
        days: figures.days,
        range_totals: figures.totals,
        top_keys: figures.top_keys,
        top_links,
    })
}

/// The clicks of every link the caller may read, by `query.dimension` (`link` too).
pub async fn breakdown(
    app: &App,
    caller: &Caller,
    query: BreakdownQuery,
) -> Result<Vec<KeyClicks>, ServiceError> {
    let mut conn = app.db.connection("stats.scope_breakdown").await?;
    Ok(counted::breakdown(&mut conn, Counted::Scope(scope_of(caller)), query).await?)
}
