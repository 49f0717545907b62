//! token-service's own Prometheus metrics, beside the per-method gRPC metrics the runtime
//! records: tokens issued per region, and Belvo token calls per region by outcome with their
//! latency. Labels are configured region keys only, never caller input.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The metrics, registered once at start-up.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    issued: IntCounterVec,
    belvo_calls: IntCounterVec,
    belvo_seconds: HistogramVec,
}

/// How a Belvo token call ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BelvoOutcome {
    /// A token came back.
    Ok,
    /// Belvo (or the way to it) failed: 5xx, throttling, transport.
    Unavailable,
    /// Belvo refused the request (4xx).
    Refused,
}

impl BelvoOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unavailable => "unavailable",
            Self::Refused => "refused",
        }
    }

    pub(crate) fn of(result: &Result<belvo::WidgetToken, belvo::Error>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(e) if e.is_unavailable() => Self::Unavailable,
            Err(_) => Self::Refused,
        }
    }
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub(crate) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let issued = IntCounterVec::new(
            Opts::new(
                "token_service_widget_tokens_issued_total",
                "Widget access tokens issued, by region.",
            ),
            &["region"],
        )?;
        let belvo_calls = IntCounterVec::new(
            Opts::new(
                "token_service_belvo_token_calls_total",
                "Calls to Belvo's POST /api/token/, by region and outcome (ok, unavailable, refused).",
            ),
            &["region", "outcome"],
        )?;
        let belvo_seconds = HistogramVec::new(
            HistogramOpts::new(
                "token_service_belvo_token_call_seconds",
                "Duration of Belvo's POST /api/token/ (retries included), by region.",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["region"],
        )?;
        registry.register(Box::new(issued.clone()))?;
        registry.register(Box::new(belvo_calls.clone()))?;
        registry.register(Box::new(belvo_seconds.clone()))?;
        Ok(Self {
            issued,
            belvo_calls,
            belvo_seconds,
        })
    }

    pub(crate) fn belvo_call(&self, region: &str, outcome: BelvoOutcome, took: Duration) {
        self.belvo_calls
            .with_label_values(&[region, outcome.label()])
            .inc();
        self.belvo_seconds
            .with_label_values(&[region])
            .observe(took.as_secs_f64());
    }

    pub(crate) fn issued(&self, region: &str) {
        self.issued.with_label_values(&[region]).inc();
    }
}
