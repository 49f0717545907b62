//! Secret sources (`{ env = "VAR" }`, `{ file = "/path" }`, `{ value = "…" }`) and their
//! resolution into `SecretString`s. A secret's value never appears in a message: parse errors
//! and resolution problems name the variable or the path, never what it holds.
//!
//! With the flat naming ([`crate::Naming::Flat`]) the environment sets a secret key by reference:
//! `<VAR>=value` makes it `{ env = "<VAR>" }` and `<VAR>_FILE=/path` makes it
//! `{ file = "/path" }` (Docker's and Kubernetes' habit), so the value itself never passes
//! through the layers.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// The struct name [`SecretSource`] deserializes as, so that [`crate::Schema`] can tell a
/// secret key from an ordinary table (as `toml` marks its datetimes).
pub(crate) const SECRET_SOURCE: &str = "$__settings_private_SecretSource";

/// The keys of a secret source table.
const KEYS: &[&str] = &["env", "file", "value"];

/// Where a secret's value comes from. Resolve it with [`crate::Context::resolve`]; `Debug`
/// shows an inline value as `[REDACTED]`.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// An environment variable, looked up in the environment passed to the loader.
    Env(String),
    /// A file, such as a Kubernetes secret mount. Relative paths are relative to the
    /// configuration file's folder. Trailing newlines are trimmed.
    File(PathBuf),
    /// Inline in the file: for local development (a consumer may refuse it elsewhere).
    Value(SecretString),
}

impl SecretSource {
    /// Resolves the reference. The error names the variable or path, never the value.
    pub(crate) fn resolve(
        &self,
        env: &BTreeMap<String, String>,
        base_dir: Option<&Path>,
    ) -> Result<SecretString, String> {
        let value = match self {
            Self::Env(var) => match env.get(var) {
                Some(value) => value.clone(),
                None => return Err(format!("environment variable {var} is not set")),
            },
            Self::File(path) => {
                let path = match base_dir {
                    Some(dir) if path.is_relative() => dir.join(path),
                    _ => path.clone(),
                };
                let mut text = std::fs::read_to_string(&path)
                    .map_err(|err| format!("cannot read secret file {}: {err}", path.display()))?;
                // Mounted secrets and `echo > file` end with a newline that is not part of it.
                let kept = text.trim_end_matches(['\n', '\r']).len();
                text.truncate(kept);
                if text.is_empty() {
                    return Err(format!("secret file {} is empty", path.display()));
                }
                text
            }
            Self::Value(secret) => return Ok(secret.clone()),
        };
        if value.is_empty()
            && let Self::Env(var) = self
        {
            return Err(format!("environment variable {var} is empty"));
        }
        Ok(SecretString::from(value))
    }
}

const SECRET_SHAPE: &str =
    "a secret must be a table: { env = \"VAR\" }, { file = \"/path\" } or { value = \"…\" }";

impl<'de> de::Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Self-describing formats (toml, config) treat a struct as `deserialize_any`, so the
        // visitor still sees bare strings and numbers and refuses them without echoing.
        d.deserialize_struct(SECRET_SOURCE, KEYS, SecretSourceVisitor)
    }
}

/// Hand-written so that no error can echo a secret: serde's default messages quote the value
/// they did not expect (`invalid type: string "…"`), and `secret_id = "the-key"` is an easy slip.
struct SecretSourceVisitor;

impl SecretSourceVisitor {
    fn refuse<E: de::Error>(what: &str) -> Result<SecretSource, E> {
        Err(E::custom(format!(
            "{SECRET_SHAPE}, not {what} (its value is not shown)"
        )))
    }
}

impl<'de> Visitor<'de> for SecretSourceVisitor {
    type Value = SecretSource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_SHAPE)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSource, A::Error> {
        let mut found: Option<SecretSource> = None;
        while let Some(key) = map.next_key::<String>()? {
            if !matches!(key.as_str(), "env" | "file" | "value") {
                return Err(de::Error::custom(format!(
                    "unknown key `{key}` in a secret reference; use `env`, `file` or `value`"
                )));
            }
            let NoEchoString(text) = map.next_value()?;
            if found.is_some() {
                return Err(de::Error::custom(
                    "a secret reference takes exactly one of `env`, `file` or `value`",
                ));
            }
            found = Some(match key.as_str() {
                "env" => SecretSource::Env(text),
                "file" => SecretSource::File(PathBuf::from(text)),
                _ => SecretSource::Value(SecretString::from(text)),
            });
        }
        found.ok_or_else(|| de::Error::custom(format!("empty secret reference; {SECRET_SHAPE}")))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSource, E> {
        Self::refuse("a bare string")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretSource, E> {
        Self::refuse("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretSource, E> {
        Self::refuse("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretSource, E> {
        Self::refuse("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretSource, E> {
        Self::refuse("a number")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<SecretSource, A::Error> {
        Self::refuse("a list")
    }
}

/// A string whose type errors do not quote the value (for `{ value = 123 }`).
struct NoEchoString(String);

impl<'de> de::Deserialize<'de> for NoEchoString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NoEchoString;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<NoEchoString, E> {
                Ok(NoEchoString(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<NoEchoString, E> {
                Ok(NoEchoString(v))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<NoEchoString, E> {
                Err(E::custom("expected a string (the value is not shown)"))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<NoEchoString, E> {
                Err(E::custom("expected a string (the value is not shown)"))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<NoEchoString, E> {
                Err(E::custom("expected a string (the value is not shown)"))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<NoEchoString, E> {
                Err(E::custom("expected a string (the value is not shown)"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Holder {
        secret: SecretSource,
    }

    fn parse(toml_text: &str) -> Result<SecretSource, String> {
        toml::from_str::<Holder>(toml_text)
            .map(|h| h.secret)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn parses_the_three_sources() {
        assert!(matches!(parse(r#"secret = { env = "X" }"#), Ok(SecretSource::Env(v)) if v == "X"));
        assert!(
            matches!(parse(r#"secret = { file = "/s" }"#), Ok(SecretSource::File(p)) if p == Path::new("/s"))
        );
        let inline = parse(r#"secret = { value = "hunter2" }"#).unwrap();
        assert!(matches!(&inline, SecretSource::Value(s) if s.expose_secret() == "hunter2"));
        assert!(!format!("{inline:?}").contains("hunter2"));
    }

    #[test]
    fn malformed_references_never_echo_the_value() {
        for (text, expect) in [
            (r#"secret = "hunter2""#, "not a bare string"),
            (r#"secret = 8675309"#, "not a number"),
            (r#"secret = { value = 8675309 }"#, "expected a string"),
            (r#"secret = { valeu = "hunter2" }"#, "unknown key `valeu`"),
            (
                r#"secret = { env = "A", value = "hunter2" }"#,
                "exactly one",
            ),
            (r#"secret = {}"#, "empty secret reference"),
        ] {
            // The loader reports toml's message and position, not its Display (which quotes the
            // source line), so the message alone must be clean.
            let err = parse(text).unwrap_err();
            assert!(err.contains(expect), "{text}: {err}");
            assert!(
                !err.contains("hunter2") && !err.contains("8675309"),
                "{err}"
            );
        }
    }
}
