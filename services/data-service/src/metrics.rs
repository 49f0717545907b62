//! data-service's own Prometheus metrics: the job queue by state and its oldest job's age,
//! resources whose sync failed, held and unprocessed webhooks (gauges refreshed by the
//! background pass), webhook outcomes and rows synced.

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// The gauges and counters, registered once.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub queue_depth: IntGauge,
    pub jobs: IntGaugeVec,
    pub oldest_job_age: IntGauge,
    pub resources_failed: IntGauge,
    pub webhooks_held: IntGauge,
    pub webhooks_unprocessed: IntGauge,
    pub webhooks: IntCounterVec,
    pub rows_synced: IntCounterVec,
    pub change_streams: IntGauge,
}

impl Metrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Self {
            queue_depth: IntGauge::with_opts(Opts::new(
                "data_sync_jobs_queued",
                "Sync jobs pending or running.",
            ))?,
            jobs: IntGaugeVec::new(
                Opts::new("data_sync_jobs", "Sync jobs pending or running, by state."),
                &["state"],
            )?,
            oldest_job_age: IntGauge::with_opts(Opts::new(
                "data_sync_oldest_job_age_seconds",
                "Age of the oldest pending or running sync job.",
            ))?,
            resources_failed: IntGauge::with_opts(Opts::new(
                "data_sync_resources_failed",
                "Links' resources whose sync failed for good (until a webhook or a resync).",
            ))?,
            webhooks_held: IntGauge::with_opts(Opts::new(
                "data_webhooks_held",
                "Webhooks held for a link that is not registered.",
            ))?,
            webhooks_unprocessed: IntGauge::with_opts(Opts::new(
                "data_webhooks_unprocessed",
                "Webhooks stored but not acted on yet (the retry pass's backlog).",
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
            change_streams: IntGauge::with_opts(Opts::new(
                "data_change_streams",
                "WatchChanges streams open.",
            ))?,
        };
        registry.register(Box::new(m.change_streams.clone()))?;
        registry.register(Box::new(m.queue_depth.clone()))?;
        registry.register(Box::new(m.jobs.clone()))?;
        registry.register(Box::new(m.oldest_job_age.clone()))?;
        registry.register(Box::new(m.resources_failed.clone()))?;
        registry.register(Box::new(m.webhooks_held.clone()))?;
        registry.register(Box::new(m.webhooks_unprocessed.clone()))?;
        registry.register(Box::new(m.webhooks.clone()))?;
        registry.register(Box::new(m.rows_synced.clone()))?;
        Ok(m)
    }

    /// Sets the gauges.
    pub fn show(&self, g: &crate::store::Gauges) {
        self.queue_depth.set(g.pending + g.running);
        self.jobs.with_label_values(&["pending"]).set(g.pending);
        self.jobs.with_label_values(&["running"]).set(g.running);
        self.oldest_job_age.set(g.oldest_job_age_ms / 1000);
        self.resources_failed.set(g.resources_failed);
        self.webhooks_held.set(g.webhooks_held);
        self.webhooks_unprocessed.set(g.webhooks_unprocessed);
    }

    /// Metrics that go nowhere (tests that build parts by hand).
    pub fn unregistered() -> Self {
        #[allow(clippy::expect_used)] // Static, valid metric definitions.
        Self::register(&Registry::new()).expect("static metric definitions")
    }
}
