//! Values at the edge of what storage holds: the largest id, years beyond four digits.

use super::*;

#[sqlx::test]
async fn importing_the_largest_possible_id_leaves_user_creation_working(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "id,username,email\n9223372036854775807,max,max@example.com\n";
    let response = app.post_file("/users/bulk", "file", csv).await;
    assert!(
        mishandled(&Method::POST, &response).is_none(),
        "{response:?}"
    );
    // Whether or not that row was taken, the next user still gets an id.
    app.create_user("next", "next@example.com").await;
}

#[sqlx::test]
async fn timestamps_beyond_four_digit_years_are_rejected_as_field_errors(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/a").await;
    let path = format!("/urls/{}", link.id);
    // The contract renders timestamps as `YYYY-MM-DDTHH:MM:SS`: a year it cannot write
    // must not be stored.
    for expires_at in ["+262142-12-31T23:59:59", "+10000-01-01T00:00:00"] {
        let body = json!({"original_url": "https://example.com/b", "expires_at": expires_at});
        let error = app
            .post_json("/urls", body)
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("expires_at"), "POST {expires_at}: {error}");
    }
    for expires_at in [
        "+262142-12-31T23:59:59",
        "-4000-01-01T00:00:00",
        "-262143-01-01T00:00:00",
    ] {
        let response = app.put_json(&path, json!({"expires_at": expires_at})).await;
        let error = response.expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("expires_at"), "PUT {expires_at}: {error}");
    }
    assert_eq!(
        app.get(&path).await.expect_body::<Link>(StatusCode::OK),
        link,
        "nothing changed"
    );
}

#[sqlx::test]
async fn bulk_rows_with_unstorable_timestamps_are_reported_and_good_rows_imported(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "username,email,created_at\n\
               good,good@example.com,2024-01-31 12:00:00\n\
               ancient,ancient@example.com,-262143-01-01 00:00:00\n\
               future,future@example.com,+262142-01-01 00:00:00\n";
    let report = app
        .post_file("/users/bulk", "file", csv)
        .await
        .expect_body::<ImportReport>(StatusCode::CREATED);
    assert_eq!(report.count, 1, "{report}");
    let lines: Vec<_> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4], "{report}");
    let users = app
        .get("/users")
        .await
        .expect_body::<Vec<User>>(StatusCode::OK);
    assert_eq!(users.len(), 1, "{users:?}");
}
