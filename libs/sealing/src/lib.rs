//! Envelope encryption at rest (issue 14). A [`KeyRing`] holds key-encryption keys, each with an
//! id, one of them active. [`KeyRing::seal`] encrypts a value with AES-256-GCM under a data key,
//! and stores that data key encrypted (wrapped) under the active key, beside the value; the
//! sealed text names the key, so after a rotation old values still open with the old key while
//! new ones use the new one, until the old values are sealed again and the old key retired.
//!
//! A data key seals many values (each with its own random 96-bit nonce) and is replaced after
//! [`DATA_KEY_USES`] of them, so sealing costs one AES-GCM pass, not three; opening unwraps each
//! data key once and remembers it. A value of [`COMPRESS_FROM`] bytes or more is compressed
//! (LZ4, against a dictionary of Belvo's JSON) before it is encrypted when that makes it
//! smaller, so that a sealed body costs the database fewer bytes than the clear one did.
//!
//! Sealed text: `sealed1:<key id>:<base64url(wrap nonce ‖ wrapped data key ‖ nonce ‖
//! ciphertext)>`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore as _;

/// What every sealed value starts with (the format's version).
pub const PREFIX: &str = "sealed1:";
/// Values sealed under one data key before a new one is made: far below the 2^32 random nonces
/// AES-GCM allows per key.
pub const DATA_KEY_USES: u64 = 1 << 20;
const NONCE: usize = 12;
/// A wrapped data key: 32 bytes and the 16-byte tag.
const WRAPPED: usize = 48;
/// Unwrapped data keys remembered for opening.
const OPEN_CACHE: usize = 4096;
/// Values at least this long are compressed before encryption (when it helps).
pub const COMPRESS_FROM: usize = 128;
/// The first byte of a plaintext as encrypted: as it is, LZ4-compressed, or LZ4-compressed
/// against [`DICTIONARY_V1`] (what is sealed now; the others are still opened).
const RAW: u8 = 0;
const LZ4: u8 = 1;
const LZ4_DICTIONARY_V1: u8 = 2;
/// What LZ4 finds repeated in a value besides the value itself: one Belvo invoice and one
/// transaction as the emulator serves them (Belvo's field names and common values). One object
/// alone shrinks to about 62%, against it to about 41% (measured on 15 objects of 9 resources,
/// for about 0.4 µs more a value). Never changed: values sealed with it need it to open; a
/// better one is a new version.
const DICTIONARY_V1: &[u8] = include_bytes!("dictionary_v1.json");
/// The largest value opened (a compressed one says its size; sealed values are authenticated,
/// so this only bounds a bug).
const MAX_OPENED: usize = 64 << 20;

/// Why a key ring was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("cannot read the key ring {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the key ring is not valid TOML: {0}")]
    Toml(String),
    #[error("key `{0}`: {1}")]
    Key(String, &'static str),
    #[error("the active key `{0}` is not in the ring")]
    NoActive(String),
}

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("not a sealed value")]
    NotSealed,
    #[error("the value is sealed and no key ring is configured")]
    NoKeyRing,
    #[error("sealed with key `{0}`, which is not in the key ring (retired too early?)")]
    UnknownKey(String),
    #[error("the sealed value is damaged or was sealed with another key of that id")]
    Damaged,
}

/// A data key, and its wrapped form (the wrap nonce, then the key sealed by a key of the ring).
struct DataKey {
    cipher: Aes256Gcm,
    wrapped: Vec<u8>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RingFile {
    active: String,
    keys: std::collections::BTreeMap<String, String>,
}

/// The key-encryption keys, by id, and the data keys in use. Cheap to clone (shared).
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Inner>,
}

struct Inner {
    active: String,
    keys: HashMap<String, Aes256Gcm>,
    /// The data key values are sealed with now (its cipher and wrapped form), and its uses.
    current: Mutex<Option<(Arc<DataKey>, u64)>>,
    /// Unwrapped data keys, by their wrapped form.
    opened: Mutex<HashMap<Vec<u8>, Aes256Gcm>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.inner.active)
            .field("keys", &self.ids())
            .finish()
    }
}

impl KeyRing {
    /// A ring from its TOML: `active = "<id>"` and a `[keys]` table of ids to base64 keys of
    /// 32 bytes (`openssl rand -base64 32`). Ids are 1 to 32 of `a-z 0-9 - _ .`.
    pub fn parse(text: &str) -> Result<Self, KeyRingError> {
        let file: RingFile =
            toml::from_str(text).map_err(|e| KeyRingError::Toml(e.message().to_owned()))?;
        let mut keys = HashMap::new();
        for (id, encoded) in &file.keys {
            let valid_id = (1..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
            if !valid_id {
                return Err(KeyRingError::Key(
                    id.clone(),
                    "ids are 1 to 32 of a-z 0-9 - _ .",
                ));
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| KeyRingError::Key(id.clone(), "not base64"))?;
            if bytes.len() != 32 {
                return Err(KeyRingError::Key(id.clone(), "must be 32 bytes (AES-256)"));
            }
            keys.insert(
                id.clone(),
                Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
            );
        }
        if !keys.contains_key(&file.active) {
            return Err(KeyRingError::NoActive(file.active));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                active: file.active,
                keys,
                current: Mutex::new(None),
                opened: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The ring in the file at `path` (a mounted secret).
    pub fn load(path: &Path) -> Result<Self, KeyRingError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyRingError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// A ring of one new random key with this id (for tests and local runs).
    pub fn generate(id: &str) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::parse(&format!(
            "active = \"{id}\"\n[keys]\n\"{id}\" = \"{}\"\n",
            STANDARD.encode(key)
        ))
        .unwrap_or_else(|e| panic!("a generated ring is valid: {e}"))
    }

    /// The id of the key new values are sealed under.
    pub fn active(&self) -> &str {
        &self.inner.active
    }

    /// `plaintext`, sealed under the active key.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let key = self.data_key();
        let mut framed = Vec::with_capacity(plaintext.len() + 1);
        let compressed = (plaintext.len() >= COMPRESS_FROM)
            .then(|| lz4_flex::block::compress_prepend_size_with_dict(plaintext, DICTIONARY_V1))
            .filter(|c| c.len() < plaintext.len());
        match compressed {
            Some(c) => {
                framed.push(LZ4_DICTIONARY_V1);
                framed.extend_from_slice(&c);
            }
            None => {
                framed.push(RAW);
                framed.extend_from_slice(plaintext);
            }
        }
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(Nonce::from_slice(&nonce), framed.as_slice())
            .unwrap_or_else(|_| unreachable!("AES-GCM encrypts any length we store"));
        let mut out = Vec::with_capacity(key.wrapped.len() + NONCE + ciphertext.len());
        out.extend_from_slice(&key.wrapped);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        format!(
            "{PREFIX}{}:{}",
            self.inner.active,
            URL_SAFE_NO_PAD.encode(out)
        )
    }

    /// The plaintext of a value [`Self::seal`] made with any key of the ring.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let (id, body) = split(sealed).ok_or(OpenError::NotSealed)?;
        let kek = self
            .inner
            .keys
            .get(id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| OpenError::Damaged)?;
        if bytes.len() < NONCE + WRAPPED + NONCE {
            return Err(OpenError::Damaged);
        }
        let (wrapped, rest) = bytes.split_at(NONCE + WRAPPED);
        let (nonce, ciphertext) = rest.split_at(NONCE);
        let cipher = self.unwrap(kek, wrapped)?;
        let framed = cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| OpenError::Damaged)?;
        let (frame, compressed) = framed.split_first().ok_or(OpenError::Damaged)?;
        let dictionary: &[u8] = match *frame {
            RAW => return Ok(compressed.to_vec()),
            LZ4 => &[],
            LZ4_DICTIONARY_V1 => DICTIONARY_V1,
            _ => return Err(OpenError::Damaged),
        };
        let size = compressed
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        if size.is_none_or(|size| size > MAX_OPENED) {
            return Err(OpenError::Damaged);
        }
        lz4_flex::block::decompress_size_prepended_with_dict(compressed, dictionary)
            .map_err(|_| OpenError::Damaged)
    }

    /// `fields` sealed as one value: each but the last as a 4-byte little-endian length and its
    /// text, then the last as it is (so one field seals exactly like [`Self::seal`]).
    pub fn seal_fields(&self, fields: &[&str]) -> String {
        let mut plain = Vec::with_capacity(fields.iter().map(|f| f.len() + 4).sum());
        if let Some((last, leading)) = fields.split_last() {
            for field in leading {
                plain.extend_from_slice(&(field.len() as u32).to_le_bytes());
                plain.extend_from_slice(field.as_bytes());
            }
            plain.extend_from_slice(last.as_bytes());
        }
        self.seal(&plain)
    }

    /// The `N` fields [`Self::seal_fields`] sealed.
    pub fn open_fields<const N: usize>(&self, sealed: &str) -> Result<[String; N], OpenError> {
        let plain = self.open(sealed)?;
        let mut rest = plain.as_slice();
        let mut fields: [String; N] = std::array::from_fn(|_| String::new());
        for (i, field) in fields.iter_mut().enumerate() {
            let text = if i + 1 == N {
                std::mem::take(&mut rest)
            } else {
                let (len, tail) = rest.split_first_chunk::<4>().ok_or(OpenError::Damaged)?;
                let len = u32::from_le_bytes(*len) as usize;
                let text = tail.get(..len).ok_or(OpenError::Damaged)?;
                rest = &tail[len..];
                text
            };
            *field = String::from_utf8(text.to_vec()).map_err(|_| OpenError::Damaged)?;
        }
        Ok(fields)
    }

    /// A column's value as stored, read back: opened with `ring` when sealed (one field), as
    /// it is when stored in clear; sealed without a ring is [`OpenError::NoKeyRing`].
    pub fn open_stored(ring: Option<&Self>, stored: String) -> Result<String, OpenError> {
        if !Self::is_sealed(&stored) {
            return Ok(stored);
        }
        let [plain] = ring.ok_or(OpenError::NoKeyRing)?.open_fields(&stored)?;
        Ok(plain)
    }

    /// Whether `value` is sealed under the active key (nothing to do after a rotation).
    pub fn is_current(&self, value: &str) -> bool {
        Self::key_of(value) == Some(self.active())
    }

    /// The ids of the ring's keys, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.inner.keys.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// The text every value sealed under key `id` starts with.
    pub fn prefix_of(id: &str) -> String {
        format!("{PREFIX}{id}:")
    }

    /// Whether `value` is sealed text (as opposed to a value stored in clear).
    pub fn is_sealed(value: &str) -> bool {
        split(value).is_some()
    }

    /// The id of the key a sealed value names; `None` when it is not sealed.
    pub fn key_of(sealed: &str) -> Option<&str> {
        split(sealed).map(|(id, _)| id)
    }

    /// The data key to seal with; a new one after [`DATA_KEY_USES`].
    fn data_key(&self) -> Arc<DataKey> {
        let mut current = self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((key, uses)) = current.as_mut()
            && *uses < DATA_KEY_USES
        {
            *uses += 1;
            return Arc::clone(key);
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let kek = &self.inner.keys[&self.inner.active];
        let sealed_key = kek
            .encrypt(Nonce::from_slice(&nonce), key.as_slice())
            .unwrap_or_else(|_| unreachable!("AES-GCM encrypts 32 bytes"));
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed_key);
        let key = Arc::new(DataKey {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
            wrapped,
        });
        *current = Some((Arc::clone(&key), 1));
        key
    }

    fn unwrap(&self, kek: &Aes256Gcm, wrapped: &[u8]) -> Result<Aes256Gcm, OpenError> {
        let mut opened = self
            .inner
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(cipher) = opened.get(wrapped) {
            return Ok(cipher.clone());
        }
        let (nonce, sealed_key) = wrapped.split_at(NONCE);
        let key = kek
            .decrypt(Nonce::from_slice(nonce), sealed_key)
            .map_err(|_| OpenError::Damaged)?;
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
        if opened.len() >= OPEN_CACHE {
            opened.clear();
        }
        opened.insert(wrapped.to_vec(), cipher.clone());
        Ok(cipher)
    }
}

/// The key id and the encoded body of a sealed value.
fn split(sealed: &str) -> Option<(&str, &str)> {
    sealed.strip_prefix(PREFIX)?.split_once(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(active: &str, keys: &[(&str, [u8; 32])]) -> KeyRing {
        let mut text = format!("active = \"{active}\"\n[keys]\n");
        for (id, key) in keys {
            text.push_str(&format!("\"{id}\" = \"{}\"\n", STANDARD.encode(key)));
        }
        KeyRing::parse(&text).unwrap()
    }

    #[test]
    fn values_round_trip_and_never_show_the_plaintext() {
        let ring = KeyRing::generate("k1");
        let secret = b"{\"description\": \"RFC GODE561231GR8\"}";
        let sealed = ring.seal(secret);
        assert!(sealed.starts_with("sealed1:k1:"), "{sealed}");
        assert!(!sealed.contains("GODE561231GR8"));
        assert_eq!(ring.open(&sealed).unwrap(), secret);
        // The same plaintext twice: two different sealed values (own nonces).
        assert_ne!(ring.seal(secret), sealed);
        assert_eq!(ring.open(&ring.seal(b"")).unwrap(), b"");
    }

    #[test]
    fn long_values_are_compressed_before_they_are_encrypted() {
        let ring = KeyRing::generate("k1");
        let json = format!(
            "[{}]",
            vec!["{\"description\": \"SPEI\", \"amount\": 10.5}"; 40].join(",")
        );
        let sealed = ring.seal(json.as_bytes());
        assert!(
            sealed.len() < json.len() / 2,
            "{} against {}",
            sealed.len(),
            json.len()
        );
        assert_eq!(ring.open(&sealed).unwrap(), json.as_bytes());
        // Random bytes do not compress: stored as they are, and still round-trip.
        let mut noise = vec![0u8; 1000];
        rand::rng().fill_bytes(&mut noise);
        assert_eq!(ring.open(&ring.seal(&noise)).unwrap(), noise);
    }

    #[test]
    fn a_belvo_object_shrinks_against_the_dictionary_and_older_values_still_open() {
        let sealer = KeyRing::generate("k1");
        // Another transaction than the dictionary's, as Belvo's list returns it.
        let transaction = r#"{"id":"5e471e1f-3739-492e-9243-da17fc8090eb","account":{"id":"aec1f66a-8653-448d-994a-ad8e717e98a2","link":"a2637d13-d171-4278-aadf-a8a3fbe8379b","institution":{"name":"erebor_mx_retail","type":"bank"},"created_at":"2026-12-06T09:02:20.286728Z","collected_at":"2026-12-06T09:02:20.286728Z","category":"CHECKING_ACCOUNT","balance_type":"ASSET","type":"Cuentas de efectivo","name":"Cuenta Perfiles- M.N. - MXN-619","number":"3348651943619","balance":{"current":68261.01,"available":68200.0},"currency":"MXN"},"collected_at":"2026-12-06T09:02:20.286728Z","created_at":"2026-12-06T09:02:20.757378Z","value_date":"2026-12-06","accounting_date":"2026-12-06T14:33:11.000Z","amount":17387.85,"balance":66293.52,"currency":"MXN","description":"PAGO NOMINA","observations":null,"merchant":null,"category":"Income & Payments","subcategory":"Salary","reference":"206629","type":"INFLOW","status":"PENDING"}"#;
        let with =
            lz4_flex::block::compress_prepend_size_with_dict(transaction.as_bytes(), DICTIONARY_V1);
        let without = lz4_flex::compress_prepend_size(transaction.as_bytes());
        assert!(
            with.len() * 4 < without.len() * 3,
            "{} against {}",
            with.len(),
            without.len()
        );
        assert_eq!(
            sealer.open(&sealer.seal(transaction.as_bytes())).unwrap(),
            transaction.as_bytes()
        );
        // Sealed before the dictionary (LZ4 alone), with key k1 = [1; 32].
        let before = "sealed1:k1:BtfQp8R9Yk63aOl-_8ZZDwCKlZV_LzQPxKC6ueNycAPl2Z-Gx3Jgq0D6PJkHTBoAxx9Lez8aDmB6eh43uH6lO3iidDeCM5v0CbKac08VTq5VwxHYA6PCHNySi4L4ILSDBgsNk__AOKtSMhsV_hNBZ1pq9JdhutnMHT6-mOP6mUczwOnDGET1J6QikMwi1AU";
        let json = ["{\"description\":\"SPEI\",\"amount\":10.5}"; 4].join(",");
        assert_eq!(
            ring("k1", &[("k1", [1; 32])]).open(before).unwrap(),
            format!("[{json}]").as_bytes()
        );
    }

    #[test]
    fn after_a_rotation_old_values_open_and_new_ones_use_the_new_key() {
        let old = ring("k1", &[("k1", [1; 32])]);
        let sealed_before = old.seal(b"before");
        let rotated = ring("k2", &[("k1", [1; 32]), ("k2", [2; 32])]);
        assert_eq!(rotated.open(&sealed_before).unwrap(), b"before");
        let sealed_after = rotated.seal(b"after");
        assert_eq!(KeyRing::key_of(&sealed_after), Some("k2"));
        // Once k1 is retired, what it sealed no longer opens, and says why.
        let retired = ring("k2", &[("k2", [2; 32])]);
        assert_eq!(retired.open(&sealed_after).unwrap(), b"after");
        assert_eq!(
            retired.open(&sealed_before),
            Err(OpenError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn fields_round_trip_and_one_field_seals_like_a_value() {
        let ring = ring("k1", &[("k1", [3; 32])]);
        let sealed = ring.seal_fields(&["12.50", "", "{\"id\": \"t1\"}"]);
        let [amount, description, body] = ring.open_fields::<3>(&sealed).unwrap();
        assert_eq!((amount.as_str(), description.as_str()), ("12.50", ""));
        assert_eq!(body, "{\"id\": \"t1\"}");
        let [one] = ring
            .open_fields::<1>(&ring.seal_fields(&["user-7"]))
            .unwrap();
        assert_eq!(one, "user-7");
        assert_eq!(
            ring.open(&ring.seal_fields(&["user-7"])).unwrap(),
            b"user-7"
        );
        assert!(matches!(
            ring.open_fields::<3>(&ring.seal(&[9, 0, 0, 0, b'x'])),
            Err(OpenError::Damaged)
        ));
        assert!(ring.is_current(&sealed));
        assert!(!ring.is_current("12.50"));
    }

    #[test]
    fn tampering_and_wrong_keys_are_refused() {
        let ring1 = ring("k1", &[("k1", [1; 32])]);
        let sealed = ring1.seal(b"amount 1234.56");
        let mut bytes = URL_SAFE_NO_PAD.decode(split(&sealed).unwrap().1).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("sealed1:k1:{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(ring1.open(&tampered), Err(OpenError::Damaged));
        let other = ring("k1", &[("k1", [9; 32])]);
        assert_eq!(other.open(&sealed), Err(OpenError::Damaged));
        assert_eq!(ring1.open("plain text"), Err(OpenError::NotSealed));
        assert_eq!(ring1.open("sealed1:k1:!!"), Err(OpenError::Damaged));
    }

    #[test]
    fn bad_rings_are_refused_without_showing_a_key() {
        let key = STANDARD.encode([7u8; 32]);
        for (text, expected) in [
            (
                format!("active = \"k2\"\n[keys]\nk1 = \"{key}\""),
                "`k2` is not in the ring",
            ),
            (
                "active = \"k1\"\n[keys]\nk1 = \"c2hvcnQ=\"".to_owned(),
                "32 bytes",
            ),
            (
                "active = \"k1\"\n[keys]\nk1 = \"%%%\"".to_owned(),
                "not base64",
            ),
            (
                format!("active = \"K 1\"\n[keys]\n\"K 1\" = \"{key}\""),
                "ids are",
            ),
            ("active = 1".to_owned(), "not valid TOML"),
        ] {
            let err = KeyRing::parse(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains(&key));
        }
        let debug = format!("{:?}", ring("k1", &[("k1", [7; 32])]));
        assert!(!debug.contains(&key) && debug.contains("k1"), "{debug}");
    }
}
