//! The OpenAPI 3.1 document: a base (title, tags) that the routes fill in, served as JSON.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

use super::error::ErrorBody;
use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "shortener", description = "URL shortener: links, redirects, click events and users."),
    tags(
        (name = "urls", description = "Short links, their events and stats"),
        (name = "redirect", description = "Following short links"),
        (name = "users", description = "Users and bulk import"),
        (name = "events", description = "The audit trail"),
        (name = "probes", description = "Health, liveness and readiness"),
    ),
    components(schemas(ErrorBody))
)]
struct BaseDoc;

/// The document the routes are added to.
pub fn base() -> Document {
    BaseDoc::openapi()
}

/// `GET /openapi.json`.
pub fn routes(document: Document) -> Router<AppState> {
    let document = Arc::new(document);
    Router::new().route(
        "/openapi.json",
        get(move || {
            let document = Arc::clone(&document);
            async move { Json(document.as_ref().clone()) }
        }),
    )
}
