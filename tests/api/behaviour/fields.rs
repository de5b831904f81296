//! Each behaviour field through the API: set on create, shown by `GET /urls/{id}` and the
//! list, changed and cleared by `PUT` (one `updated` event each), and bad values refused
//! with a 400 naming the field, changing nothing.

use super::*;

#[sqlx::test]
async fn a_new_link_has_no_cap_no_fallback_a_302_and_no_forwarding(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/plain").await;
    assert_eq!(
        (
            link.max_visits,
            link.visits_left,
            link.expired_url.as_deref(),
            link.redirect_status,
            link.forward_query
        ),
        (None, None, None, 302, false)
    );
}

#[sqlx::test]
async fn every_field_is_set_on_create_and_read_back(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/sale",
            "max_visits": 3,
            "expired_url": "https://example.com/sold-out",
            "redirect_status": 307,
            "forward_query": true,
        }))
        .await;
    assert_eq!(link.max_visits, Some(3));
    assert_eq!(link.visits_left, Some(3));
    assert_eq!(
        link.expired_url.as_deref(),
        Some("https://example.com/sold-out")
    );
    assert_eq!(link.redirect_status, 307);
    assert!(link.forward_query);
    let read: Link = app.get_link(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(read, link);
    let listed: Vec<Link> = app.get("/urls").await.expect_body(StatusCode::OK);
    assert_eq!(listed, vec![link]);
}

#[sqlx::test]
async fn put_changes_and_clears_each_field_with_one_event_each(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/a").await;
    let changed: Link = app
        .update_link(
            link.id,
            json!({"max_visits": 5, "expired_url": "https://example.com/over",
                   "redirect_status": 301, "forward_query": true}),
        )
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(
        (
            changed.max_visits,
            changed.visits_left,
            changed.expired_url.as_deref(),
            changed.redirect_status,
            changed.forward_query
        ),
        (
            Some(5),
            Some(5),
            Some("https://example.com/over"),
            301,
            true
        )
    );
    let updates = app.events_of_type(link.id, "updated").await;
    let mut fields: Vec<_> = updates
        .iter()
        .map(|event| event.details["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "expired_url",
            "forward_query",
            "max_visits",
            "redirect_status"
        ]
    );
    let cleared: Link = app
        .update_link(link.id, json!({"max_visits": null, "expired_url": null}))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(
        (cleared.max_visits, cleared.visits_left, cleared.expired_url),
        (None, None, None)
    );
    assert_eq!(
        (cleared.redirect_status, cleared.forward_query),
        (301, true)
    );
}

#[sqlx::test]
async fn bad_values_are_400s_naming_the_field_and_change_nothing(pool: PgPool) {
    let app = TestApp::new(pool);
    for (body, field) in [
        (json!({"max_visits": 0}), "max_visits"),
        (json!({"max_visits": -3}), "max_visits"),
        (json!({"max_visits": 1_000_000_001_i64}), "max_visits"),
        (json!({"redirect_status": 303}), "redirect_status"),
        (json!({"redirect_status": 200}), "redirect_status"),
        (json!({"expired_url": "ftp://example.com/x"}), "expired_url"),
        (json!({"expired_url": "not a url"}), "expired_url"),
    ] {
        let mut create = body.clone();
        create["original_url"] = json!("https://example.com/x");
        let error = app
            .post_json("/urls", create.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{create}: {error:?}");
    }
    for body in [
        json!({"original_url": "https://example.com/x", "max_visits": 1.5}),
        json!({"original_url": "https://example.com/x", "max_visits": "3"}),
        json!({"original_url": "https://example.com/x", "forward_query": "yes"}),
    ] {
        app.post_json("/urls", body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
    }
    let listed: Vec<Link> = app.get("/urls").await.expect_body(StatusCode::OK);
    assert!(listed.is_empty(), "nothing was created: {listed:?}");

    let link = app.shorten("https://example.com/kept").await;
    for (body, field) in [
        (json!({"redirect_status": null}), "redirect_status"),
        (json!({"redirect_status": 304}), "redirect_status"),
        (json!({"forward_query": null}), "forward_query"),
        (json!({"max_visits": 0}), "max_visits"),
        (json!({"expired_url": "http://localhost/x"}), "expired_url"),
    ] {
        let error = app
            .update_link(link.id, body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{body}: {error:?}");
    }
    let read: Link = app.get_link(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(read, link);
}
