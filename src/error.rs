//! The one error type of the HTTP API and the single JSON shape it renders.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbFailure;

/// Field name → what is wrong with it.
pub type FieldErrors = BTreeMap<String, String>;

/// Every way a request can fail, each knowing its status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; `details` names the offending fields, if any.
    #[error("{message}")]
    BadRequest {
        message: String,
        details: FieldErrors,
    },
    /// The addressed resource does not exist (or is deleted).
    #[error("{0}")]
    NotFound(String),
    /// The link exists but is past its expiry time.
    #[error("{0}")]
    Gone(String),
    /// The write conflicts with existing data (duplicate email, taken short code).
    #[error("{message}")]
    Conflict {
        message: String,
        details: FieldErrors,
    },
    /// The body is larger than the route accepts.
    #[error("request body is too large (limit {limit_bytes} bytes)")]
    PayloadTooLarge { limit_bytes: usize },
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A dependency (the database) is unreachable or saturated.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else: logged here, opaque to the client.
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a human.
    pub error: String,
    /// Per-field messages, present for field errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<FieldErrors>,
}

impl ApiError {
    /// A 400 without field details.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            details: FieldErrors::new(),
        }
    }

    /// A 400 naming one field.
    pub fn invalid_field(field: &str, problem: impl Into<String>) -> Self {
        Self::invalid_fields(FieldErrors::from([(field.to_owned(), problem.into())]))
    }

    /// A 400 naming several fields at once.
    pub fn invalid_fields(details: FieldErrors) -> Self {
        Self::BadRequest {
            message: "validation failed".to_owned(),
            details,
        }
    }

    /// A 409 naming the field that conflicts.
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Conflict {
            details: FieldErrors::from([(field.to_owned(), message.clone())]),
            message,
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Gone(_) => StatusCode::GONE,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Unique constraints and the field and message each stands for.
const UNIQUE_CONSTRAINTS: &[(&str, &str, &str)] = &[
    (
        "users_email_live_key",
        "email",
        "a user with this email already exists",
    ),
    (
        "urls_short_code_key",
        "short_code",
        "this short code is taken",
    ),
];

/// Foreign keys whose violation means a referenced row vanished meanwhile.
const FOREIGN_KEYS: &[(&str, &str)] = &[
    ("urls_user_id_fkey", "user not found"),
    ("events_url_id_fkey", "url not found"),
    ("events_user_id_fkey", "user not found"),
];

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error
            && let Some(constraint) = db.constraint()
        {
            if let Some((_, field, message)) = UNIQUE_CONSTRAINTS
                .iter()
                .find(|(name, ..)| *name == constraint)
            {
                return Self::conflict(field, *message);
            }
            if let Some((_, message)) = FOREIGN_KEYS.iter().find(|(name, _)| *name == constraint) {
                return Self::NotFound((*message).to_owned());
            }
        }
        if is_data_exception(&error) {
            return Self::bad_request(
                "a value in the request cannot be stored (invalid characters or out of range)",
            );
        }
        if DbFailure::of(&error).is_transient() {
            Self::Unavailable(error)
        } else {
            Self::Internal(error.into())
        }
    }
}

/// SQLSTATE class 22 (data exception): the input, not the server, is at fault
/// (e.g. a NUL byte in text, a number out of range).
fn is_data_exception(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().is_some_and(|code| code.starts_with("22")))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let db_error = match &self {
            Self::Internal(source) => {
                tracing::error!(error = ?source, "request failed");
                source.downcast_ref::<sqlx::Error>().map(DbFailure::of)
            }
            Self::Unavailable(source) => {
                tracing::warn!(error = %source, "dependency unavailable");
                Some(DbFailure::of(source))
            }
            _ => None,
        };
        let details = match self {
            Self::BadRequest { ref details, .. } | Self::Conflict { ref details, .. }
                if !details.is_empty() =>
            {
                Some(details.clone())
            }
            _ => None,
        };
        let body = ErrorBody {
            error: self.to_string(),
            details,
        };
        let mut response = (status, axum::Json(body)).into_response();
        // Counted by the access-log middleware, which owns the metrics.
        if let Some(kind) = db_error {
            response.extensions_mut().insert(kind);
        }
        response
    }
}
