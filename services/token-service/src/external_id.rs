//! The `external_id` handed to Belvo for an owner: an opaque, stable, non-PII keyed hash.
//! It is HMAC-SHA256 (RFC 2104) under the configured secret key of a versioned message made
//! of the region and the owner, written as unpadded base64url: 43 characters of
//! `[A-Za-z0-9_-]`, inside Belvo's rules (3 to 256 characters of that alphabet). The same
//! owner gets the same id in a region every time and a different one in every other region;
//! without the key nobody can link an id to an owner or to the same owner elsewhere.
//! The HMAC is `libs/keyed-hash`'s.

use base64::Engine as _;
use keyed_hash::hmac_sha256;
use secrecy::{ExposeSecret as _, SecretSlice};

/// Domain separation, so that the key can never produce the same output for another use.
const CONTEXT: &[u8] = b"connect.token.v1/external_id/v1";

/// The secret key of the keyed hash. Never printed.
#[derive(Clone)]
pub(crate) struct ExternalIdKey {
    key: SecretSlice<u8>,
}

impl std::fmt::Debug for ExternalIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExternalIdKey([REDACTED])")
    }
}

impl ExternalIdKey {
    pub(crate) fn new(key: &[u8]) -> Self {
        Self {
            key: SecretSlice::from(key.to_vec()),
        }
    }

    /// The external id of `owner` in `region`.
    pub(crate) fn external_id(&self, region: &str, owner: &str) -> String {
        let mut message = Vec::with_capacity(CONTEXT.len() + region.len() + owner.len() + 2);
        message.extend_from_slice(CONTEXT);
        message.push(0);
        message.extend_from_slice(region.as_bytes());
        message.push(0);
        message.extend_from_slice(owner.as_bytes());
        let mac = hmac_sha256(self.key.expose_secret(), &message);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
    }
}

/// Whether `id` follows Belvo's rules for an `external_id`.
pub(crate) fn is_valid(id: &str) -> bool {
    (3..=256).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_per_region_and_owner_and_follow_belvos_rules() {
        let key = ExternalIdKey::new(b"0123456789abcdef0123456789abcdef");
        let a = key.external_id("mx", "user-1");
        assert_eq!(a, key.external_id("mx", "user-1"));
        assert_ne!(a, key.external_id("co", "user-1"));
        assert_ne!(a, key.external_id("mx", "user-2"));
        // The separator keeps ("m", "xuser") and ("mx", "user") apart.
        assert_ne!(key.external_id("m", "xuser"), key.external_id("mx", "user"));
        assert_eq!(a.len(), 43);
        assert!(is_valid(&a), "{a}");
        assert!(!a.contains("user"));
        let other = ExternalIdKey::new(b"another key of thirty-two bytes!");
        assert_ne!(a, other.external_id("mx", "user-1"));
        assert_eq!(format!("{key:?}"), "ExternalIdKey([REDACTED])");
    }

    #[test]
    fn belvo_rules() {
        assert!(is_valid("abc"));
        assert!(!is_valid("ab"));
        assert!(!is_valid("a b c"));
        assert!(!is_valid(&"a".repeat(257)));
    }
}
