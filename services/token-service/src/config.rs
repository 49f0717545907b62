//! token-service's typed configuration: the gRPC server (addresses, timeouts, internal
//! bearer tokens), its own database, telemetry, the regions file, the secret key of the
//! external-id hash, the optional link-service address and the Belvo client's timeouts and
//! retries. Loaded by `settings` from defaults, an optional TOML file (`TOKEN_SERVICE_CONFIG`)
//! and `TOKEN_SERVICE__*` environment variables, and validated before anything starts.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use database::DatabaseConfig;
use grpc_runtime::ServerConfig;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use telemetry::TelemetryConfig;

/// The environment prefix: `TOKEN_SERVICE__SERVER__LISTEN_ADDR`, ...
pub const ENV_PREFIX: &str = "TOKEN_SERVICE";

/// The default gRPC port (DESIGN §2).
pub const DEFAULT_PORT: u16 = 50051;
/// The default admin (`/metrics`) port.
pub const DEFAULT_ADMIN_PORT: u16 = 9051;

/// Shortest accepted external-id key, in bytes: an HMAC-SHA256 key should carry at least
/// 256 bits.
pub const MIN_EXTERNAL_ID_KEY_LEN: usize = 32;

/// Everything token-service reads at start-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// gRPC and admin listeners, timeouts, internal callers' bearer tokens
    /// (`TOKEN_SERVICE__SERVER__AUTH_TOKENS__<CALLER>`).
    pub server: ServerConfig,
    /// The service's own database (`sqlite:` or `postgres:` URL).
    pub database: DatabaseConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// The regions TOML file (`libs/regions`). Unset: `$REGIONS_FILE`.
    pub regions_file: Option<PathBuf>,
    /// Secret key of the keyed hash that turns an owner into its Belvo `external_id`
    /// (HMAC-SHA256). At least 32 bytes. Changing it changes every external id.
    #[serde(skip_serializing, default = "empty_secret")]
    pub external_id_key: SecretString,
    /// Where link-service is, for update mode.
    pub link_service: LinkServiceConfig,
    /// How the Belvo clients (one per region) call Belvo.
    pub belvo: BelvoConfig,
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::new(
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, DEFAULT_PORT)),
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, DEFAULT_ADMIN_PORT)),
            ),
            database: DatabaseConfig::new("sqlite:.data/token-service.db"),
            telemetry: TelemetryConfig::default(),
            regions_file: None,
            external_id_key: empty_secret(),
            link_service: LinkServiceConfig::default(),
            belvo: BelvoConfig::default(),
        }
    }
}

impl Config {
    /// Loads the configuration from `TOKEN_SERVICE_CONFIG` (optional TOML file) and the
    /// `TOKEN_SERVICE__*` variables of `env`, and validates it.
    pub fn load<K, V>(
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, settings::SettingsError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        settings::Loader::new(ENV_PREFIX).env(env).load()
    }
}

impl Validate for Config {
    fn validate(&self, report: &mut Report) {
        report.section("server", &self.server);
        report.section("database", &self.database);
        report.section("telemetry", &self.telemetry);
        let key_len = self.external_id_key.expose_secret().len();
        report.check(
            key_len >= MIN_EXTERNAL_ID_KEY_LEN,
            "external_id_key",
            if key_len == 0 {
                "is required (a random secret of at least 32 bytes)".to_owned()
            } else {
                format!("must have at least {MIN_EXTERNAL_ID_KEY_LEN} bytes")
            },
        );
        report.section("link_service", &self.link_service);
        report.section("belvo", &self.belvo);
    }
}

/// What `token-service migrate` reads: the database and telemetry sections only, so the
/// migration Job is given none of the service's secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MigrateConfig {
    /// The database to migrate.
    pub database: DatabaseConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
}

impl Default for MigrateConfig {
    fn default() -> Self {
        let Config {
            database,
            telemetry,
            ..
        } = Config::default();
        Self {
            database,
            telemetry,
        }
    }
}

impl Validate for MigrateConfig {
    fn validate(&self, report: &mut Report) {
        report.section("database", &self.database);
        report.section("telemetry", &self.telemetry);
    }
}

/// `[link_service]`: the optional link-service client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkServiceConfig {
    /// Its gRPC URL, e.g. `http://link-service:50052`. Unset: update mode is refused with
    /// FAILED_PRECONDITION.
    pub url: Option<String>,
    /// The bearer token token-service presents to link-service, if it requires one.
    #[serde(skip_serializing, default)]
    pub bearer_token: Option<SecretString>,
    /// Longest a `GetLink` call may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for LinkServiceConfig {
    fn default() -> Self {
        Self {
            url: None,
            bearer_token: None,
            timeout: Duration::from_secs(5),
        }
    }
}

impl Validate for LinkServiceConfig {
    fn validate(&self, report: &mut Report) {
        if let Some(url) = &self.url {
            report.check(
                url.parse::<http::Uri>()
                    .ok()
                    .is_some_and(|u| matches!(u.scheme_str(), Some("http" | "https"))),
                "url",
                "must be an http:// or https:// URL",
            );
        }
        report.check(
            !self.timeout.is_zero(),
            "timeout",
            "must be greater than zero",
        );
    }
}

/// `[belvo]`: timeouts and retries of the per-region Belvo clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BelvoConfig {
    /// Timeout of one call to Belvo.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries after a failed attempt (5xx, throttling, transport errors).
    pub max_retries: u32,
    /// Delay before the first retry; each retry doubles it.
    #[serde(with = "humantime_serde")]
    pub retry_base_delay: Duration,
}

impl Default for BelvoConfig {
    fn default() -> Self {
        // A person is waiting for the widget: fail within seconds rather than follow
        // Belvo's 3 s x 5 background retry guidance.
        Self {
            timeout: Duration::from_secs(10),
            max_retries: 2,
            retry_base_delay: Duration::from_millis(500),
        }
    }
}

impl BelvoConfig {
    pub(crate) fn retry_policy(&self) -> belvo::RetryPolicy {
        belvo::RetryPolicy {
            max_retries: self.max_retries,
            max_unexpected_error_retries: self.max_retries,
            base_delay: self.retry_base_delay,
            max_delay: self.retry_base_delay.saturating_mul(8),
            max_retry_after: Duration::from_secs(5),
        }
    }
}

impl Validate for BelvoConfig {
    fn validate(&self, report: &mut Report) {
        report.check(
            !self.timeout.is_zero(),
            "timeout",
            "must be greater than zero",
        );
        report.check(self.max_retries <= 10, "max_retries", "must be at most 10");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn loads_from_environment_with_defaults() {
        let config = Config::load([
            ("TOKEN_SERVICE__EXTERNAL_ID_KEY", KEY),
            (
                "TOKEN_SERVICE__LINK_SERVICE__URL",
                "http://link-service:50052",
            ),
            ("TOKEN_SERVICE__DATABASE__URL", "sqlite::memory:"),
        ])
        .unwrap();
        assert_eq!(config.server.listen_addr.port(), DEFAULT_PORT);
        assert_eq!(
            config.link_service.url.as_deref(),
            Some("http://link-service:50052")
        );
        assert_eq!(config.external_id_key.expose_secret(), KEY);
    }

    #[test]
    fn missing_or_short_key_and_bad_url_are_named_without_the_key() {
        let err = Config::load([("TOKEN_SERVICE__LINK_SERVICE__URL", "link-service")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("external_id_key"), "{err}");
        assert!(err.contains("link_service.url"), "{err}");
        let err = Config::load([("TOKEN_SERVICE__EXTERNAL_ID_KEY", "short-secret-value")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 32 bytes"), "{err}");
        assert!(!err.contains("short-secret-value"), "{err}");
    }
}
