//! Typed requests for `/users`: each returns the response, for the test to assert on, except
//! [`TestApp::create_user`], which asserts the 201 and returns the user.

use std::fmt::Display;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::bodies::User;
use super::{TestApp, TestResponse};

impl TestApp {
    /// Creates a user and returns it.
    pub async fn create_user(&self, username: &str, email: &str) -> User {
        self.post_json("/users", json!({"username": username, "email": email}))
            .await
            .expect_body(StatusCode::CREATED)
    }

    /// `GET /users/{id}`.
    pub async fn get_user(&self, id: impl Display) -> TestResponse {
        self.get(&format!("/users/{id}")).await
    }

    /// `PUT /users/{id}` with a JSON body.
    pub async fn update_user(&self, id: impl Display, body: Value) -> TestResponse {
        self.put_json(&format!("/users/{id}"), body).await
    }

    /// `DELETE /users/{id}`.
    pub async fn delete_user(&self, id: impl Display) -> TestResponse {
        self.delete(&format!("/users/{id}")).await
    }
}
