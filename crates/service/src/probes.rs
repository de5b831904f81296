//! What the probes and `/metrics` report: database reachability, migrations, draining,
//! and the metrics exposition.

use crate::app::App;
use shortener_store as store;

/// Whether the database answers a trivial query.
pub async fn database_answers(app: &App) -> bool {
    store::ping(app.db.pool()).await.is_ok()
}

/// The database as readiness sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseReadiness {
    Ready,
    /// Reachable, but not every migration is applied.
    Pending,
    Unreachable,
}

/// Whether this replica should take traffic: the database state, and whether it drains.
pub async fn readiness(app: &App) -> (DatabaseReadiness, bool) {
    let draining = app.lifecycle().is_draining();
    let database = match store::migrations_applied(app.db.pool()).await {
        Ok(true) => DatabaseReadiness::Ready,
        Ok(false) => DatabaseReadiness::Pending,
        Err(_) => DatabaseReadiness::Unreachable,
    };
    (database, draining)
}

/// The Prometheus text exposition of every metric.
pub fn metrics_text(app: &App) -> String {
    app.metrics().render(store::pool_sample(app.db.pool()))
}
