//! `GET /urls/{id}/clicks.csv`: a link's raw clicks still retained, as CSV, streamed a
//! page at a time (constant memory, no connection held between pages). Never an
//! address: the click events hold none.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::analytics::StatsRangeParams;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiCaller, ApiId, ApiQuery};
use super::schema::RowId;
use shortener_domain::{DateRange, Event, timestamp};
use shortener_service::analytics::{self, EXPORT_PAGE};
use shortener_service::app::AppState;

/// The columns, in order: the click's time, then its `details` keys.
const COLUMNS: [&str; 11] = [
    "timestamp",
    "class",
    "reason",
    "browser",
    "os",
    "device",
    "language",
    "country",
    "referrer_host",
    "referrer",
    "user_agent",
];

/// Export a link's raw clicks still retained (`CLICK_RETENTION_DAYS`) over a range of
/// days, in the order they were recorded, as CSV with the derived fields and no address.
#[utoipa::path(get, path = "/urls/{id}/clicks.csv", tag = "urls",
    params(("id" = inline(RowId), Path), StatsRangeParams),
    responses((status = 200, description = "CSV: timestamp, class, reason, browser, os, device, language, country, referrer_host, referrer, user_agent", content_type = "text/csv"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
    ApiQuery(params): ApiQuery<StatsRangeParams>,
) -> Result<Response, ApiError> {
    let range = params
        .range()
        .map_err(|(field, problem)| ApiError::invalid_field(&field, problem))?;
    let url_id = analytics::exportable_link(&state, &caller, id).await?;
    let pages = futures_util::stream::unfold(Some(Cursor::Header), move |cursor| {
        let state = state.clone();
        async move { next_chunk(&state, url_id, range, cursor?).await }
    });
    let disposition = format!("attachment; filename=\"clicks-{id}.csv\"");
    Ok((
        StatusCode::OK,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .map_err(|_| ApiError::internal("file name is not a header"))?,
            ),
        ],
        Body::from_stream(pages),
    )
        .into_response())
}

/// Where the download is.
#[derive(Clone, Copy)]
enum Cursor {
    Header,
    After(i64),
}

type Chunk = (Result<Bytes, std::io::Error>, Option<Cursor>);

/// The next piece of the file and where the one after starts (`None`: the end).
async fn next_chunk(
    state: &AppState,
    url_id: i64,
    range: DateRange,
    cursor: Cursor,
) -> Option<Chunk> {
    let after = match cursor {
        Cursor::Header => return Some((Ok(rows(&[], true)), Some(Cursor::After(0)))),
        Cursor::After(after) => after,
    };
    match analytics::export_page(state, url_id, range, after).await {
        Ok(page) if page.is_empty() => None,
        Ok(page) => {
            let full = page.len() as i64 >= EXPORT_PAGE;
            let next = page.last().map(|event| Cursor::After(event.id));
            Some((Ok(rows(&page, false)), next.filter(|_| full)))
        }
        Err(error) => {
            // The status line is gone: cutting the body short is all that is left, and
            // the client sees an incomplete transfer.
            tracing::error!(%error, url_id, "the click export failed part-way");
            Some((Err(std::io::Error::other("click export failed")), None))
        }
    }
}

/// The CSV lines of `events` (and the header line first, when asked).
fn rows(events: &[Event], header: bool) -> Bytes {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(events.len() * 256));
    // Writing to a Vec cannot fail.
    if header {
        let _ = out.write_record(COLUMNS);
    }
    for event in events {
        let time = timestamp::format(&event.timestamp);
        let fields = COLUMNS[1..].iter().map(|key| cell(event.details.get(*key)));
        let _ = out.write_record(std::iter::once(time).chain(fields));
    }
    Bytes::from(out.into_inner().unwrap_or_default())
}

/// A detail as a cell; a visitor's text that a spreadsheet would read as a formula (it
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`.
fn cell(value: Option<&Value>) -> String {
    match value.and_then(Value::as_str) {
        Some(text) if text.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{text}"),
        Some(text) => text.to_owned(),
        None => String::new(),
    }
}
