//! Start-up and shutdown of the HTTP server: checks that fail fast, then serve until SIGTERM.

use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::net::TcpListener;

use crate::config::{DatabaseArgs, ServeArgs};
use crate::db;
use crate::domain::ShortCodeGenerator;
use crate::state::AppState;

/// Builds the pool and waits (bounded) until the database answers.
pub async fn connect(args: &DatabaseArgs) -> anyhow::Result<PgPool> {
    let pool = db::pool(args.database_url.options.clone(), &args.pool_settings());
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
    let codes =
        ShortCodeGenerator::new(usize::from(args.short_code_length)).map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind(args.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen_addr))?;
    let pool = connect(&args.database).await?;
    if args.run_migrations {
        db::migrate(&pool)
            .await
            .context("applying migrations failed")?;
    }
    if args.redis_url.is_some() {
        tracing::warn!("REDIS_URL is set, but this build has no Redis cache tier; ignoring it");
    }
    let state = AppState::new(pool.clone(), codes);
    let app = crate::http::router(state.clone());
    tracing::info!(addr = %args.listen_addr, database = %args.database.database_url, "listening");

    let lifecycle = state.lifecycle.clone();
    let delay = Duration::from_millis(args.shutdown_delay_ms);
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutdown signal received; draining");
        lifecycle.start_draining();
        tokio::time::sleep(delay).await;
        let _ = stopped_tx.send(());
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown);
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let server = std::pin::pin!(server.into_future());
    let drained = async {
        // Only once the listener closes does the grace period start.
        let _ = stopped_rx.await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result.context("server failed")?,
        () = drained => tracing::warn!(?grace, "in-flight requests did not finish in time"),
    }
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
