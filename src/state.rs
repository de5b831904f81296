//! The shared application state handed to every handler: cheap to clone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::PgPool;

use crate::cache::LinkCache;
use crate::clicks::ClickQueue;
use crate::domain::ShortCodeGenerator;
use crate::metrics::Metrics;

/// Pools, caches, queues and shared flags; cloning copies handles, not data.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub codes: ShortCodeGenerator,
    pub cache: LinkCache,
    pub clicks: ClickQueue,
    pub metrics: Metrics,
    pub lifecycle: Arc<Lifecycle>,
    /// This process's name in log lines (`REPLICA_NAME`).
    pub replica: Arc<str>,
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
