//! Custom previews: a link unfurler (Slack, Facebook, X) gets a small HTML page of the
//! link's Open Graph and Twitter card tags instead of the redirect, and its request counts
//! as a preview; people, crawlers, prefetches and HEAD requests are redirected as ever.

use super::*;

const SLACK: &str = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
const FACEBOOK: &str = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";

#[sqlx::test]
async fn unfurlers_get_the_card_and_everyone_else_the_redirect(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/sale",
            "preview": {"title": "Spring <sale>", "description": "Up to 50 % off",
                        "image": "https://example.com/card.png"}
        }))
        .await;
    assert_eq!(
        link.preview,
        Some(
            json!({"title": "Spring <sale>", "description": "Up to 50 % off",
                    "image": "https://example.com/card.png"})
        )
    );
    let path = format!("/{}", link.short_code);
    for agent in [SLACK, FACEBOOK] {
        let page = send_with(&app, Method::GET, &path, &[("user-agent", agent)]).await;
        assert_eq!(page.status, StatusCode::OK, "{agent}");
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(page.header("location"), None);
        let html = String::from_utf8(page.body.to_vec()).unwrap();
        for tag in [
            "<meta property=\"og:title\" content=\"Spring &lt;sale&gt;\">",
            "<meta property=\"og:description\" content=\"Up to 50 % off\">",
            "<meta property=\"og:image\" content=\"https://example.com/card.png\">",
            "<meta property=\"og:url\" content=\"https://example.com/sale\">",
            "<meta name=\"twitter:card\" content=\"summary_large_image\">",
        ] {
            assert!(html.contains(tag), "{tag} missing from {html}");
        }
    }
    for headers in [
        vec![("user-agent", BROWSER)],
        vec![(
            "user-agent",
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
        )],
        vec![("user-agent", SLACK), ("sec-purpose", "prefetch")],
    ] {
        let response = send_with(&app, Method::GET, &path, &headers).await;
        assert_redirects_to(&response, "https://example.com/sale");
    }
    let head = send_with(&app, Method::HEAD, &path, &[("user-agent", SLACK)]).await;
    assert_eq!(head.status, StatusCode::FOUND);

    // The unfurlers' requests are clicks classed as previews.
    let clicks = app.events_of_type(link.id, "click").await;
    let classes: Vec<_> = clicks
        .iter()
        .map(|click| click.details["class"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        classes.iter().filter(|c| *c == "preview").count(),
        3,
        "{classes:?}"
    );

    // Removed, the link redirects unfurlers too.
    app.update_link(link.id, json!({"preview": null}))
        .await
        .expect(StatusCode::OK);
    let response = send_with(&app, Method::GET, &path, &[("user-agent", SLACK)]).await;
    assert_redirects_to(&response, "https://example.com/sale");
}

#[sqlx::test]
async fn each_part_of_a_preview_has_its_rule_and_none_is_no_preview(pool: PgPool) {
    let app = TestApp::new(pool);
    for empty in [json!({}), json!({"title": " ", "description": null})] {
        let link = app
            .create_link(json!({"original_url": "https://example.com/p", "preview": empty}))
            .await;
        assert_eq!(link.preview, None, "{empty}");
    }
    for preview in [
        json!({"image": "javascript:alert(1)"}),
        json!({"image": "http://localhost/card.png"}),
        json!({"description": "d".repeat(1001)}),
    ] {
        let error = app
            .post_json(
                "/urls",
                json!({"original_url": "https://example.com/p", "preview": preview}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("preview"), "{preview}: {error:?}");
    }
}
