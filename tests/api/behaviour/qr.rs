//! `GET /urls/{id}/qr`: the image scans back to the link's short URL with a real decoder
//! (zbar's `zbarimg`; the SVG first rendered to PNG by librsvg's `rsvg-convert`), is the
//! size asked for, carries an `ETag` that a second request can send back for a 304, and
//! refuses bad parameters and other owners' links.

use std::path::Path;
use std::process::Command;

use shortener_domain::PublicBaseUrl;
use shortener_server::replica::AppSettings;

use super::*;

/// What `zbarimg` reads in the image at `path`: each symbol's text.
fn decoded(path: &Path) -> String {
    let output = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(path)
        .output()
        .expect("zbarimg runs (Debian's zbar-tools; scripts/test installs it)");
    assert!(
        output.status.success(),
        "zbarimg read no code: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The SVG at `svg` rendered to a PNG beside it.
fn rendered(svg: &Path) -> std::path::PathBuf {
    let png = svg.with_extension("png");
    let status = Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png)
        .arg(svg)
        .status()
        .expect("rsvg-convert runs (Debian's librsvg2-bin; scripts/test installs it)");
    assert!(status.success());
    png
}

fn app_at(pool: PgPool, base: &str) -> TestApp {
    TestApp::with_settings(
        pool,
        AppSettings {
            public_base_url: Some(PublicBaseUrl::parse(base).unwrap()),
            ..AppSettings::default()
        },
    )
}

#[sqlx::test]
async fn the_png_and_the_svg_scan_back_to_the_short_url(pool: PgPool) {
    let app = app_at(pool, "https://sho.rt/");
    let link = app
        .create_link(json!({"original_url": "https://example.com/qr", "short_code": "qr-code"}))
        .await;
    let dir = tempfile::tempdir().unwrap();

    let png = app
        .get(&format!("/urls/{}/qr?format=png&size=300", link.id))
        .await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.header("content-type"), Some("image/png"));
    let path = dir.path().join("code.png");
    std::fs::write(&path, &png.body).unwrap();
    assert_eq!(decoded(&path), "https://sho.rt/qr-code");
    // The size asked for: the PNG's width and height fields.
    let width = u32::from_be_bytes(png.body[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png.body[20..24].try_into().unwrap());
    assert_eq!((width, height), (300, 300));

    let svg = app.get(&format!("/urls/{}/qr", link.id)).await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    let text = String::from_utf8(svg.body.to_vec()).unwrap();
    assert!(
        text.contains("width=\"256\" height=\"256\""),
        "the default size"
    );
    let path = dir.path().join("code.svg");
    std::fs::write(&path, &svg.body).unwrap();
    assert_eq!(decoded(&rendered(&path)), "https://sho.rt/qr-code");
}

#[sqlx::test]
async fn without_a_public_base_url_the_short_url_is_the_requests_host(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/qr").await;
    let request = axum::http::Request::builder()
        .uri(format!("/urls/{}/qr?format=png", link.id))
        .header("host", "links.example:8080")
        .body(axum::body::Body::empty())
        .unwrap();
    let png = app.send(request).await;
    assert_eq!(png.status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code.png");
    std::fs::write(&path, &png.body).unwrap();
    assert_eq!(
        decoded(&path),
        format!("http://links.example:8080/{}", link.short_code)
    );
}

#[sqlx::test]
async fn the_etag_answers_a_304_and_differs_by_format_and_size(pool: PgPool) {
    let app = app_at(pool, "https://sho.rt");
    let link = app.shorten("https://example.com/qr").await;
    let path = format!("/urls/{}/qr?format=png&size=128", link.id);
    let first = app.get(&path).await;
    let etag = first.header("etag").unwrap().to_owned();
    assert_eq!(
        first.header("cache-control"),
        Some("private, max-age=86400")
    );
    let request = axum::http::Request::builder()
        .uri(&path)
        .header("if-none-match", format!("\"other\", {etag}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let again = app.send(request).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    for other in [
        format!("/urls/{}/qr?format=svg&size=128", link.id),
        format!("/urls/{}/qr?format=png&size=129", link.id),
    ] {
        assert_ne!(app.get(&other).await.header("etag"), Some(etag.as_str()));
    }
}

#[sqlx::test]
async fn bad_parameters_are_400s_and_unknown_links_404s(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/qr").await;
    for (query, field) in [
        ("format=gif", "format"),
        ("size=63", "size"),
        ("size=2049", "size"),
        ("size=big", "size"),
    ] {
        let error = app
            .get(&format!("/urls/{}/qr?{query}", link.id))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{query}: {error:?}");
    }
    app.get("/urls/999999/qr")
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.delete_link(link.id)
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get(&format!("/urls/{}/qr", link.id))
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
