//! A blocklist that changes while the service runs: BLOCKED_DOMAINS_FILE is read again,
//! and a link whose destination it now blocks stops redirecting (410), on every cache
//! tier, until the entry is removed. The real binary's one-second poll is checked last.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::TestApp;
use crate::helpers::bodies::Link;
use crate::helpers::process::{request, serve};
use shortener_domain::LinkPolicy;
use shortener_server::blocklist_file::{self, BlocklistFile};
use shortener_server::replica::AppSettings;

/// The app watching `path`, which holds `text` to start with.
fn app_watching(pool: PgPool, path: &Path, text: &str) -> TestApp {
    std::fs::write(path, text).unwrap();
    let (link_policy, file) =
        BlocklistFile::open(path.to_owned(), LinkPolicy::new([], ["sho.rt"]).unwrap()).unwrap();
    let settings = AppSettings {
        link_policy,
        blocklist_file: Some(file),
        ..AppSettings::default()
    };
    TestApp::with_settings(pool, settings)
}

/// Rewrites the file and has the replica read it at once (its own poll may have read it
/// first: then this read finds nothing new, which is no error).
async fn rewrite(app: &TestApp, path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).unwrap();
    app.app.reload_blocklist().await.expect("a watched file")?;
    Ok(())
}

#[sqlx::test]
async fn a_link_whose_domain_becomes_blocked_is_gone_until_it_is_unblocked(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocked");
    let app = app_watching(pool, &path, "# nothing yet\n");
    let link = app.shorten("https://shop.example.com/deal").await;
    let neighbour = app.shorten("https://example.org/fine").await;
    let paths = [
        format!("/{}", link.short_code),
        format!("/urls/{}/redirect", link.short_code),
    ];
    // Followed once, so the link sits in the cache when the blocklist changes.
    app.get(&paths[0]).await.expect(StatusCode::FOUND);

    rewrite(&app, &path, "example.com # phishing\n")
        .await
        .unwrap();
    assert_eq!(
        app.app.reload_blocklist().await,
        Some(Ok(false)),
        "unchanged"
    );
    for path in &paths {
        let response = app.get(path).await;
        let body = response.expect_error(StatusCode::GONE);
        assert!(body.error.contains("blocked"), "{body}");
        assert!(response.header("location").is_none());
        assert_eq!(app.head(path).await.status, StatusCode::GONE);
    }
    app.get(&format!("/{}", neighbour.short_code))
        .await
        .expect(StatusCode::FOUND);
    assert_eq!(
        app.events_of_type(link.id, "click").await.len(),
        1,
        "only the click before the block"
    );
    // The link itself is untouched, and creates follow the new list too.
    let stored = app
        .get_link(link.id)
        .await
        .expect_body::<Link>(StatusCode::OK);
    assert_eq!(stored, link);
    let refused = app
        .post_json("/urls", json!({"original_url": "https://a.example.com/"}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(refused.detail("original_url").contains("blocked domain"));

    // A bad file keeps the list in force.
    let problem = rewrite(&app, &path, "10.0.0.1/8\n").await.unwrap_err();
    assert!(
        problem.starts_with("BLOCKED_DOMAINS_FILE: \"10.0.0.1/8\""),
        "{problem}"
    );
    app.get(&paths[0]).await.expect_error(StatusCode::GONE);

    rewrite(&app, &path, "").await.unwrap();
    for path in &paths {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::FOUND, "{path}");
        assert_eq!(
            response.header("location"),
            Some("https://shop.example.com/deal")
        );
    }
}

/// The real binary's own poll: a change to the file is in force within a few seconds.
#[sqlx::test]
async fn a_running_binary_reads_a_changed_blocklist_file_within_seconds(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocked");
    std::fs::write(&path, "").unwrap();
    let (mut server, port) =
        serve(&pool, &[("BLOCKED_DOMAINS_FILE", path.to_str().unwrap())]).await;
    let body = json!({"original_url": "https://later.example/x"}).to_string();
    let created = request(port, "POST", "/urls", Some(&body)).await.unwrap();
    assert_eq!(created.status, 201);
    let link: Link = serde_json::from_slice(&created.body).unwrap();
    let follow = || async {
        let path = format!("/{}", link.short_code);
        request(port, "GET", &path, None).await.unwrap().status
    };
    assert_eq!(follow().await, 302);
    // Written whole and renamed into place, as a ConfigMap update or a careful edit is.
    let next = dir.path().join("blocked.next");
    std::fs::write(&next, "later.example\n").unwrap();
    std::fs::rename(&next, &path).unwrap();
    let deadline = Instant::now() + 5 * blocklist_file::POLL_INTERVAL;
    while follow().await != 410 {
        assert!(
            Instant::now() < deadline,
            "still redirecting after {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.sigterm();
    server.exit_within(Duration::from_secs(15)).await;
}
