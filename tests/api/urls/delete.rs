//! `DELETE /urls/{id}`: soft deletion that hides the link everywhere and keeps its history.

use super::*;

#[sqlx::test]
async fn delete_is_204_then_the_link_is_gone_everywhere(pool: PgPool) {
    let app = TestApp::new(pool);
    let kept = app.shorten("https://example.com/kept").await;
    let link = app.shorten("https://example.com/doomed").await;
    let path = format!("/urls/{}", link.id);
    let response = app.delete(&path).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());

    app.get(&path).await.expect_error(StatusCode::NOT_FOUND);
    app.put_json(&path, json!({"title": "x"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.delete(&path).await.expect_error(StatusCode::NOT_FOUND);
    app.get(&format!("{path}/events"))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.get(&format!("{path}/stats"))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    let response = app.get("/urls").await;
    assert_eq!(
        ids(&response.expect_body::<Vec<Link>>(StatusCode::OK)),
        [kept.id]
    );
    assert_eq!(response.header("x-total-count"), Some("1"));
    let inactive: Vec<Link> = app
        .get("/urls?is_active=true")
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(ids(&inactive), [kept.id]);
}

#[sqlx::test]
async fn delete_writes_a_deleted_event_and_keeps_the_history(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    assert_eq!(
        app.delete_link(link.id).await.status,
        StatusCode::NO_CONTENT
    );
    let events = app.events_of(link.id).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["created", "deleted"]);
    assert_eq!(events[1].details, json!({"reason": "user_requested"}));
    assert_eq!(events[1].url_id, link.id);
}

#[sqlx::test]
async fn delete_of_unknown_link_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.delete_link(424242)
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
