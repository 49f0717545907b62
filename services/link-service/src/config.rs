//! link-service's typed configuration: the shared `server`, `telemetry` and `database`
//! sections, where the region file is, how to reach token-service, and how patient the
//! Belvo clients are. Loaded by `settings::Loader` with the prefix `LINK_SERVICE`
//! (`LINK_SERVICE__DATABASE__URL`, `LINK_SERVICE__CLIENTS__TOKEN_SERVICE__URL`,
//! `LINK_SERVICE__CLIENTS__DATA_SERVICE__URL`, ...).

use belvo_accounts::BelvoConfig;
use database::DatabaseConfig;
use grpc_runtime::client::ClientConfig;
use grpc_runtime::{EncryptionConfig, ServerConfig};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use telemetry::TelemetryConfig;

pub use crate::removals::RemovalsConfig;

/// Default gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50052;
/// Default admin (`/metrics`) port.
pub const DEFAULT_ADMIN_PORT: u16 = 9052;

grpc_runtime::service_config! {
    /// Everything link-service needs to start: the conventional sections, then its own.
    pub struct Config {
        /// The services link-service calls.
        pub clients: Clients,
        /// How the per-region Belvo clients behave.
        pub belvo: BelvoConfig,
        /// How the removal of links and erasure of owners retry.
        pub removals: RemovalsConfig,
        /// Encryption at rest of Belvo's link objects and institution user ids
        /// (`store::SEALED`).
        pub encryption: EncryptionConfig,
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::on_ports(DEFAULT_GRPC_PORT, DEFAULT_ADMIN_PORT),
            telemetry: TelemetryConfig::default(),
            database: DatabaseConfig::new("sqlite:.data/link-service.db"),
            regions_file: None,
            clients: Clients::default(),
            belvo: BelvoConfig::interactive(),
            removals: RemovalsConfig::default(),
            encryption: EncryptionConfig::default(),
        }
    }
}

/// The gRPC services link-service calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Clients {
    /// token-service, for `ResolveExternalId` (default `http://127.0.0.1:50051`).
    pub token_service: ClientConfig,
    /// data-service, told about registered links (`NotifyLinkRegistered`) and asked to purge
    /// deleted ones (`PurgeLink`). Unset: link-service calls no data-service, and
    /// data-service still purges on Belvo's `link_deleted` webhook.
    pub data_service: Option<ClientConfig>,
}

impl Validate for Config {
    fn validate(&self, report: &mut Report) {
        self.report_conventional(report);
        report.section("clients.token_service", &self.clients.token_service);
        if let Some(data_service) = &self.clients.data_service {
            report.section("clients.data_service", data_service);
        }
        report.section("belvo", &self.belvo);
        report.section("removals", &self.removals);
        report.section("encryption", &self.encryption);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_50052_and_are_valid() {
        let config = Config::default();
        assert_eq!(config.server.listen_addr.port(), DEFAULT_GRPC_PORT);
        let mut report = Report::new();
        config.validate(&mut report);
        assert!(report.violations().is_empty(), "{:?}", report.violations());
    }

    #[test]
    fn environment_overrides_defaults() {
        let config: Config = settings::Loader::new("LINK_SERVICE")
            .env([
                (
                    "LINK_SERVICE__DATABASE__URL",
                    "postgres://db.internal/links",
                ),
                (
                    "LINK_SERVICE__CLIENTS__TOKEN_SERVICE__URL",
                    "http://token-service:50051",
                ),
                ("LINK_SERVICE__BELVO__MAX_RETRIES", "0"),
                ("LINK_SERVICE__REGIONS_FILE", "/etc/connect/regions.toml"),
            ])
            .load()
            .unwrap();
        assert_eq!(config.database.url.expose(), "postgres://db.internal/links");
        assert_eq!(
            config.clients.token_service.url,
            "http://token-service:50051"
        );
        assert_eq!(config.belvo.max_retries, 0);
        assert_eq!(
            config.regions_file,
            Some(std::path::PathBuf::from("/etc/connect/regions.toml"))
        );
    }

    #[test]
    fn data_service_client_is_optional_and_set_by_its_url() {
        assert!(Config::default().clients.data_service.is_none());
        let config: Config = settings::Loader::new("LINK_SERVICE")
            .env([(
                "LINK_SERVICE__CLIENTS__DATA_SERVICE__URL",
                "http://data-service:50053",
            )])
            .load()
            .unwrap();
        let data_service = config.clients.data_service.unwrap();
        assert_eq!(data_service.url, "http://data-service:50053");
        assert_eq!(
            data_service.request_timeout,
            ClientConfig::default().request_timeout
        );

        let err = settings::Loader::new("LINK_SERVICE")
            .env([("LINK_SERVICE__CLIENTS__DATA_SERVICE__URL", "data:1")])
            .load::<Config>()
            .unwrap_err();
        assert!(
            err.to_string().contains("clients.data_service.url"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_reported() {
        let err = settings::Loader::new("LINK_SERVICE")
            .env([("LINK_SERVICE__CLIENTS__TOKEN_SERVICE__URL", "token:1")])
            .load::<Config>()
            .unwrap_err();
        assert!(
            err.to_string().contains("clients.token_service.url"),
            "{err}"
        );
    }
}
