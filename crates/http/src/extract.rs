//! Extractors whose rejections are [`ApiError`]s, so a malformed request looks like every other 400.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::{ApiError, FieldErrors};
use shortener_domain::Caller;

/// The body limit of the routes under a [`super::json_body_limit`] layer, for the 413's
/// message (axum's own limit is not readable); [`super::JSON_BODY_LIMIT`] elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct JsonBodyLimit(pub usize);

/// A JSON object body deserialized into `T`; anything else is a 400 (413 when too large).
/// Fields the handler ignores are not looked at; what it stores goes through a domain
/// parser, which refuses what Postgres cannot store (NUL in text or jsonb).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let value = json_body(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::bad_request("request body must be a JSON object"));
        }
        parse_json(value).map(ApiJson)
    }
}

/// A JSON array body, its items not yet looked at (each is parsed on its own: see
/// [`parse_json`]); anything else is a 400 (413 when too large).
#[derive(Debug)]
pub struct ApiJsonArray(pub Vec<Value>);

impl<S: Send + Sync> FromRequest<S> for ApiJsonArray {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match json_body(request, state).await? {
            Value::Array(items) => Ok(Self(items)),
            _ => Err(ApiError::bad_request("request body must be a JSON array")),
        }
    }
}

/// A JSON value deserialized into `T`; a mistake is a 400 naming its field.
pub fn parse_json<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| field_error(&error))
}

/// The body as JSON, within the route's limit, sent as JSON.
async fn json_body<S: Send + Sync>(request: Request, state: &S) -> Result<Value, ApiError> {
    if !has_json_content_type(&request) {
        return Err(ApiError::bad_request(
            "request body must be JSON (Content-Type: application/json)",
        ));
    }
    let limit_bytes = request
        .extensions()
        .get::<JsonBodyLimit>()
        .map_or(super::JSON_BODY_LIMIT, |limit| limit.0);
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit_bytes },
            _ => ApiError::bad_request(rejection.body_text()),
        })?;
    serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::bad_request(format!("invalid JSON: {error}")))
}

fn has_json_content_type(request: &Request) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| mime.trim().to_ascii_lowercase())
        .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"))
}

/// Turns a serde error into a 400 naming the field it concerns.
fn field_error(error: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let message = error.inner().to_string();
    // serde reports a missing field at the parent's path, naming it in the message.
    if let Some(missing) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return ApiError::invalid_field(missing, "is required");
    }
    let path = error.path().to_string();
    let problem = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    if path.is_empty() || path == "." {
        ApiError::bad_request(problem)
    } else {
        ApiError::invalid_field(&path, problem)
    }
}

/// Query parameters deserialized into `T` (whose fields are strings, parsed by the handler).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|query| ApiQuery(query.0))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// A path id written in plain digits; anything else is a 400 naming `id`.
#[derive(Debug, Clone, Copy)]
pub struct ApiId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ApiId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        path_id(&raw).map(ApiId)
    }
}

/// A path of a row id and a name (`/urls/{id}/stats/{dimension}`); the id as
/// [`ApiId`] takes it, the name as sent.
#[derive(Debug, Clone)]
pub struct ApiIdAndName(pub i64, pub String);

impl<S: Send + Sync> FromRequestParts<S> for ApiIdAndName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path((raw, name)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        Ok(Self(path_id(&raw)?, name))
    }
}

/// A path of two row ids (`/webhooks/{id}/deliveries/{delivery_id}`), each as [`ApiId`]
/// takes it.
#[derive(Debug, Clone, Copy)]
pub struct ApiIdPair(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ApiIdPair {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path((first, second)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        Ok(Self(path_id(&first)?, path_id(&second)?))
    }
}

/// An id written in plain digits: Rust's parser would also take "+1", an id spelled two
/// ways.
fn path_id(raw: &str) -> Result<i64, ApiError> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(ApiError::invalid_field("id", "must be a positive integer")),
    }
}

/// Parses an optional query value with `FromStr`, recording a field error on failure.
pub fn parse_param<T: std::str::FromStr>(
    raw: &Option<String>,
    field: &str,
    expected: &str,
    errors: &mut FieldErrors,
) -> Option<T> {
    let raw = raw.as_deref()?.trim();
    match raw.parse() {
        Ok(value) => Some(value),
        Err(_) => {
            errors.insert(field.to_owned(), format!("must be {expected}"));
            None
        }
    }
}

/// serde `deserialize_with` for an integer field: a JSON integer, or a number with no
/// fraction (`405.0`), which JSON Schema also counts as an integer, within `i64`.
pub fn json_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    integer_of(&number)
}

/// [`json_integer`] for an optional field (`null` or absent is `None`).
pub fn json_integer_or_null<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    integer_of(&number).map(Some)
}

/// `number` as an `i64`, or the field error saying it is not an integer.
fn integer_of<E: serde::de::Error>(number: &serde_json::Number) -> Result<i64, E> {
    exact_integer(number)
        .ok_or_else(|| E::custom(format!("invalid value: {number}, expected an integer")))
}

fn exact_integer(number: &serde_json::Number) -> Option<i64> {
    if let Some(integer) = number.as_i64() {
        return Some(integer);
    }
    // Beyond ±2^53 a float is not exact, so only smaller integral values are taken.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let float = number.as_f64()?;
    if float.fract() == 0.0 && float.abs() <= EXACT {
        // Integral and within ±2^53: the cast is exact.
        Some(float as i64)
    } else {
        None
    }
}

/// serde helper telling "absent" (`None`) from "null" (`Some(None)`) in partial updates.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// [`nullable`] for an integer field: absent is `None`, `null` is `Some(None)`, and a
/// number that is not an integer is refused as [`json_integer`] refuses it.
pub fn nullable_integer<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<i64>>, D::Error> {
    json_integer_or_null(deserializer).map(Some)
}

/// A partial update's field that may be absent but not `null` (a field error).
pub fn not_null<T>(value: Option<Option<T>>, field: &str, errors: &mut FieldErrors) -> Option<T> {
    match value? {
        None => {
            errors.insert(field.to_owned(), "must not be null".to_owned());
            None
        }
        Some(value) => Some(value),
    }
}

/// Parses a non-text field's value, noting a field error when it breaks the rule.
pub fn parse_value<R, T, E: std::fmt::Display>(
    raw: R,
    field: &str,
    errors: &mut FieldErrors,
    parse: impl Fn(R) -> Result<T, E>,
) -> Option<T> {
    parse(raw)
        .map_err(|e| errors.insert(field.to_owned(), e.to_string()))
        .ok()
}

/// Parses a field of a partial update: absent stays `None`, null or invalid is a field error.
pub fn parse_present<T, E: std::fmt::Display>(
    value: Option<Option<String>>,
    field: &str,
    errors: &mut FieldErrors,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    match value? {
        None => {
            errors.insert(field.to_owned(), "must not be null".to_owned());
            None
        }
        Some(raw) => parse(&raw)
            .map_err(|e| errors.insert(field.to_owned(), e.to_string()))
            .ok(),
    }
}

/// Parses a required field, recording a field error on failure.
pub fn parse_field<T, E: std::fmt::Display>(
    raw: &str,
    field: &str,
    errors: &mut FieldErrors,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    parse(raw)
        .map_err(|e| errors.insert(field.to_owned(), e.to_string()))
        .ok()
}

/// The host a request was addressed to (its `Host` header, else the URI's authority):
/// the service's own host, as the client knows it.
#[derive(Debug)]
pub struct RequestHost(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestHost {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|authority| authority.to_string()));
        Ok(Self(host))
    }
}

/// Who a guarded request acts as, as [`super::auth::guard`] let it in. A handler that
/// takes it on a route the guard does not cover answers 500: a route is never opened by
/// mistake.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Self)
            .ok_or_else(|| ApiError::internal("a guarded handler on a route without the key check"))
    }
}
