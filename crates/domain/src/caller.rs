//! Who a request acts as: the API key it came with (its name goes into the audit trail)
//! and, for a key that belongs to a user, the one user whose links it may see and change.

use std::sync::Arc;

/// The caller of a use case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    key: Option<Arc<str>>,
    owner: Option<i64>,
}

impl Caller {
    /// A caller no key let in: an open API (`ALLOW_OPEN_API`), or an operator's tool.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A caller let in by the key named `key`; `owner` confines it to that user's links.
    pub fn with_key(key: Arc<str>, owner: Option<i64>) -> Self {
        Self {
            key: Some(key),
            owner,
        }
    }

    /// The key's name, for the events this caller causes (`None`: no key).
    pub fn actor(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The user this caller acts as, when its key belongs to one; `None`: across users.
    pub fn owner(&self) -> Option<i64> {
        self.owner
    }
}
