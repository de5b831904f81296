//! The list response: a bare JSON array plus the `X-Total-Count` header.

use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One page of items and the number of items across all pages.
#[derive(Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl<T: Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        (
            [("X-Total-Count", self.total.to_string())],
            axum::Json(self.items),
        )
            .into_response()
    }
}
