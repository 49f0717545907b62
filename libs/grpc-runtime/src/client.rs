//! The one way a service calls another: one `[clients.<name>]` configuration section per
//! dependency, and a channel whose layers carry the current W3C trace context, the
//! `x-request-id` of the request being handled ([`crate::request_id`]) and, when
//! configured, this service's bearer token. Build a generated client on it:
//! `TokenServiceClient::new(client::connect_lazy(&config.clients.token_service)?)`.

use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderValue;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use telemetry::propagation::{InjectTraceContext, InjectTraceContextLayer};
use tower::Layer as _;

/// How to reach one service (`<PREFIX>__CLIENTS__<NAME>__URL`, ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// `http://host:port` of the service.
    pub url: String,
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
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            bearer_token: None,
        }
    }
}

impl Validate for ClientConfig {
    fn validate(&self, report: &mut Report) {
        let ok = self
            .url
            .parse::<http::Uri>()
            .ok()
            .is_some_and(|uri| uri.scheme_str() == Some("http") && uri.host().is_some());
        report.check(
            ok,
            "url",
            "must be an http://host:port URL (TLS is not built in yet)",
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
    /// The token cannot be sent as a header value.
    #[error("the bearer token contains characters not allowed in a header")]
    Token,
}

/// A channel that adds the bearer token, the request id and the trace context to every call.
pub type ClientChannel = AddHeaders<InjectTraceContext<tonic::transport::Channel>>;

const REQUEST_ID: &str = "x-request-id";

/// A channel that connects on first use (and reconnects as needed), so a service can start
/// before its dependencies.
pub fn connect_lazy(config: &ClientConfig) -> Result<ClientChannel, ClientError> {
    let endpoint = tonic::transport::Endpoint::from_shared(config.url.clone())
        .map_err(|source| ClientError::Url {
            url: config.url.clone(),
            source,
        })?
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .tcp_nodelay(true);
    let token = match &config.bearer_token {
        Some(token) => {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| ClientError::Token)?;
            value.set_sensitive(true);
            Some(value)
        }
        None => None,
    };
    let channel = InjectTraceContextLayer.layer(endpoint.connect_lazy());
    Ok(AddHeaders {
        inner: channel,
        token,
    })
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
