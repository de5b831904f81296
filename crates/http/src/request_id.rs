//! Request ids for requests that arrive without one: unique across replicas and
//! restarts, made without a syscall (a random process prefix and a counter).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// 32 lowercase hex digits, the shape of a W3C trace id: 16 from a random value drawn
/// once per process, then 16 from a per-process counter. Two replicas (or two runs of
/// one) share a prefix with odds of 1 in 2^64; within a process the counter never
/// repeats. Reading the OS random source per request, as a v4 UUID does, costs a
/// `getrandom` call on every redirect.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessRequestIds;

static PREFIX: OnceLock<u64> = OnceLock::new();
static NEXT: AtomicU64 = AtomicU64::new(0);

impl ProcessRequestIds {
    /// The next id.
    pub fn next_id() -> String {
        // `RandomState` keys come from the OS random source (once per thread, then
        // varied): a fresh, unpredictable 64-bit value without a dependency.
        let prefix = *PREFIX.get_or_init(|| RandomState::new().hash_one(std::process::id()));
        let sequence = NEXT.fetch_add(1, Ordering::Relaxed);
        format!("{prefix:016x}{sequence:016x}")
    }
}

impl MakeRequestId for ProcessRequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&Self::next_id())
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_never_repeat() {
        let ids: Vec<String> = (0..1000).map(|_| ProcessRequestIds::next_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{id}"
            );
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        assert!(
            ids.iter().all(|id| id[..16] == ids[0][..16]),
            "one prefix per process"
        );
    }
}
