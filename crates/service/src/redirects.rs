//! Following a short link: the product's hot path. Answers from the cache tiers and
//! queues the click; never waits on a database write. A link whose destination is now
//! blocked answers 410 and records nothing.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;

use super::{Resource, ServiceError};
use crate::app::App;
use shortener_cache::CacheEntry;
use shortener_domain::{Click, Intent, ShortCode};

/// Who followed the link, for the click record.
#[derive(Debug, Clone, Default)]
pub struct Visit {
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub accept_language: Option<String>,
    /// A visit, a prefetch or a HEAD check.
    pub intent: Intent,
    /// The client's address: the click pipeline turns it into a country and a visitor id
    /// and keeps neither it nor any trace of it.
    pub client: Option<IpAddr>,
}

/// A live, active, unexpired link's destination.
#[derive(Debug, Clone)]
pub struct Destination(Arc<CacheEntry>);

impl Destination {
    /// The stored destination URL.
    pub fn url(&self) -> &str {
        match self.0.as_ref() {
            CacheEntry::Link(link) => &link.original_url,
            CacheEntry::Missing { .. } => unreachable!("a destination is always a link"),
        }
    }
}

/// Where `code` leads. The visit is recorded for the click writer to classify: a GET as a
/// click event, a HEAD as a preview counted in the rollups only.
pub async fn follow(app: &App, code: &str, visit: Visit) -> Result<Destination, ServiceError> {
    let counters = &app.metrics().hot;
    // A code that could never have been issued needs no lookup at all.
    if !ShortCode::is_well_formed(code) {
        counters.not_found.inc();
        return Err(ServiceError::NotFound(Resource::Link));
    }
    let entry = app.cache.resolve(&app.db, code).await?;
    let link = match entry.as_ref() {
        CacheEntry::Link(link) if link.is_active => link,
        _ => {
            counters.not_found.inc();
            return Err(ServiceError::NotFound(Resource::Link));
        }
    };
    let now = Utc::now();
    if link.expires_at.is_some_and(|at| at <= now) {
        counters.gone.inc();
        return Err(ServiceError::Expired);
    }
    // The blocklist may have grown since the link was made (BLOCKED_DOMAINS_FILE is
    // reloaded): with a blocklist, a read lock and one parse of the stored URL; without
    // one, an atomic load.
    if app.blocklist_in_force() && app.link_policy().blocks(&link.original_url) {
        counters.gone.inc();
        return Err(ServiceError::DestinationBlocked);
    }
    app.clicks.enqueue(
        Click {
            url_id: link.url_id,
            at: now,
            referrer: visit.referrer,
            user_agent: visit.user_agent,
            accept_language: visit.accept_language,
            intent: visit.intent,
            country: None,
            visitor: None,
        },
        visit.client,
    );
    counters.found.inc();
    Ok(Destination(entry))
}
