//! data-service's configuration (`DATA_SERVICE__…`): the shared server, telemetry and database
//! sections, the regions file (Belvo keys per region), the sync engine's knobs and the
//! optional link-service client.

use std::path::PathBuf;
use std::time::Duration;

use database::DatabaseConfig;
use grpc_runtime::ServerConfig;
use grpc_runtime::client::ClientConfig;
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use telemetry::TelemetryConfig;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub telemetry: TelemetryConfig,
    pub database: DatabaseConfig,
    /// The regions file (Belvo environment and keys per region). Unset: `REGIONS_FILE`.
    pub regions_file: Option<PathBuf>,
    pub sync: SyncConfig,
    /// link-service, for `LINK` webhooks and links first seen in a webhook. Unset: such
    /// webhooks are held until NotifyLinkRegistered.
    pub link_service: Option<ClientConfig>,
}

/// The sync engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Concurrent pull workers in this process; 0 makes a replica that only ingests webhooks
    /// and serves reads (workers then run in other replicas).
    pub workers: usize,
    /// How long a claimed job stays a worker's without a checkpoint before another worker may
    /// take it over.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Attempts of one job before it is marked failed.
    pub max_attempts: i32,
    /// First retry delay; doubles each attempt (with jitter) up to `retry_max`.
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// How often idle workers look for due jobs (new webhooks wake them at once).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Objects per Belvo page (Belvo's maximum is 1000).
    pub page_size: u32,
    /// The freshness watchdog's margin over a recurrent link's refresh rate.
    #[serde(with = "humantime_serde")]
    pub freshness_margin: Duration,
    /// How often the watchdog looks for overdue links.
    #[serde(with = "humantime_serde")]
    pub watchdog_interval: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            lease: Duration::from_secs(60),
            max_attempts: 8,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
            poll_interval: Duration::from_secs(2),
            page_size: 1000,
            freshness_margin: Duration::from_secs(6 * 3600),
            watchdog_interval: Duration::from_secs(300),
        }
    }
}

impl Validate for Config {
    fn validate(&self, report: &mut Report) {
        report.section("server", &self.server);
        report.section("telemetry", &self.telemetry);
        report.section("sync", &self.sync);
    }
}

impl Validate for SyncConfig {
    fn validate(&self, report: &mut Report) {
        report.check(self.workers <= 256, "workers", "must be at most 256");
        report.check(self.max_attempts >= 1, "max_attempts", "must be at least 1");
        report.check(
            self.lease >= Duration::from_secs(1),
            "lease",
            "must be at least 1s",
        );
        report.check(
            (1..=1000).contains(&self.page_size),
            "page_size",
            "must be 1 to 1000",
        );
        report.check(
            self.retry_base <= self.retry_max,
            "retry_base",
            "must not exceed retry_max",
        );
    }
}
