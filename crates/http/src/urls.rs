//! `/urls`: create, read, list, update and soft-delete short links; their events and stats.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, FieldErrors};
use super::extract::{
    ApiCaller, ApiId, ApiJson, ApiQuery, RequestHost, json_integer_or_null, not_null, nullable,
    nullable_integer, parse_field, parse_param, parse_present, parse_value,
};
use super::list::{Listed, PageParams};
use super::schema::{
    ExpiryText, MaxVisitsCount, PasswordText, RedirectStatusCode, RowId, ShortCodeText, TagText,
    TargetUrlText, TargetingRules, TargetingVariants, TitleText,
};
use super::views::{Event, Link};
use shortener_domain::{
    LinkBehaviour, LinkPassword, LinkPasswordError, LinkPreview, LinkPreviewError, RedirectStatus,
    Rule, ShortCode, TargetUrl, TargetingError, Title, Variant, parse_future_expiry,
    parse_max_visits, parse_rules, parse_tags, parse_variants, timestamp,
};
use shortener_service::app::AppState;
use shortener_service::links::{self, LinkChanges, NewLink};

/// Body of `POST /urls`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateLink {
    /// The destination (alias: `url`).
    #[serde(alias = "url")]
    #[schema(value_type = TargetUrlText)]
    pub original_url: String,
    /// Owner; must be an existing user.
    #[serde(default, deserialize_with = "json_integer_or_null")]
    pub user_id: Option<i64>,
    #[schema(value_type = Option<TitleText>)]
    pub title: Option<String>,
    /// Custom code; generated when absent.
    #[schema(value_type = Option<ShortCodeText>)]
    pub short_code: Option<String>,
    /// When the link stops redirecting; never when absent.
    #[schema(value_type = Option<ExpiryText>)]
    pub expires_at: Option<String>,
    /// A cap on human visits; none when absent.
    #[serde(default, deserialize_with = "json_integer_or_null")]
    #[schema(value_type = Option<MaxVisitsCount>)]
    pub max_visits: Option<i64>,
    /// Where visitors go once the link has expired or used up its visits, instead of a
    /// 410; the same rules as `original_url`.
    #[schema(value_type = Option<TargetUrlText>)]
    pub expired_url: Option<String>,
    /// 302 when absent.
    #[serde(default, deserialize_with = "json_integer_or_null")]
    #[schema(value_type = Option<RedirectStatusCode>)]
    pub redirect_status: Option<i64>,
    /// Whether the visitor's query string is added to the target's (the target's
    /// parameters win a clash of names); `false` when absent.
    pub forward_query: Option<bool>,
    /// Short names to find the link by; none when absent.
    #[schema(value_type = Option<Vec<TagText>>, max_items = 20)]
    pub tags: Option<Vec<String>>,
    /// What link unfurlers (chat and social apps) are shown instead of a redirect.
    pub preview: Option<PreviewBody>,
    /// Visitors must give it (a form, or `X-Link-Password`); write-only, stored as an
    /// argon2id hash.
    #[schema(value_type = Option<PasswordText>)]
    pub password: Option<SecretText>,
    /// Targeting rules, in order; none when absent.
    #[schema(value_type = Option<TargetingRules>)]
    pub rules: Option<Vec<Rule>>,
    /// An A/B split; none when absent.
    #[schema(value_type = Option<TargetingVariants>)]
    pub variants: Option<Vec<Variant>>,
}

/// A secret as sent: never shown by `Debug`, so never in a log line.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(..)")
    }
}

impl SecretText {
    pub fn parse(&self) -> Result<LinkPassword, LinkPasswordError> {
        LinkPassword::parse(&self.0)
    }
}

/// A link's custom preview: each part optional; with none, no preview.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewBody {
    #[schema(value_type = Option<TitleText>)]
    pub title: Option<String>,
    /// At most 1,000 characters, no NUL.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// An image's absolute http(s) URL.
    #[schema(value_type = Option<TargetUrlText>)]
    pub image: Option<String>,
}

impl PreviewBody {
    fn parse(self) -> Result<Option<LinkPreview>, LinkPreviewError> {
        LinkPreview::parse(
            self.title.as_deref(),
            self.description.as_deref(),
            self.image.as_deref(),
        )
    }
}

/// Body of `PUT /urls/{id}`: only the fields present change; `null` clears title or expiry.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateLink {
    /// A new destination (not `null`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = TargetUrlText, required = false)]
    pub original_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<TitleText>, required = false)]
    pub title: Option<Option<String>>,
    /// Whether the link redirects (not `null`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool, required = false)]
    pub is_active: Option<Option<bool>>,
    /// A new expiry; `null` removes it. A past time is accepted here: it ends the link.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<ExpiryText>, required = false)]
    pub expires_at: Option<Option<String>>,
    /// A new cap on human visits; `null` removes it. A cap set where there was none counts
    /// visits from zero; a changed cap goes on counting.
    #[serde(default, deserialize_with = "nullable_integer")]
    #[schema(value_type = Option<MaxVisitsCount>, required = false)]
    pub max_visits: Option<Option<i64>>,
    /// A new fallback for an ended link; `null` removes it (an ended link answers 410).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<TargetUrlText>, required = false)]
    pub expired_url: Option<Option<String>>,
    /// A new redirect status (not `null`).
    #[serde(default, deserialize_with = "nullable_integer")]
    #[schema(value_type = RedirectStatusCode, required = false)]
    pub redirect_status: Option<Option<i64>>,
    /// Whether the visitor's query string is forwarded (not `null`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool, required = false)]
    pub forward_query: Option<Option<bool>>,
    /// The whole new list of tags; `null` or `[]` removes them all.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<TagText>>, max_items = 20, required = false)]
    pub tags: Option<Option<Vec<String>>>,
    /// A new preview (replaced whole); `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<PreviewBody>, required = false)]
    pub preview: Option<Option<PreviewBody>>,
    /// A new password; `null` removes it (the link opens to everyone).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<PasswordText>, required = false)]
    pub password: Option<Option<SecretText>>,
    /// The whole new list of rules; `null` or `[]` removes them.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<TargetingRules>, required = false)]
    pub rules: Option<Option<Vec<Rule>>>,
    /// A new split (replaced whole); `null` or `[]` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<TargetingVariants>, required = false)]
    pub variants: Option<Option<Vec<Variant>>>,
}

/// The `tag` parameters of a list's query, each parsed, at most 20 (else a field error).
/// Read from the query itself: a repeated parameter is not a field of a struct.
fn tags_of(query: &str, errors: &mut FieldErrors) -> Vec<String> {
    let raw: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "tag")
        .map(|(_, value)| value.into_owned())
        .collect();
    parse_value(raw, "tag", errors, |raw| parse_tags(&raw)).unwrap_or_default()
}

/// Rules or variants parsed, a fault named by its path in the body (`rules.2.if.os`).
fn targeting<T>(
    raw: Vec<T>,
    errors: &mut FieldErrors,
    parse: impl FnOnce(Vec<T>) -> Result<Vec<T>, TargetingError>,
) -> Option<Vec<T>> {
    parse(raw)
        .map_err(|error| errors.insert(error.path, error.message))
        .ok()
}

/// Filters of `GET /urls`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkListParams {
    /// Only this user's links.
    #[param(value_type = i64, required = false)]
    pub user_id: Option<String>,
    /// Only active (`true`) or inactive (`false`) links.
    #[param(value_type = bool, required = false)]
    pub is_active: Option<String>,
}

/// Shorten a URL.
#[utoipa::path(post, path = "/urls", tag = "urls", request_body = CreateLink,
    responses((status = 201, body = Link, headers(("Location" = String, description = "The new link: /urls/{id}"))), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    RequestHost(via): RequestHost,
    ApiJson(body): ApiJson<CreateLink>,
) -> Result<impl IntoResponse, ApiError> {
    let new = new_link_of(body)?;
    let link = Link::from(links::create(&state, &caller, new, via.as_deref()).await?);
    let location = format!("/urls/{}", link.id);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        axum::Json(link),
    ))
}

/// A link to create from its body: each field parsed by its rule, every bad one named in
/// one 400 (also for each item of `POST /urls/bulk`).
pub fn new_link_of(body: CreateLink) -> Result<NewLink, ApiError> {
    let mut errors = FieldErrors::new();
    let original_url = parse_field(
        &body.original_url,
        "original_url",
        &mut errors,
        TargetUrl::parse,
    );
    let title = body
        .title
        .and_then(|raw| parse_field(&raw, "title", &mut errors, Title::parse));
    let code = body
        .short_code
        .as_deref()
        .map(|raw| parse_field(raw, "short_code", &mut errors, ShortCode::parse));
    let now = Utc::now();
    let expires_at = body.expires_at.as_deref().map(|raw| {
        parse_field(raw, "expires_at", &mut errors, |raw| {
            parse_future_expiry(raw, now)
        })
    });
    let behaviour = LinkBehaviour {
        max_visits: body
            .max_visits
            .and_then(|raw| parse_value(raw, "max_visits", &mut errors, parse_max_visits)),
        expired_url: body
            .expired_url
            .as_deref()
            .and_then(|raw| parse_field(raw, "expired_url", &mut errors, TargetUrl::parse)),
        redirect_status: body
            .redirect_status
            .and_then(|raw| {
                parse_value(
                    raw,
                    "redirect_status",
                    &mut errors,
                    RedirectStatus::from_code,
                )
            })
            .unwrap_or_default(),
        forward_query: body.forward_query.unwrap_or(false),
        preview: body
            .preview
            .and_then(|preview| parse_value(preview, "preview", &mut errors, PreviewBody::parse))
            .flatten(),
        password: body.password.and_then(|password| {
            parse_value(&password, "password", &mut errors, SecretText::parse)
        }),
        rules: body
            .rules
            .and_then(|rules| targeting(rules, &mut errors, parse_rules))
            .unwrap_or_default(),
        variants: body
            .variants
            .and_then(|variants| targeting(variants, &mut errors, parse_variants))
            .unwrap_or_default(),
    };
    let tags = parse_value(body.tags.unwrap_or_default(), "tags", &mut errors, |raw| {
        parse_tags(&raw)
    });
    let (Some(original_url), Some(tags), true) = (original_url, tags, errors.is_empty()) else {
        return Err(ApiError::invalid_fields(errors));
    };
    Ok(NewLink {
        user_id: body.user_id,
        original_url,
        title: title.flatten(),
        expires_at: expires_at.flatten(),
        code: code.flatten(),
        behaviour,
        tags,
    })
}

/// List live links in id order, optionally by owner and state.
#[utoipa::path(get, path = "/urls", tag = "urls", params(LinkListParams, PageParams,
        ("tag" = Option<Vec<TagText>>, Query, description = "Only links holding this tag; repeated (`tag=a&tag=b`), links holding all of them", explode, style = Form)),
    responses((status = 200, body = Vec<Link>, headers(("X-Total-Count" = i64, description = "Exact number of items across all pages"), ("Link" = String, description = "RFC 8288 rel=\"next\": the next page, by the after cursor; absent on the last page"))), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    OriginalUri(uri): OriginalUri,
    ApiQuery(params): ApiQuery<LinkListParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Listed<Link>, ApiError> {
    let mut errors = FieldErrors::new();
    let filter = links::Filter {
        user_id: parse_param(&params.user_id, "user_id", "an integer", &mut errors),
        is_active: parse_param(&params.is_active, "is_active", "true or false", &mut errors),
        tags: tags_of(uri.query().unwrap_or(""), &mut errors),
    };
    let page = page.page();
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    Ok(Listed::of(
        links::list(&state, &caller, filter, page?).await?,
        &uri,
    ))
}

/// Get one link.
#[utoipa::path(get, path = "/urls/{id}", tag = "urls", params(("id" = inline(RowId), Path)),
    responses((status = 200, body = Link), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
) -> Result<axum::Json<Link>, ApiError> {
    Ok(axum::Json(links::get(&state, &caller, id).await?.into()))
}

/// Change a link's destination, title, state or expiry; one `updated` event per changed field.
#[utoipa::path(put, path = "/urls/{id}", tag = "urls", params(("id" = inline(RowId), Path)), request_body = UpdateLink,
    responses((status = 200, body = Link), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
               (status = 409, description = "is_active: true for a link whose owner is deleted", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    RequestHost(via): RequestHost,
    ApiId(id): ApiId,
    ApiJson(body): ApiJson<UpdateLink>,
) -> Result<axum::Json<Link>, ApiError> {
    let mut errors = FieldErrors::new();
    let changes = LinkChanges {
        original_url: parse_present(
            body.original_url,
            "original_url",
            &mut errors,
            TargetUrl::parse,
        ),
        title: body.title.map(|title| {
            title.and_then(|raw| parse_field(&raw, "title", &mut errors, Title::parse).flatten())
        }),
        is_active: not_null(body.is_active, "is_active", &mut errors),
        expires_at: body.expires_at.map(|expiry| {
            expiry.and_then(|raw| parse_field(&raw, "expires_at", &mut errors, timestamp::parse))
        }),
        max_visits: body.max_visits.map(|cap| {
            cap.and_then(|raw| parse_value(raw, "max_visits", &mut errors, parse_max_visits))
        }),
        expired_url: body.expired_url.map(|fallback| {
            fallback.and_then(|raw| parse_field(&raw, "expired_url", &mut errors, TargetUrl::parse))
        }),
        redirect_status: not_null(body.redirect_status, "redirect_status", &mut errors).and_then(
            |raw| {
                parse_value(
                    raw,
                    "redirect_status",
                    &mut errors,
                    RedirectStatus::from_code,
                )
            },
        ),
        forward_query: not_null(body.forward_query, "forward_query", &mut errors),
        password: body.password.map(|password| {
            password.and_then(|password| {
                parse_value(&password, "password", &mut errors, SecretText::parse)
            })
        }),
        preview: body.preview.map(|preview| {
            preview.and_then(|preview| {
                parse_value(preview, "preview", &mut errors, PreviewBody::parse).flatten()
            })
        }),
        tags: body.tags.and_then(|tags| {
            parse_value(tags.unwrap_or_default(), "tags", &mut errors, |raw| {
                parse_tags(&raw)
            })
        }),
        rules: body
            .rules
            .and_then(|rules| targeting(rules.unwrap_or_default(), &mut errors, parse_rules)),
        variants: body.variants.and_then(|variants| {
            targeting(variants.unwrap_or_default(), &mut errors, parse_variants)
        }),
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    Ok(axum::Json(
        links::update(&state, &caller, id, changes, via.as_deref())
            .await?
            .into(),
    ))
}

/// Soft-delete a link; a `deleted` event is written.
#[utoipa::path(delete, path = "/urls/{id}", tag = "urls", params(("id" = inline(RowId), Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiId(id): ApiId,
) -> Result<StatusCode, ApiError> {
    links::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A link's events in id order.
#[utoipa::path(get, path = "/urls/{id}/events", tag = "urls", params(("id" = inline(RowId), Path), PageParams),
    responses((status = 200, body = Vec<Event>, headers(("X-Total-Count" = i64, description = "Exact number of items across all pages"), ("Link" = String, description = "RFC 8288 rel=\"next\": the next page, by the after cursor; absent on the last page"))), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn link_events(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    OriginalUri(uri): OriginalUri,
    ApiId(id): ApiId,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Listed<Event>, ApiError> {
    let page = params.page()?;
    Ok(Listed::of(
        links::events(&state, &caller, id, page).await?,
        &uri,
    ))
}
