//! CSV imports: `POST /users/bulk` (rows, line numbers, ids, errors, limits) and the seed sets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::helpers::{TestApp, TestResponse};
use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use shortener::import::seed;

/// `POST /users/bulk` with `csv` as the `file` field.
async fn upload(app: &TestApp, csv: impl Into<Vec<u8>>) -> TestResponse {
    app.post_file("/users/bulk", "file", csv).await
}

/// Asserts a 201 import report and returns it.
#[track_caller]
fn report_of(response: &TestResponse) -> Value {
    let report = response.expect(StatusCode::CREATED);
    for key in ["count", "skipped", "error_count"] {
        assert!(
            report[key].is_u64(),
            "report lacks a numeric '{key}': {report}"
        );
    }
    assert!(
        report["errors"].is_array(),
        "report lacks 'errors': {report}"
    );
    report
}

/// The lines of the rejected rows in a report.
fn error_lines(report: &Value) -> Vec<u64> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["error"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
            e["line"].as_u64().unwrap()
        })
        .collect()
}

/// `X-Total-Count` of a list.
async fn total(app: &TestApp, path: &str) -> u64 {
    let response = app.get(path).await;
    response.expect(StatusCode::OK);
    response
        .header("x-total-count")
        .unwrap_or_else(|| panic!("{path} sent no X-Total-Count"))
        .parse()
        .unwrap()
}

/// Every user in the list, in id order.
async fn all_users(app: &TestApp) -> Vec<Value> {
    let body = app.get("/users?per_page=1000").await.expect(StatusCode::OK);
    body.as_array().unwrap().clone()
}

/// A CSV file of a seed set, each record by column name.
fn read_csv(dir: &Path, name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join(name)).unwrap();
    reader.deserialize().map(Result::unwrap).collect()
}

fn max_id(rows: &[HashMap<String, String>]) -> i64 {
    rows.iter()
        .map(|r| r["id"].parse::<i64>().unwrap())
        .max()
        .unwrap()
}

/// The platform's `YYYY-MM-DD HH:MM:SS` as the API writes it.
fn api_time(csv_time: &str) -> String {
    csv_time.replacen(' ', "T", 1)
}

fn project_seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seed_data")
}

#[sqlx::test]
async fn bulk_import_creates_good_rows_and_reports_the_counts(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "username,email\nada,ada@example.com\nbob,bob@example.com\ncyd,cyd@example.com\n";
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(
        report,
        json!({"count": 3, "skipped": 0, "errors": [], "error_count": 0})
    );
    let users = all_users(&app).await;
    let pairs: Vec<_> = users
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap(),
                u["email"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("ada", "ada@example.com"),
            ("bob", "bob@example.com"),
            ("cyd", "cyd@example.com")
        ]
    );
    assert!(users.iter().all(|u| u["id"].as_i64().unwrap() > 0));
}

#[sqlx::test]
async fn bulk_import_reports_bad_rows_by_line_and_imports_the_rest(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "username,email\n\
               ada,ada@example.com\n\
               bad,not-an-email\n\
               ,empty@example.com\n\
               too,many,fields\n\
               bob,bob@example.com\n\
               short\n\
               cyd,cyd@example.com";
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(report["count"], 3, "{report}");
    assert_eq!(report["skipped"], 0, "{report}");
    assert_eq!(report["error_count"], 4, "{report}");
    assert_eq!(error_lines(&report), [3, 4, 5, 7], "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors[0]["error"].as_str().unwrap().contains("email"),
        "{report}"
    );
    assert!(
        errors[1]["error"].as_str().unwrap().contains("username"),
        "{report}"
    );
    let emails: Vec<_> = all_users(&app)
        .await
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        emails,
        ["ada@example.com", "bob@example.com", "cyd@example.com"]
    );
}

#[sqlx::test]
async fn bulk_import_line_numbers_are_right_in_crlf_files(pool: PgPool) {
    let app = TestApp::new(pool);
    // Spreadsheets export CSV with CRLF line ends.
    let csv = "username,email\r\n\
               bad1,not-an-email\r\n\
               ok1,ok1@example.com\r\n\
               bad2,not-an-email\r\n\
               short\r\n\
               ok2,ok2@example.com\r\n";
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(report["count"], 2, "{report}");
    assert_eq!(error_lines(&report), [2, 4, 5], "{report}");
}

#[sqlx::test]
async fn bulk_import_line_numbers_count_blank_lines(pool: PgPool) {
    let app = TestApp::new(pool);
    // Line 3 and lines 5 to 7 are blank: they hold no row but are lines of the file.
    let csv = "username,email\nok1,ok1@example.com\n\nbad1,x\n\n\n\nbad2,y\nbad3,z\n";
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(report["count"], 1, "{report}");
    assert_eq!(error_lines(&report), [4, 8, 9], "{report}");
}

#[sqlx::test]
async fn bulk_import_rejects_duplicate_emails_case_insensitively(pool: PgPool) {
    let app = TestApp::new(pool);
    app.create_user("ada", "ada@example.com").await;
    let csv = "username,email\n\
               ada2,ADA@Example.com\n\
               bob,bob@example.com\n\
               bob2,Bob@EXAMPLE.com\n\
               cyd,cyd@example.com\n";
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(report["count"], 2, "{report}");
    assert_eq!(report["error_count"], 2, "{report}");
    assert_eq!(error_lines(&report), [2, 4], "{report}");
    for error in report["errors"].as_array().unwrap() {
        assert!(
            error["error"].as_str().unwrap().contains("email"),
            "{report}"
        );
    }
    let names: Vec<_> = all_users(&app)
        .await
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ada", "bob", "cyd"]);
}

#[sqlx::test]
async fn bulk_import_keeps_explicit_ids_and_created_at(pool: PgPool) {
    let app = TestApp::new(pool);
    // Columns are matched by name, in any order.
    let csv = "email,created_at,username,id\n\
               ada@example.com,2024-01-02 03:04:05,ada,10\n\
               bob@example.com,2023-12-31 23:59:59,bob,20\n";
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(
        report,
        json!({"count": 2, "skipped": 0, "errors": [], "error_count": 0})
    );
    let ada = app.get_user(10).await.expect(StatusCode::OK);
    assert_eq!(
        ada,
        json!({"id": 10, "username": "ada", "email": "ada@example.com", "created_at": "2024-01-02T03:04:05"})
    );
    let bob = app.get_user(20).await.expect(StatusCode::OK);
    assert_eq!(bob["created_at"], "2023-12-31T23:59:59");
    assert_eq!(bob["username"], "bob");
}

#[sqlx::test]
async fn bulk_import_skips_rows_whose_id_exists(pool: PgPool) {
    let app = TestApp::new(pool);
    let existing = app.create_user("ada", "ada@example.com").await;
    let id = existing["id"].as_i64().unwrap();
    let csv = format!(
        "id,username,email\n{id},other,other@example.com\n{},bob,bob@example.com\n",
        id + 100
    );
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(
        report,
        json!({"count": 1, "skipped": 1, "errors": [], "error_count": 0})
    );
    let unchanged = app.get_user(id).await.expect(StatusCode::OK);
    assert_eq!(
        unchanged, existing,
        "a skipped row leaves the existing user alone"
    );
    app.get_user(id + 100).await.expect(StatusCode::OK);
}

#[sqlx::test]
async fn uploading_the_same_file_twice_skips_everything_the_second_time(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "id,username,email,created_at\n\
               1,ada,ada@example.com,2024-01-02 03:04:05\n\
               2,bob,bob@example.com,2024-01-03 03:04:05\n\
               3,cyd,cyd@example.com,2024-01-04 03:04:05\n";
    let first = report_of(&upload(&app, csv).await);
    assert_eq!(first["count"], 3, "{first}");
    let before = all_users(&app).await;
    let second = report_of(&upload(&app, csv).await);
    assert_eq!(
        second,
        json!({"count": 0, "skipped": 3, "errors": [], "error_count": 0})
    );
    assert_eq!(all_users(&app).await, before);
}

#[sqlx::test]
async fn post_users_after_an_import_with_explicit_ids_gets_the_next_id(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "id,username,email\n1,a,a@example.com\n250,b,b@example.com\n500,c,c@example.com\n";
    assert_eq!(report_of(&upload(&app, csv).await)["count"], 3);
    let created = app.create_user("next", "next@example.com").await;
    assert_eq!(created["id"], 501, "{created}");
    let again = app.create_user("after", "after@example.com").await;
    assert_eq!(again["id"], 502, "{again}");

    // Rows without an id, in a file that also has explicit ids, get fresh ids past them.
    let mixed = "id,username,email\n,fresh,fresh@example.com\n900,d,d@example.com\n";
    let report = report_of(&upload(&app, mixed).await);
    assert_eq!(report["count"], 2, "{report}");
    let fresh = all_users(&app)
        .await
        .into_iter()
        .find(|u| u["username"] == "fresh")
        .unwrap();
    assert!(fresh["id"].as_i64().unwrap() > 502, "{fresh}");
    let last = app.create_user("last", "last@example.com").await;
    assert!(last["id"].as_i64().unwrap() > 900, "{last}");
}

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
    assert!(user["id"].as_i64().unwrap() > max_user, "{user}");
    let link = app
        .create_link(
            json!({"original_url": "https://example.org/after-seed", "user_id": user["id"]}),
        )
        .await;
    assert!(link["id"].as_i64().unwrap() > max_url, "{link}");
    let event = app
        .post_json(
            "/events",
            json!({"url_id": 1, "user_id": user["id"], "event_type": "custom", "details": {"k": "v"}}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert!(event["id"].as_i64().unwrap() > max_event, "{event}");
}

#[sqlx::test]
async fn bulk_without_a_file_field_is_400_naming_file(pool: PgPool) {
    let app = TestApp::new(pool);
    let wrong_field = app
        .post_file(
            "/users/bulk",
            "upload",
            "username,email\nada,ada@example.com\n",
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(wrong_field["details"]["file"].is_string(), "{wrong_field}");

    let boundary = "b0undary";
    let no_fields = app
        .raw(
            axum::http::Method::POST,
            "/users/bulk",
            Some(&format!("multipart/form-data; boundary={boundary}")),
            format!("--{boundary}--\r\n"),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(
        no_fields["details"]["file"].is_string()
            || no_fields["error"].as_str().unwrap().contains("file"),
        "{no_fields}"
    );
    assert!(all_users(&app).await.is_empty());
}

#[sqlx::test]
async fn bulk_with_a_required_column_missing_is_400(pool: PgPool) {
    let app = TestApp::new(pool);
    for (csv, column) in [
        ("name,mail\nada,ada@example.com\n", "username"),
        ("username,mail\nada,ada@example.com\n", "email"),
        ("id,username\n1,ada\n", "email"),
    ] {
        let error = upload(&app, csv)
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        let text = error.to_string();
        assert!(
            text.contains(column),
            "{csv:?} should name {column}: {error}"
        );
    }
    assert!(all_users(&app).await.is_empty());
}

#[sqlx::test]
async fn bulk_of_an_empty_file_is_400(pool: PgPool) {
    let app = TestApp::new(pool);
    let error = upload(&app, "").await.expect_error(StatusCode::BAD_REQUEST);
    assert!(error["details"]["file"].is_string(), "{error}");
}

#[sqlx::test]
async fn bulk_with_a_json_body_is_400(pool: PgPool) {
    let app = TestApp::new(pool);
    app.post_json(
        "/users/bulk",
        json!({"username": "ada", "email": "ada@example.com"}),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST);
    app.raw(
        axum::http::Method::POST,
        "/users/bulk",
        Some("text/csv"),
        "username,email\nada,ada@example.com\n",
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST);
    assert!(all_users(&app).await.is_empty());
}

#[sqlx::test]
async fn bulk_import_streams_a_file_of_fifty_thousand_rows(pool: PgPool) {
    let app = TestApp::new(pool);
    const ROWS: usize = 50_000;
    let mut csv = String::with_capacity(ROWS * 40);
    csv.push_str("username,email\n");
    for i in 0..ROWS {
        csv.push_str(&format!("user{i},user{i}@bulk.example.com\n"));
    }
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(
        report,
        json!({"count": ROWS, "skipped": 0, "errors": [], "error_count": 0})
    );
    assert_eq!(total(&app, "/users?per_page=1").await, ROWS as u64);
    let last = app
        .get(&format!("/users?per_page=1&page={ROWS}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        last[0]["email"],
        format!("user{}@bulk.example.com", ROWS - 1)
    );
}

#[sqlx::test]
async fn bulk_upload_over_64_mib_is_413_with_a_json_error(pool: PgPool) {
    let app = TestApp::new(pool);
    let line = format!("{},x@example.com\n", "a".repeat(1000));
    let mut csv = b"username,email\n".to_vec();
    while csv.len() <= 65 * 1024 * 1024 {
        csv.extend_from_slice(line.as_bytes());
    }
    upload(&app, csv)
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test]
async fn platform_seed_set_imports_whole(pool: PgPool) {
    let dir = crate::helpers::platform_seed_dir();
    let report = seed::run(&db_of(&pool), &dir).await.unwrap();
    let figures = |r: &shortener::import::ImportReport| (r.count, r.skipped, r.error_count);
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
    let got = app.get_user(&user["id"]).await.expect(StatusCode::OK);
    assert_eq!(
        got,
        json!({
            "id": user["id"].parse::<i64>().unwrap(),
            "username": user["username"],
            "email": user["email"],
            "created_at": api_time(&user["created_at"]),
        })
    );

    let urls = read_csv(&dir, "urls.csv");
    let url = urls
        .iter()
        .find(|u| u["is_active"] == "False" && !u["title"].is_empty() && !u["user_id"].is_empty())
        .expect("the platform set has an inactive link");
    let got = app.get_link(&url["id"]).await.expect(StatusCode::OK);
    assert_eq!(
        got,
        json!({
            "id": url["id"].parse::<i64>().unwrap(),
            "user_id": url["user_id"].parse::<i64>().unwrap(),
            "short_code": url["short_code"],
            "original_url": url["original_url"],
            "title": url["title"],
            "is_active": false,
            "expires_at": null,
            "created_at": api_time(&url["created_at"]),
            "updated_at": api_time(&url["updated_at"]),
        })
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
            .expect(StatusCode::OK);
        let id = event["id"].parse::<i64>().unwrap();
        let got = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("event {id} is listed: {listed}"));
        let details: Value = serde_json::from_str(&event["details"]).unwrap();
        assert!(got["details"].is_object(), "details is an object: {got}");
        let user_id = match event["user_id"].as_str() {
            "" => Value::Null,
            text => json!(text.parse::<i64>().unwrap()),
        };
        assert_eq!(
            got,
            &json!({
                "id": id,
                "url_id": event["url_id"].parse::<i64>().unwrap(),
                "user_id": user_id,
                "event_type": event_type,
                "timestamp": api_time(&event["timestamp"]),
                "details": details,
            })
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
    let figures = |r: &shortener::import::ImportReport| (r.count, r.skipped, r.error_count);
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
    let figures = |r: &shortener::import::ImportReport| (r.count, r.skipped, r.error_count);
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

/// The pool behind the handle the import runs its timed transactions on.
fn db_of(pool: &PgPool) -> shortener::db::Db {
    shortener::db::Db::new(
        pool.clone(),
        shortener::metrics::Metrics::default().db.clone(),
    )
}
