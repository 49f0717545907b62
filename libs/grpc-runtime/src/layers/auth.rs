//! Optional per-caller bearer tokens for internal clients. When the server has tokens
//! configured, every call except health and reflection must carry
//! `authorization: Bearer <token>` of a known caller; the caller's name is then put in the
//! request's extensions ([`Caller`]) and on the call's span. Tokens are compared in
//! constant time, and a rejection says only "unauthenticated". Every call also carries the
//! method it called ([`CalledMethod`]), for the access checks of [`crate::access`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use secrecy::{ExposeSecret as _, SecretString};
use subtle::ConstantTimeEq as _;
use tonic::Status;

use super::is_open_path;

/// The internal caller a request was authenticated as (a request extension; read it in a
/// handler with `request.extensions().get::<Caller>()`). Absent when the server has no
/// tokens configured. Names are lower case with `-` (`AUTH_TOKENS__LINK_SERVICE` is
/// `link-service`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

impl Caller {
    /// Whether this is an operator identity: a token named `operator` or `operator-<who>`.
    pub fn is_operator(&self) -> bool {
        self.0 == "operator" || self.0.starts_with("operator-")
    }
}

/// The gRPC method a request called, its path (`/connect.data.v1.DataService/PurgeLink`); a
/// request extension on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalledMethod(pub String);

/// A configured caller name in its canonical form: lower case, `-` between words.
fn canonical(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

#[derive(Debug, Clone)]
pub(crate) struct AuthLayer {
    tokens: Arc<Vec<(String, SecretString)>>,
}

impl AuthLayer {
    pub(crate) fn new(tokens: &BTreeMap<String, SecretString>) -> Self {
        Self {
            tokens: Arc::new(
                tokens
                    .iter()
                    .map(|(name, token)| (canonical(name), token.clone()))
                    .collect(),
            ),
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            tokens: Arc::clone(&self.tokens),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Auth<S> {
    inner: S,
    tokens: Arc<Vec<(String, SecretString)>>,
}

impl<S> Auth<S> {
    /// The caller whose token `presented` is. Every configured token is compared, so the
    /// time taken does not tell which one (nearly) matched.
    fn caller(&self, presented: &str) -> Option<&str> {
        let mut found = None;
        for (name, token) in self.tokens.iter() {
            if bool::from(token.expose_secret().as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

impl<S, B, RB> tower::Service<http::Request<B>> for Auth<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    RB: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = AuthFuture<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let method = CalledMethod(request.uri().path().to_owned());
        request.extensions_mut().insert(method);
        if self.tokens.is_empty() || is_open_path(request.uri().path()) {
            return AuthFuture::Inner {
                future: self.inner.call(request),
            };
        }
        let presented = bearer_token(request.headers());
        match presented.and_then(|token| self.caller(token)) {
            Some(name) => {
                tracing::Span::current().record("caller", name);
                let caller = Caller(name.to_owned());
                request.extensions_mut().insert(caller);
                AuthFuture::Inner {
                    future: self.inner.call(request),
                }
            }
            None => {
                tracing::warn!(
                    token_present = presented.is_some(),
                    "rejected a call without a valid bearer token"
                );
                AuthFuture::Rejected {
                    response: Some(Status::unauthenticated("unauthenticated").into_http()),
                }
            }
        }
    }
}

pin_project! {
    /// The handler's future, or an immediate UNAUTHENTICATED answer.
    #[project = AuthFutureProj]
    pub(crate) enum AuthFuture<F, R> {
        Inner { #[pin] future: F },
        Rejected { response: Option<R> },
    }
}

impl<F, R, E> Future for AuthFuture<F, R>
where
    F: Future<Output = Result<R, E>>,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AuthFutureProj::Inner { future } => future.poll(cx),
            AuthFutureProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after completion: never answer twice.
                None => Poll::Pending,
            },
        }
    }
}

/// The token of an `authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_parse() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            "authorization",
            http::HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert("authorization", http::HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert("authorization", http::HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn callers_match_whole_tokens_only() {
        let mut tokens = BTreeMap::new();
        tokens.insert(
            "gateway".to_owned(),
            SecretString::from("token-of-the-gateway"),
        );
        tokens.insert(
            "reports".to_owned(),
            SecretString::from("token-of-the-reports"),
        );
        let auth = AuthLayer::new(&tokens);
        let svc = tower::Layer::layer(&auth, ());
        assert_eq!(svc.caller("token-of-the-gateway"), Some("gateway"));
        assert_eq!(svc.caller("token-of-the-reports"), Some("reports"));
        assert_eq!(svc.caller("token-of-the"), None);
        assert_eq!(svc.caller(""), None);
    }
}
