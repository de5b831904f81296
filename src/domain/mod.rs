//! Types that are valid by construction: once parsed, a value needs no further checks.
//! The bottom layer: it depends on no other module of the crate.

mod api_key;
mod click;
mod email;
mod event;
mod link;
mod link_policy;
mod page;
mod short_code;
mod target_url;
pub mod timestamp;
mod username;

pub use api_key::{ApiKey, ApiKeyError, ApiKeys, Scope, file_line as api_key_file_line};
pub use click::{Click, MAX_HEADER_CHARS, truncate_header};
pub use email::{Email, EmailError};
pub use event::{EventDetails, EventDetailsError, EventType, EventTypeError};
pub use link::{ExpiryError, MAX_TITLE_CHARS, Title, TitleError, parse_future_expiry};
pub use link_policy::{LinkPolicy, LinkPolicyError, LinkPolicySettingError};
pub use page::{DEFAULT_PER_PAGE, MAX_OFFSET, MAX_PER_PAGE, Page, PageError, PageStart};
pub use short_code::{
    CodeLengthError, RESERVED_CODES, ShortCode, ShortCodeError, ShortCodeGenerator,
};
pub use target_url::{TargetUrl, TargetUrlError};
pub use username::{Username, UsernameError};
