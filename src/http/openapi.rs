//! The OpenAPI 3.1 document: a base (title, tags) that the routes fill in, served as JSON.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
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

/// `GET /openapi.json`: the document is serialised once, when the router is built; each
/// request shares those bytes (no copy of the document per request).
pub fn routes(document: Document) -> Router<AppState> {
    let body = Bytes::from(
        document
            .to_json()
            .expect("the OpenAPI document is plain data and always serialises"),
    );
    Router::new().route(
        "/openapi.json",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
}
