//! Secret references (`{ env = "VAR" }`, `{ file = "/path" }`, `{ value = "…" }`) and their
//! resolution into `SecretString`s. A secret's value never appears in a message: parse errors
//! and resolution problems name the variable or the path, never what it holds.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Where a secret's value comes from.
#[derive(Debug, Clone)]
pub(crate) enum SecretRef {
    /// An environment variable, looked up in the environment passed to the loader.
    Env(String),
    /// A file, such as a Kubernetes secret mount. Relative paths are relative to the
    /// configuration file's folder. Trailing newlines are trimmed.
    File(PathBuf),
    /// Inline in the file: for local development only (refused for Belvo's real environments).
    Value(SecretString),
}

impl SecretRef {
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

impl<'de> de::Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecretRefVisitor)
    }
}

/// Hand-written so that no error can echo a secret: serde's default messages quote the value
/// they did not expect (`invalid type: string "…"`), and `secret_id = "the-key"` is an easy slip.
struct SecretRefVisitor;

impl SecretRefVisitor {
    fn refuse<E: de::Error>(what: &str) -> Result<SecretRef, E> {
        Err(E::custom(format!(
            "{SECRET_SHAPE}, not {what} (its value is not shown)"
        )))
    }
}

impl<'de> Visitor<'de> for SecretRefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_SHAPE)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
        let mut found: Option<SecretRef> = None;
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
                "env" => SecretRef::Env(text),
                "file" => SecretRef::File(PathBuf::from(text)),
                _ => SecretRef::Value(SecretString::from(text)),
            });
        }
        found.ok_or_else(|| de::Error::custom(format!("empty secret reference; {SECRET_SHAPE}")))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretRef, E> {
        Self::refuse("a bare string")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretRef, E> {
        Self::refuse("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretRef, E> {
        Self::refuse("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretRef, E> {
        Self::refuse("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretRef, E> {
        Self::refuse("a number")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<SecretRef, A::Error> {
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
        secret: SecretRef,
    }

    fn parse(toml_text: &str) -> Result<SecretRef, String> {
        toml::from_str::<Holder>(toml_text)
            .map(|h| h.secret)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn parses_the_three_sources() {
        assert!(matches!(parse(r#"secret = { env = "X" }"#), Ok(SecretRef::Env(v)) if v == "X"));
        assert!(
            matches!(parse(r#"secret = { file = "/s" }"#), Ok(SecretRef::File(p)) if p == Path::new("/s"))
        );
        let inline = parse(r#"secret = { value = "hunter2" }"#).unwrap();
        assert!(matches!(&inline, SecretRef::Value(s) if s.expose_secret() == "hunter2"));
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
