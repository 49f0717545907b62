//! The HTTP serving loop: hyper connections around the axum router, with Belvo's firewall (per
//! peer address, which only the accept loop knows), fault injection and the request log applied
//! outside the router (a dropped connection needs to fail the hyper service itself), and
//! graceful shutdown with a bounded drain.

use std::convert::Infallible;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::data::fmt_ts;
use crate::error::ApiError;
use crate::faults::{self, FIREWALL_HTML, Fault};
use crate::firewall;
use crate::state::{RequestRecord, Shared};

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub(crate) struct DropConnection;

#[derive(Clone)]
struct Svc {
    shared: Shared,
    router: Router,
}

/// The WAF's page with the headers openresty sends (an injected fault or the firewall itself).
fn firewall_response() -> Response<Body> {
    let mut r = (StatusCode::FORBIDDEN, FIREWALL_HTML).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r.headers_mut().insert(
        header::SERVER,
        HeaderValue::from_static("openresty/1.15.8.2"),
    );
    r
}

fn fault_response(status: u16, retry_after: Option<u64>) -> Response<Body> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let err = match status {
        429 => ApiError::new(code, "too_many_requests", "Too Many Requests"),
        408 => ApiError::new(
            code,
            "request_timeout",
            "The request timed out, you can retry asking for less data by changing your query parameters",
        ),
        503 => ApiError::new(
            code,
            "service_unavailable",
            "Belvo is unable to process the request due to an internal system issue or to an unsupported response from an institution",
        ),
        500 => ApiError::unexpected(),
        _ => ApiError::new(code, "unexpected_error", "Injected fault"),
    };
    let mut r = err.into_response();
    if let Some(s) = retry_after
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

impl Svc {
    async fn handle(
        self,
        peer: IpAddr,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, DropConnection> {
        let started = Instant::now();
        let arrived = fmt_ts(chrono::Utc::now());
        let method = req.method().to_string();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().map(str::to_owned);
        // Belvo's WAF stands in front of everything else (faults included): it answers before
        // the request reaches the API.
        if !firewall::exempt(&path) && !self.shared.firewall().admit(peer, started) {
            tracing::debug!(%peer, %method, %path, "firewall: over the limit, HTML 403");
            self.shared.record_request(RequestRecord {
                at: arrived,
                source: peer.to_string(),
                method,
                path,
                query,
                status: StatusCode::FORBIDDEN.as_u16(),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                fault: Some("firewall_limit".into()),
            });
            return Ok(firewall_response());
        }
        let picked = if path.starts_with("/_emulator/") {
            Vec::new()
        } else {
            faults::pick(&mut self.shared.faults(), &method, &path)
        };
        for f in &picked {
            if let Fault::Latency { ms } = f {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
            }
        }
        let main = picked
            .iter()
            .find(|f| !matches!(f, Fault::Latency { .. }))
            .cloned();
        let fault_name = picked.iter().map(Fault::name).collect::<Vec<_>>().join(",");
        let record = |status: u16| RequestRecord {
            at: arrived.clone(),
            source: peer.to_string(),
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            status,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            fault: (!fault_name.is_empty()).then(|| fault_name.clone()),
        };
        if method == "OPTIONS" && is_widget_path(&path) {
            let mut r = StatusCode::NO_CONTENT.into_response();
            allow_cors(&mut r);
            self.shared.record_request(record(204));
            return Ok(r);
        }
        let resp = match &main {
            Some(Fault::Drop) => {
                self.shared.record_request(record(0));
                return Err(DropConnection);
            }
            Some(Fault::Status {
                status,
                retry_after,
            }) => fault_response(*status, *retry_after),
            Some(Fault::Firewall) => firewall_response(),
            _ => {
                let r: Result<Response<Body>, Infallible> =
                    self.router.clone().oneshot(req.map(Body::new)).await;
                match r {
                    Ok(r) => r,
                    Err(never) => match never {},
                }
            }
        };
        let mut resp = match &main {
            Some(Fault::Truncated) => truncate(resp).await,
            Some(Fault::Malformed) => malform(resp).await,
            _ => resp,
        };
        if is_widget_path(&path) {
            allow_cors(&mut resp);
        }
        self.shared.record_request(record(resp.status().as_u16()));
        Ok(resp)
    }
}

/// The widget's script and browser endpoints, which pages on other origins call.
fn is_widget_path(path: &str) -> bool {
    path.starts_with("/_widget/") || path == "/belvo-widget-1-stable.js"
}

fn allow_cors(r: &mut Response<Body>) {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
}

/// Announces the full length, sends half, then fails the body so the connection closes.
async fn truncate(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(bytes.len().max(1) as u64),
    );
    // Pending between the two items makes hyper flush the head and the half body before the
    // error aborts the connection.
    let stream = futures::stream::unfold(0u8, move |state| {
        let half = half.clone();
        async move {
            match state {
                0 => Some((Ok(half), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((
                        Err(std::io::Error::other("truncated by an injected fault")),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Same status and headers, a body that is not valid JSON.
async fn malform(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let mut cut = bytes.slice(..bytes.len() / 2).to_vec();
    cut.extend_from_slice(b"\x00<!-- malformed");
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

/// Serves until `shutdown` flips to true, then drains open connections for up to 5 s.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Shared,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let svc = Svc { shared, router };
    let graceful = GracefulShutdown::new();
    let builder = Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok((s, peer)) => (s, peer.ip().to_canonical()),
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let svc = svc.clone();
                let service = hyper::service::service_fn(move |req| svc.clone().handle(peer, req));
                let conn = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {
            tracing::warn!("connections still open after 5 s; closing");
        }
    }
}
