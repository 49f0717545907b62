//! The HTTP core: one `reqwest::Client` built once, Basic auth with the secret keys, Belvo's
//! trailing-slash paths, the rate budget and the retry loop. Every endpoint module calls
//! [`Client::call`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use url::Url;

use crate::Environment;
use crate::error::{self, Error};
use crate::observe::{self, Attempt, Observer};
use crate::rate::{Priority, RateBudget};
use crate::retry::{RetryClass, RetryPolicy};

const USER_AGENT: &str = concat!("connect-belvo-rust/", env!("CARGO_PKG_VERSION"));

/// A Belvo secret key pair. Neither half is ever printed.
#[derive(Clone)]
pub struct Credentials {
    secret_id: SecretString,
    secret_password: SecretString,
}

impl Credentials {
    /// The Secret Key ID and Secret Key Password from Belvo's dashboard.
    pub fn new(
        secret_id: impl Into<SecretString>,
        secret_password: impl Into<SecretString>,
    ) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_password: secret_password.into(),
        }
    }

    pub(crate) fn id(&self) -> &str {
        self.secret_id.expose_secret()
    }

    pub(crate) fn password(&self) -> &str {
        self.secret_password.expose_secret()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials([REDACTED])")
    }
}

/// Builds a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    environment: Environment,
    credentials: Credentials,
    retry: RetryPolicy,
    rate: RateBudget,
    timeout: Duration,
    retrieve_timeout: Duration,
    connect_timeout: Duration,
    region: Option<String>,
    observer: Option<Arc<dyn Observer>>,
    local_address: Option<std::net::IpAddr>,
}

impl ClientBuilder {
    /// Tells `observer` about every attempt and every wait for the rate budget (metrics).
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The region (or any name) this client serves, named in its log lines so that an
    /// operator knows whose Belvo account a failure is about.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Retry policy (default: Belvo's guidance).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Rate budget (default 70 requests per 30 s). Share one budget between clients that use
    /// the same keys by cloning it.
    pub fn rate_budget(mut self, rate: RateBudget) -> Self {
        self.rate = rate;
        self
    }

    /// Timeout of a read, token or link call (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Timeout of a data retrieval POST, where Belvo logs into the institution (default 330 s:
    /// Belvo's own limit is 5 minutes).
    pub fn retrieve_timeout(mut self, timeout: Duration) -> Self {
        self.retrieve_timeout = timeout;
        self
    }

    /// TCP connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The local address calls leave from (default: the system's choice). Belvo's firewall
    /// counts requests by source address, and so does each rate budget: one per egress.
    pub fn local_address(mut self, address: std::net::IpAddr) -> Self {
        self.local_address = Some(address);
        self
    }

    /// Builds the client (and its connection pool).
    pub fn build(self) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .local_address(self.local_address)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(Error::Transport)?;
        Ok(Client {
            http,
            base: self.environment.base_url(),
            environment: self.environment,
            credentials: self.credentials,
            retry: self.retry,
            rate: self.rate,
            timeout: self.timeout,
            retrieve_timeout: self.retrieve_timeout,
            region: self.region.unwrap_or_default(),
            observer: self.observer,
            priority: Priority::default(),
        })
    }
}

/// A Belvo API client for one environment and one key pair. Cheap to clone (the connection
/// pool and rate budget are shared).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    environment: Environment,
    credentials: Credentials,
    retry: RetryPolicy,
    rate: RateBudget,
    timeout: Duration,
    retrieve_timeout: Duration,
    /// Named in log lines; empty when the builder was given none.
    region: String,
    observer: Option<Arc<dyn Observer>>,
    /// Where this client's calls wait in the rate budget's queue.
    priority: Priority,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("environment", &self.environment.name())
            .finish_non_exhaustive()
    }
}

/// What one call sends.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<Bytes>,
    /// Which failures the call may be repeated after.
    pub(crate) retry: RetryClass,
    pub(crate) async_mode: bool,
    pub(crate) long: bool,
    /// The collection path, to resume a 428 on.
    pub(crate) path: &'a str,
}

/// A successful answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode {
            status: self.status,
            source,
        })
    }

    /// The body as text, exactly as received.
    pub(crate) fn text(&self) -> Result<String, Error> {
        String::from_utf8(self.body.to_vec()).map_err(|e| Error::Decode {
            status: self.status,
            source: serde::de::Error::custom(e),
        })
    }
}

impl Client {
    /// A builder for `environment` with the given keys.
    pub fn builder(environment: Environment, credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            environment,
            credentials,
            retry: RetryPolicy::default(),
            rate: RateBudget::belvo_default(),
            timeout: Duration::from_secs(30),
            retrieve_timeout: Duration::from_secs(330),
            connect_timeout: Duration::from_secs(10),
            region: None,
            observer: None,
            local_address: None,
        }
    }

    /// This client (sharing its pool and budget) with its calls waiting for the rate budget at
    /// `priority` (default [`Priority::Interactive`]).
    pub fn with_priority(&self, priority: Priority) -> Self {
        Self {
            priority,
            ..self.clone()
        }
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// `GET /api/`: checks that Belvo is reachable and the keys are accepted (what Belvo's SDKs
    /// do at start-up).
    pub async fn check_credentials(&self) -> Result<(), Error> {
        let call = self.request(Method::GET, "api/", RetryClass::Idempotent)?;
        self.call_empty(call).await
    }

    /// The URL of a Belvo path such as `api/links/`.
    pub(crate) fn url(&self, path: &str) -> Result<Url, Error> {
        self.base.join(path).map_err(|_| Error::ForeignUrl)
    }

    /// A URL received from Belvo (`next`), accepted only under our base URL: the keys go
    /// with every request, so they must never be sent elsewhere.
    pub(crate) fn trusted(&self, url: &str) -> Result<Url, Error> {
        let url = Url::parse(url).map_err(|_| Error::ForeignUrl)?;
        let same_origin =
            url.origin() == self.base.origin() && url.path().starts_with(self.base.path());
        same_origin.then_some(url).ok_or(Error::ForeignUrl)
    }

    /// A call without a body (GET, DELETE) of retry class `retry`.
    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
        retry: RetryClass,
    ) -> Result<Call<'static>, Error> {
        Ok(Call {
            method,
            url: self.url(path)?,
            body: None,
            retry,
            async_mode: false,
            long: false,
            path: "",
        })
    }

    pub(crate) fn with_body<'a, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &'a str,
        body: &B,
        retry: RetryClass,
    ) -> Result<Call<'a>, Error> {
        let body = serde_json::to_vec(body).map_err(|source| Error::Decode {
            status: StatusCode::BAD_REQUEST,
            source,
        })?;
        Ok(Call {
            method,
            url: self.url(path)?,
            body: Some(body.into()),
            retry,
            async_mode: false,
            long: false,
            path,
        })
    }

    /// Sends a call and decodes its JSON answer.
    pub(crate) async fn call_json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        self.send(call, Answer::json).await
    }

    /// Sends a call whose answer has no body we need (204, or any 2xx).
    pub(crate) async fn call_empty(&self, call: Call<'_>) -> Result<(), Error> {
        self.send(call, |_| Ok(())).await
    }

    /// Sends a call within the rate budget, retrying per the policy and the call's
    /// [`RetryClass`]; decoding happens inside the loop so that a malformed answer to an
    /// idempotent call is retried too. Everything but a decoded 2xx becomes an [`Error`],
    /// logged with Belvo's request id.
    pub(crate) async fn send<T>(
        &self,
        call: Call<'_>,
        decode: impl Fn(&Answer) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut retry = 0;
        loop {
            let waiting = Instant::now();
            self.rate.acquire(self.priority).await;
            let sent = Instant::now();
            let result = self.attempt(&call).await.and_then(|answer| decode(&answer));
            if let Some(observer) = &self.observer {
                observer.budget_wait(&self.region, sent - waiting);
                let error = result.as_ref().err();
                observer.attempt(&Attempt {
                    region: &self.region,
                    method: &call.method,
                    endpoint: &observe::endpoint(call.url.path()),
                    outcome: error.map_or("ok", Error::kind),
                    status: error.and_then(Error::status).map(|s| s.as_u16()),
                    code: error.and_then(Error::code).map(|c| c.as_str()),
                    elapsed: sent.elapsed(),
                });
            }
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            // The kind (dns, connection_refused, tls, timeout, connection, http, ...) and the
            // host only: the URL could carry userinfo, and headers carry the keys.
            let kind = error.kind();
            let host = call.url.host_str().unwrap_or_default();
            let region = self.region.as_str();
            match self.retry.delay(&error, retry, call.retry) {
                Some(delay) => {
                    tracing::warn!(
                        region, belvo_host = host, kind,
                        method = %call.method, path = call.url.path(), status = ?error.status(),
                        belvo_request_id = error.request_id(), retry = retry + 1,
                        delay_ms = delay.as_millis() as u64, error = %error,
                        "Belvo call failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                None => {
                    if !matches!(error, Error::TokenRequired(_)) {
                        tracing::warn!(
                            region, belvo_host = host, kind,
                            method = %call.method, path = call.url.path(), status = ?error.status(),
                            belvo_request_id = error.request_id(), attempts = retry + 1,
                            error = %error, "Belvo call failed"
                        );
                    }
                    return Err(error);
                }
            }
        }
    }

    /// One HTTP exchange, in a client span (OpenTelemetry's HTTP conventions) that records the
    /// status and Belvo's request id; never the keys or bodies.
    async fn attempt(&self, call: &Call<'_>) -> Result<Answer, Error> {
        let span = tracing::info_span!(
            "belvo",
            otel.name = %format!("belvo {} {}", call.method, call.url.path()),
            otel.kind = "client",
            http.request.method = %call.method,
            url.path = call.url.path(),
            server.address = call.url.host_str().unwrap_or_default(),
            http.response.status_code = tracing::field::Empty,
            belvo.request_id = tracing::field::Empty,
        );
        let result = self.exchange(call).instrument(span.clone()).await;
        let status = match &result {
            Ok(answer) => Some(answer.status),
            Err(error) => error.status(),
        };
        if let Some(status) = status {
            span.record("http.response.status_code", status.as_u16());
        }
        if let Some(id) = result.as_ref().err().and_then(Error::request_id) {
            span.record("belvo.request_id", id);
        }
        result
    }

    async fn exchange(&self, call: &Call<'_>) -> Result<Answer, Error> {
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .basic_auth(self.credentials.id(), Some(self.credentials.password()))
            .timeout(if call.long {
                self.retrieve_timeout
            } else {
                self.timeout
            });
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if call.async_mode {
            // Case-sensitive: Belvo treats anything but lower-case `async` as synchronous.
            request = request.header("X-Belvo-Request-Mode", "async");
        }
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response.bytes().await.map_err(Error::Transport)?;
        if status.is_success() {
            Ok(Answer { status, body })
        } else {
            Err(error::from_response(status, retry_after, &body, call.path))
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap<HeaderValue>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at
        .signed_duration_since(chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    Some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::builder(base.parse().unwrap(), Credentials::new("id", "pw"))
            .build()
            .unwrap()
    }

    #[test]
    fn next_urls_are_followed_only_under_the_base_url() {
        let c = client("http://127.0.0.1:9/belvo");
        assert!(
            c.trusted("http://127.0.0.1:9/belvo/api/transactions/?page=2")
                .is_ok()
        );
        assert!(matches!(
            c.trusted("http://evil.example/belvo/api/"),
            Err(Error::ForeignUrl)
        ));
        assert!(matches!(
            c.trusted("http://127.0.0.1:10/belvo/api/"),
            Err(Error::ForeignUrl)
        ));
        assert!(matches!(
            c.trusted("http://127.0.0.1:9/other/api/"),
            Err(Error::ForeignUrl)
        ));
    }

    #[test]
    fn secrets_never_print() {
        let c = Client::builder(
            Environment::Sandbox,
            Credentials::new("the-id", "the-password"),
        )
        .build()
        .unwrap();
        let printed = format!("{c:?} {:?}", c.credentials());
        assert!(
            !printed.contains("the-id") && !printed.contains("the-password"),
            "{printed}"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(12)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(
            wait > Duration::from_secs(85) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
    }
}
