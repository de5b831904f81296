//! The signing secret of a subscription and the signature of a delivery, as Standard
//! Webhooks has them: the secret is `whsec_` and the base64 of random bytes, and a
//! delivery's `webhook-signature` is `v1,` and the base64 of HMAC-SHA256, keyed with those
//! bytes, over `"{webhook-id}.{webhook-timestamp}.{body}"`. The timestamp inside the MAC
//! is what lets a receiver refuse a captured delivery sent again later.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// What every secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a new secret: 192 bits.
const SECRET_BYTES: usize = 24;

/// A subscription's signing secret: the key bytes and their `whsec_` spelling. Its
/// `Debug` hides the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// Why a stored secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is `{SECRET_PREFIX}` and the base64 of at least 16 bytes")]
pub struct WebhookSecretError;

impl WebhookSecret {
    /// A new secret from the thread's CSPRNG.
    pub fn generate() -> Self {
        let mut key = vec![0_u8; SECRET_BYTES];
        rand::rng().fill(key.as_mut_slice());
        Self { key }
    }

    /// Reads a secret's `whsec_` spelling.
    pub fn parse(text: &str) -> Result<Self, WebhookSecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(WebhookSecretError)?;
        let key = STANDARD.decode(encoded).map_err(|_| WebhookSecretError)?;
        if key.len() < 16 {
            return Err(WebhookSecretError);
        }
        Ok(Self { key })
    }

    /// The `whsec_` spelling, as shown once to the owner and stored.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// The MAC of one delivery: HMAC-SHA256 over `"{id}.{timestamp}.{body}"`.
    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// The `webhook-signature` header of a delivery: `v1,` and the base64 of its MAC.
pub fn signature_header(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret.mac(id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// Whether any `v1` signature of a `webhook-signature` header (space-separated, as a
/// rotation may send several) is the delivery's, compared in constant time. What a
/// receiver does, with its own check of the timestamp's age.
pub fn verify_signature(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> bool {
    let expected = secret.mac(id, timestamp, body).finalize().into_bytes();
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|given| bool::from(given.as_slice().ct_eq(expected.as_slice())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference vector of the Standard Webhooks libraries' tests (and Svix's): the
    /// scheme is theirs, not a look-alike.
    #[test]
    fn the_specification_example_verifies() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let header = signature_header(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify_signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
            &format!("v1,bm90IHRoaXM= {header}")
        ));
    }

    #[test]
    fn a_changed_id_timestamp_or_body_does_not_verify() {
        let secret = WebhookSecret::generate();
        let header = signature_header(&secret, "msg_1", 100, b"{}");
        assert!(verify_signature(&secret, "msg_1", 100, b"{}", &header));
        assert!(!verify_signature(&secret, "msg_2", 100, b"{}", &header));
        assert!(!verify_signature(&secret, "msg_1", 101, b"{}", &header));
        assert!(!verify_signature(&secret, "msg_1", 100, b"{ }", &header));
        let other = WebhookSecret::generate();
        assert!(!verify_signature(&other, "msg_1", 100, b"{}", &header));
    }

    #[test]
    fn a_secret_reads_back_from_its_spelling_and_hides_in_debug() {
        let secret = WebhookSecret::generate();
        let spelled = secret.expose();
        assert!(spelled.starts_with(SECRET_PREFIX));
        assert_eq!(WebhookSecret::parse(&spelled), Ok(secret.clone()));
        assert!(!format!("{secret:?}").contains(&spelled[SECRET_PREFIX.len()..]));
        assert_eq!(WebhookSecret::parse("whsec_short"), Err(WebhookSecretError));
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(WebhookSecretError)
        );
    }
}
