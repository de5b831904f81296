//! API keys and their scopes: the configured keys, held only as SHA-256 digests, and the
//! constant-time check of a presented key against them.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Caller;

/// What a key may do. Each scope includes the ones below it: `admin` ⊇ `write` ⊇ `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Read links, users, events and stats.
    Read,
    /// Create, change and delete links and events.
    Write,
    /// Manage users and run bulk imports.
    Admin,
}

impl Scope {
    /// Every scope, lowest first.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    /// The scope's name in configuration and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// The scope of this name, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a key's name may be: 1 to 64 letters, digits, '-', '_' or '.' (safe in logs).
pub const KEY_NAME_RULE: &str = "1 to 64 letters, digits, '-', '_' or '.'";

/// Whether `name` follows [`KEY_NAME_RULE`].
pub fn is_key_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A new secret: `sk_` and 40 characters from the CSPRNG (240 bits).
pub fn new_secret() -> String {
    format!("sk_{}", super::random::secret(40))
}

/// The SHA-256 of a secret: all that is ever stored of it.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// One key: a name for logs, its highest scope, the digest of the secret, and for a key
/// stored in the database its id, the user it belongs to and its expiry.
#[derive(Clone)]
pub struct ApiKey {
    name: Arc<str>,
    scope: Scope,
    digest: [u8; 32],
    stored: Option<Stored>,
}

/// What only a stored key has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stored {
    id: i64,
    owner: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
}

/// A key as the database keeps it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    /// The user it acts as; `None`: across users.
    pub owner: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub digest: [u8; 32],
}

impl ApiKey {
    /// A stored key, as [`StoredKeys`] holds it.
    pub fn stored(key: StoredKey) -> Self {
        Self {
            name: key.name.into(),
            scope: key.scope,
            digest: key.digest,
            stored: Some(Stored {
                id: key.id,
                owner: key.owner,
                expires_at: key.expires_at,
            }),
        }
    }

    /// The key's name (safe to log; the secret never is).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The id of a stored key (`None`: a configured one).
    pub fn stored_id(&self) -> Option<i64> {
        self.stored.map(|stored| stored.id)
    }

    /// Whether the key still opens anything at `now`: a configured key always does, a
    /// stored one until its expiry.
    pub fn is_live_at(&self, now: DateTime<Utc>) -> bool {
        self.stored
            .and_then(|stored| stored.expires_at)
            .is_none_or(|expiry| now < expiry)
    }

    /// The caller a request let in by this key acts as.
    pub fn caller(&self) -> Caller {
        Caller::with_key(
            Arc::clone(&self.name),
            self.scope,
            self.stored.and_then(|stored| stored.owner),
        )
    }

    /// Whether this key may do what `needed` stands for.
    pub fn grants(&self, needed: Scope) -> bool {
        self.scope >= needed
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The configured keys. None configured means the API is open (development only).
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    keys: Vec<ApiKey>,
}

/// Why the key configuration is unusable; says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("API_KEYS: a key must not contain whitespace")]
    Whitespace,
    #[error("API_KEYS_FILE line {line}: {problem}")]
    File { line: usize, problem: String },
}

impl ApiKeys {
    /// The keys of `API_KEYS` (comma-separated secrets, each with every scope, named
    /// `env-1`, `env-2`, ...) and of an `API_KEYS_FILE`'s text, together.
    pub fn from_config(plain: Option<&str>, file: Option<&str>) -> Result<Self, ApiKeyError> {
        let mut keys = Vec::new();
        let secrets = plain
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|secret| !secret.is_empty());
        for (index, secret) in secrets.enumerate() {
            if secret.chars().any(char::is_whitespace) {
                return Err(ApiKeyError::Whitespace);
            }
            keys.push(ApiKey {
                name: format!("env-{}", index + 1).into(),
                scope: Scope::Admin,
                digest: digest(secret),
                stored: None,
            });
        }
        if let Some(text) = file {
            for (index, line) in text.lines().enumerate() {
                let line_number = index + 1;
                let problem = |problem: String| ApiKeyError::File {
                    line: line_number,
                    problem,
                };
                let Some(key) = parse_file_line(line).map_err(problem)? else {
                    continue;
                };
                if keys.iter().any(|known| known.name == key.name) {
                    return Err(problem(format!("the name {:?} is used twice", key.name)));
                }
                if keys.iter().any(|known| known.digest == key.digest) {
                    return Err(problem("the same key is listed twice".to_owned()));
                }
                keys.push(key);
            }
        }
        Ok(Self { keys })
    }

    /// Whether no key is configured (every request is let through).
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a configured key is named `name`.
    pub fn has_name(&self, name: &str) -> bool {
        self.keys.iter().any(|key| &*key.name == name)
    }

    /// How many keys are configured.
    pub fn count(&self) -> usize {
        self.keys.len()
    }

    /// The key whose secret is `presented`. Every configured digest is compared, in
    /// constant time, whatever matches: neither the time nor the order of the keys tells
    /// an attacker how much of a guess was right.
    pub fn authenticate(&self, presented: &str) -> Option<&ApiKey> {
        let presented = digest(presented);
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.digest.ct_eq(&presented)) {
                found = Some(key);
            }
        }
        found
    }
}

/// `name scope sha256:<64 hex digits>`; blank lines and `#` comments are skipped.
fn parse_file_line(line: &str) -> Result<Option<ApiKey>, String> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(None);
    }
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [name, scope, hash] = fields[..] else {
        return Err("expected three fields: name scope sha256:<hex>".to_owned());
    };
    if !is_key_name(name) {
        return Err(format!("the name must be {KEY_NAME_RULE}"));
    }
    let scope = Scope::from_name(scope).ok_or_else(|| {
        format!(
            "unknown scope {scope:?} (one of read, write, admin; each includes the ones before it)"
        )
    })?;
    let digest = hash
        .strip_prefix("sha256:")
        .and_then(parse_hex_digest)
        .ok_or("the hash must be sha256: followed by 64 hex digits")?;
    Ok(Some(ApiKey {
        name: name.into(),
        scope,
        digest,
        stored: None,
    }))
}

fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut digest = [0_u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(digest)
}

/// The `API_KEYS_FILE` line for a secret: what `shortener api-key` prints.
pub fn file_line(name: &str, scope: Scope, secret: &str) -> String {
    let hex: String = digest(secret).iter().map(|b| format!("{b:02x}")).collect();
    format!("{name} {scope} sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_have_every_scope_and_unknown_ones_are_refused() {
        let keys = ApiKeys::from_config(Some(" alpha, beta ,"), None).unwrap();
        assert_eq!(keys.count(), 2);
        let beta = keys.authenticate("beta").unwrap();
        assert_eq!(beta.name(), "env-2");
        assert!(beta.grants(Scope::Admin) && beta.grants(Scope::Read));
        assert!(keys.authenticate("gamma").is_none());
        assert!(keys.authenticate("").is_none());
        assert!(keys.authenticate("alph").is_none());
    }

    #[test]
    fn empty_configuration_is_open() {
        assert!(ApiKeys::from_config(None, None).unwrap().is_open());
        assert!(
            ApiKeys::from_config(Some(" , "), Some("# none\n"))
                .unwrap()
                .is_open()
        );
    }

    #[test]
    fn file_keys_carry_their_scope() {
        let text = format!(
            "# reporting\n{}\n\n{}  # the importer\n",
            file_line("reader", Scope::Read, "r-secret"),
            file_line("ops", Scope::Admin, "a-secret"),
        );
        let keys = ApiKeys::from_config(None, Some(&text)).unwrap();
        let reader = keys.authenticate("r-secret").unwrap();
        assert_eq!(reader.name(), "reader");
        assert!(reader.grants(Scope::Read));
        assert!(!reader.grants(Scope::Write));
        assert!(keys.authenticate("a-secret").unwrap().grants(Scope::Write));
        assert!(keys.authenticate("r-secreT").is_none());
    }

    #[test]
    fn bad_file_lines_name_their_line() {
        let good = file_line("one", Scope::Write, "s");
        for (text, expected_line) in [
            ("one write".to_owned(), 1),
            (format!("{good}\n{good}"), 2),
            (good.replace("write", "root"), 1),
            (good.replace("sha256:", "md5:"), 1),
            (format!("\n{}", &good[..good.len() - 1]), 2),
            (good.replace("one", "bad name!"), 1),
        ] {
            match ApiKeys::from_config(None, Some(&text)) {
                Err(ApiKeyError::File { line, .. }) => assert_eq!(line, expected_line, "{text}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        let other = file_line("two", Scope::Read, "s");
        assert!(ApiKeys::from_config(None, Some(&format!("{good}\n{other}"))).is_err());
    }

    #[test]
    fn debug_output_holds_no_digest() {
        let keys = ApiKeys::from_config(Some("topsecret"), None).unwrap();
        let shown = format!("{keys:?}");
        assert!(
            shown.contains("env-1") && !shown.contains("digest"),
            "{shown}"
        );
    }
}
