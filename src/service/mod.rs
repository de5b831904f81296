//! The use cases, one module per resource: each function owns its transaction, the audit
//! events it writes, the cache invalidation it causes and its metrics. Handlers call these
//! with domain types; these call `db`, `cache` and `clicks`, never the reverse.

mod error;
pub mod events;
pub mod imports;
pub mod links;
pub mod probes;
pub mod redirects;
pub mod users;

pub use crate::db::DbFailure;
use crate::db::Keyed;
use crate::domain::Page;
pub use error::{Resource, ServiceError};

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
}
