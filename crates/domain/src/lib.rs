//! Types that are valid by construction: once parsed, a value needs no further checks.
//! The bottom layer: it depends on no other crate of the workspace.

mod address_class;
mod api_key;
mod breakdown;
mod caller;
mod click;
mod date_range;
mod destination_health;
mod email;
mod event;
mod filters;
mod forwarded_query;
mod ip_range;
mod link;
mod link_behaviour;
mod link_password;
mod link_policy;
mod link_preview;
mod page;
mod public_base_url;
pub mod random;
mod records;
mod report;
mod short_code;
mod stored_keys;
mod tags;
mod target_url;
mod targeting;
mod text_class;
mod traffic;
mod trusted_proxies;
pub use text_class::not_blank_pattern;
pub mod timestamp;
mod username;
mod webhook;

pub use address_class::AddressClass;
pub use api_key::{
    ApiKey, ApiKeyError, ApiKeys, KEY_NAME_RULE, Scope, StoredKey, digest as api_key_digest,
    file_line as api_key_file_line, is_key_name, new_secret as new_api_key_secret,
};
pub use breakdown::{
    ClassFilter, DEFAULT_BREAKDOWN_LIMIT, Dimension, KeyClicks, MAX_BREAKDOWN_LIMIT,
};
pub use caller::Caller;
pub use click::{Click, MAX_HEADER_CHARS, truncate_header};
pub use date_range::{DEFAULT_RANGE_DAYS, DateRange, DateRangeError, MAX_RANGE_DAYS};
pub use destination_health::{
    CheckResult, DEFAULT_DOWN_AFTER, HealthFlip, HealthState, HealthStatus, head_needs_get,
    status_fails,
};
pub use email::{EMAIL_PATTERN, Email, EmailError, MAX_EMAIL_CHARS};
pub use event::{
    EventDetails, EventDetailsError, EventType, EventTypeError, MAX_EVENT_DETAILS_BYTES,
    MAX_EVENT_TYPE_CHARS, SERVICE_EVENT_TYPES,
};
pub use filters::{EventFilter, LinkFilter};
pub use forwarded_query::forward_query;
pub use link::{
    ExpiryError, FUTURE_EXPIRY_PATTERN, MAX_TITLE_CHARS, TITLE_PATTERN, Title, TitleError,
    parse_future_expiry,
};
pub use link_behaviour::{
    MAX_VISITS_LIMIT, MaxVisitsError, REDIRECT_STATUS_CODES, RedirectStatus, RedirectStatusError,
    parse_max_visits,
};
pub use link_password::{LinkPassword, LinkPasswordError, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
pub use link_policy::{LinkPolicy, LinkPolicyError, LinkPolicySettingError};
pub use link_preview::{LinkPreview, LinkPreviewError, MAX_DESCRIPTION_CHARS};
pub use page::{DEFAULT_PER_PAGE, MAX_OFFSET, MAX_PAGE, MAX_PER_PAGE, Page, PageError};
pub use public_base_url::{PublicBaseUrl, PublicBaseUrlError};
pub use records::{
    ApiKeyRecord, CodeLookup, Event, Link, LinkBehaviour, NewLink, RedirectTarget, User,
};
pub use report::{
    MAX_LOCK_REASON_CHARS, MAX_REPORT_COMMENT_CHARS, ReportReason, ReportTextError, parse_note,
};
pub use short_code::{
    CodeLengthError, MAX_LEN as MAX_SHORT_CODE_CHARS, MIN_LEN as MIN_SHORT_CODE_CHARS,
    RESERVED_CODES, ShortCode, ShortCodeError, ShortCodeGenerator,
};
pub use stored_keys::StoredKeys;
pub use tags::{MAX_TAG_CHARS, MAX_TAGS, TAG_PATTERN, TagError, parse_tag, parse_tags};
pub use target_url::{MAX_URL_CHARS, TARGET_URL_PATTERN, TargetUrl, TargetUrlError};
pub use targeting::{
    BROWSER_NAMES, Conditions, DEVICE_NAMES, MAX_CONDITION_VALUES, MAX_QUERY_CONDITIONS,
    MAX_QUERY_TEXT_CHARS, MAX_RULES, MAX_VARIANTS, MAX_WEIGHT, MIN_VARIANTS, OS_NAMES, OneOrMany,
    Rule, TargetChoice, TargetChoiceError, Targeting, TargetingError, Variant, VisitorFacts,
    folded_name, parse_rules, parse_variants, preferred_language, query_has,
};
pub use traffic::{ClassCounts, ClickTraits, DayClicks, Intent, TrafficClass};
pub use trusted_proxies::{TrustedProxies, TrustedProxiesError};
pub use username::{MAX_USERNAME_CHARS, Username, UsernameError};
pub use webhook::{
    MAX_WEBHOOK_DESCRIPTION_CHARS, RETRY_DELAYS, RetrySchedule, SECRET_PREFIX, WEBHOOK_EVENTS,
    Webhook, WebhookDelivery, WebhookEvent, WebhookEventError, WebhookSecret, WebhookSecretError,
    parse_events, signature_header, verify_signature,
};
