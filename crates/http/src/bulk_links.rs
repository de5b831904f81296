//! `POST /urls/bulk`: up to 1,000 links in one call, each created or refused on its own
//! (or all or none with `all_or_nothing=true`), and idempotent with an `Idempotency-Key`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{ApiCaller, ApiJsonArray, ApiQuery, RequestHost, parse_json, parse_param};
use super::urls::{CreateLink, new_link_of};
use super::views::Link;
use shortener_service::app::AppState;
use shortener_service::bulk_links::{self, Answer, IdempotencyKey, Keep, Outcomes};

/// Most links one call may create.
pub const MAX_ITEMS: usize = 1000;

/// The body limit of the call: a thousand links of the longest URLs, titles and tags.
pub const BULK_BODY_LIMIT: usize = 8 * 1024 * 1024;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Parameters of `POST /urls/bulk`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BulkParams {
    /// `true`: any refused item refuses the whole call (400) and creates nothing.
    /// `false` (default): each item is created or refused on its own.
    #[param(value_type = Option<bool>)]
    pub all_or_nothing: Option<String>,
}

/// What one item came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItem {
    /// The item's position in the body, from 0.
    pub index: usize,
    /// What `POST /urls` would have answered for it: 201, or its error's status.
    pub status: u16,
    /// The link created (status 201).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    /// Why it was refused (any other status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// The answer of `POST /urls/bulk`: how many were created and refused, and each item in
/// the body's order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub created: usize,
    pub refused: usize,
    pub items: Vec<BulkItem>,
}

/// Create up to 1,000 links. Each item is what `POST /urls` takes and is checked by its
/// rules; each takes a unit of the key's create quota. With `Idempotency-Key` (1 to 255
/// visible ASCII characters), a retry within 24 hours answers what the first call was
/// answered (`Idempotent-Replayed: true`) and creates nothing; the same key with another
/// body is a 409.
#[utoipa::path(post, path = "/urls/bulk", tag = "urls", params(BulkParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first call's answer without creating twice (kept 24 h)")),
    request_body(content = Vec<CreateLink>, description = "1 to 1,000 links, each as `POST /urls` takes it"),
    responses((status = 200, body = BulkResult, description = "Each item created or refused on its own"),
              (status = 201, body = BulkResult, description = "all_or_nothing: every item created"),
              (status = 400, body = ErrorBody, description = "Not an array of 1 to 1,000 items; or all_or_nothing with a refused item: each named in `details` as `<index>` or `<index>.<field>`"),
              (status = 409, body = ErrorBody, description = "The Idempotency-Key was used with another request"),
              (status = 413, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    RequestHost(via): RequestHost,
    ApiQuery(params): ApiQuery<BulkParams>,
    headers: HeaderMap,
    ApiJsonArray(values): ApiJsonArray,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::new();
    let all_or_nothing = parse_param(
        &params.all_or_nothing,
        "all_or_nothing",
        "true or false",
        &mut errors,
    )
    .unwrap_or(false);
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    if values.is_empty() || values.len() > MAX_ITEMS {
        return Err(ApiError::bad_request(format!(
            "the body must be an array of 1 to {MAX_ITEMS} links, not {}",
            values.len()
        )));
    }
    let idempotency = idempotency_key(&headers, all_or_nothing, &values)?;
    bulk_links::take_quota(&state, &caller, values.len())?;
    let count = values.len();
    let mut parsed: Vec<Result<_, ApiError>> = Vec::with_capacity(count);
    for value in values {
        parsed.push(parse_json::<CreateLink>(value).and_then(new_link_of));
    }
    // With all_or_nothing and an item refused already, the others are still tried (and
    // rolled back): the answer names every item that would be refused.
    let (valid, refused): (Vec<_>, Vec<_>) = parsed
        .into_iter()
        .enumerate()
        .partition(|(_, item)| item.is_ok());
    let valid_at: Vec<usize> = valid.iter().map(|(index, _)| *index).collect();
    let new_links = valid
        .into_iter()
        .filter_map(|(_, item)| item.ok())
        .collect();
    let refused_before: Vec<(usize, ApiError)> = refused
        .into_iter()
        .filter_map(|(index, item)| item.err().map(|error| (index, error)))
        .collect();
    let keep = if all_or_nothing {
        Keep::AllOrNothing {
            refused_already: !refused_before.is_empty(),
        }
    } else {
        Keep::Each
    };
    let (answer, replayed) = bulk_links::create_many(
        &state,
        &caller,
        new_links,
        via.as_deref(),
        keep,
        idempotency,
        |outcomes| render(outcomes, &valid_at, &refused_before, count, all_or_nothing),
    )
    .await?;
    let status = StatusCode::from_u16(answer.status)
        .map_err(|_| ApiError::internal("a kept answer has a status"))?;
    let mut response = (status, axum::Json(answer.body)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The `Idempotency-Key` and a digest of what the call asks; a malformed key is a 400.
fn idempotency_key(
    headers: &HeaderMap,
    all_or_nothing: bool,
    values: &[serde_json::Value],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(raw) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = raw
        .to_str()
        .ok()
        .filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid_field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
        })?;
    let mut digest = Sha256::new();
    digest.update(if all_or_nothing { "all|" } else { "each|" });
    digest.update(serde_json::to_vec(values).unwrap_or_default());
    let request_digest = digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(Some(IdempotencyKey {
        key: key.to_owned(),
        request_digest,
    }))
}

/// The answer of a call, from what each item came to.
fn render(
    outcomes: Outcomes,
    valid_at: &[usize],
    refused_before: &[(usize, ApiError)],
    count: usize,
    all_or_nothing: bool,
) -> Answer {
    let mut items: Vec<BulkItem> = Vec::with_capacity(count);
    for (outcome, index) in outcomes.items.into_iter().zip(valid_at) {
        items.push(match outcome {
            Ok(link) => BulkItem {
                index: *index,
                status: StatusCode::CREATED.as_u16(),
                link: Some(Link::from(link)),
                error: None,
            },
            Err(error) => refused_item(*index, &ApiError::from(error)),
        });
    }
    items.extend(
        refused_before
            .iter()
            .map(|(index, error)| refused_item(*index, error)),
    );
    items.sort_by_key(|item| item.index);
    if !outcomes.committed {
        let error = all_refused(&items, count);
        return Answer {
            status: error.status().as_u16(),
            body: serde_json::to_value(error.body()).unwrap_or_default(),
        };
    }
    let created = items.iter().filter(|item| item.link.is_some()).count();
    let result = BulkResult {
        created,
        refused: items.len() - created,
        items,
    };
    Answer {
        status: if all_or_nothing { 201 } else { 200 },
        body: serde_json::to_value(result).unwrap_or_default(),
    }
}

fn refused_item(index: usize, error: &ApiError) -> BulkItem {
    BulkItem {
        index,
        status: error.status().as_u16(),
        link: None,
        error: Some(error.body()),
    }
}

/// The 400 of an all-or-nothing call with refused items: each named in `details` by its
/// index, with its field when the refusal names one.
fn all_refused(items: &[BulkItem], count: usize) -> ApiError {
    let mut details = FieldErrors::new();
    let mut refused = 0;
    for item in items {
        let Some(error) = &item.error else { continue };
        refused += 1;
        match &error.details {
            Some(fields) => {
                for (field, message) in fields {
                    details.insert(format!("{}.{field}", item.index), message.clone());
                }
            }
            None => {
                details.insert(item.index.to_string(), error.error.clone());
            }
        }
    }
    ApiError::BadRequest {
        message: format!(
            "{refused} of {count} items refused with all_or_nothing: nothing was created"
        ),
        details,
    }
}
