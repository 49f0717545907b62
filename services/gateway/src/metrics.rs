//! The gateway's Prometheus metrics, served at `/metrics` on the admin address (never on the
//! internet-facing one): HTTP requests and their latency by
//! method, route (the matched path template, never the raw path) and status, and webhook
//! outcomes by region and outcome.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The metrics and their registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    webhooks: IntCounterVec,
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("gateway_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "gateway_http_request_duration_seconds",
                "Time to the response head",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route", "status"],
        )?;
        let webhooks = IntCounterVec::new(
            Opts::new("gateway_webhooks_total", "Belvo webhooks by outcome"),
            &["region", "outcome"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(webhooks.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            webhooks,
        })
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// Records one webhook outcome (`accepted`, `duplicate`, `unauthorized`, ...).
    pub fn observe_webhook(&self, region: &str, outcome: &str) {
        self.webhooks.with_label_values(&[region, outcome]).inc();
    }

    /// The registry, served at `/metrics` on the admin address.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}
