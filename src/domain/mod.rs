//! Types that are valid by construction: once parsed, a value needs no further checks.

mod email;
mod page;
mod short_code;
mod target_url;
pub mod timestamp;
mod username;

pub use email::Email;
pub use page::{Page, PageParams};
pub use short_code::{ShortCode, ShortCodeGenerator};
pub use target_url::TargetUrl;
pub use username::Username;
