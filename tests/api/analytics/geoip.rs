//! The country of a click, from a real country database (ip-location-db's, installed by
//! `scripts/fetch-test-geoip`), with X-Forwarded-For believed from trusted proxies only.

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::Method;
use sqlx::PgPool;

use super::{CHROME, dump, shared_key_settings, visit_from};
use crate::helpers::TestApp;
use shortener_clicks::GeoIp;
use shortener_domain::TrustedProxies;

/// The database `scripts/fetch-test-geoip` installs (or `GEOIP_TEST_DB`).
pub(crate) fn test_database() -> PathBuf {
    let path = std::env::var_os("GEOIP_TEST_DB").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
                "target/test-geoip/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/\
                 geo-whois-asn-country.mmdb",
            )
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-test-geoip (scripts/test does)",
        path.display()
    );
    path
}

#[sqlx::test]
async fn the_country_comes_from_the_client_behind_trusted_proxies_only(pool: PgPool) {
    let mut settings = shared_key_settings();
    settings.clicks.origins.geoip = Some(Arc::new(GeoIp::open(&test_database()).unwrap()));
    settings.trusted_proxies = TrustedProxies::parse("127.0.0.0/8, 10.0.0.0/8").unwrap();
    let app = TestApp::with_settings(pool.clone(), settings);
    let link = app.shorten("https://example.com/world").await;
    let code = link.short_code.as_str();
    let ua = ("user-agent", CHROME);
    // Through the local proxy and an internal one: the client is the rightmost untrusted.
    let forwarded = ("x-forwarded-for", "1.1.1.1, 8.8.8.8, 10.1.2.3");
    visit_from(&app, "127.0.0.1", Method::GET, code, &[ua, forwarded]).await;
    // From an untrusted peer, X-Forwarded-For is the client's own claim: ignored.
    visit_from(
        &app,
        "81.2.69.142",
        Method::GET,
        code,
        &[ua, ("x-forwarded-for", "8.8.8.8")],
    )
    .await;
    visit_from(&app, "2a00:1450:4001::1", Method::GET, code, &[ua]).await;
    // A private address has no country.
    visit_from(
        &app,
        "127.0.0.1",
        Method::GET,
        code,
        &[ua, ("x-forwarded-for", "192.168.1.9")],
    )
    .await;

    let countries: Vec<Option<String>> = app
        .events_of_type(link.id, "click")
        .await
        .into_iter()
        .map(|event| event.details["country"].as_str().map(str::to_owned))
        .collect();
    // The same addresses looked up with pip's maxminddb in the same file give US, GB, IE.
    assert_eq!(
        countries,
        [
            Some("US".to_owned()),
            Some("GB".to_owned()),
            Some("IE".to_owned()),
            None
        ]
    );
    let text = dump(&pool).await;
    for address in [
        "8.8.8.8",
        "1.1.1.1",
        "81.2.69.142",
        "2a00:1450:4001::1",
        "192.168.1.9",
    ] {
        assert!(!text.contains(address), "{address} is stored somewhere");
    }
}
