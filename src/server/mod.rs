//! Start-up and shutdown of the HTTP server: checks that fail fast, then serve until SIGTERM.

pub mod connections;

use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{DatabaseArgs, ServeArgs};
use crate::db;
use crate::replica::{AppSettings, Replica};

/// Builds the pool, its connections named `application_name`, and waits (bounded) until
/// the database answers.
pub async fn connect(args: &DatabaseArgs, application_name: &str) -> anyhow::Result<PgPool> {
    let options = args
        .database_url
        .options
        .clone()
        .application_name(application_name);
    let pool = db::pool(options, &args.pool_settings());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.db_connect_wait_secs);
    loop {
        match db::ping(&pool).await {
            Ok(()) => return Ok(pool),
            Err(error) if tokio::time::Instant::now() >= deadline => {
                // The pool only says it timed out; one direct attempt names the cause.
                let cause = match PgConnection::connect_with(&args.database_url.options).await {
                    Err(direct) => direct.to_string(),
                    Ok(_) => error.to_string(),
                };
                anyhow::bail!(
                    "cannot reach the database at {} within {}s: {cause}",
                    args.database_url,
                    args.db_connect_wait_secs
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
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let api_keys = args.access.api_keys().map_err(anyhow::Error::msg)?;
    let link_policy = args.access.link_policy().map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind(args.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen_addr))?;
    let metrics_listener = match args.metrics_listen_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (METRICS_LISTEN_ADDR)"))?,
        ),
        None => None,
    };
    let replica = args.replica();
    let pool = connect(&args.database, &db::replica_application_name(&replica)).await?;
    if args.run_migrations {
        db::migrate(&pool)
            .await
            .context("applying migrations failed")?;
    }
    // Said once start-up can no longer fail, so a failure stays one line.
    if api_keys.is_open() {
        tracing::warn!(
            "no API keys configured (API_KEYS, API_KEYS_FILE): the API is open to anyone, \
             which is for development only"
        );
    } else {
        tracing::info!(keys = api_keys.count(), "API keys loaded");
    }
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let settings = AppSettings {
        short_code_length: usize::from(args.short_code_length),
        cache: args.cache.settings(),
        clicks: args.clicks.settings(),
        click_drain_deadline: grace,
        replica,
        upkeep: args.clicks.upkeep(),
        api_keys,
        link_policy,
        create_quota: args.access.create_quota(),
        request_timeout: Duration::from_millis(args.request_timeout_ms),
    };
    let app = Replica::start(pool.clone(), settings).map_err(anyhow::Error::msg)?;
    let listeners = match metrics_listener {
        Some(metrics_listener) => {
            let (public, metrics) = app.split_routers();
            vec![(listener, public), (metrics_listener, metrics)]
        }
        None => vec![(listener, app.router())],
    };
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
        addr = %args.listen_addr,
        metrics_addr = args.metrics_listen_addr.map(|addr| addr.to_string()),
        database = %args.database.database_url,
        redis = app.state.cache.shared().is_some(),
        "listening"
    );

    shutdown_signal().await;
    tracing::info!("shutdown signal received; draining");
    app.state.lifecycle.start_draining();
    tokio::time::sleep(Duration::from_millis(args.shutdown_delay_ms)).await;
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

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler cannot fail on unix");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
