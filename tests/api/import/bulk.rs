//! `POST /users/bulk`: rows imported or reported by line, explicit ids, duplicates, bad
//! uploads, and the size limits.

use super::*;

#[sqlx::test]
async fn bulk_import_creates_good_rows_and_reports_the_counts(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "username,email\nada,ada@example.com\nbob,bob@example.com\ncyd,cyd@example.com\n";
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(report, clean_report(3, 0));
    let users = all_users(&app).await;
    let pairs: Vec<_> = users
        .iter()
        .map(|u| (u.username.as_str(), u.email.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("ada", "ada@example.com"),
            ("bob", "bob@example.com"),
            ("cyd", "cyd@example.com")
        ]
    );
    assert!(users.iter().all(|u| u.id > 0));
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
    assert_eq!(report.count, 3, "{report}");
    assert_eq!(report.skipped, 0, "{report}");
    assert_eq!(report.error_count, 4, "{report}");
    assert_eq!(error_lines(&report), [3, 4, 5, 7], "{report}");
    let errors = &report.errors;
    assert!(errors[0].error.contains("email"), "{report}");
    assert!(errors[1].error.contains("username"), "{report}");
    let emails: Vec<_> = all_users(&app).await.into_iter().map(|u| u.email).collect();
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
    assert_eq!(report.count, 2, "{report}");
    assert_eq!(error_lines(&report), [2, 4, 5], "{report}");
}

#[sqlx::test]
async fn bulk_import_line_numbers_count_blank_lines(pool: PgPool) {
    let app = TestApp::new(pool);
    // Line 3 and lines 5 to 7 are blank: they hold no row but are lines of the file.
    let csv = "username,email\nok1,ok1@example.com\n\nbad1,x\n\n\n\nbad2,y\nbad3,z\n";
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(report.count, 1, "{report}");
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
    assert_eq!(report.count, 2, "{report}");
    assert_eq!(report.error_count, 2, "{report}");
    assert_eq!(error_lines(&report), [2, 4], "{report}");
    for error in &report.errors {
        assert!(error.error.contains("email"), "{report}");
    }
    let names: Vec<_> = all_users(&app)
        .await
        .into_iter()
        .map(|u| u.username)
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
    assert_eq!(report, clean_report(2, 0));
    let ada = app.get_user(10).await.expect_body::<User>(StatusCode::OK);
    assert_eq!(
        ada,
        User {
            id: 10,
            username: "ada".to_owned(),
            email: "ada@example.com".to_owned(),
            created_at: "2024-01-02T03:04:05".to_owned(),
        }
    );
    let bob = app.get_user(20).await.expect_body::<User>(StatusCode::OK);
    assert_eq!(bob.created_at, "2023-12-31T23:59:59");
    assert_eq!(bob.username, "bob");
}

#[sqlx::test]
async fn bulk_import_skips_rows_whose_id_exists(pool: PgPool) {
    let app = TestApp::new(pool);
    let existing = app.create_user("ada", "ada@example.com").await;
    let id = existing.id;
    let csv = format!(
        "id,username,email\n{id},other,other@example.com\n{},bob,bob@example.com\n",
        id + 100
    );
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(report, clean_report(1, 1));
    let unchanged = app.get_user(id).await.expect_body::<User>(StatusCode::OK);
    assert_eq!(
        unchanged, existing,
        "a skipped row leaves the existing user alone"
    );
    app.get_user(id + 100)
        .await
        .expect_body::<User>(StatusCode::OK);
}

#[sqlx::test]
async fn uploading_the_same_file_twice_skips_everything_the_second_time(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "id,username,email,created_at\n\
               1,ada,ada@example.com,2024-01-02 03:04:05\n\
               2,bob,bob@example.com,2024-01-03 03:04:05\n\
               3,cyd,cyd@example.com,2024-01-04 03:04:05\n";
    let first = report_of(&upload(&app, csv).await);
    assert_eq!(first.count, 3, "{first}");
    let before = all_users(&app).await;
    let second = report_of(&upload(&app, csv).await);
    assert_eq!(second, clean_report(0, 3));
    assert_eq!(all_users(&app).await, before);
}

#[sqlx::test]
async fn post_users_after_an_import_with_explicit_ids_gets_the_next_id(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "id,username,email\n1,a,a@example.com\n250,b,b@example.com\n500,c,c@example.com\n";
    assert_eq!(report_of(&upload(&app, csv).await).count, 3);
    let created = app.create_user("next", "next@example.com").await;
    assert_eq!(created.id, 501, "{created}");
    let again = app.create_user("after", "after@example.com").await;
    assert_eq!(again.id, 502, "{again}");

    // Rows without an id, in a file that also has explicit ids, get fresh ids past them.
    let mixed = "id,username,email\n,fresh,fresh@example.com\n900,d,d@example.com\n";
    let report = report_of(&upload(&app, mixed).await);
    assert_eq!(report.count, 2, "{report}");
    let fresh = all_users(&app)
        .await
        .into_iter()
        .find(|u| u.username == "fresh")
        .unwrap();
    assert!(fresh.id > 502, "{fresh}");
    let last = app.create_user("last", "last@example.com").await;
    assert!(last.id > 900, "{last}");
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
    assert!(wrong_field.names("file"), "{wrong_field}");

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
        no_fields.names("file") || no_fields.error.contains("file"),
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
    assert!(error.names("file"), "{error}");
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
    assert_eq!(report, clean_report(ROWS as u64, 0));
    assert_eq!(total(&app, "/users?per_page=1").await, ROWS as u64);
    // The last row of the file is the last user: walk the list by its `Link` headers.
    let mut next = Some("/users?per_page=1000".to_owned());
    let mut last = None;
    while let Some(path) = next.take() {
        let response = app.get(&path).await;
        let page = response.expect_body::<Vec<User>>(StatusCode::OK);
        if let Some(user) = page.last() {
            last = Some(user.clone());
        }
        next = response
            .header("link")
            .and_then(|link| link.split_once('>'))
            .map(|(target, _)| target.trim_start_matches('<').to_owned());
    }
    let last = last.expect("the list has users");
    assert_eq!(last.email, format!("user{}@bulk.example.com", ROWS - 1));
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

/// The import is exempt from `REQUEST_TIMEOUT_MS` (a layer on the other routes, not on
/// this one): an import that runs far past the bound still answers 201 with every row,
/// where any other route would have answered 503.
#[sqlx::test]
async fn an_import_longer_than_the_request_timeout_runs_to_the_end(pool: PgPool) {
    let settings = shortener_server::replica::AppSettings {
        request_timeout: std::time::Duration::from_millis(5),
        ..Default::default()
    };
    let app = TestApp::with_settings(pool, settings);
    let mut csv = String::from("username,email\n");
    for n in 0..20_000 {
        csv.push_str(&format!("user{n},user{n}@example.com\n"));
    }
    let started = std::time::Instant::now();
    let report = report_of(&upload(&app, csv).await);
    assert!(
        started.elapsed() > std::time::Duration::from_millis(50),
        "the import must outlast the 5 ms bound for this test to mean anything"
    );
    assert_eq!(report.count, 20_000, "{report}");
}
