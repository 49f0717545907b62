//! Serializes optional secrets into request bodies (and nowhere else).

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

pub(crate) fn expose<S: Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}
