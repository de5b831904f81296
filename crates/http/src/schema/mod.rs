//! The OpenAPI schemas of the API's text inputs and ids, built from the domain's own
//! limits and patterns, so that the document states the rules the handlers enforce and
//! cannot drift from them.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type,
};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use shortener_domain::{
    EMAIL_PATTERN, EventType, FUTURE_EXPIRY_PATTERN, MAX_EMAIL_CHARS, MAX_EVENT_TYPE_CHARS,
    MAX_SHORT_CODE_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS, MAX_USERNAME_CHARS, MIN_SHORT_CODE_CHARS,
    ShortCode, TARGET_URL_PATTERN, TITLE_PATTERN, Username,
};

/// A string schema with the given length bounds, pattern, description and example.
fn text(
    lengths: (usize, usize),
    pattern: Option<String>,
    description: &str,
    example: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(lengths.0))
        .max_length(Some(lengths.1))
        .pattern(pattern)
        .description(Some(description))
        .examples([example])
        .into()
}

/// Declares a marker type whose schema is `$body`, published as `$name` (with the
/// schemas it refers to, if any, in `$refers_to`).
macro_rules! schema {
    ($(#[$doc:meta])* $type:ident, $name:literal, $body:expr) => {
        schema!($(#[$doc])* $type, $name, $body, []);
    };
    ($(#[$doc:meta])* $type:ident, $name:literal, $body:expr, [$($refers_to:ident),*]) => {
        $(#[$doc])*
        pub struct $type;

        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                $body
            }
        }

        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schemas(_schemas: &mut Vec<(String, RefOr<Schema>)>) {
                $(_schemas.push(($refers_to::name().into_owned(), $refers_to::schema()));)*
            }
        }
    };
}

schema!(
    /// A custom short code ([`ShortCode::parse`]).
    ShortCodeText,
    "ShortCode",
    text(
        (MIN_SHORT_CODE_CHARS, MAX_SHORT_CODE_CHARS),
        Some(ShortCode::pattern()),
        "Letters, digits, `_` and `-`; not one of the service's own paths (`health`, \
         `urls`, ...), in any case.",
        "my-link",
    )
);

schema!(
    /// A link's destination ([`shortener_domain::TargetUrl::parse`]).
    TargetUrlText,
    "TargetUrl",
    text(
        (1, MAX_URL_CHARS),
        Some(TARGET_URL_PATTERN.to_owned()),
        "An absolute http(s) URL with a host and no user info (`user@host`), not a \
         blocked domain or address and not this service; loopback, private, link-local, \
         carrier-grade NAT, unspecified, multicast, broadcast and reserved addresses and \
         `localhost` names are refused (the internal ones are allowed where the service \
         runs with ALLOW_PRIVATE_TARGETS). The pattern is a part of what is accepted: \
         every URL it matches is valid; public IP hosts and non-ASCII URLs are accepted \
         too.",
        "https://example.com/some/page?ref=1",
    )
);

schema!(
    /// A link's title ([`shortener_domain::Title::parse`]).
    TitleText,
    "Title",
    text(
        (0, MAX_TITLE_CHARS),
        Some(TITLE_PATTERN.to_owned()),
        "No NUL character; kept trimmed; blank means no title.",
        "Launch notes",
    )
);

schema!(
    /// A user's name ([`Username::parse`]).
    UsernameText,
    "Username",
    text(
        (1, MAX_USERNAME_CHARS),
        Some(Username::pattern()),
        "No control characters and not only whitespace; kept trimmed; need not be unique.",
        "ada",
    )
);

schema!(
    /// A user's e-mail address ([`shortener_domain::Email::parse`]).
    EmailText,
    "Email",
    text(
        (3, MAX_EMAIL_CHARS),
        Some(EMAIL_PATTERN.to_owned()),
        "Unique among users, case-insensitively. The pattern is HTML's valid e-mail \
         address; internationalised domains and IP literals are accepted too.",
        "ada@example.com",
    )
);

schema!(
    /// The type of a client's audit event ([`EventType::parse`]).
    EventTypeText,
    "EventType",
    text(
        (1, MAX_EVENT_TYPE_CHARS),
        Some(EventType::pattern()),
        "Not only whitespace; kept trimmed. Not `click`, `created`, `updated` or `deleted`, \
         which only the service writes (a 400 naming `event_type`).",
        "shared",
    )
);

schema!(
    /// A new link's expiry ([`shortener_domain::parse_future_expiry`]).
    ExpiryText,
    "Expiry",
    text(
        (19, 25),
        Some(FUTURE_EXPIRY_PATTERN.to_owned()),
        "UTC `YYYY-MM-DDTHH:MM:SS`, or RFC 3339 with `Z` or an offset; must be in the \
         future. Any valid future time is accepted; the pattern covers only years 2100 \
         to 8999 and days 1 to 28, so that every text it matches is valid and in the \
         future whenever it is sent.",
        "2100-01-31T23:59:59",
    )
);

schema!(
    /// Why an admin locks a link ([`shortener_domain::parse_note`]).
    LockReasonText,
    "LockReason",
    text(
        (1, shortener_domain::MAX_LOCK_REASON_CHARS),
        Some(shortener_domain::not_blank_pattern()),
        "Not only whitespace; kept trimmed. Shown to the owner who tries to turn the link \
         back on.",
        "phishing: asks for bank credentials",
    )
);

schema!(
    /// What a reporter says of a link ([`shortener_domain::parse_note`]).
    ReportCommentText,
    "ReportComment",
    text(
        (1, shortener_domain::MAX_REPORT_COMMENT_CHARS),
        Some(shortener_domain::not_blank_pattern()),
        "Not only whitespace; kept trimmed.",
        "the page asks for a bank password",
    )
);

schema!(
    /// An API key's name ([`shortener_domain::is_key_name`]).
    KeyNameText,
    "KeyName",
    text(
        (1, 64),
        Some(r"^[A-Za-z0-9_.-]{1,64}$".to_owned()),
        "Letters, digits, '-', '_' or '.': it names the key in logs and the audit trail. \
         Unique among live stored keys and the operator's keys.",
        "ci-bot",
    )
);

schema!(
    /// What a key may do ([`shortener_domain::Scope`]).
    ScopeName,
    "Scope",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(shortener_domain::Scope::ALL.map(|scope| scope.as_str())))
        .description(Some(
            "`read` opens every read; `write` also the writes of links and events; `admin` \
             also users, imports and keys. A key with a `user_id` is `read` or `write`.",
        ))
        .into()
);

schema!(
    /// The id of a stored row, as in a path (`/urls/{id}`).
    RowId,
    "Id",
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .into()
);

/// The pattern of a JSON text Postgres can store in jsonb: no NUL character.
const NO_NUL: &str = r"^[^\x00]*$";

schema!(
    /// An event's details ([`shortener_domain::EventDetails::parse`]).
    EventDetailsObject,
    "EventDetails",
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(NO_NUL)),
        ))
        .additional_properties(Some(Ref::from_schema_name("DetailValue")))
        .description(Some(
            "Any JSON object with no NUL character in a key or a string, at any depth \
             (jsonb cannot hold one), of at most 4096 bytes as compact JSON.",
        ))
        .into(),
    [DetailValue]
);

schema!(
    /// A value inside an event's details: any JSON without a NUL character.
    DetailValue,
    "DetailValue",
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                    Type::Null,
                    Type::Boolean,
                    Type::Number,
                ]))
                .build(),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(NO_NUL))
                .build(),
        )
        .item(ArrayBuilder::new().items(Ref::from_schema_name("DetailValue")))
        .item(Ref::from_schema_name("EventDetails"))
        .into()
);

schema!(
    /// A link's redirect status ([`shortener_domain::RedirectStatus::from_code`]).
    RedirectStatusCode,
    "RedirectStatus",
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(shortener_domain::REDIRECT_STATUS_CODES))
        .description(Some(
            "The redirect's status code: 302 (the default) or 307, temporary; 301 or 308, \
             permanent. A permanent redirect of a link with no expiry and no cap may be kept \
             by browsers for a day (`Cache-Control: public, max-age=86400`), and a browser \
             that keeps it goes to the target without asking the service: it cannot be \
             taken back from that browser, and its visits are not counted.",
        ))
        .examples([302])
        .into()
);

schema!(
    /// A cap on a link's human visits ([`shortener_domain::parse_max_visits`]).
    MaxVisitsCount,
    "MaxVisits",
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(1))
        .maximum(Some(shortener_domain::MAX_VISITS_LIMIT))
        .description(Some(
            "After this many visits by people the link answers as an expired one (410, or \
             a redirect to its `expired_url`). Bots, link previews, prefetches and HEAD \
             requests never use up a visit. Exact across replicas.",
        ))
        .examples([100])
        .into()
);

schema!(
    /// A link's tag ([`shortener_domain::parse_tag`]).
    TagText,
    "Tag",
    text(
        (1, shortener_domain::MAX_TAG_CHARS),
        Some(shortener_domain::TAG_PATTERN.to_owned()),
        "Letters, digits, `_`, `.` and `-`; kept in lower case (`Sale` and `sale` are one \
         tag).",
        "spring-sale",
    )
);

schema!(
    /// A link's password ([`shortener_domain::LinkPassword::parse`]).
    PasswordText,
    "LinkPassword",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(shortener_domain::MIN_PASSWORD_CHARS))
        .max_length(Some(shortener_domain::MAX_PASSWORD_CHARS))
        .pattern(Some(NO_NUL))
        .write_only(Some(true))
        .description(Some(
            "Write-only: stored as an argon2id hash and never returned. Visitors give it \
             in the link's form or an `X-Link-Password` header.",
        ))
        .examples(["correct horse"])
        .into()
);

mod targeting;
pub use targeting::{TargetingRules, TargetingVariants};

schema!(
    /// An event a webhook subscribes to ([`shortener_domain::WebhookEvent`]).
    WebhookEventName,
    "WebhookEvent",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(shortener_domain::WEBHOOK_EVENTS))
        .description(Some(
            "`link.created`, `link.updated` (with the changed fields), `link.deleted`, \
             `link.expired` (the first visit after the expiry, once), \
             `link.visits_exhausted` (the visit that used the last of a cap), \
             `link.destination_down` and `link.destination_up` (the destination's \
             health, with `destination`), `link.clicked` (a minute's clicks by class, \
             with `clicks`; at most one a minute per link).",
        ))
        .into()
);

schema!(
    /// A webhook's description.
    WebhookDescriptionText,
    "WebhookDescription",
    text(
        (0, shortener_domain::MAX_WEBHOOK_DESCRIPTION_CHARS),
        None,
        "Free text for the owner; kept trimmed; blank means none.",
        "Sync to the CRM",
    )
);
