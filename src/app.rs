//! The application's shared parts, and the one state every handler receives:
//! `AppState(Arc<App>)`, so axum's clone per request touches one reference count.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cache::LinkCache;
use crate::clicks::ClickQueue;
use crate::db::Db;
use crate::domain::{ApiKeys, LinkPolicy, ShortCodeGenerator};
use crate::limits::CreateQuota;
use crate::metrics::Metrics;

/// The database handle, caches, queues and flags of one replica.
pub struct App {
    pub db: Db,
    pub codes: ShortCodeGenerator,
    pub cache: LinkCache,
    pub clicks: ClickQueue,
    pub metrics: Metrics,
    pub lifecycle: Lifecycle,
    /// The keys that may call the API (none: open).
    pub api_keys: ApiKeys,
    /// Where links may not point.
    pub link_policy: LinkPolicy,
    /// The creates each API key may make (none: unlimited).
    pub create_quota: Option<CreateQuota>,
    /// Longest a request may run before it is answered 503.
    pub request_timeout: Duration,
    /// This process's name in log lines (`REPLICA_NAME`).
    pub replica: String,
}

/// The state handed to every handler and middleware.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// Whether the process is shutting down (then `/ready` answers 503).
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    /// Marks the process as draining: load balancers should stop sending traffic.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether draining has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
