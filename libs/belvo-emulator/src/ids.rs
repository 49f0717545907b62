//! Deterministic hashing and identifiers: generated objects get UUIDs that encode their link and
//! index (so a detail lookup needs no stored row), request ids are random 32-hex strings.

use rand::Rng;
use uuid::Uuid;

/// A stable 64-bit hash of byte strings (FNV-1a folded through splitmix64), identical across
/// runs and platforms, unlike `std`'s `DefaultHasher`.
pub(crate) fn hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// splitmix64 finaliser: spreads the bits of `x`.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Hash of two numbers.
pub(crate) fn mix2(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b.wrapping_add(0x632b_e59b_d9b4_e019)))
}

/// A random Belvo request id: 32 lowercase hex characters.
pub(crate) fn request_id() -> String {
    let v: u128 = rand::rng().random();
    format!("{v:032x}")
}

/// A random 32-hex id from a seed (webhook ids, MFA sessions).
pub(crate) fn hex32(seed: u64, n: u64) -> String {
    format!("{:016x}{:016x}", mix2(seed, n), mix2(n, seed))
}

/// The 10-byte prefix shared by every generated object of one kind in one link.
fn prefix(scope: u64) -> [u8; 10] {
    let a = mix(scope).to_be_bytes();
    let b = mix(scope ^ 0x5555).to_be_bytes();
    let mut p = [0u8; 10];
    p[..8].copy_from_slice(&a);
    p[8..].copy_from_slice(&b[..2]);
    p[6] = 0x40 | (p[6] & 0x0f); // version 4
    p[8] = 0x80 | (p[8] & 0x3f); // RFC 4122 variant
    p
}

fn mask(scope: u64) -> u64 {
    mix(scope ^ 0xaaaa) & 0xffff_ffff_ffff
}

/// The id of object `index` in `scope` (a hash of link id and resource); UUIDv4-shaped.
pub(crate) fn object_id(scope: u64, index: u64) -> Uuid {
    let mut b = [0u8; 16];
    b[..10].copy_from_slice(&prefix(scope));
    let tail = (index ^ mask(scope)) & 0xffff_ffff_ffff;
    b[10..].copy_from_slice(&tail.to_be_bytes()[2..]);
    Uuid::from_bytes(b)
}

/// The index encoded in `id` if it belongs to `scope`.
pub(crate) fn object_index(scope: u64, id: &Uuid) -> Option<u64> {
    let b = id.as_bytes();
    if b[..10] != prefix(scope) {
        return None;
    }
    let mut t = [0u8; 8];
    t[2..].copy_from_slice(&b[10..]);
    Some(u64::from_be_bytes(t) ^ mask(scope))
}

/// Scope of the objects of `kind` in link `link`.
pub(crate) fn scope(link: &Uuid, kind: &str) -> u64 {
    hash(&[link.as_bytes(), kind.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_round_trip_and_are_v4() {
        let link = Uuid::from_u128(7);
        let s = scope(&link, "transactions");
        for i in [0u64, 1, 999, 1_000_000, (1 << 47) + 3] {
            let id = object_id(s, i);
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(object_index(s, &id), Some(i));
        }
        let other = scope(&link, "accounts");
        assert_eq!(object_index(other, &object_id(s, 5)), None);
        assert_ne!(object_id(s, 1), object_id(s, 2));
    }

    #[test]
    fn request_ids_are_32_hex() {
        let r = request_id();
        assert_eq!(r.len(), 32);
        assert!(
            r.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
