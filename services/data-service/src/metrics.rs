//! data-service's own Prometheus metrics: the job queue's depth and oldest job age (refreshed
//! by the background pass), webhook outcomes and rows synced.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// The gauges and counters, registered once.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub queue_depth: IntGauge,
    pub oldest_job_age: IntGauge,
    pub webhooks: IntCounterVec,
    pub rows_synced: IntCounterVec,
}

impl Metrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Self {
            queue_depth: IntGauge::with_opts(Opts::new(
                "data_sync_jobs_queued",
                "Sync jobs pending or running.",
            ))?,
            oldest_job_age: IntGauge::with_opts(Opts::new(
                "data_sync_oldest_job_age_seconds",
                "Age of the oldest pending or running sync job.",
            ))?,
            webhooks: IntCounterVec::new(
                Opts::new("data_webhooks_total", "Webhooks ingested, by outcome."),
                &["outcome"],
            )?,
            rows_synced: IntCounterVec::new(
                Opts::new(
                    "data_rows_synced_total",
                    "Belvo objects stored, by resource.",
                ),
                &["resource"],
            )?,
        };
        registry.register(Box::new(m.queue_depth.clone()))?;
        registry.register(Box::new(m.oldest_job_age.clone()))?;
        registry.register(Box::new(m.webhooks.clone()))?;
        registry.register(Box::new(m.rows_synced.clone()))?;
        Ok(m)
    }

    /// Metrics that go nowhere (tests that build parts by hand).
    pub fn unregistered() -> Self {
        #[allow(clippy::expect_used)] // Static, valid metric definitions.
        Self::register(&Registry::new()).expect("static metric definitions")
    }
}
