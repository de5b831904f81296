//! The request pool behind one handle. Every query runs on a connection taken through
//! [`Db::connection`] or [`Db::begin`], which names the operation; the operation is timed
//! in `shortener_db_query_seconds{operation}` from the wait for the connection until it
//! is given back. This is the one timing mechanism: no call site measures itself.

use std::ops::{Deref, DerefMut};
use std::time::Instant;

use prometheus::Histogram;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use shortener_metrics::DbMetrics;

/// The request pool and its metrics; cloning shares both.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    metrics: DbMetrics,
}

impl Db {
    pub fn new(pool: PgPool, metrics: DbMetrics) -> Self {
        Self { pool, metrics }
    }

    /// The pool itself (for the probes, the pool gauges and the invalidation listener).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A pool of one connection to the same database, for a `LISTEN`er alone: a
    /// `PgListener` keeps the connection it takes for its whole life, which would
    /// otherwise be one less for requests (and, with `DB_MAX_CONNECTIONS=1`, none at all).
    pub fn listener_pool(&self) -> PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_lazy_with(self.pool.connect_options().as_ref().clone())
    }

    /// A connection for `operation`; the wait for it is also recorded on its own.
    pub async fn connection(
        &self,
        operation: &'static str,
    ) -> Result<Timed<PoolConnection<Postgres>>, sqlx::Error> {
        let timer = OperationTimer::start(self.metrics.operation(operation));
        let connection = self.pool.acquire().await;
        self.metrics.observe_acquire(timer.started.elapsed());
        Ok(Timed {
            inner: connection?,
            _timer: timer,
        })
    }

    /// A transaction for `operation`; it rolls back unless committed.
    pub async fn begin(
        &self,
        operation: &'static str,
    ) -> Result<Timed<Transaction<'static, Postgres>>, sqlx::Error> {
        let timer = OperationTimer::start(self.metrics.operation(operation));
        Ok(Timed {
            inner: self.pool.begin().await?,
            _timer: timer,
        })
    }
}

/// Observes the operation's duration when dropped, failed attempts included.
struct OperationTimer {
    histogram: Histogram,
    started: Instant,
}

impl OperationTimer {
    fn start(histogram: Histogram) -> Self {
        Self {
            histogram,
            started: Instant::now(),
        }
    }
}

impl Drop for OperationTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

/// A connection or transaction whose operation is timed until it is dropped (or, for a
/// transaction, committed). Derefs to the connection, so queries take `&mut *timed`.
pub struct Timed<C> {
    inner: C,
    _timer: OperationTimer,
}

impl Timed<Transaction<'static, Postgres>> {
    /// Commits, ending the operation.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }
}

impl<C: Deref<Target = PgConnection>> Deref for Timed<C> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.inner
    }
}

impl<C: DerefMut<Target = PgConnection>> DerefMut for Timed<C> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.inner
    }
}
