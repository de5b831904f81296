//! The seed sets (the platform's and the project's own): imported whole, once, and served
//! by the API as they were written.

use super::*;

#[sqlx::test]
async fn after_seeding_the_platform_set_new_rows_get_ids_past_the_imported_ones(pool: PgPool) {
    let dir = crate::helpers::platform_seed_dir();
    let report = seed::run(&db_of(&pool), &dir).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    let app = TestApp::new(pool);
    let max_user = max_id(&read_csv(&dir, "users.csv"));
    let max_url = max_id(&read_csv(&dir, "urls.csv"));
    let max_event = max_id(&read_csv(&dir, "events.csv"));
    assert_eq!((max_user, max_url, max_event), (400, 2000, 3422));

    let user = app.create_user("newcomer", "newcomer@example.org").await;
    assert!(user.id > max_user, "{user}");
    let link = app
        .create_link(json!({"original_url": "https://example.org/after-seed", "user_id": user.id}))
        .await;
    assert!(link.id > max_url, "{link}");
    let event = app
        .post_event(
            json!({"url_id": link.id, "user_id": user.id, "event_type": "custom", "details": {"k": "v"}}),
        )
        .await;
    assert!(event.id > max_event, "{event}");
}

#[sqlx::test]
async fn platform_seed_set_imports_whole(pool: PgPool) {
    let dir = crate::helpers::platform_seed_dir();
    let report = seed::run(&db_of(&pool), &dir).await.unwrap();
    let figures = |r: &shortener_import::ImportReport| (r.count, r.skipped, r.error_count);
    assert_eq!(figures(&report.users), (400, 0, 0), "{report:?}");
    assert_eq!(figures(&report.urls), (2000, 0, 0), "{report:?}");
    assert_eq!(figures(&report.events), (3422, 0, 0), "{report:?}");
    assert!(report.is_clean());

    let app = TestApp::new(pool);
    assert_eq!(total(&app, "/users").await, 400);
    assert_eq!(total(&app, "/urls").await, 2000);
    assert_eq!(total(&app, "/events").await, 3422);
    let urls = read_csv(&dir, "urls.csv");
    let active = urls.iter().filter(|u| u["is_active"] == "True").count() as u64;
    assert_eq!(total(&app, "/urls?is_active=true").await, active);
    assert_eq!(total(&app, "/urls?is_active=false").await, 2000 - active);
}

#[sqlx::test]
async fn platform_seed_rows_round_trip_through_the_api(pool: PgPool) {
    let dir = crate::helpers::platform_seed_dir();
    seed::run(&db_of(&pool), &dir).await.unwrap();
    let app = TestApp::new(pool);

    let users = read_csv(&dir, "users.csv");
    let user = &users[136];
    let got = app
        .get_user(&user["id"])
        .await
        .expect_body::<User>(StatusCode::OK);
    assert_eq!(
        got,
        User {
            id: user["id"].parse::<i64>().unwrap(),
            username: user["username"].clone(),
            email: user["email"].clone(),
            created_at: api_time(&user["created_at"]),
        }
    );

    let urls = read_csv(&dir, "urls.csv");
    let url = urls
        .iter()
        .find(|u| u["is_active"] == "False" && !u["title"].is_empty() && !u["user_id"].is_empty())
        .expect("the platform set has an inactive link");
    let got = app
        .get_link(&url["id"])
        .await
        .expect_body::<Link>(StatusCode::OK);
    assert_eq!(
        got,
        Link {
            id: url["id"].parse::<i64>().unwrap(),
            user_id: Some(url["user_id"].parse::<i64>().unwrap()),
            short_code: url["short_code"].clone(),
            original_url: url["original_url"].clone(),
            title: Some(url["title"].clone()),
            is_active: false,
            expires_at: None,
            created_at: api_time(&url["created_at"]),
            updated_at: api_time(&url["updated_at"]),
            max_visits: None,
            visits_left: None,
            expired_url: None,
            redirect_status: 302,
            forward_query: false,
            tags: Vec::new(),
            preview: None,
            protected: false,
            rules: serde_json::json!([]),
            variants: serde_json::json!([]),
            destination: Destination {
                status: "unknown".to_owned(),
                checked_at: None,
                status_code: None,
                error: None,
                failures: 0,
                down_since: None,
            },
        }
    );

    let events = read_csv(&dir, "events.csv");
    for event_type in ["created", "updated", "deleted"] {
        let event = events
            .iter()
            .find(|e| e["event_type"] == event_type)
            .unwrap_or_else(|| panic!("the platform set has a {event_type} event"));
        let listed = app
            .get(&format!("/events?url_id={}&per_page=1000", event["url_id"]))
            .await
            .expect_body::<Vec<Event>>(StatusCode::OK);
        let id = event["id"].parse::<i64>().unwrap();
        let got = listed
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("event {id} is listed: {listed:?}"));
        let details: Value = serde_json::from_str(&event["details"]).unwrap();
        assert!(got.details.is_object(), "details is an object: {got}");
        let user_id = match event["user_id"].as_str() {
            "" => None,
            text => Some(text.parse::<i64>().unwrap()),
        };
        assert_eq!(
            got,
            &Event {
                id,
                url_id: event["url_id"].parse::<i64>().unwrap(),
                user_id,
                event_type: event_type.to_owned(),
                timestamp: api_time(&event["timestamp"]),
                details,
                // An import is no key's doing.
                actor: None,
            }
        );
    }
}

#[sqlx::test]
async fn an_active_seeded_link_redirects_to_its_original_url(pool: PgPool) {
    let dir = crate::helpers::platform_seed_dir();
    seed::run(&db_of(&pool), &dir).await.unwrap();
    let app = TestApp::new(pool);
    let urls = read_csv(&dir, "urls.csv");
    let active = urls.iter().find(|u| u["is_active"] == "True").unwrap();
    let response = app.get(&format!("/{}", active["short_code"])).await;
    assert_eq!(response.status, StatusCode::FOUND, "{response:?}");
    assert_eq!(
        response.header("location"),
        Some(active["original_url"].as_str())
    );

    let inactive = urls.iter().find(|u| u["is_active"] == "False").unwrap();
    app.get(&format!("/{}", inactive["short_code"]))
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn seeding_twice_changes_nothing(pool: PgPool) {
    let dir = crate::helpers::platform_seed_dir();
    seed::run(&db_of(&pool), &dir).await.unwrap();
    let app = TestApp::new(pool.clone());
    let before = (
        total(&app, "/users").await,
        total(&app, "/urls").await,
        total(&app, "/events").await,
    );
    let again = seed::run(&db_of(&pool), &dir).await.unwrap();
    let figures = |r: &shortener_import::ImportReport| (r.count, r.skipped, r.error_count);
    assert_eq!(figures(&again.users), (0, 400, 0), "{again:?}");
    assert_eq!(figures(&again.urls), (0, 2000, 0), "{again:?}");
    assert_eq!(figures(&again.events), (0, 3422, 0), "{again:?}");
    let after = (
        total(&app, "/users").await,
        total(&app, "/urls").await,
        total(&app, "/events").await,
    );
    assert_eq!(after, before);
    assert_eq!(after, (400, 2000, 3422));
}

#[sqlx::test]
async fn the_projects_own_seed_data_imports_cleanly(pool: PgPool) {
    let dir = project_seed_dir();
    let report = seed::run(&db_of(&pool), &dir).await.unwrap();
    let expected = |name| read_csv(&dir, name).len() as u64;
    let figures = |r: &shortener_import::ImportReport| (r.count, r.skipped, r.error_count);
    assert_eq!(
        figures(&report.users),
        (expected("users.csv"), 0, 0),
        "{report:?}"
    );
    assert_eq!(
        figures(&report.urls),
        (expected("urls.csv"), 0, 0),
        "{report:?}"
    );
    assert_eq!(
        figures(&report.events),
        (expected("events.csv"), 0, 0),
        "{report:?}"
    );
    let app = TestApp::new(pool);
    assert_eq!(total(&app, "/users").await, expected("users.csv"));
    assert_eq!(total(&app, "/urls").await, expected("urls.csv"));
    assert_eq!(total(&app, "/events").await, expected("events.csv"));
    // The sequences moved past the generated ids too.
    app.create_user("newcomer", "newcomer@example.org").await;
    app.shorten("https://example.org/after-project-seed").await;
}
