//! The use cases, one module per resource: each function owns its transaction, the audit
//! events it writes, the cache invalidation it causes and its metrics. Handlers call these
//! with domain types; these call the store, the cache and the click queue, never the
//! reverse. The replica's shared state ([`App`]) and its background upkeep live here too.

mod access;
pub mod analytics;
pub mod api_keys;
pub mod app;
pub mod bulk_links;
pub mod destination_health;
mod error;
pub mod events;
mod expiry_notices;
mod import_slots;
pub mod imports;
pub mod key_book;
mod link_changes;
pub mod link_passwords;
pub mod links;
mod outbound;
pub mod probes;
pub mod quota;
pub mod redirects;
pub mod reports;
pub mod rollups;
pub mod upkeep;
pub mod users;
mod visit_batches;
mod visitor_facts;
pub mod webhook_delivery;
mod webhook_events;
pub mod webhooks;

pub use app::{App, AppParts, AppState, Lifecycle};
pub use error::{Resource, ServiceError};
use shortener_domain::Page;
pub use shortener_store::DbFailure;
use shortener_store::Keyed;

/// One page of a list, the number of items across all pages, and where the next page
/// starts.
#[derive(Debug)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
    /// The id the next page starts after (`after`); `None` when this page is not full,
    /// so it is the last.
    pub next_after: Option<i64>,
}

impl<T: Keyed> Listing<T> {
    fn from_page(page: Page, (items, total): (Vec<T>, i64)) -> Self {
        let full = items.len() as i64 >= page.limit();
        let next_after = items.last().filter(|_| full).map(Keyed::key);
        Self {
            items,
            total,
            next_after,
        }
    }

    /// The empty listing: what a caller asking for what it may not see gets.
    fn empty() -> Self {
        Self {
            items: Vec::new(),
            total: 0,
            next_after: None,
        }
    }
}
