//! The OpenAPI 3.1 document: a base (title, tags) that the routes fill in, served as JSON.

use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, header};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, ResponseBuilder};

use super::auth;
use super::error::ErrorBody;
use shortener_service::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "shortener", description = "URL shortener: links, redirects, click events and users."),
    tags(
        (name = "urls", description = "Short links, their events and stats"),
        (name = "redirect", description = "Following short links"),
        (name = "users", description = "Users and bulk import"),
        (name = "events", description = "The audit trail"),
        (name = "stats", description = "Click analytics across every link a key may read"),
        (name = "api-keys", description = "API keys made, listed and revoked by an admin key; a key with a user_id acts only as that user"),
        (name = "webhooks", description = "Signed deliveries of link events (Standard Webhooks), to an owner's or an admin's subscriptions"),
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

/// Documents the 413 of every operation that takes a body: the limits are layers of the
/// router (`JSON_BODY_LIMIT`, and `UPLOAD_BODY_LIMIT` on the CSV import), not of each
/// handler, so no handler's annotation states them.
pub fn document_body_limits(document: &mut Document) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            if operation.request_body.is_some() {
                add_error_answer(
                    operation,
                    "413",
                    "The body is larger than the limit (1 MiB of JSON, 8 KiB on the report route; 64 MiB of CSV)",
                );
            }
        }
    }
}

/// Adds the JSON error answer `status` to `operation`, unless its handler documents one.
fn add_error_answer(operation: &mut Operation, status: &str, description: &str) {
    let error = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/json", error)
        .build();
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert(RefOr::T(response));
}

/// The name of the bearer scheme in the document.
const API_KEY_SCHEME: &str = "api_key";

/// Documents the API keys on the guarded routes' document: the bearer scheme, and on each
/// operation its scope (from the table the middleware enforces) and the 401 and 403 it
/// may answer (and 429 on a create).
pub fn require_key(document: &mut Document) {
    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    for (path, item) in &mut document.paths.paths {
        let operations = [
            (Method::GET, &mut item.get),
            (Method::PUT, &mut item.put),
            (Method::POST, &mut item.post),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let scope = auth::required_scope(&method, path);
            operation.security = Some(vec![SecurityRequirement::new(
                API_KEY_SCHEME,
                [scope.as_str()],
            )]);
            let mut answers = vec![
                (
                    "401",
                    "No API key, or one that is not configured (when keys are set)",
                ),
                ("403", "The API key lacks the scope this operation needs"),
            ];
            if method == Method::POST {
                answers.push((
                    "429",
                    "The API key's create quota is spent (Retry-After says for how long)",
                ));
            }
            for (status, description) in answers {
                add_error_answer(operation, status, description);
            }
        }
    }
}
