//! Keyset pagination: `after` pages in id order at any depth, the `Link` header leads
//! from page to page keeping the filters, and `page=` stops at 11, so
//! an offset skips at most 10,000 rows.

use super::*;

#[sqlx::test]
async fn the_link_header_walks_every_list_page_by_page_keeping_the_filters(pool: PgPool) {
    let app = TestApp::new(pool);
    let ada = app.create_user("ada", "ada@example.com").await;
    let mut owned = Vec::new();
    for i in 0..7 {
        let link = app
            .create_link(
                json!({"original_url": format!("https://a.example/{i}"), "user_id": ada.id}),
            )
            .await;
        owned.push(link.id);
        app.shorten(&format!("https://anon.example/{i}")).await;
    }

    let path = format!("/urls?user_id={}&per_page=3", ada.id);
    let (pages, totals) = walk::<Link>(&app, &path).await;
    assert_eq!(
        pages,
        [
            owned[0..3].to_vec(),
            owned[3..6].to_vec(),
            owned[6..].to_vec()
        ]
    );
    assert!(totals.iter().all(|t| t == "7"), "{totals:?}");

    // A last page that is full still links on; the page after it is empty and does not.
    let (pages, _) = walk::<Link>(&app, "/urls?per_page=7").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 0]);

    let events = format!("/events?user_id={}&event_type=created&per_page=2", ada.id);
    let (pages, totals) = walk::<Event>(&app, &events).await;
    assert_eq!(pages.concat().len(), 7);
    assert_eq!(pages.len(), 4);
    assert!(totals.iter().all(|t| t == "7"), "{totals:?}");

    let (pages, _) = walk::<Event>(&app, &format!("/urls/{}/events?per_page=1", owned[0])).await;
    assert_eq!(pages.concat().len(), 1);
    let (pages, totals) = walk::<User>(&app, "/users?per_page=1").await;
    assert_eq!(pages, [vec![ada.id], vec![]]);
    assert_eq!(totals, ["1", "1"]);
}

#[sqlx::test]
async fn a_cursor_page_starts_after_the_id_and_the_next_link_names_the_path(pool: PgPool) {
    let app = TestApp::new(pool);
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.shorten(&format!("https://example.com/{i}")).await.id);
    }
    let response = app
        .get(&format!("/urls?after={}&per_page=2", created[1]))
        .await;
    assert_eq!(
        ids(&response.expect_body::<Vec<Link>>(StatusCode::OK)),
        [created[2], created[3]]
    );
    assert_eq!(response.header("x-total-count"), Some("5"));
    assert_eq!(
        next_link(response.header("link")).as_deref(),
        Some(format!("/urls?per_page=2&after={}", created[3]).as_str())
    );
    // Numbered pages link on by the cursor too.
    let response = app.get("/urls?page=2&per_page=2").await;
    assert_eq!(
        next_link(response.header("link")).as_deref(),
        Some(format!("/urls?per_page=2&after={}", created[3]).as_str())
    );
    // With a cursor, page numbers count from it.
    let response = app
        .get(&format!("/urls?after={}&page=2&per_page=2", created[0]))
        .await;
    assert_eq!(
        ids(&response.expect_body::<Vec<Link>>(StatusCode::OK)),
        [created[3], created[4]]
    );
    assert_eq!(
        next_link(response.header("link")).as_deref(),
        Some(format!("/urls?per_page=2&after={}", created[4]).as_str())
    );
    let response = app.get(&format!("/urls?after={}", created[4])).await;
    assert_eq!(response.expect(StatusCode::OK), json!([]));
    assert_eq!(response.header("link"), None);
    assert_eq!(
        app.get("/urls?after=0")
            .await
            .expect_body::<Vec<Link>>(StatusCode::OK)
            .len(),
        5
    );
}

#[sqlx::test]
async fn bad_cursors_and_pages_past_eleven_are_400_whatever_the_page_size(pool: PgPool) {
    let app = TestApp::new(pool);
    for list in ["/urls", "/events", "/users"] {
        for query in ["after=-1", "after=x", "after=1.5", "page=2&after=-5"] {
            let error = app
                .get(&format!("{list}?{query}"))
                .await
                .expect_error(StatusCode::BAD_REQUEST);
            assert!(
                error
                    .details
                    .as_ref()
                    .is_some_and(|details| details.contains_key("after")),
                "{list}?{query}: {error}"
            );
        }
        for per_page in [1, 100, 1000] {
            let error = app
                .get(&format!("{list}?page=12&per_page={per_page}"))
                .await
                .expect_error(StatusCode::BAD_REQUEST);
            let problem = error.detail("page");
            assert!(
                problem.contains("from 1 to 11") && problem.contains("after"),
                "{problem}"
            );
            app.get(&format!("{list}?page=11&per_page={per_page}"))
                .await
                .expect(StatusCode::OK);
        }
    }
}
