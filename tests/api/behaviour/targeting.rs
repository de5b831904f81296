//! Targeting rules: the first rule whose conditions all hold sends the visitor to its URL
//! (by device, OS, browser, country through trusted proxies and a real country database,
//! language, query and time), else the link's target; each field set, shown, changed,
//! refused and seen at once by the redirect.

use std::sync::Arc;

use super::*;
use crate::analytics::geoip::test_database;
use crate::analytics::{CHROME, shared_key_settings, visit_from};
use shortener_clicks::GeoIp;
use shortener_domain::TrustedProxies;

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const ANDROID_PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";

/// A GET of `path` with `headers` is redirected to `target`.
async fn sends(app: &TestApp, path: &str, headers: &[(&str, &str)], target: &str) {
    assert_redirects_to(&send_with(app, Method::GET, path, headers).await, target);
}

#[sqlx::test]
async fn the_first_rule_that_holds_sends_the_visitor_by_device_os_browser_language_and_query(
    pool: PgPool,
) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/home",
            "rules": [
                {"if": {"device": "mobile", "os": "iOS"}, "url": "https://example.com/app-store"},
                {"if": {"device": ["mobile", "tablet"]}, "url": "https://example.com/mobile"},
                {"if": {"language": ["fr", "de-CH"]}, "url": "https://example.com/fr"},
                {"if": {"browser": "chrome", "query": {"utm_source": ["news", "mail"]}},
                 "url": "https://example.com/chrome-news"},
            ]
        }))
        .await;
    let path = format!("/{}", link.short_code);
    sends(
        &app,
        &path,
        &[("user-agent", IPHONE)],
        "https://example.com/app-store",
    )
    .await;
    sends(
        &app,
        &path,
        &[("user-agent", ANDROID_PHONE)],
        "https://example.com/mobile",
    )
    .await;
    sends(
        &app,
        &path,
        &[("user-agent", IPAD)],
        "https://example.com/mobile",
    )
    .await;
    let french = [
        ("user-agent", BROWSER),
        ("accept-language", "fr-CA,en;q=0.5"),
    ];
    sends(&app, &path, &french, "https://example.com/fr").await;
    // Swiss German holds `de-CH`; German from Germany does not.
    let swiss = [("user-agent", BROWSER), ("accept-language", "de-CH")];
    sends(&app, &path, &swiss, "https://example.com/fr").await;
    let german = [
        ("user-agent", BROWSER),
        ("accept-language", "de-DE, fr;q=0.4"),
    ];
    sends(&app, &path, &german, "https://example.com/home").await;
    // Every condition of a rule must hold: Chrome with the parameter, not Firefox.
    let tagged = format!("{path}?utm_source=mail&x=1");
    sends(
        &app,
        &tagged,
        &[("user-agent", CHROME)],
        "https://example.com/chrome-news",
    )
    .await;
    sends(
        &app,
        &tagged,
        &[("user-agent", BROWSER)],
        "https://example.com/home",
    )
    .await;
    sends(
        &app,
        &path,
        &[("user-agent", CHROME)],
        "https://example.com/home",
    )
    .await;

    let shown: Link = app.get(&format!("/urls/{}", link.id)).await.body();
    assert_eq!(shown.rules, link.rules);
    assert_eq!(
        shown.rules[0],
        json!({"if": {"device": "mobile", "os": "ios"}, "url": "https://example.com/app-store"}),
        "stored in lower case, in the shape sent"
    );
    assert_eq!(shown.variants, json!([]));
}

#[sqlx::test]
async fn a_country_rule_reads_the_client_behind_trusted_proxies_from_the_country_database(
    pool: PgPool,
) {
    let mut settings = shared_key_settings();
    settings.clicks.origins.geoip = Some(Arc::new(GeoIp::open(&test_database()).unwrap()));
    settings.trusted_proxies = TrustedProxies::parse("127.0.0.0/8, 10.0.0.0/8").unwrap();
    let app = TestApp::with_settings(pool, settings);
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/world",
            "rules": [
                {"if": {"country": ["gb", "IE"]}, "url": "https://example.com/uk-ie"},
                {"if": {"country": "US"}, "url": "https://example.com/us"},
            ]
        }))
        .await;
    let code = link.short_code.as_str();
    let ua = ("user-agent", CHROME);
    let to = |response: TestResponse| response.header("location").map(str::to_owned);
    // Through the local proxy and an internal one: the client is the rightmost untrusted
    // address (8.8.8.8, US in this database, as pip's maxminddb reads it too).
    let proxied = ("x-forwarded-for", "81.2.69.142, 8.8.8.8, 10.1.2.3");
    assert_eq!(
        to(visit_from(&app, "127.0.0.1", Method::GET, code, &[ua, proxied]).await).as_deref(),
        Some("https://example.com/us")
    );
    // From an untrusted peer (GB), its X-Forwarded-For is its own claim: ignored.
    let claimed = ("x-forwarded-for", "8.8.8.8");
    assert_eq!(
        to(visit_from(&app, "81.2.69.142", Method::GET, code, &[ua, claimed]).await).as_deref(),
        Some("https://example.com/uk-ie")
    );
    // IE, over IPv6.
    assert_eq!(
        to(visit_from(&app, "2a00:1450:4001::1", Method::GET, code, &[ua]).await).as_deref(),
        Some("https://example.com/uk-ie")
    );
    // A private address has no country: no country rule holds.
    let private = ("x-forwarded-for", "192.168.1.9");
    assert_eq!(
        to(visit_from(&app, "127.0.0.1", Method::GET, code, &[ua, private]).await).as_deref(),
        Some("https://example.com/world")
    );
}

#[sqlx::test]
async fn without_a_country_database_no_country_rule_holds(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/world",
            "rules": [{"if": {"country": "US"}, "url": "https://example.com/us"}]
        }))
        .await;
    let response = visit_from(
        &app,
        "8.8.8.8",
        Method::GET,
        &link.short_code,
        &[("user-agent", CHROME)],
    )
    .await;
    assert_redirects_to(&response, "https://example.com/world");
}

#[sqlx::test]
async fn a_time_window_rule_holds_from_after_until_before(pool: PgPool) {
    let app = TestApp::new(pool);
    let now = chrono::Utc::now();
    let at = |hours: i64| (now + chrono::Duration::hours(hours)).to_rfc3339();
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/later",
            "rules": [
                {"if": {"before": at(-1)}, "url": "https://example.com/over"},
                {"if": {"after": at(1)}, "url": "https://example.com/not-yet"},
                {"if": {"after": at(-1), "before": at(1)}, "url": "https://example.com/sale"},
            ]
        }))
        .await;
    assert_redirects_to(
        &visit(&app, &link.short_code, "").await,
        "https://example.com/sale",
    );
}

#[sqlx::test]
async fn a_rule_target_gets_the_forwarded_query_and_a_targeted_permanent_link_is_never_kept(
    pool: PgPool,
) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/desk?src=link",
            "redirect_status": 301,
            "forward_query": true,
            "rules": [{"if": {"device": "mobile"}, "url": "https://example.com/m?src=link"}]
        }))
        .await;
    let response = send_with(
        &app,
        Method::GET,
        &format!("/{}?ref=qr&src=visitor", link.short_code),
        &[("user-agent", IPHONE)],
    )
    .await;
    assert_eq!(response.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        response.header("location"),
        Some("https://example.com/m?src=link&ref=qr")
    );
    // Each visitor may get another answer: no browser or shared cache may keep one.
    assert_eq!(response.header("cache-control"), Some("private, max-age=0"));
}

#[sqlx::test]
async fn rules_are_replaced_whole_cleared_by_null_and_seen_by_the_next_redirect(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/a",
            "rules": [{"if": {"device": "mobile"}, "url": "https://example.com/m"}]
        }))
        .await;
    let path = format!("/{}", link.short_code);
    let phone = [("user-agent", IPHONE)];
    sends(&app, &path, &phone, "https://example.com/m").await;
    let changed: Link = app
        .put_json(
            &format!("/urls/{}", link.id),
            json!({"rules": [{"if": {"os": "ios"}, "url": "https://example.com/ios"}]}),
        )
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(changed.rules[0]["url"], "https://example.com/ios");
    sends(&app, &path, &phone, "https://example.com/ios").await;
    let updates = app.events_of_type(link.id, "updated").await;
    assert_eq!(updates.last().unwrap().details["field"], "rules");

    for cleared in [json!({"rules": null}), json!({"rules": []})] {
        app.put_json(
            &format!("/urls/{}", link.id),
            json!({"rules": [
            {"if": {}, "url": "https://example.com/all"}]}),
        )
        .await
        .expect(StatusCode::OK);
        sends(&app, &path, &phone, "https://example.com/all").await;
        let link: Link = app
            .put_json(&format!("/urls/{}", link.id), cleared)
            .await
            .expect_body(StatusCode::OK);
        assert_eq!(link.rules, json!([]));
        sends(&app, &path, &phone, "https://example.com/a").await;
    }
}

#[sqlx::test]
async fn bad_rules_and_splits_are_refused_naming_the_part_at_fault(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cases = [
        (
            json!([{"if": {"device": "phone"}, "url": "https://e.example"}]),
            "rules.0.if.device",
        ),
        (
            json!([{"if": {}, "url": "https://e.example"}, {"if": {"country": "USA"}, "url": "https://e.example"}]),
            "rules.1.if.country",
        ),
        (
            json!([{"if": {"language": "english"}, "url": "https://e.example"}]),
            "rules.0.if.language",
        ),
        (
            json!([{"if": {"os": []}, "url": "https://e.example"}]),
            "rules.0.if.os",
        ),
        (json!([{"if": {}, "url": "ftp://e.example"}]), "rules.0.url"),
    ];
    for (rules, field) in cases {
        let error = app
            .post_json(
                "/urls",
                json!({"original_url": "https://e.example", "rules": rules}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{field}: {error:?}");
    }
    let splits = [
        (
            json!([{"url": "https://e.example/a", "weight": 1}]),
            "variants",
        ),
        (
            json!([{"url": "https://e.example/a", "weight": 1}, {"url": "https://e.example/b", "weight": 0}]),
            "variants.1.weight",
        ),
        (
            json!([{"url": "https://e.example/a", "weight": 1}, {"url": "nope", "weight": 1}]),
            "variants.1.url",
        ),
    ];
    for (variants, field) in splits {
        let error = app
            .post_json(
                "/urls",
                json!({"original_url": "https://e.example", "variants": variants}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{field}: {error:?}");
    }
    // An unknown condition is refused, not ignored; so is a rule's private address.
    app.post_json(
        "/urls",
        json!({"original_url": "https://e.example",
               "rules": [{"if": {"ip": "1.2.3.4"}, "url": "https://e.example"}]}),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST);
    let error = app
        .post_json(
            "/urls",
            json!({"original_url": "https://e.example",
                   "rules": [{"if": {}, "url": "http://192.168.1.1/admin"}]}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("rules"), "{error:?}");
    assert_eq!(crate::helpers::count_rows(&pool, "urls").await, 0);
}
