//! The `[database]` section of a service's configuration.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use settings::{Report, Validate};

use crate::Backend;

/// A database URL. It may carry a password, so it never prints: `Debug` and `Serialize`
/// (used only to turn defaults into the first configuration layer) mask the password.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    /// The URL itself, for connecting.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with every password replaced by `***`, for logs, errors, `Debug` and the
    /// serialized form: the userinfo's (`postgres://app:***@host/db`) and the value of every
    /// query parameter whose name, in any case, ends in `password` (libpq's
    /// `?password=…` and `?sslpassword=…`). A URL that does not parse is not shown at all.
    pub fn redacted(&self) -> String {
        let raw = self.expose();
        let Ok(mut parsed) = url::Url::parse(raw) else {
            return "<unparseable database URL>".to_owned();
        };
        let mut changed = false;
        if parsed.password().is_some() {
            changed = true;
            // Only `cannot-be-a-base` URLs refuse a password, and they have none to hide.
            let _ = parsed.set_password(Some("***"));
        }
        if let Some(query) = parsed.query() {
            let redacted = query
                .split('&')
                .map(|pair| {
                    let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                    let decoded = url::form_urlencoded::parse(name.as_bytes())
                        .next()
                        .map(|(name, _)| name.to_ascii_lowercase())
                        .unwrap_or_default();
                    if decoded.ends_with("password") {
                        changed = true;
                        format!("{name}=***")
                    } else {
                        pair.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("&");
            parsed.set_query(Some(&redacted));
        }
        // Unchanged, the URL is shown as written (parsing may normalize it).
        if changed {
            parsed.to_string()
        } else {
            raw.to_owned()
        }
    }

    /// Which backend it names.
    pub fn backend(&self) -> Option<Backend> {
        Backend::from_url(self.expose())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// Database settings (`<PREFIX>__DATABASE__...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite:path/to/file.db`, `sqlite::memory:`, or `postgres://user:pass@host/db`.
    pub url: DatabaseUrl,
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// Connections the pool keeps open when idle.
    pub min_connections: u32,
    /// How long a query waits for a free connection before failing.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// SQLite only: how long a writer waits for the lock before failing.
    #[serde(with = "humantime_serde")]
    pub busy_timeout: Duration,
    /// Run the service's migrations at start-up (production may run them as a Job and
    /// turn this off).
    pub run_migrations: bool,
}

impl DatabaseConfig {
    /// Default settings for this URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: DatabaseUrl::new(url),
            ..Self::default()
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: DatabaseUrl::new("sqlite:.data/connect.db"),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
            run_migrations: true,
        }
    }
}

impl Validate for DatabaseConfig {
    fn validate(&self, report: &mut Report) {
        report.check(
            self.url.backend().is_some(),
            "url",
            "must start with sqlite: or postgres:",
        );
        if self.url.backend() == Some(Backend::Postgres) {
            report.check(
                url::Url::parse(self.url.expose()).is_ok_and(|u| u.host().is_some()),
                "url",
                "is not a valid postgres:// URL",
            );
        }
        report.check(
            self.max_connections >= 1,
            "max_connections",
            "must be at least 1",
        );
        report.check(
            self.min_connections <= self.max_connections,
            "min_connections",
            "must not exceed max_connections",
        );
        report.check(
            !self.acquire_timeout.is_zero(),
            "acquire_timeout",
            "must be greater than zero",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        let url = DatabaseUrl::new("postgres://app:s3cret@db.internal:5432/links");
        assert_eq!(url.redacted(), "postgres://app:***@db.internal:5432/links");
        assert!(!format!("{url:?}").contains("s3cret"));
        let config = DatabaseConfig {
            url,
            ..DatabaseConfig::default()
        };
        assert!(!format!("{config:?}").contains("s3cret"));
        let sqlite = DatabaseUrl::new("sqlite:.data/x.db");
        assert_eq!(sqlite.redacted(), "sqlite:.data/x.db");
    }

    #[test]
    fn query_passwords_are_redacted_in_any_case_and_position() {
        let cases = [
            (
                "postgres://app@db.internal/links?password=s3cret",
                "postgres://app@db.internal/links?password=***",
            ),
            (
                "postgres://db.internal/links?sslmode=require&PassWord=s3cret&user=app",
                "postgres://db.internal/links?sslmode=require&PassWord=***&user=app",
            ),
            (
                "postgres://app:s3cret@db.internal/links?password=s3cret&sslpassword=s3cret",
                "postgres://app:***@db.internal/links?password=***&sslpassword=***",
            ),
            // A percent-encoded name is still the password parameter.
            (
                "postgres://db.internal/links?pass%77ord=s3cret",
                "postgres://db.internal/links?pass%77ord=***",
            ),
            (
                "postgres://db.internal/links?sslmode=disable",
                "postgres://db.internal/links?sslmode=disable",
            ),
            ("sqlite:.data/x.db?mode=rwc", "sqlite:.data/x.db?mode=rwc"),
        ];
        for (raw, shown) in cases {
            let url = DatabaseUrl::new(raw);
            assert_eq!(url.redacted(), shown, "{raw}");
            let config = DatabaseConfig {
                url,
                ..DatabaseConfig::default()
            };
            let debug = format!("{config:?}");
            assert!(!debug.contains("s3cret"), "{debug}");
        }
    }

    #[test]
    fn validation() {
        let mut report = Report::new();
        DatabaseConfig::default().validate(&mut report);
        assert!(report.violations().is_empty());

        let config = DatabaseConfig {
            url: DatabaseUrl::new("mysql://x"),
            max_connections: 0,
            ..DatabaseConfig::default()
        };
        let mut report = Report::new();
        config.validate(&mut report);
        let keys: Vec<_> = report.violations().iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["url", "max_connections"]);
    }
}
