//! token-service's own Prometheus metrics, beside the per-method gRPC metrics the runtime
//! records: tokens issued per region, and Belvo token calls per region by outcome and failure
//! kind with their latency. Labels are configured region keys and fixed words only, never
//! caller input.

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
    Unavailable(&'static str),
    /// Belvo refused the request (4xx).
    Refused(&'static str),
}

impl BelvoOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unavailable(_) => "unavailable",
            Self::Refused(_) => "refused",
        }
    }

    /// The failure's kind ([`belvo::Error::kind`]): `dns`, `connection_refused`, `tls`,
    /// `timeout`, `connection` when Belvo was not reached, `http` when it answered with an
    /// error, `decode`, `refused_locally`; `none` for a success.
    fn failure(self) -> &'static str {
        match self {
            Self::Ok => "none",
            Self::Unavailable(kind) | Self::Refused(kind) => kind,
        }
    }

    pub(crate) fn of(result: &Result<belvo::WidgetToken, belvo::Error>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(e) if e.is_unavailable() => Self::Unavailable(e.kind()),
            Err(e) => Self::Refused(e.kind()),
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
                "Calls to Belvo's POST /api/token/, by region, outcome (ok, unavailable, refused) \
                 and failure kind (none, dns, connection_refused, tls, timeout, connection, http, \
                 decode, refused_locally).",
            ),
            &["region", "outcome", "failure"],
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
            .with_label_values(&[region, outcome.label(), outcome.failure()])
            .inc();
        self.belvo_seconds
            .with_label_values(&[region])
            .observe(took.as_secs_f64());
    }

    pub(crate) fn issued(&self, region: &str) {
        self.issued.with_label_values(&[region]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use prometheus::Encoder as _;

    /// The counter's exposition after one call to `base` (real sockets on loopback).
    async fn counted(base: &str) -> String {
        let client = belvo::Client::builder(
            base.parse().expect("base URL"),
            belvo::Credentials::new("id", "pw"),
        )
        .retry_policy(belvo::RetryPolicy::none())
        .rate_budget(belvo::RateBudget::unlimited())
        .build()
        .expect("client");
        let result = client
            .create_widget_token(&belvo::WidgetTokenRequest::default())
            .await;
        let registry = Registry::new();
        let metrics = Metrics::register(&registry).expect("register");
        metrics.belvo_call("mx", BelvoOutcome::of(&result), Duration::from_millis(1));
        let mut text = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut text)
            .expect("encode");
        String::from_utf8(text).expect("utf-8")
    }

    #[tokio::test]
    async fn a_belvo_that_cannot_be_reached_is_counted_with_its_kind() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        for (base, failure) in [
            (format!("http://{addr}/"), "connection_refused"),
            ("http://belvo.name.invalid/".to_owned(), "dns"),
        ] {
            let text = counted(&base).await;
            let line = format!(
                r#"token_service_belvo_token_calls_total{{failure="{failure}",outcome="unavailable",region="mx"}} 1"#
            );
            assert!(text.contains(&line), "{line} missing from:\n{text}");
        }
    }
}
