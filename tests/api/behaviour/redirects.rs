//! How a link redirects: its own status code with a `Cache-Control` that fits it, the
//! visitor's query string merged into the target's, and an ended link's fallback.

use super::*;

#[sqlx::test]
async fn each_redirect_code_is_answered_with_the_caching_it_allows(pool: PgPool) {
    let app = TestApp::new(pool);
    for (status, cache_control) in [
        (301, "public, max-age=86400"),
        (302, "private, max-age=0"),
        (307, "private, max-age=0"),
        (308, "public, max-age=86400"),
    ] {
        let link = app
            .create_link(
                json!({"original_url": "https://example.com/to", "redirect_status": status}),
            )
            .await;
        for path in [
            format!("/{}", link.short_code),
            format!("/urls/{}/redirect", link.short_code),
        ] {
            let response = send_with(&app, Method::GET, &path, &[]).await;
            assert_eq!(response.status.as_u16(), status, "{path}");
            assert_eq!(response.header("location"), Some("https://example.com/to"));
            assert_eq!(
                response.header("cache-control"),
                Some(cache_control),
                "{status}"
            );
        }
    }
}

#[sqlx::test]
async fn a_permanent_redirect_of_a_link_that_can_end_is_never_kept(pool: PgPool) {
    let app = TestApp::new(pool);
    for ending in [
        json!({"max_visits": 10}),
        json!({"expires_at": "2999-01-01T00:00:00"}),
    ] {
        let mut body = ending.clone();
        body["original_url"] = json!("https://example.com/to");
        body["redirect_status"] = json!(308);
        let link = app.create_link(body).await;
        let response = visit(&app, &link.short_code, "").await;
        assert_eq!(response.status, StatusCode::PERMANENT_REDIRECT, "{ending}");
        assert_eq!(
            response.header("cache-control"),
            Some("private, max-age=0"),
            "{ending}"
        );
    }
}

#[sqlx::test]
async fn the_visitors_query_is_forwarded_only_where_the_link_says_so(pool: PgPool) {
    let app = TestApp::new(pool);
    let forwarding = app
        .create_link(
            json!({"original_url": "https://example.com/p?utm_source=owner#top",
                            "forward_query": true}),
        )
        .await;
    let response = visit(
        &app,
        &forwarding.short_code,
        "utm_source=visitor&ref=mail&q=a%20b",
    )
    .await;
    assert_redirects_to(
        &response,
        "https://example.com/p?utm_source=owner&ref=mail&q=a%20b#top",
    );
    let plain = app.shorten("https://example.com/p").await;
    let response = visit(&app, &plain.short_code, "ref=mail").await;
    assert_redirects_to(&response, "https://example.com/p");
    // Turned on by an edit, and seen on the next redirect.
    app.update_link(plain.id, json!({"forward_query": true}))
        .await
        .expect(StatusCode::OK);
    let response = visit(&app, &plain.short_code, "ref=mail").await;
    assert_redirects_to(&response, "https://example.com/p?ref=mail");
}

#[sqlx::test]
async fn an_expired_link_sends_visitors_to_its_fallback_or_answers_410(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"original_url": "https://example.com/live",
                            "expired_url": "https://example.com/ended",
                            "redirect_status": 301}))
        .await;
    app.update_link(link.id, json!({"expires_at": "2020-01-01T00:00:00"}))
        .await
        .expect(StatusCode::OK);
    // The fallback is a 302 whatever the link's own code: it is not the link's meaning.
    assert_redirects_to(
        &visit(&app, &link.short_code, "").await,
        "https://example.com/ended",
    );
    app.update_link(link.id, json!({"expired_url": null}))
        .await
        .expect(StatusCode::OK);
    visit(&app, &link.short_code, "")
        .await
        .expect_error(StatusCode::GONE);
    // An ended link records no click.
    assert!(app.events_of_type(link.id, "click").await.is_empty());
}
