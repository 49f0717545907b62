//! token-service's typed configuration: the gRPC server (addresses, timeouts, internal
//! bearer tokens), its own database, telemetry, the regions file, the secret key of the
//! external-id hash, the optional link-service address and the Belvo client's timeouts and
//! retries. Loaded by `settings` from defaults, an optional TOML file (`TOKEN_SERVICE_CONFIG`)
//! and `TOKEN_SERVICE__*` environment variables, and validated before anything starts.

pub use belvo_accounts::BelvoConfig;
use database::DatabaseConfig;
use grpc_runtime::ServerConfig;
use grpc_runtime::client::ClientConfig;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use telemetry::TelemetryConfig;

/// The default gRPC port (DESIGN §2).
pub const DEFAULT_PORT: u16 = 50051;
/// The default admin (`/metrics`) port.
pub const DEFAULT_ADMIN_PORT: u16 = 9051;

/// Shortest accepted external-id key, in bytes: an HMAC-SHA256 key should carry at least
/// 256 bits.
pub const MIN_EXTERNAL_ID_KEY_LEN: usize = 32;

grpc_runtime::service_config! {
    /// Everything token-service reads at start-up: the conventional sections, then its own.
    pub struct Config {
        /// Secret key of the keyed hash that turns an owner into its Belvo `external_id`
        /// (HMAC-SHA256). At least 32 bytes. Changing it changes every external id.
        #[serde(skip_serializing, default = "empty_secret")]
        pub external_id_key: SecretString,
        /// The services token-service calls.
        pub clients: Clients,
        /// How the Belvo clients (one per region) call Belvo.
        pub belvo: BelvoConfig,
    }
}

/// `[clients]`: the services token-service calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Clients {
    /// link-service, for update mode (`GetLink` with the owner). Unset: update mode is
    /// refused with FAILED_PRECONDITION.
    pub link_service: Option<ClientConfig>,
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::on_ports(DEFAULT_PORT, DEFAULT_ADMIN_PORT),
            database: DatabaseConfig::new("sqlite:.data/token-service.db"),
            telemetry: TelemetryConfig::default(),
            regions_file: None,
            external_id_key: empty_secret(),
            clients: Clients::default(),
            belvo: BelvoConfig::interactive(),
        }
    }
}

impl Validate for Config {
    fn validate(&self, report: &mut Report) {
        self.report_conventional(report);
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
        if let Some(link_service) = &self.clients.link_service {
            report.section("clients.link_service", link_service);
        }
        report.section("belvo", &self.belvo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn load<const N: usize>(env: [(&str, &str); N]) -> Result<Config, settings::SettingsError> {
        settings::Loader::new("TOKEN_SERVICE").env(env).load()
    }

    #[test]
    fn loads_from_environment_with_defaults() {
        let config = load([
            ("TOKEN_SERVICE__EXTERNAL_ID_KEY", KEY),
            (
                "TOKEN_SERVICE__CLIENTS__LINK_SERVICE__URL",
                "http://link-service:50052",
            ),
            ("TOKEN_SERVICE__DATABASE__URL", "sqlite::memory:"),
        ])
        .unwrap();
        assert_eq!(config.server.listen_addr.port(), DEFAULT_PORT);
        assert_eq!(
            config.clients.link_service.map(|c| c.url).as_deref(),
            Some("http://link-service:50052")
        );
        assert_eq!(config.external_id_key.expose_secret(), KEY);
    }

    #[test]
    fn missing_or_short_key_and_bad_url_are_named_without_the_key() {
        let err = load([("TOKEN_SERVICE__CLIENTS__LINK_SERVICE__URL", "link-service")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("external_id_key"), "{err}");
        assert!(err.contains("clients.link_service.url"), "{err}");
        let err = load([("TOKEN_SERVICE__EXTERNAL_ID_KEY", "short-secret-value")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 32 bytes"), "{err}");
        assert!(!err.contains("short-secret-value"), "{err}");
    }
}
