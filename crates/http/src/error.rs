//! The one error type of the HTTP API, the single JSON shape it renders, and how a
//! service error becomes it.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use shortener_domain::{PageError, Scope};
use shortener_service::DbFailure;
use shortener_service::ServiceError;
use shortener_service::imports::{IMPORT_RETRY_AFTER_SECS, ImportError, ImportsFull};

/// The challenge of a protected link followed without its password.
pub const LINK_PASSWORD_CHALLENGE: &str = "Link-Password realm=\"short link\"";

/// Field name → what is wrong with it.
pub type FieldErrors = BTreeMap<String, String>;

/// The cause of a 5xx, kept for the log line.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

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
    /// No API key, or one that is not configured.
    #[error("a valid API key is required: send Authorization: Bearer <key>")]
    Unauthorized,
    /// A protected short link was followed without its password (401, with a
    /// `Link-Password` challenge) or with a wrong one (403).
    #[error("{message}")]
    LinkPassword { message: String, wrong: bool },
    /// The API key is known but lacks the scope the route needs.
    #[error("this API key lacks the {0} scope")]
    Forbidden(Scope),
    /// The API key may not do this with a value the request gave; `details` names it.
    #[error("{message}")]
    NotPermitted {
        message: String,
        details: FieldErrors,
    },
    /// The API key's create quota is spent for now.
    #[error("too many {what}; retry in {retry_after_secs} s")]
    TooManyRequests {
        what: &'static str,
        retry_after_secs: u64,
    },
    /// An import cannot start now: 429 when its key runs as many as allowed, 503 when
    /// the replica does; both with `Retry-After`.
    #[error(transparent)]
    ImportsFull(ImportsFull),
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A dependency (the database) is unreachable or saturated.
    #[error("service temporarily unavailable")]
    Unavailable {
        failure: DbFailure,
        #[source]
        source: Cause,
    },
    /// The server cannot do it now for a reason of its own, said in the message.
    #[error("{0}")]
    Busy(String),
    /// Anything else: logged here, opaque to the client.
    #[error("internal server error")]
    Internal {
        failure: Option<DbFailure>,
        #[source]
        source: Cause,
    },
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
    /// The JSON body the error is answered with.
    pub fn body(&self) -> ErrorBody {
        let details = match self {
            Self::BadRequest { details, .. }
            | Self::Conflict { details, .. }
            | Self::NotPermitted { details, .. }
                if !details.is_empty() =>
            {
                Some(details.clone())
            }
            _ => None,
        };
        ErrorBody {
            error: self.to_string(),
            details,
        }
    }

    /// An internal error outside the database (logged, opaque to the client).
    pub fn internal(message: &'static str) -> Self {
        Self::Internal {
            failure: None,
            source: message.into(),
        }
    }

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
            Self::Unauthorized | Self::LinkPassword { wrong: false, .. } => {
                StatusCode::UNAUTHORIZED
            }
            Self::LinkPassword { wrong: true, .. } => StatusCode::FORBIDDEN,
            Self::Forbidden(_) | Self::NotPermitted { .. } => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } | Self::ImportsFull(ImportsFull::Key) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable { .. } | Self::Busy(_) | Self::ImportsFull(ImportsFull::Replica) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(resource) => Self::NotFound(format!("{resource} not found")),
            ServiceError::PasswordNeeded { wrong } => Self::LinkPassword {
                message: error.to_string(),
                wrong,
            },
            ServiceError::Expired | ServiceError::DestinationBlocked => {
                Self::Gone(error.to_string())
            }
            ServiceError::Conflict { field, message } => Self::conflict(field, message),
            ServiceError::Invalid { field, message } => Self::invalid_field(field, message),
            ServiceError::NeedsScope(scope) => Self::Forbidden(scope),
            ServiceError::Locked { .. } => Self::conflict("is_active", error.to_string()),
            ServiceError::RateLimited {
                what,
                retry_after_secs,
            } => Self::TooManyRequests {
                what,
                retry_after_secs,
            },
            ServiceError::NotPermitted { field, message } => Self::NotPermitted {
                message: message.to_owned(),
                details: FieldErrors::from([(field.to_owned(), message.to_owned())]),
            },
            ServiceError::Destination { field, refused } => {
                Self::invalid_field(field, refused.to_string())
            }
            ServiceError::Unstorable => Self::bad_request(error.to_string()),
            ServiceError::NoFreeShortCode { .. } | ServiceError::VisitsUncounted => {
                Self::Busy(error.to_string())
            }
            ServiceError::Import(import) => import_error(import),
            ServiceError::ImportsFull(full) => Self::ImportsFull(full),
            ServiceError::Database { failure, source } if failure.is_transient() => {
                Self::Unavailable {
                    failure,
                    source: source.into(),
                }
            }
            ServiceError::Database { failure, source } => Self::Internal {
                failure: Some(failure),
                source: source.into(),
            },
        }
    }
}

/// An import that failed as a whole: the upload's fault (400, or 413 when the body
/// limit cut it off), never the server's.
fn import_error(error: ImportError) -> ApiError {
    match error {
        ImportError::Io(io) => match io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<axum::extract::multipart::MultipartError>())
        {
            Some(multipart) if multipart.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge {
                    limit_bytes: super::UPLOAD_BODY_LIMIT,
                }
            }
            _ => ApiError::bad_request(format!("reading the upload failed: {io}")),
        },
        ImportError::MissingColumn(_) | ImportError::Unreadable(_) => {
            ApiError::invalid_field("file", error.to_string())
        }
        ImportError::Database(db) => ServiceError::from(db).into(),
    }
}

/// What a failed request's log line says, left on the response for the access-log
/// middleware, which writes it once with the request's id and route.
#[derive(Debug, Clone)]
pub(crate) struct FailureReport {
    pub severe: bool,
    pub message: &'static str,
    pub cause: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (db_error, report) = match &self {
            Self::Internal { failure, source } => (
                *failure,
                Some(FailureReport {
                    severe: true,
                    message: "request failed",
                    cause: format!("{source:?}"),
                }),
            ),
            Self::Unavailable { failure, source } => (
                Some(*failure),
                Some(FailureReport {
                    severe: false,
                    message: "dependency unavailable",
                    cause: source.to_string(),
                }),
            ),
            Self::Busy(reason) => (
                None,
                Some(FailureReport {
                    severe: false,
                    message: "request refused for now",
                    cause: reason.clone(),
                }),
            ),
            Self::ImportsFull(full @ ImportsFull::Replica) => (
                None,
                Some(FailureReport {
                    severe: false,
                    message: "request refused for now",
                    cause: full.to_string(),
                }),
            ),
            _ => (None, None),
        };
        let body = self.body();
        let challenge = match self {
            Self::Unauthorized => Some("Bearer realm=\"shortener\""),
            Self::LinkPassword { wrong: false, .. } => Some(LINK_PASSWORD_CHALLENGE),
            _ => None,
        };
        let retry_after = match self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => Some(retry_after_secs),
            Self::ImportsFull(_) => Some(IMPORT_RETRY_AFTER_SECS),
            _ => None,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        // Counted and logged by the access-log middleware, which owns the metrics and
        // knows the request.
        if let Some(kind) = db_error {
            response.extensions_mut().insert(kind);
        }
        if let Some(report) = report {
            response.extensions_mut().insert(report);
        }
        response
    }
}

impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        Self::invalid_fields(
            error
                .problems
                .into_iter()
                .map(|(field, problem)| (field.to_owned(), problem))
                .collect(),
        )
    }
}
