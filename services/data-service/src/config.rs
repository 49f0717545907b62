//! data-service's configuration (`DATA_SERVICE__…`): the shared server, telemetry and database
//! sections, the regions file (Belvo keys per region), the sync engine's knobs, the Belvo
//! clients' timeouts and retries, and the optional link-service client.

use std::time::Duration;

use belvo_accounts::BelvoConfig;
use database::DatabaseConfig;
use grpc_runtime::client::ClientConfig;
use grpc_runtime::{EncryptionConfig, ServerConfig};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use telemetry::TelemetryConfig;

/// data-service's gRPC port (DESIGN §2) and admin (`/metrics`) port.
pub const DEFAULT_GRPC_PORT: u16 = 50053;
pub const DEFAULT_ADMIN_PORT: u16 = 9053;

grpc_runtime::service_config! {
    /// The whole configuration: the conventional sections, then data-service's own.
    pub struct Config {
        /// The sync engine.
        pub sync: SyncConfig,
        /// The webhook inbox.
        pub webhooks: WebhooksConfig,
        /// Encryption at rest of the stored Belvo objects and webhooks (`store::SEALED`).
        pub encryption: EncryptionConfig,
        /// How the Belvo clients (one per region) call Belvo.
        pub belvo: BelvoConfig,
        /// The services data-service calls.
        pub clients: Clients,
    }
}

/// `[clients]`: the services data-service calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Clients {
    /// link-service, for `LINK` webhooks and links first seen in a webhook. Unset: such
    /// webhooks are held until NotifyLinkRegistered.
    pub link_service: Option<ClientConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::on_ports(DEFAULT_GRPC_PORT, DEFAULT_ADMIN_PORT),
            telemetry: TelemetryConfig::default(),
            database: DatabaseConfig::new("sqlite:.data/data-service.db"),
            regions_file: None,
            sync: SyncConfig::default(),
            webhooks: WebhooksConfig::default(),
            encryption: EncryptionConfig::default(),
            belvo: BelvoConfig::background(),
            clients: Clients::default(),
        }
    }
}

/// `[webhooks]`: the webhook inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Batches of webhooks this replica stores at once, each a transaction. The replicas on
    /// one database share what it takes before the transactions slow each other down:
    /// measured on two cores (docs/benchmarks.md), 8 for one replica and 3 each for two (4
    /// each made two replicas ~8% slower, 8 each ~25%). With fewer, one slow commit makes the
    /// webhooks behind it wait (one replica with 4: p99 ~60 ms instead of ~30).
    pub batches_in_flight: usize,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            batches_in_flight: 8,
        }
    }
}

impl Validate for WebhooksConfig {
    fn validate(&self, report: &mut Report) {
        report.check(
            (1..=64).contains(&self.batches_in_flight),
            "batches_in_flight",
            "must be 1 to 64",
        );
    }
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
    /// Jobs go by priority (a new link's first pull first) and take turns page by page.
    /// `false`: first come, first served, each job to its end (for comparison: the budget
    /// benchmark's baseline).
    pub priorities: bool,
    /// The freshness watchdog's margin over a recurrent link's refresh rate.
    #[serde(with = "humantime_serde")]
    pub freshness_margin: Duration,
    /// How often the watchdog looks for overdue links (and old rows are removed).
    #[serde(with = "humantime_serde")]
    pub watchdog_interval: Duration,
    /// How long finished (done or failed) jobs are kept, for operators.
    #[serde(with = "humantime_serde")]
    pub job_retention: Duration,
    /// How long processed, ignored, held and failed webhooks are kept (Belvo redelivers within
    /// hours; a duplicate arriving later is acted on again, which is idempotent).
    #[serde(with = "humantime_serde")]
    pub webhook_retention: Duration,
    /// Each link's changes are logged for ListChanges. `false` only to measure what the log
    /// costs: ListChanges then answers FAILED_PRECONDITION, and once it is on again a consumer
    /// must start again from an empty cursor.
    pub change_log: bool,
    /// How long removals stay in the change log; a cursor older than that is expired.
    #[serde(with = "humantime_serde")]
    pub change_retention: Duration,
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
            priorities: true,
            freshness_margin: Duration::from_secs(6 * 3600),
            watchdog_interval: Duration::from_secs(300),
            job_retention: Duration::from_secs(7 * 86_400),
            webhook_retention: Duration::from_secs(30 * 86_400),
            change_log: true,
            change_retention: Duration::from_secs(30 * 86_400),
        }
    }
}

impl Validate for Config {
    fn validate(&self, report: &mut Report) {
        self.report_conventional(report);
        report.section("sync", &self.sync);
        report.section("webhooks", &self.webhooks);
        report.section("encryption", &self.encryption);
        // Every worker holds a connection while it stores a page; webhooks and reads need
        // some left, or they wait behind the pulls (and the gateway answers 503).
        report.check(
            self.database.max_connections as usize >= self.sync.workers + 2,
            "database.max_connections",
            "must be at least sync.workers + 2 (connections left for webhooks and reads)",
        );
        report.section("belvo", &self.belvo);
        if let Some(link_service) = &self.clients.link_service {
            report.section("clients.link_service", link_service);
        }
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
        for (retention, field) in [
            (self.job_retention, "job_retention"),
            (self.webhook_retention, "webhook_retention"),
            (self.change_retention, "change_retention"),
        ] {
            report.check(
                retention >= Duration::from_secs(3600),
                field,
                "must be at least 1h",
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design_and_validate() {
        let config = Config::default();
        assert_eq!(config.server.listen_addr.port(), 50053);
        assert_eq!(config.server.admin_addr.port(), 9053);
        let mut report = Report::new();
        config.validate(&mut report);
        assert!(report.violations().is_empty(), "{:?}", report.violations());
    }

    #[test]
    fn environment_overrides_and_bad_values_are_named() {
        let loaded: Result<Config, _> = settings::Loader::new("DATA_SERVICE")
            .env([
                ("DATA_SERVICE__SYNC__WORKERS", "8"),
                ("DATA_SERVICE__SYNC__LEASE", "90s"),
            ])
            .load();
        let config = loaded.unwrap();
        assert_eq!(
            (config.sync.workers, config.sync.lease),
            (8, Duration::from_secs(90))
        );
        // More workers than the pool leaves room for: webhooks would wait behind pulls.
        let err = settings::Loader::new("DATA_SERVICE")
            .env([("DATA_SERVICE__SYNC__WORKERS", "9")])
            .load::<Config>()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("DATA_SERVICE__DATABASE__MAX_CONNECTIONS"),
            "{err}"
        );
        let err = settings::Loader::new("DATA_SERVICE")
            .env([("DATA_SERVICE__SYNC__PAGE_SIZE", "5000")])
            .load::<Config>()
            .unwrap_err();
        assert!(
            err.to_string().contains("DATA_SERVICE__SYNC__PAGE_SIZE"),
            "{err}"
        );
    }
}
