//! Logs and traces for every service. [`init`] installs one `tracing` subscriber: readable
//! text logs locally or JSON lines in production, filtered by an `EnvFilter` directive, and
//! an OpenTelemetry layer so every span has a W3C trace context; spans are exported over
//! OTLP (HTTP/protobuf) only when an endpoint is configured. [`Telemetry::shutdown`] flushes
//! the exporter and is the last thing a service does.
//!
//! [`propagation`] carries the trace context across process boundaries: extract it from
//! incoming HTTP headers or gRPC metadata (both are HTTP/2 headers) into a server span, and
//! inject the current span's context into outgoing requests (a tower layer for tonic
//! channels and HTTP clients, or a function for anything with a `HeaderMap`).

pub mod propagation;

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// How log lines are written (to stdout).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Telemetry settings, a section of each service's configuration (`[telemetry]`,
/// `<PREFIX>__TELEMETRY__...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info` or `info,sqlx=warn,link_service=debug`.
    pub log_filter: String,
    /// Base URL of an OTLP/HTTP collector (e.g. `http://otel-collector:4318`); spans go to
    /// `<endpoint>/v1/traces`. Unset: no export (trace context is still propagated).
    pub otlp_endpoint: Option<String>,
    /// Fraction of new traces to sample, 0.0 to 1.0. A trace started upstream keeps the
    /// upstream decision.
    pub sampling_ratio: f64,
    /// How long [`Telemetry::shutdown`] waits for the exporter to flush.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
            sampling_ratio: 1.0,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

impl Validate for TelemetryConfig {
    fn validate(&self, report: &mut Report) {
        if let Err(err) = EnvFilter::try_new(&self.log_filter) {
            report.push("log_filter", format!("not a valid filter directive: {err}"));
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            let ok = endpoint
                .parse::<http::Uri>()
                .ok()
                .is_some_and(|uri| matches!(uri.scheme_str(), Some("http" | "https")));
            report.check(ok, "otlp_endpoint", "must be an http:// or https:// URL");
        }
        report.check(
            (0.0..=1.0).contains(&self.sampling_ratio),
            "sampling_ratio",
            "must be between 0.0 and 1.0",
        );
    }
}

/// What can go wrong while setting up telemetry.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter directive does not parse.
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialized,
    /// Flushing or shutting down the trace pipeline failed.
    #[error("telemetry shutdown: {0}")]
    Shutdown(#[from] opentelemetry_sdk::error::OTelSdkError),
}

/// The running trace pipeline. Keep it for the life of the process and call
/// [`Telemetry::shutdown`] last.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
    shutdown_timeout: Duration,
}

impl Telemetry {
    /// Whether spans are exported over OTLP.
    pub fn is_exporting(&self) -> bool {
        self.exporting
    }

    /// Flushes buffered spans and stops the exporter, waiting at most the configured
    /// shutdown timeout.
    pub fn shutdown(self) -> Result<(), TelemetryError> {
        self.provider.force_flush()?;
        self.provider.shutdown_with_timeout(self.shutdown_timeout)?;
        Ok(())
    }
}

/// Builds the subscriber and installs it as the process's global default. Call once, at
/// the start of `main`, after configuration is loaded.
pub fn init(service_name: &str, config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let (telemetry, dispatch) = build(service_name, config)?;
    tracing::dispatcher::set_global_default(dispatch)
        .map_err(|_| TelemetryError::AlreadyInitialized)?;
    Ok(telemetry)
}

/// Builds the subscriber without installing it, for tests and embedding: use it with
/// `tracing::dispatcher::set_default` or `with_default`.
pub fn build(
    service_name: &str,
    config: &TelemetryConfig,
) -> Result<(Telemetry, Dispatch), TelemetryError> {
    build_with_writer(service_name, config, std::io::stdout)
}

/// As [`build`], with log lines going to `writer` instead of stdout (tests read what was
/// logged).
pub fn build_with_writer<W>(
    service_name: &str,
    config: &TelemetryConfig,
    writer: W,
) -> Result<(Telemetry, Dispatch), TelemetryError>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&config.log_filter)?;
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sampling_ratio)));
    let mut provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        );
    let exporting = config.otlp_endpoint.is_some();
    if let Some(endpoint) = &config.otlp_endpoint {
        let endpoint = traces_url(endpoint);
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .build()?;
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    let tracer = provider.tracer(service_name.to_owned());

    let fmt = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(writer).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(tracing_opentelemetry::layer().with_tracer(tracer));
    let telemetry = Telemetry {
        provider,
        exporting,
        shutdown_timeout: config.shutdown_timeout,
    };
    Ok((telemetry, Dispatch::new(subscriber)))
}

/// `<base>/v1/traces`, unless the configured URL already names the traces path.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_url_appends_the_signal_path_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }

    #[test]
    fn validation_names_each_bad_field() {
        let config = TelemetryConfig {
            log_filter: "info,[".to_owned(),
            otlp_endpoint: Some("collector:4318".to_owned()),
            sampling_ratio: 1.5,
            ..TelemetryConfig::default()
        };
        let mut report = Report::new();
        config.validate(&mut report);
        let keys: Vec<_> = report.violations().iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, vec!["log_filter", "otlp_endpoint", "sampling_ratio"]);
        let mut report = Report::new();
        TelemetryConfig::default().validate(&mut report);
        assert!(report.violations().is_empty());
    }

    #[test]
    fn exporting_only_with_an_endpoint() {
        let (telemetry, _) = build("test", &TelemetryConfig::default()).unwrap();
        assert!(!telemetry.is_exporting());
        telemetry.shutdown().unwrap();
    }
}
