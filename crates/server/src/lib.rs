//! One replica's process: start-up checks that fail fast, the replica itself (its state,
//! background tasks and router), the accept loop, and the graceful shutdown after SIGTERM.
//! The binary's command line builds the settings; tests start replicas through here too.

pub mod blocklist_file;
pub mod connections;
pub mod replica;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;

use replica::{AppSettings, Replica};
use shortener_store::{self as store, PoolSettings};

/// How to reach Postgres and how to size the pool.
#[derive(Clone)]
pub struct DatabaseSettings {
    pub options: PgConnectOptions,
    pub pool: PoolSettings,
    /// How long start-up waits for the database to answer.
    pub connect_wait: Duration,
}

/// Only host, port and database: the URL may hold a password.
impl fmt::Display for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        store::DatabaseLocation(&self.options).fmt(f)
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("database", &self.to_string())
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// Everything `shortener serve` needs.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen_addr: SocketAddr,
    /// `/metrics` on its own address instead of the public one.
    pub metrics_listen_addr: Option<SocketAddr>,
    pub database: DatabaseSettings,
    pub run_migrations: bool,
    /// After SIGTERM, how long `/ready` answers 503 before the listener closes.
    pub shutdown_delay: Duration,
    /// After the listener closes, how long shutdown may take in all.
    pub shutdown_grace: Duration,
    pub app: AppSettings,
}

/// Builds the pool, its connections named `application_name`, and waits (bounded) until
/// the database answers.
pub async fn connect(
    database: &DatabaseSettings,
    application_name: &str,
) -> anyhow::Result<PgPool> {
    let options = database.options.clone().application_name(application_name);
    let pool = store::pool(options, &database.pool);
    let deadline = tokio::time::Instant::now() + database.connect_wait;
    loop {
        match store::ping(&pool).await {
            Ok(()) => return Ok(pool),
            Err(error) if tokio::time::Instant::now() >= deadline => {
                // The pool only says it timed out; one direct attempt names the cause.
                let cause = match PgConnection::connect_with(&database.options).await {
                    Err(direct) => direct.to_string(),
                    Ok(_) => error.to_string(),
                };
                anyhow::bail!(
                    "cannot reach the database at {database} within {}s: {cause}",
                    database.connect_wait.as_secs()
                );
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Runs the server until SIGTERM or Ctrl-C, then drains and returns.
///
/// Shutdown: `/ready` answers 503 for `SHUTDOWN_DELAY_MS`; then the listeners close and
/// one deadline, `SHUTDOWN_GRACE_SECS` later, bounds the rest. In-flight requests may run
/// until [`drain_reserve`] before it and are cut off then; the queued clicks are written
/// in the time left. So the process is gone within delay + grace of the signal.
pub async fn serve(settings: ServeSettings) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen_addr))?;
    let metrics_listener = match settings.metrics_listen_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (METRICS_LISTEN_ADDR)"))?,
        ),
        None => None,
    };
    let pool = connect(
        &settings.database,
        &store::replica_application_name(&settings.app.replica),
    )
    .await?;
    if settings.run_migrations {
        store::migrate(&pool)
            .await
            .context("applying migrations failed")?;
    }
    // Said once start-up can no longer fail, so a failure stays one line.
    let api_keys = &settings.app.api_keys;
    if api_keys.is_open() {
        tracing::warn!(
            "ALLOW_OPEN_API with no API keys (API_KEYS, API_KEYS_FILE): the API is open to \
             anyone, which is for development only"
        );
    } else {
        tracing::info!(keys = api_keys.count(), "API keys loaded");
    }
    let origins = &settings.app.clicks.origins;
    match &origins.geoip {
        Some(geoip) => tracing::info!(database = geoip.kind(), "GeoIP database loaded"),
        None => tracing::warn!("GEOIP_DB is not set: every click's country is unknown"),
    }
    if origins.key_generated {
        tracing::warn!(
            "VISITOR_KEY is not set: a random key was generated, so a visitor counts once \
             per replica and per restart instead of once a day"
        );
    }
    let grace = settings.shutdown_grace;
    let app_settings = AppSettings {
        click_drain_deadline: grace,
        ..settings.app
    };
    let spill = app_settings.clicks.spill.clone();
    let app = Replica::start(pool.clone(), app_settings).map_err(anyhow::Error::msg)?;
    // Stored keys open nothing until loaded: wait a moment so a fresh replica does not
    // answer 401 to a key every other replica takes (the loader keeps retrying after).
    if !app.wait_for_keys(Duration::from_secs(5)).await {
        tracing::warn!("the stored API keys are not loaded yet; they are refused until they are");
    }
    match spill {
        Some(spill) => {
            tracing::info!(dir = %spill.dir.display(), max_bytes = spill.max_bytes, "click spill open")
        }
        None => tracing::warn!(
            "no click spill (CLICK_SPILL_DIR unset): clicks that cannot be written in time are \
             dropped past CLICK_QUEUE_CAPACITY and lost at shutdown (counted)"
        ),
    }
    let listeners = match metrics_listener {
        Some(metrics_listener) => {
            let (public, metrics) = app.split_routers();
            vec![(listener, public), (metrics_listener, metrics)]
        }
        None => vec![(listener, app.router())],
    };
    // Before the first request can be answered (see `shutdown_signal`).
    let signalled = shutdown_signal();
    let (closed_tx, closed_rx) = watch::channel(false);
    let servers: Vec<_> = listeners
        .into_iter()
        .map(|(listener, router)| {
            tokio::spawn(connections::accept_until_closed(
                listener,
                router,
                closed_rx.clone(),
                connections::IDLE_LINGER,
            ))
        })
        .collect();
    tracing::info!(
        addr = %settings.listen_addr,
        metrics_addr = settings.metrics_listen_addr.map(|addr| addr.to_string()),
        database = %settings.database,
        redis = app.cache().shared().is_some(),
        "listening"
    );

    signalled.await;
    tracing::info!("shutdown signal received; draining");
    app.state.lifecycle().start_draining();
    tokio::time::sleep(settings.shutdown_delay).await;
    let _ = closed_tx.send(true);
    let deadline = Instant::now() + grace;
    let mut cut = 0;
    for server in servers {
        let open = server.await.context("the accept loop failed")?;
        cut += open.finish_by(deadline - drain_reserve(grace)).await;
    }
    if cut > 0 {
        tracing::warn!(
            cut,
            ?grace,
            "requests still running at the end of the grace period were cut off"
        );
    }
    app.shutdown_within(deadline.saturating_duration_since(Instant::now()))
        .await;
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The end of the grace period kept for writing the queued clicks after the requests:
/// a quarter of it, at most 2 s. The writer flushes every `CLICK_FLUSH_INTERVAL_MS` all
/// along, so what is left to write then is one interval's worth, unless Postgres is down.
pub fn drain_reserve(grace: Duration) -> Duration {
    (grace / 4).min(Duration::from_secs(2))
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not
/// when it is first awaited: called before the replica serves, a SIGTERM that arrives
/// the moment it answers `/ready` is a drain, never the default action's instant exit.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term =
            signal(SignalKind::terminate()).expect("installing a SIGTERM handler cannot fail");
        let mut interrupt =
            signal(SignalKind::interrupt()).expect("installing a SIGINT handler cannot fail");
        async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
