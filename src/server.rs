//! Start-up and shutdown of the HTTP server: checks that fail fast, then serve until SIGTERM.

use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::net::TcpListener;

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
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen_addr))?;
    let replica = args.replica();
    let pool = connect(&args.database, &db::replica_application_name(&replica)).await?;
    if args.run_migrations {
        db::migrate(&pool)
            .await
            .context("applying migrations failed")?;
    }
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let settings = AppSettings {
        short_code_length: usize::from(args.short_code_length),
        cache: args.cache.settings(),
        clicks: args.clicks.settings(),
        click_drain_deadline: grace,
        replica,
        upkeep: args.clicks.upkeep(),
    };
    let app = Replica::start(pool.clone(), settings).map_err(anyhow::Error::msg)?;
    let router = app.router();
    tracing::info!(
        addr = %args.listen_addr,
        database = %args.database.database_url,
        redis = app.state.cache.shared().is_some(),
        "listening"
    );

    let state = app.state.clone();
    let delay = Duration::from_millis(args.shutdown_delay_ms);
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutdown signal received; draining");
        state.lifecycle.start_draining();
        tokio::time::sleep(delay).await;
        let _ = closed_tx.send(());
    };
    let server = std::pin::pin!(
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .into_future()
    );
    let grace_over = async {
        // The grace period starts once the listener closes.
        let _ = closed_rx.await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result.context("server failed")?,
        () = grace_over => tracing::warn!(?grace, "in-flight requests did not finish in time"),
    }
    app.shutdown().await;
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
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
