//! Tags: set on create and by `PUT` (the whole list, kept lower case, sorted and
//! distinct), found with `GET /urls?tag=a&tag=b` (links holding all of them) with exact
//! totals however the filters combine, and counted by `GET /tags` as links change.

use std::collections::BTreeMap;

use super::*;

/// `GET /urls?…`'s links (ids) and its `X-Total-Count`.
async fn found(app: &TestApp, query: &str) -> (Vec<i64>, i64) {
    let response = app.get(&format!("/urls?per_page=1000&{query}")).await;
    let total = response.header("x-total-count").unwrap().parse().unwrap();
    let links: Vec<Link> = response.expect_body(StatusCode::OK);
    (links.iter().map(|link| link.id).collect(), total)
}

/// `GET /tags` as a map of tag to links.
async fn tag_counts(app: &TestApp) -> BTreeMap<String, i64> {
    let tags: Vec<serde_json::Value> = app.get("/tags").await.expect_body(StatusCode::OK);
    tags.iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap().to_owned(),
                t["links"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[sqlx::test]
async fn tags_are_kept_lower_case_sorted_and_distinct_and_replaced_whole(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(
            json!({"original_url": "https://example.com/t", "tags": ["Sale", "q4", "sale"]}),
        )
        .await;
    assert_eq!(link.tags, ["q4", "sale"]);
    let read: Link = app.get_link(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(read.tags, ["q4", "sale"]);
    let replaced: Link = app
        .update_link(link.id, json!({"tags": ["spring"]}))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(replaced.tags, ["spring"]);
    let cleared: Link = app
        .update_link(link.id, json!({"tags": null}))
        .await
        .expect_body(StatusCode::OK);
    assert!(cleared.tags.is_empty());
    let changes = app.events_of_type(link.id, "updated").await;
    assert_eq!(
        changes
            .iter()
            .map(|e| e.details["new_value"].clone())
            .collect::<Vec<_>>(),
        [json!(["spring"]), json!([])]
    );
    for bad in [
        json!(["has space"]),
        json!([""]),
        json!(["x".repeat(33)]),
        json!((0..21).map(|n| format!("t{n}")).collect::<Vec<_>>()),
    ] {
        let error = app
            .update_link(link.id, json!({ "tags": bad }))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("tags"), "{bad}: {error:?}");
    }
    let error = app
        .get("/urls?tag=has%20space")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("tag"), "{error:?}");
}

#[sqlx::test]
async fn lists_by_tags_have_exact_totals_and_tag_counts_follow_every_change(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = app.create_user("ada", "ada@example.com").await;
    // Link n holds `even` when n is even, `three` when n is a multiple of 3; every
    // fourth is owned by ada; every fifth is inactive.
    let mut links = Vec::new();
    for n in 0..30_i64 {
        let mut tags = Vec::new();
        if n % 2 == 0 {
            tags.push("even");
        }
        if n % 3 == 0 {
            tags.push("three");
        }
        let mut body = json!({"original_url": format!("https://example.com/{n}"), "tags": tags});
        if n % 4 == 0 {
            body["user_id"] = json!(owner.id);
        }
        let link = app.create_link(body).await;
        if n % 5 == 0 {
            app.update_link(link.id, json!({"is_active": false}))
                .await
                .expect(StatusCode::OK);
        }
        links.push((n, link.id));
    }
    let expect = |keep: &dyn Fn(i64) -> bool| -> (Vec<i64>, i64) {
        let ids: Vec<i64> = links
            .iter()
            .filter(|(n, _)| keep(*n))
            .map(|(_, id)| *id)
            .collect();
        let total = ids.len() as i64;
        (ids, total)
    };
    assert_eq!(found(&app, "tag=even").await, expect(&|n| n % 2 == 0));
    assert_eq!(
        found(&app, "tag=even&tag=three").await,
        expect(&|n| n % 6 == 0)
    );
    assert_eq!(
        found(&app, "tag=three&is_active=false").await,
        expect(&|n| n % 15 == 0)
    );
    assert_eq!(
        found(&app, &format!("tag=even&user_id={}", owner.id)).await,
        expect(&|n| n % 4 == 0)
    );
    assert_eq!(
        tag_counts(&app).await,
        BTreeMap::from([("even".to_owned(), 15), ("three".to_owned(), 10)])
    );
    // A deleted link leaves the lists and the counts; a retagged one moves.
    app.delete_link(links[0].1)
        .await
        .expect(StatusCode::NO_CONTENT);
    app.update_link(links[2].1, json!({"tags": ["three"]}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        tag_counts(&app).await,
        BTreeMap::from([("even".to_owned(), 13), ("three".to_owned(), 10)])
    );
    assert_eq!(
        found(&app, "tag=even").await,
        expect(&|n| n % 2 == 0 && n != 0 && n != 2)
    );
    assert_eq!(
        found(&app, "tag=three").await,
        expect(&|n| (n % 3 == 0 && n != 0) || n == 2)
    );
}
