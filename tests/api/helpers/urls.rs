//! Typed requests for `/urls`: each returns the response, for the test to assert on, except
//! [`TestApp::create_link`] and [`TestApp::shorten`], which assert the 201 and return the link.

use std::fmt::Display;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::bodies::Link;
use super::{TestApp, TestResponse};

impl TestApp {
    /// Creates a link with the given body and returns it.
    pub async fn create_link(&self, body: Value) -> Link {
        self.post_json("/urls", body)
            .await
            .expect_body(StatusCode::CREATED)
    }

    /// Creates an anonymous link to `url` and returns it.
    pub async fn shorten(&self, url: &str) -> Link {
        self.create_link(json!({"original_url": url})).await
    }

    /// `GET /urls/{id}`.
    pub async fn get_link(&self, id: impl Display) -> TestResponse {
        self.get(&format!("/urls/{id}")).await
    }

    /// `PUT /urls/{id}` with a JSON body.
    pub async fn update_link(&self, id: impl Display, body: Value) -> TestResponse {
        self.put_json(&format!("/urls/{id}"), body).await
    }

    /// `DELETE /urls/{id}`.
    pub async fn delete_link(&self, id: impl Display) -> TestResponse {
        self.delete(&format!("/urls/{id}")).await
    }

    /// `GET /urls/{id}/stats`.
    pub async fn link_stats(&self, id: impl Display) -> TestResponse {
        self.get(&format!("/urls/{id}/stats")).await
    }
}
