//! `/events`: the audit trail listed with filters and pagination, custom events appended
//! by clients, and the partitions and retention of raw click events.

use crate::helpers::TestApp;
use crate::helpers::bodies::{Event, Link, LinkStats, User, ids};
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

mod create;
mod list;
mod retention;

/// Two users, a link of each, and one anonymous link; each link has its `created` event.
struct Fixture {
    ada: User,
    bob: User,
    ada_link: Link,
    bob_link: Link,
    anon_link: Link,
}

async fn fixture(app: &TestApp) -> Fixture {
    let ada = app.create_user("ada", "ada@example.com").await;
    let bob = app.create_user("bob", "bob@example.com").await;
    let ada_link = app
        .create_link(json!({"original_url": "https://a.example", "user_id": ada.id}))
        .await;
    let bob_link = app
        .create_link(json!({"original_url": "https://b.example", "user_id": bob.id}))
        .await;
    let anon_link = app.shorten("https://anon.example").await;
    Fixture {
        ada,
        bob,
        ada_link,
        bob_link,
        anon_link,
    }
}
