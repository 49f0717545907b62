//! W3C trace context (`traceparent`, `tracestate`) across process boundaries. gRPC
//! metadata travels as HTTP/2 headers, so one set of functions on [`http::HeaderMap`]
//! serves both gRPC and HTTP. Servers call [`set_parent_from_headers`] on the span they
//! open per request (grpc-runtime's trace layer does); clients wrap their transport in
//! [`InjectTraceContextLayer`], or call [`inject_current`] on a request's headers.

use std::task::{Context as TaskContext, Poll};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Reads a trace context from headers; an empty context when there is none (or it is
/// malformed).
pub fn extract(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Writes `cx`'s trace context into headers (nothing when `cx` has no valid span).
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

/// Writes the current `tracing` span's trace context into headers.
pub fn inject_current(headers: &mut HeaderMap) {
    inject(&tracing::Span::current().context(), headers);
}

/// Makes `span` a child of the trace context in `headers`, if they carry one. A span
/// without an upstream context starts a new trace.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &HeaderMap) {
    let cx = extract(headers);
    if opentelemetry::trace::TraceContextExt::has_active_span(&cx) {
        // Fails only when no OpenTelemetry layer is installed, and then there is no
        // trace to continue.
        let _ = span.set_parent(cx);
    }
}

/// The trace id of `span` as 32 lower-case hex digits, if it belongs to a trace.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    let cx = span.context();
    let span_cx = cx.span().span_context().clone();
    span_cx.is_valid().then(|| span_cx.trace_id().to_string())
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// A tower layer for clients: every request carries the current span's trace context.
/// Wrap a `tonic::transport::Channel` (then build the generated client on it) or any
/// `Service<http::Request<B>>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct InjectTraceContextLayer;

impl<S> tower::Layer<S> for InjectTraceContextLayer {
    type Service = InjectTraceContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InjectTraceContext { inner }
    }
}

/// The service of [`InjectTraceContextLayer`].
#[derive(Debug, Clone)]
pub struct InjectTraceContext<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for InjectTraceContext<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        inject_current(request.headers_mut());
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use tower::{Layer as _, Service as _, ServiceExt as _};

    use super::*;
    use crate::{TelemetryConfig, build};

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn extract_then_inject_round_trips() {
        let mut incoming = HeaderMap::new();
        incoming.insert("traceparent", HeaderValue::from_static(TRACEPARENT));
        let cx = extract(&incoming);
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        let mut outgoing = HeaderMap::new();
        inject(&cx, &mut outgoing);
        assert_eq!(outgoing.get("traceparent").unwrap(), TRACEPARENT);
    }

    #[test]
    fn nothing_to_extract_gives_an_empty_context() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static("garbage"));
        assert!(!extract(&headers).has_active_span());
        let mut out = HeaderMap::new();
        inject(&Context::new(), &mut out);
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn the_layer_injects_the_current_span_and_servers_continue_it() {
        let (telemetry, dispatch) = build("test", &TelemetryConfig::default()).unwrap();
        let _guard = tracing::dispatcher::set_default(&dispatch);

        // A caller inside a span that continues an upstream trace.
        let span = tracing::info_span!("caller");
        let upstream = SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            SpanId::from_hex("b7ad6b7169203331").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        span.set_parent(Context::new().with_remote_span_context(upstream))
            .unwrap();

        let mut service =
            InjectTraceContextLayer.layer(tower::service_fn(
                |request: http::Request<()>| async move {
                    Ok::<_, Infallible>(request.headers().clone())
                },
            ));
        let headers = {
            let _entered = span.enter();
            service
                .ready()
                .await
                .unwrap()
                .call(http::Request::new(()))
                .await
                .unwrap()
        };
        let traceparent = headers.get("traceparent").unwrap().to_str().unwrap();
        assert!(
            traceparent.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
            "{traceparent}"
        );
        // The injected parent is the caller's own span, not the upstream one.
        assert!(!traceparent.contains("b7ad6b7169203331"), "{traceparent}");

        // A server span continues the same trace.
        let server = tracing::info_span!("server");
        set_parent_from_headers(&server, &headers);
        assert_eq!(
            trace_id(&server).as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        drop(_guard);
        telemetry.shutdown().unwrap();
    }
}
