//! Typed requests for `/events`.

use axum::http::StatusCode;
use serde_json::Value;

use super::TestApp;
use super::bodies::Event;

impl TestApp {
    /// Posts a custom event and returns it (asserting the 201).
    pub async fn post_event(&self, body: Value) -> Event {
        self.post_json("/events", body)
            .await
            .expect_body(StatusCode::CREATED)
    }

    /// Events of one link, in id order (first page of 1000).
    pub async fn events_of(&self, url_id: i64) -> Vec<Event> {
        self.get(&format!("/events?url_id={url_id}&per_page=1000"))
            .await
            .expect_body(StatusCode::OK)
    }

    /// Events of one link with the given type.
    pub async fn events_of_type(&self, url_id: i64, event_type: &str) -> Vec<Event> {
        self.events_of(url_id)
            .await
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .collect()
    }
}
