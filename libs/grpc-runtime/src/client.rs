//! The one way a service calls another: one `[clients.<name>]` configuration section per
//! dependency, and a channel whose layers carry the current W3C trace context, the
//! `x-request-id` of the request being handled ([`crate::request_id`]) and, when
//! configured, this service's bearer token. Build a generated client on it:
//! `TokenServiceClient::new(client::connect_lazy(&config.clients.token_service)?)`.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderValue;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use telemetry::propagation::{InjectTraceContext, InjectTraceContextLayer};
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};
use tower::Layer as _;

/// How to reach one service (`<PREFIX>__CLIENTS__<NAME>__URL`, ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// `http://host:port` of the service, or several, comma-separated. A single URL whose host
    /// is an IP address is one connection; otherwise every address of every host (a
    /// Kubernetes headless Service's name resolves to each ready pod) gets a connection,
    /// calls go to the less loaded of two picked at random, and the names are resolved again
    /// every `resolve_interval`, so replicas that come and go are followed. (One connection
    /// to a ClusterIP Service would pin every call to one pod: HTTP/2 keeps it open.)
    pub url: String,
    /// How often host names are resolved again.
    #[serde(with = "humantime_serde")]
    pub resolve_interval: Duration,
    /// How long to wait for a connection.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Deadline of each call (sent as `grpc-timeout`).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// This service's token at the other one, if it requires one.
    #[serde(skip_serializing, default)]
    pub bearer_token: Option<SecretString>,
}

impl ClientConfig {
    /// Default timeouts, no token.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:50051".to_owned(),
            resolve_interval: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            bearer_token: None,
        }
    }
}

impl ClientConfig {
    /// The URLs of `url`, parsed; `None` when one is not `http://host:port`.
    fn uris(&self) -> Option<Vec<http::Uri>> {
        self.url
            .split(',')
            .map(|url| {
                let uri = url.trim().parse::<http::Uri>().ok()?;
                (uri.scheme_str() == Some("http") && uri.host().is_some()).then_some(uri)
            })
            .collect()
    }
}

impl Validate for ClientConfig {
    fn validate(&self, report: &mut Report) {
        report.check(
            self.uris().is_some(),
            "url",
            "must be http://host:port URLs, comma-separated (TLS is not built in yet)",
        );
        report.check(
            !self.resolve_interval.is_zero(),
            "resolve_interval",
            "must be greater than zero",
        );
        report.check(
            !self.request_timeout.is_zero(),
            "request_timeout",
            "must be greater than zero",
        );
    }
}

/// What can go wrong when building a channel.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not valid.
    #[error("invalid service URL {url}: {source}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
    /// Not `http://host:port` URLs.
    #[error("invalid service URL {0}: must be http://host:port, or several comma-separated")]
    NotHttp(String),
    /// The token cannot be sent as a header value.
    #[error("the bearer token contains characters not allowed in a header")]
    Token,
}

/// A channel that adds the bearer token, the request id and the trace context to every call.
pub type ClientChannel = AddHeaders<InjectTraceContext<tonic::transport::Channel>>;

const REQUEST_ID: &str = "x-request-id";

/// A channel that connects on first use (and reconnects as needed), so a service can start
/// before its dependencies; spread over every address of `config.url` (see [`ClientConfig`]).
pub fn connect_lazy(config: &ClientConfig) -> Result<ClientChannel, ClientError> {
    let invalid = |source| ClientError::Url {
        url: config.url.clone(),
        source,
    };
    let uris = config
        .uris()
        .ok_or_else(|| ClientError::NotHttp(config.url.clone()))?;
    let channel = match uris.as_slice() {
        [uri] if uri.host().is_some_and(|h| h.parse::<IpAddr>().is_ok()) => {
            endpoint(config, uri.to_string())
                .map_err(invalid)?
                .connect_lazy()
        }
        _ => {
            let (channel, changes) = Channel::balance_channel(BALANCE_CAPACITY);
            tokio::spawn(follow_addresses(config.clone(), uris, changes));
            channel
        }
    };
    let token = match &config.bearer_token {
        Some(token) => {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| ClientError::Token)?;
            value.set_sensitive(true);
            Some(value)
        }
        None => None,
    };
    Ok(AddHeaders {
        inner: InjectTraceContextLayer.layer(channel),
        token,
    })
}

/// Address changes waiting for the balancer.
const BALANCE_CAPACITY: usize = 64;

fn endpoint(config: &ClientConfig, url: String) -> Result<Endpoint, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url)?
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .tcp_nodelay(true))
}

/// Resolves every host of `uris` now and then every `resolve_interval` (every second while
/// nothing resolves), and tells the balancer which addresses came and went; ends when the
/// channel is dropped.
async fn follow_addresses(
    config: ClientConfig,
    uris: Vec<http::Uri>,
    changes: tokio::sync::mpsc::Sender<Change<SocketAddr, Endpoint>>,
) {
    let mut current = BTreeSet::new();
    loop {
        let mut found = BTreeSet::new();
        for uri in &uris {
            let Some(host) = uri.host() else {
                continue;
            };
            let port = uri.port_u16().unwrap_or(80);
            // `[::1]` arrives bracketed; the resolver wants the bare address.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            match tokio::net::lookup_host((host, port)).await {
                Ok(addresses) => found.extend(addresses),
                Err(e) => tracing::warn!(host, error = %e, "cannot resolve a service's address"),
            }
        }
        for gone in current.difference(&found) {
            if changes.send(Change::Remove(*gone)).await.is_err() {
                return;
            }
        }
        for new in found.difference(&current) {
            let Ok(endpoint) = endpoint(&config, format!("http://{new}")) else {
                continue;
            };
            if changes.send(Change::Insert(*new, endpoint)).await.is_err() {
                return;
            }
        }
        if found != current {
            tracing::info!(url = %config.url, addresses = ?found, "service addresses");
        }
        let wait = if found.is_empty() {
            Duration::from_secs(1).min(config.resolve_interval)
        } else {
            config.resolve_interval
        };
        current = found;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = changes.closed() => return,
        }
    }
}

/// Adds `authorization: Bearer <token>` (when there is a token) and the current
/// `x-request-id` (when a request is being handled and the call does not set its own) to
/// every request.
#[derive(Debug, Clone)]
pub struct AddHeaders<S> {
    inner: S,
    token: Option<HeaderValue>,
}

impl<S, B> tower::Service<http::Request<B>> for AddHeaders<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if let Some(token) = &self.token {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, token.clone());
        }
        if !request.headers().contains_key(REQUEST_ID)
            && let Some(id) = crate::request_id::current()
            && let Ok(value) = HeaderValue::from_str(&id)
        {
            request.headers_mut().insert(REQUEST_ID, value);
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_validated() {
        let mut report = Report::new();
        ClientConfig::new("http://token-service:50051").validate(&mut report);
        assert!(report.violations().is_empty());
        let mut report = Report::new();
        ClientConfig::new("token-service:50051").validate(&mut report);
        assert_eq!(report.violations().len(), 1);
    }

    #[test]
    fn tokens_never_print() {
        let config = ClientConfig {
            bearer_token: Some(SecretString::from("gateway-token-0123456789")),
            ..ClientConfig::default()
        };
        assert!(!format!("{config:?}").contains("gateway-token"));
    }
}
