//! `POST /users/bulk`: a multipart CSV upload of users, streamed into the database.

use axum::body::Bytes;
use axum::extract::multipart::Field;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::ApiCaller;
use super::views::ImportReport;
use shortener_service::app::AppState;
use shortener_service::imports::{self, ImportSlot};

/// Upload chunks buffered between the HTTP body and the CSV reader.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The multipart form of a bulk import (documentation only).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the multipart form in the OpenAPI document"
)]
pub struct BulkUpload {
    /// CSV with header `username,email` and optionally `id`, `created_at`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Import users from a CSV file; bad rows are reported, good rows imported.
#[utoipa::path(post, path = "/users/bulk", tag = "users",
    request_body(content = BulkUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = ImportReport), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "The API key already runs an import, or its create quota is spent (Retry-After says when to try again)"),
        (status = 503, body = ErrorBody, description = "The replica already runs as many imports as it may (Retry-After says when to try again)")))]
pub async fn import_users(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, axum::Json<ImportReport>), ApiError> {
    // Before the body is read: a refused upload costs nothing.
    let slot = imports::reserve(&state, caller.actor())?;
    let mut multipart =
        multipart.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    loop {
        let Some(field) = multipart.next_field().await.map_err(multipart_error)? else {
            return Err(ApiError::invalid_field(
                "file",
                "is required (multipart field 'file')",
            ));
        };
        if field.name() == Some("file") {
            let report = import_field(&state, &slot, field).await?;
            return Ok((StatusCode::CREATED, axum::Json(report)));
        }
    }
}

/// Feeds the field's chunks through a small channel to the blocking CSV reader, so the
/// upload is parsed as it arrives and memory stays bounded.
async fn import_field(
    state: &AppState,
    slot: &ImportSlot<'_>,
    mut field: Field<'_>,
) -> Result<ImportReport, ApiError> {
    let (chunks, received) = mpsc::channel::<std::io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    let stream = futures_util::stream::unfold(received, |mut received| async move {
        received.recv().await.map(|chunk| (chunk, received))
    });
    let reader = SyncIoBridge::new(StreamReader::new(Box::pin(stream)));
    let pump = async move {
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => break,
                Err(error) => Err(std::io::Error::other(error)),
            };
            let failed = chunk.is_err();
            // A send fails only when the importer has stopped: then nobody reads on.
            if chunks.send(chunk).await.is_err() || failed {
                break;
            }
        }
    };
    let (_, report) = tokio::join!(pump, imports::users(state, slot, reader));
    Ok(report?.into())
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    match error.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            limit_bytes: super::UPLOAD_BODY_LIMIT,
        },
        _ => ApiError::bad_request(error.body_text()),
    }
}
