//! The newest version this replica has been told of, per short code: from its own writes
//! (before it answers them) and from every notification. An entry older than that is
//! never served nor kept. Kept for the shared tier's lifetime (`CACHE_SHARED_TTL_SECS`):
//! a Redis entry older than that is gone anyway. Bounded: when codes are changed faster
//! than the bound holds them, the forgotten ones make the shared tier untrustworthy, so
//! the replica asks for a new generation of it ([`VersionBook::overflowed`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use moka::notification::RemovalCause;
use moka::sync::Cache;

use crate::CacheEntry;

/// Versions of this many codes at most (about 100 bytes each).
pub const MAX_CODES: u64 = 200_000;

/// Per-code newest known versions.
#[derive(Clone)]
pub(crate) struct VersionBook {
    known: Cache<String, i64>,
    overflowed: Arc<AtomicBool>,
}

impl VersionBook {
    /// A book that remembers each code for `lifetime` after its last change.
    pub fn new(lifetime: Duration) -> Self {
        Self::with_capacity(lifetime, MAX_CODES)
    }

    pub(crate) fn with_capacity(lifetime: Duration, max_codes: u64) -> Self {
        let overflowed = Arc::new(AtomicBool::new(false));
        let flag = overflowed.clone();
        let known = Cache::builder()
            .max_capacity(max_codes)
            .time_to_live(lifetime)
            .eviction_listener(move |_code, _version, cause| {
                if cause == RemovalCause::Size {
                    flag.store(true, Ordering::SeqCst);
                }
            })
            .build();
        Self { known, overflowed }
    }

    /// `code` is at `version` or later.
    pub fn note(&self, code: &str, version: i64) {
        self.known
            .entry(code.to_owned())
            .and_upsert_with(|current| match current {
                Some(current) => (*current.value()).max(version),
                None => version,
            });
    }

    /// The newest version told of `code`, if it changed within the book's lifetime.
    pub fn newest(&self, code: &str) -> Option<i64> {
        self.known.get(code)
    }

    /// Whether `entry` is as new as everything told of `code` (a link or a deleted one at
    /// its version, or an unknown code of which no change was told).
    pub fn is_current(&self, code: &str, entry: &CacheEntry) -> bool {
        self.newest(code)
            .is_none_or(|newest| entry.version() >= newest)
    }

    /// Whether versions were forgotten for room since the last call (then the shared tier
    /// may hold entries this replica can no longer tell are stale).
    pub fn overflowed(&self) -> bool {
        self.known.run_pending_tasks();
        self.overflowed.swap(false, Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(version: i64) -> CacheEntry {
        crate::link_entry(version, "https://example.com/")
    }

    #[test]
    fn an_entry_older_than_the_newest_version_told_is_not_current() {
        let book = VersionBook::new(Duration::from_secs(60));
        assert!(book.is_current("abc", &link(3)), "nothing told: current");
        assert!(
            book.is_current("abc", &CacheEntry::Missing { version: 0 }),
            "an unknown code of which nothing was told is current"
        );
        book.note("abc", 5);
        book.note("abc", 4);
        assert_eq!(book.newest("abc"), Some(5), "versions never go back");
        assert!(!book.is_current("abc", &link(4)));
        assert!(book.is_current("abc", &link(5)));
        assert!(!book.is_current("abc", &CacheEntry::Missing { version: 0 }));
        assert!(book.is_current("abc", &CacheEntry::Missing { version: 6 }));
        assert!(book.is_current("other", &link(1)));
    }

    #[test]
    fn forgetting_for_room_is_reported_once() {
        let book = VersionBook::with_capacity(Duration::from_secs(60), 10);
        for n in 0..100 {
            book.note(&format!("code{n}"), n);
        }
        assert!(book.overflowed());
        assert!(!book.overflowed(), "reported once");
    }
}
