//! `GET /urls/{id}/qr`: a link's QR code, encoding its short URL, as SVG or PNG, with an
//! `ETag` (the image depends only on the short URL, the format and the size).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{ApiCaller, ApiId, ApiQuery, RequestHost, parse_param};
use super::qr_image;
use super::schema::RowId;
use shortener_service::app::AppState;
use shortener_service::links;

/// Smallest and largest image side, in pixels, and the default.
const MIN_SIZE: u32 = 64;
const MAX_SIZE: u32 = 2048;
const DEFAULT_SIZE: u32 = 256;

/// How long a client may keep an image without asking again: a link's code never
/// changes, so its image changes only with `PUBLIC_BASE_URL`.
const KEPT_FOR_A_DAY: &str = "private, max-age=86400";

/// The parameters of `GET /urls/{id}/qr`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrParams {
    /// `svg` (default) or `png`.
    #[param(value_type = Option<String>, pattern = "^(svg|png)$")]
    pub format: Option<String>,
    /// The image's side in pixels, 64 to 2048 (default 256).
    #[param(value_type = Option<u32>, minimum = 64, maximum = 2048)]
    pub size: Option<String>,
}

/// The image formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
        }
    }
}

/// A link's QR code: its short URL (`PUBLIC_BASE_URL`, else the request's host, and the
/// code), error correction level M, a 4-module quiet zone.
#[utoipa::path(get, path = "/urls/{id}/qr", tag = "urls", params(("id" = inline(RowId), Path), QrParams),
    responses((status = 200, description = "The QR code (image/svg+xml or image/png)",
                content(("image/svg+xml"), ("image/png")),
                headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified: the If-None-Match named this image"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn qr(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    RequestHost(host): RequestHost,
    ApiId(id): ApiId,
    ApiQuery(params): ApiQuery<QrParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (format, size) = parse(&params)?;
    let short_url = links::short_url(&state, &caller, id, host.as_deref()).await?;
    let etag = etag_of(&short_url, format, size);
    let matched = headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let etag_header =
        HeaderValue::from_str(&etag).map_err(|_| ApiError::internal("an ETag is ASCII"))?;
    let cache_control = HeaderValue::from_static(KEPT_FOR_A_DAY);
    if matched {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(ETAG, etag_header), (CACHE_CONTROL, cache_control)],
        )
            .into_response());
    }
    let image = match format {
        Format::Svg => qr_image::svg(&short_url, size).map(String::into_bytes),
        Format::Png => qr_image::png(&short_url, size),
    }
    .ok_or_else(|| ApiError::internal("a short URL always fits a QR code"))?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (ETAG, etag_header),
            (CACHE_CONTROL, cache_control),
        ],
        image,
    )
        .into_response())
}

/// The format and size asked for, or a 400 naming each bad parameter.
fn parse(params: &QrParams) -> Result<(Format, u32), ApiError> {
    let mut errors = FieldErrors::new();
    let format = match params.format.as_deref().map(str::trim) {
        None | Some("svg") => Some(Format::Svg),
        Some("png") => Some(Format::Png),
        Some(_) => {
            errors.insert("format".into(), "must be svg or png".into());
            None
        }
    };
    let size = parse_param::<u32>(
        &params.size,
        "size",
        "an integer from 64 to 2048",
        &mut errors,
    )
    .unwrap_or(DEFAULT_SIZE);
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        errors.insert("size".into(), "must be an integer from 64 to 2048".into());
    }
    match format {
        Some(format) if errors.is_empty() => Ok((format, size)),
        _ => Err(ApiError::invalid_fields(errors)),
    }
}

/// A strong validator of the image: a digest of what it is drawn from.
fn etag_of(short_url: &str, format: Format, size: u32) -> String {
    let digest = Sha256::digest(format!("qr1|{short_url}|{format:?}|{size}|M"));
    let hex: String = digest[..12]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
}
