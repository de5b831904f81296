//! The API keys stored in the database, as each replica holds them in memory: found by
//! the digest of the presented secret, so checking a key never queries Postgres.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::api_key::{ApiKey, StoredKey, digest};

/// The live stored keys (revoked ones are never loaded; expired ones are refused here).
#[derive(Debug, Clone, Default)]
pub struct StoredKeys {
    by_digest: HashMap<[u8; 32], ApiKey>,
}

impl StoredKeys {
    /// The set of `keys`.
    pub fn new(keys: impl IntoIterator<Item = StoredKey>) -> Self {
        Self {
            by_digest: keys
                .into_iter()
                .map(|key| (key.digest, ApiKey::stored(key)))
                .collect(),
        }
    }

    /// The key whose secret is `presented`, if it is stored and not expired at `now`.
    /// Looked up by the SHA-256 of the secret: an attacker who controls the secret does
    /// not control its digest, so the lookup's timing tells nothing about a stored one.
    pub fn authenticate(&self, presented: &str, now: DateTime<Utc>) -> Option<&ApiKey> {
        self.by_digest
            .get(&digest(presented))
            .filter(|key| key.is_live_at(now))
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::Scope;

    fn key(
        id: i64,
        secret: &str,
        owner: Option<i64>,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoredKey {
        StoredKey {
            id,
            name: format!("key-{id}"),
            scope: Scope::Write,
            owner,
            expires_at,
            digest: digest(secret),
        }
    }

    #[test]
    fn a_stored_key_is_found_by_its_secret_until_it_expires() {
        let now = Utc::now();
        let keys = StoredKeys::new([
            key(1, "sk_one", Some(7), None),
            key(2, "sk_two", None, Some(now + Duration::seconds(10))),
        ]);
        let one = keys.authenticate("sk_one", now).unwrap();
        assert_eq!((one.name(), one.stored_id()), ("key-1", Some(1)));
        assert_eq!(one.caller().owner(), Some(7));
        assert_eq!(one.caller().actor(), Some("key-1"));
        assert!(keys.authenticate("sk_two", now).is_some());
        assert!(
            keys.authenticate("sk_two", now + Duration::seconds(10))
                .is_none(),
            "expired at its expiry"
        );
        assert!(keys.authenticate("sk_three", now).is_none());
        assert!(keys.authenticate("sk_on", now).is_none());
        assert_eq!(keys.len(), 2);
    }
}
