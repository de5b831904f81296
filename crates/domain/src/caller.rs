//! Who a request acts as: the API key it came with (its name goes into the audit trail)
//! and, for a key that belongs to a user, the one user whose links it may see and change.

use std::sync::Arc;

use super::Scope;

/// The caller of a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    key: Option<Arc<str>>,
    scope: Scope,
    owner: Option<i64>,
}

impl Default for Caller {
    fn default() -> Self {
        Self::anonymous()
    }
}

impl Caller {
    /// A caller no key let in: an open API (`ALLOW_OPEN_API`), or an operator's tool. It
    /// may do anything, as the open API lets anyone do.
    pub fn anonymous() -> Self {
        Self {
            key: None,
            scope: Scope::Admin,
            owner: None,
        }
    }

    /// A caller let in by the key named `key` with `scope`; `owner` confines it to that
    /// user's links.
    pub fn with_key(key: Arc<str>, scope: Scope, owner: Option<i64>) -> Self {
        Self {
            key: Some(key),
            scope,
            owner,
        }
    }

    /// Whether the caller may do what `needed` stands for.
    pub fn grants(&self, needed: Scope) -> bool {
        self.scope >= needed
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
