//! Traffic analytics: every click classified (human, bot, preview), unique visitors
//! counted across replicas without storing an address, and the country read through
//! TRUSTED_PROXIES from a real country database.

mod across_links;
mod breakdowns;
mod classes;
mod export;
pub(crate) mod geoip;
mod referrers;
mod top_links;
mod visitors;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use sqlx::PgPool;

use crate::helpers::bodies::LinkStats;
use crate::helpers::{TestApp, TestResponse};
use shortener_clicks::{ClickSettings, OriginSettings, VisitorKey};
use shortener_server::replica::AppSettings;

pub(crate) const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

/// A redirect from the connection `peer`, with `headers`.
pub(crate) async fn visit_from(
    app: &TestApp,
    peer: &str,
    method: Method,
    code: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = Request::builder().method(method).uri(format!("/{code}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = format!("{peer}:40000")
        .parse()
        .or_else(|_| format!("[{peer}]:40000").parse())
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::FOUND, "{code}");
    response
}

/// Settings whose replicas share one visitor key.
pub(crate) fn shared_key_settings() -> AppSettings {
    AppSettings {
        clicks: ClickSettings {
            origins: OriginSettings {
                geoip: None,
                visitor_key: VisitorKey::parse("the tests' shared visitor key").unwrap(),
                key_generated: false,
            },
            ..ClickSettings::default()
        },
        ..AppSettings::default()
    }
}

/// The link's stats over `query` (e.g. `?from=..&to=..`), after the queue is written.
async fn stats(app: &TestApp, id: i64, query: &str) -> LinkStats {
    app.clicks().flush().await;
    app.get(&format!("/urls/{id}/stats{query}"))
        .await
        .expect_body(StatusCode::OK)
}

/// Folds every pending delta into the rollups.
async fn fold(app: &TestApp) {
    shortener_service::rollups::fold_all(app.db(), app.state.metrics())
        .await
        .unwrap();
}

/// Every table's rows as text (a data-only dump of the test's database).
async fn dump(pool: &PgPool) -> String {
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let output = std::process::Command::new(pg_dump())
        .args(["-h", "127.0.0.1", "-U", "postgres", "--data-only", "-d"])
        .arg(&database)
        .output()
        .expect("pg_dump runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `pg_dump` of the newest installed Postgres.
fn pg_dump() -> std::path::PathBuf {
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(|dir| Some(dir.ok()?.path().join("bin/pg_dump")))
                .filter(|path| path.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| "pg_dump".into())
}
