//! The `external_id` handed to Belvo for an owner: an opaque, stable, non-PII keyed hash.
//! It is HMAC-SHA256 (RFC 2104) under the configured secret key of a versioned message made
//! of the region and the owner, written as unpadded base64url: 43 characters of
//! `[A-Za-z0-9_-]`, inside Belvo's rules (3 to 256 characters of that alphabet). The same
//! owner gets the same id in a region every time and a different one in every other region;
//! without the key nobody can link an id to an owner or to the same owner elsewhere.
//!
//! HMAC is written out here over `sha2` (the workspace's SHA-256) rather than pulled in from
//! the `hmac` crate, whose current release needs a newer `digest` than the workspace's
//! `sha2`; the construction is short and checked against RFC 4231's test vectors below.

use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretSlice};
use sha2::{Digest as _, Sha256};

/// SHA-256's block size in bytes.
const BLOCK: usize = 64;
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

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
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

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1.
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

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
