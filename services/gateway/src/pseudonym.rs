//! The name logs and traces give a user: a stable, non-reversible pseudonym instead of the
//! token's `sub` (often an e-mail address). It is the first 16 hex digits (64 bits) of
//! HMAC-SHA256 (RFC 2104) under a secret key of a versioned message holding the subject: the
//! same user gets the same pseudonym on every line, so one user's requests can be followed,
//! and without the key nobody can test a guessed e-mail address against it. The key is
//! `auth.user_pseudonym_key`; unset, a random key per process (pseudonyms then change at a
//! restart and differ between replicas).
//!
//! The HMAC is `libs/keyed-hash`'s, as for token-service's external ids, with its own
//! domain-separation context so that the two can never coincide even under the same key.

use keyed_hash::hmac_sha256;
use secrecy::{ExposeSecret as _, SecretSlice};

/// Domain separation from every other use of a key.
const CONTEXT: &[u8] = b"connect.gateway/user-pseudonym/v1";
/// Hex digits kept: 64 bits, enough to tell users apart in logs, too few to matter as a MAC.
const DIGITS: usize = 16;

/// The pseudonym key. Never printed.
pub struct UserPseudonyms {
    key: SecretSlice<u8>,
}

impl std::fmt::Debug for UserPseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserPseudonyms([REDACTED])")
    }
}

impl UserPseudonyms {
    /// Pseudonyms under `key`, or under a random key of this process when `None`.
    pub fn new(key: Option<&[u8]>) -> Self {
        let key = match key {
            Some(key) => key.to_vec(),
            None => format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()).into_bytes(),
        };
        Self {
            key: SecretSlice::from(key),
        }
    }

    /// The pseudonym of the user `subject`: `u-` and 16 hex digits.
    pub fn of(&self, subject: &str) -> String {
        let mut message = Vec::with_capacity(CONTEXT.len() + 1 + subject.len());
        message.extend_from_slice(CONTEXT);
        message.push(0);
        message.extend_from_slice(subject.as_bytes());
        let mac = hmac_sha256(self.key.expose_secret(), &message);
        let mut out = String::with_capacity(2 + DIGITS);
        out.push_str("u-");
        for byte in &mac[..DIGITS / 2] {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key_and_hide_the_subject() {
        let key = b"a-pseudonym-key-0123456789-0123456789";
        let a = UserPseudonyms::new(Some(key));
        let b = UserPseudonyms::new(Some(key));
        let name = a.of("alice@example.com");
        assert_eq!(name, b.of("alice@example.com"), "stable under one key");
        assert_eq!(name.len(), 2 + DIGITS);
        assert!(name.starts_with("u-"), "{name}");
        assert!(!name.contains("alice"), "{name}");
        assert_ne!(name, a.of("bob@example.com"), "users differ");
        // Another key, or no key (a random one), gives another pseudonym: it is keyed, not a
        // plain hash anyone could recompute from a guessed address.
        let other = UserPseudonyms::new(Some(b"another-key-0123456789-0123456789-xx"));
        assert_ne!(name, other.of("alice@example.com"));
        assert_ne!(name, UserPseudonyms::new(None).of("alice@example.com"));
        assert!(!format!("{a:?}").contains("pseudonym-key"));
    }
}
