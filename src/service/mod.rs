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
pub use error::{Resource, ServiceError};

/// One page of a list and the number of items across all pages.
#[derive(Debug)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl<T> Listing<T> {
    fn from_page((items, total): (Vec<T>, i64)) -> Self {
        Self { items, total }
    }
}
