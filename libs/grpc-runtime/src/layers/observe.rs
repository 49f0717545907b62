//! One span, one metrics sample and one log line per call. The span continues the
//! caller's W3C trace context (`traceparent` in the metadata), carries the request id, the
//! service and method, and later the caller and the status code; handlers run inside it.
//! The status is read where gRPC puts it: the response headers for a trailers-only answer,
//! otherwise the trailers at the end of the body, so streaming calls are measured until
//! they end. A call whose body is dropped before its status counts as CANCELLED.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;
use tracing::Span;
use tracing::field::Empty;

use super::{code_name, status_in};
use crate::metrics::GrpcMetrics;
use crate::request_id;
use tokio::task::futures::TaskLocalFuture;

#[derive(Debug, Clone)]
pub(crate) struct ObserveLayer {
    metrics: GrpcMetrics,
}

impl ObserveLayer {
    pub(crate) fn new(metrics: GrpcMetrics) -> Self {
        Self { metrics }
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Observe<S> {
    inner: S,
    metrics: GrpcMetrics,
}

impl<S, B, RB> tower::Service<http::Request<B>> for Observe<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
{
    type Response = http::Response<ObservedBody<RB>>;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let (service, method) = split_path(path);
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let span = tracing::info_span!(
            "grpc",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            request_id = %request_id,
            caller = Empty,
            rpc.grpc.status_code = Empty,
        );
        telemetry::propagation::set_parent_from_headers(&span, request.headers());
        let recorder = Recorder {
            metrics: self.metrics.clone(),
            service: service.to_owned(),
            method: method.to_owned(),
            start: Instant::now(),
            span: span.clone(),
            done: false,
        };
        // The handler runs with the request id in scope, so the calls it makes send it on.
        let inner = request_id::scope(request_id, span.in_scope(|| self.inner.call(request)));
        ObserveFuture {
            inner,
            recorder: Some(recorder),
            span,
        }
    }
}

pin_project! {
    pub(crate) struct ObserveFuture<F> {
        #[pin]
        inner: TaskLocalFuture<String, F>,
        recorder: Option<Recorder>,
        span: Span,
    }
}

impl<F, RB, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
{
    type Output = Result<http::Response<ObservedBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(err)) => {
                if let Some(recorder) = this.recorder.take() {
                    recorder.finish(Code::Unknown);
                }
                Poll::Ready(Err(err))
            }
            Poll::Ready(Ok(response)) => {
                let mut recorder = this.recorder.take();
                // A trailers-only response (every error, and tonic's early rejections)
                // carries its status in the headers.
                if let Some(code) = status_in(response.headers())
                    && let Some(recorder) = recorder.take()
                {
                    recorder.finish(code);
                }
                Poll::Ready(Ok(response.map(|inner| ObservedBody { inner, recorder })))
            }
        }
    }
}

pin_project! {
    /// A response body that records the call when its trailers (or its end) arrive.
    pub(crate) struct ObservedBody<B> {
        #[pin]
        inner: B,
        recorder: Option<Recorder>,
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(recorder) = this.recorder.take()
                {
                    recorder.finish(status_in(trailers).unwrap_or(Code::Unknown));
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(recorder) = this.recorder.take() {
                    recorder.finish(Code::Internal);
                }
            }
            Poll::Ready(None) => {
                if let Some(recorder) = this.recorder.take() {
                    // gRPC requires a status; a stream that ends without one is broken.
                    recorder.finish(Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Records a call once: metrics, the span's status field, and the log line.
struct Recorder {
    metrics: GrpcMetrics,
    service: String,
    method: String,
    start: Instant,
    span: Span,
    done: bool,
}

impl Recorder {
    fn finish(mut self, code: Code) {
        self.record(code);
    }

    fn record(&mut self, code: Code) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let name = code_name(code);
        let elapsed = self.start.elapsed();
        // Unknown paths are answered UNIMPLEMENTED; do not let them mint label values.
        let (service, method) = if code == Code::Unimplemented {
            ("unknown", "unknown")
        } else {
            (self.service.as_str(), self.method.as_str())
        };
        self.metrics
            .observe(service, method, name, elapsed.as_secs_f64());
        self.span.record("rpc.grpc.status_code", code as i32);
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        let _entered = self.span.enter();
        if is_server_fault(code) {
            tracing::warn!(code = name, latency_ms, "call finished");
        } else {
            tracing::info!(code = name, latency_ms, "call finished");
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Dropped before a status was seen: the client went away (or the server stopped).
        self.record(Code::Cancelled);
    }
}

/// Codes that say the server (or what it depends on) failed, not the caller.
fn is_server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
            | Code::DeadlineExceeded
            | Code::Unimplemented
    )
}

/// `/pkg.Service/Method` → (`pkg.Service`, `Method`).
fn split_path(path: &str) -> (&str, &str) {
    let trimmed = path.trim_start_matches('/');
    trimmed.split_once('/').unwrap_or((trimmed, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            split_path("/connect.token.v1.TokenService/CreateWidgetToken"),
            ("connect.token.v1.TokenService", "CreateWidgetToken")
        );
        assert_eq!(split_path("/odd"), ("odd", ""));
    }
}
