//! The one error type of the use cases, and how database errors become it: constraint
//! violations by name, bad values by SQLSTATE class, the rest by [`DbFailure`].

use crate::import_slots::ImportsFull;
use shortener_domain::LinkPolicyError;
use shortener_import::ImportError;
use shortener_store::DbFailure;

/// What a use case can be asked about that may not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A short link, by id or by code.
    Link,
    User,
    ApiKey,
    Webhook,
    /// One of a webhook's deliveries.
    WebhookDelivery,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Link => "link",
            Self::User => "user",
            Self::ApiKey => "API key",
            Self::Webhook => "webhook",
            Self::WebhookDelivery => "webhook delivery",
        })
    }
}

/// Every way a use case can fail.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The resource does not exist (or is deleted).
    #[error("{0} not found")]
    NotFound(Resource),
    /// The short link exists but is past its expiry.
    #[error("short link has expired")]
    Expired,
    /// The short link needs its password: none was sent (`wrong` false) or a wrong one.
    #[error("{}", if *wrong { "wrong password for this link" } else { "this link needs its password (X-Link-Password, or the form)" })]
    PasswordNeeded { wrong: bool },
    /// A person's visit to a capped link could not be counted (Postgres did not answer):
    /// it is not let through uncounted.
    #[error("this link's visits cannot be counted now; try again")]
    VisitsUncounted,
    /// The short link's destination has been blocked (`BLOCKED_DOMAINS`) since it was made.
    #[error("short link's destination is blocked")]
    DestinationBlocked,
    /// The write conflicts with existing data.
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: &'static str,
    },
    /// A value breaks a rule that needs the stored data to check.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    /// The link is locked by an operator: it cannot be turned back on.
    #[error("the link is locked by an operator: {reason}")]
    Locked { reason: String },
    /// Too many requests of this kind (`what`) from this client; the next is allowed
    /// after this.
    #[error("too many {what}; retry in {retry_after_secs} s")]
    RateLimited {
        what: &'static str,
        retry_after_secs: u64,
    },
    /// The caller's key lacks the scope this needs (the route's scope was not enough).
    #[error("this API key lacks the {0} scope")]
    NeedsScope(shortener_domain::Scope),
    /// The caller may not do this with the value it gave (an owner key naming another user).
    #[error("{message}")]
    NotPermitted {
        field: &'static str,
        message: &'static str,
    },
    /// A destination (`field`: the target or the fallback) is blocked, is the service
    /// itself, or is an internal address.
    #[error("{refused}")]
    Destination {
        field: &'static str,
        #[source]
        refused: LinkPolicyError,
    },
    /// A value cannot be stored (SQLSTATE class 22: NUL bytes, out of range).
    #[error("a value in the request cannot be stored (invalid characters or out of range)")]
    Unstorable,
    /// Every generated short code tried was taken.
    #[error("no free short code after {attempts} attempts; try again")]
    NoFreeShortCode { attempts: usize },
    /// A CSV import failed as a whole (bad header, unreadable upload, database).
    #[error(transparent)]
    Import(ImportError),
    /// An import cannot start now: its key or the replica runs as many as allowed.
    #[error(transparent)]
    ImportsFull(#[from] ImportsFull),
    /// A database error: transient ones mean "try again later".
    #[error("database error ({})", failure.label())]
    Database {
        failure: DbFailure,
        #[source]
        source: sqlx::Error,
    },
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
    (
        "api_keys_live_name_key",
        "name",
        "a live API key has this name",
    ),
];

/// Foreign keys whose violation means a referenced row vanished meanwhile.
const FOREIGN_KEYS: &[(&str, Resource)] = &[
    ("urls_user_id_fkey", Resource::User),
    ("events_audit_url_id_fkey", Resource::Link),
    ("events_audit_user_id_fkey", Resource::User),
];

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if let Some(constraint) = db.constraint() {
                if let Some((_, field, message)) = UNIQUE_CONSTRAINTS
                    .iter()
                    .find(|(name, ..)| *name == constraint)
                {
                    return Self::Conflict { field, message };
                }
                if let Some((_, resource)) =
                    FOREIGN_KEYS.iter().find(|(name, _)| *name == constraint)
                {
                    return Self::NotFound(*resource);
                }
            }
            if db.code().is_some_and(|code| code.starts_with("22")) {
                return Self::Unstorable;
            }
        }
        Self::Database {
            failure: DbFailure::of(&error),
            source: error,
        }
    }
}

impl From<ImportError> for ServiceError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Database(db) => db.into(),
            other => Self::Import(other),
        }
    }
}
