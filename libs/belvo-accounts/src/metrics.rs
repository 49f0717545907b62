//! Every Belvo call of a service, as Prometheus metrics in the service's registry (its admin
//! `/metrics`): counted and timed by region, endpoint, method, outcome, HTTP status and Belvo's
//! error code, and the time calls wait for the region's rate budget.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The metrics, registered once per service; cheap to clone.
#[derive(Debug, Clone)]
pub struct BelvoMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    budget_wait: HistogramVec,
}

impl BelvoMetrics {
    /// Registers `belvo_requests_total`, `belvo_request_duration_seconds` and
    /// `belvo_budget_wait_seconds` in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "belvo_requests_total",
                "HTTP requests to Belvo (each attempt), by outcome, HTTP status and Belvo error code",
            ),
            &["region", "endpoint", "method", "outcome", "status", "code"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "belvo_request_duration_seconds",
                "Time from sending a request to Belvo to its decoded answer or failure",
            )
            .buckets(vec![
                0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 330.0,
            ]),
            &["region", "endpoint", "outcome"],
        )?;
        let budget_wait = HistogramVec::new(
            HistogramOpts::new(
                "belvo_budget_wait_seconds",
                "Time a call waited for its region's rate budget before it was sent",
            )
            .buckets(vec![0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0]),
            &["region"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(budget_wait.clone()))?;
        Ok(Self {
            requests,
            duration,
            budget_wait,
        })
    }
}

impl belvo::Observer for BelvoMetrics {
    fn attempt(&self, a: &belvo::Attempt<'_>) {
        let status = a.status.map(|s| s.to_string()).unwrap_or_default();
        self.requests
            .with_label_values(&[
                a.region,
                a.endpoint,
                a.method.as_str(),
                a.outcome,
                &status,
                a.code.unwrap_or_default(),
            ])
            .inc();
        self.duration
            .with_label_values(&[a.region, a.endpoint, a.outcome])
            .observe(a.elapsed.as_secs_f64());
    }

    fn budget_wait(&self, region: &str, waited: Duration) {
        self.budget_wait
            .with_label_values(&[region])
            .observe(waited.as_secs_f64());
    }
}
