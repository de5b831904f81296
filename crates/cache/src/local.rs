//! L1: the in-process cache of short code → redirect entry, bounded in bytes, with
//! separate lifetimes for links and for "no such code" answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;

use super::CacheEntry;

/// Per-entry lifetime: links live longer than negative answers.
struct EntryLifetime {
    link: Duration,
    missing: Duration,
}

impl moka::Expiry<String, Arc<CacheEntry>> for EntryLifetime {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<CacheEntry>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(match value.as_ref() {
            CacheEntry::Link(_) => self.link,
            CacheEntry::Missing { .. } => self.missing,
        })
    }

    fn expire_after_update(
        &self,
        key: &String,
        value: &Arc<CacheEntry>,
        now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, value, now)
    }
}

/// The in-process tier.
#[derive(Clone)]
pub struct LocalCache {
    entries: Cache<String, Arc<CacheEntry>>,
}

impl LocalCache {
    /// A cache of at most `max_bytes` (approximate: key, the link's text and a fixed overhead
    /// per entry).
    pub fn new(max_bytes: u64, link_ttl: Duration, missing_ttl: Duration) -> Self {
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|code: &String, entry: &Arc<CacheEntry>| {
                let url_len = match entry.as_ref() {
                    CacheEntry::Link(link) => link.approximate_heap_bytes(),
                    CacheEntry::Missing { .. } => 0,
                };
                u32::try_from(code.len() + url_len + 96).unwrap_or(u32::MAX)
            })
            .expire_after(EntryLifetime {
                link: link_ttl,
                missing: missing_ttl,
            })
            .build();
        Self { entries }
    }

    pub fn get(&self, code: &str) -> Option<Arc<CacheEntry>> {
        self.entries.get(code)
    }

    pub fn insert(&self, code: &str, entry: Arc<CacheEntry>) {
        self.entries.insert(code.to_owned(), entry);
    }

    pub fn remove(&self, code: &str) {
        self.entries.invalidate(code);
    }

    /// Forgets everything (after notifications may have been missed).
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}
