//! A Belvo that cannot be reached, over real loopback sockets (no fixed ports): each way of not
//! reaching it is its own kind, in the error, its message and the client's log line, which
//! names the region and the host and never the keys or the URL's userinfo. The self-signed
//! certificate in `data/` (CN `belvo-reachability-test`, SAN `localhost` and `127.0.0.1`,
//! not a CA) was made once with `openssl req -x509 -newkey ec … -addext
//! basicConstraints=critical,CA:FALSE`, then converted to DER.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use belvo::{Client, Credentials, Error, RateBudget, Reachability, RetryPolicy};
use tokio_rustls::rustls;

use crate::support::{SECRET_ID, SECRET_PASSWORD};

/// A client for `base` (no retries, short timeouts) serving region `mx`.
fn client(base: &str) -> Client {
    Client::builder(
        base.parse().unwrap(),
        Credentials::new(SECRET_ID, SECRET_PASSWORD),
    )
    .region("mx")
    .retry_policy(RetryPolicy::none())
    .rate_budget(RateBudget::unlimited())
    .timeout(Duration::from_millis(300))
    .connect_timeout(Duration::from_secs(5))
    .build()
    .unwrap()
}

/// Log lines written while the returned guard lives (on this thread: the tests run on tokio's
/// current-thread runtime).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> (Captured, tracing::dispatcher::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

/// Calls `base`, and checks the kind everywhere it shows: `reachability()`, `kind()`, the
/// error's message, and the log line (with the region and host, without secrets).
async fn fails_as(base: &str, host: &str, expected: &str) -> Reachability {
    let (logs, _guard) = capture_logs();
    let err = client(base).check_credentials().await.unwrap_err();
    let reachability = err.reachability().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(reachability.as_str(), expected, "{err:?}");
    assert_eq!(err.kind(), expected);
    assert!(err.is_unavailable());
    assert_eq!(err.host(), Some(host));
    let message = err.to_string();
    assert_eq!(message, format!("could not reach Belvo: {reachability}"));
    let logs = logs.text();
    let line = logs
        .lines()
        .find(|l| l.contains("Belvo call failed"))
        .unwrap_or_else(|| panic!("no log line: {logs}"));
    for needle in [
        format!("kind=\"{expected}\""),
        "region=\"mx\"".to_owned(),
        format!("belvo_host=\"{host}\""),
        message,
    ] {
        assert!(line.contains(&needle), "{needle} missing from: {line}");
    }
    // Nor does the whole cause chain (what an INTERNAL status would log).
    let mut chain = String::new();
    let mut cause: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = cause {
        chain.push_str(&format!("{e}; "));
        cause = e.source();
    }
    for secret in [SECRET_ID, SECRET_PASSWORD, "userinfo-secret", "Basic "] {
        assert!(!logs.contains(secret), "{secret} leaked: {logs}");
        assert!(!chain.contains(secret), "{secret} leaked: {chain}");
    }
    reachability
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_a_dns_failure() {
    let reachability = fails_as("http://belvo.name.invalid/", "belvo.name.invalid", "dns").await;
    assert_eq!(reachability, Reachability::Dns);
}

#[tokio::test]
async fn a_port_nothing_listens_on_is_connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    // Userinfo in the base URL is never logged nor put in the message.
    let base = format!("http://user:userinfo-secret@{addr}/");
    let reachability = fails_as(&base, "127.0.0.1", "connection_refused").await;
    assert_eq!(reachability.to_string(), "connection refused");
}

#[tokio::test]
async fn a_self_signed_certificate_is_a_tls_failure_naming_the_certificate_error() {
    let cert = rustls::pki_types::CertificateDer::from(
        include_bytes!("data/self-signed-cert.der").to_vec(),
    );
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
        include_bytes!("data/self-signed-key.der").to_vec().into(),
    );
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            // The client aborts the handshake; nothing to serve.
            tokio::spawn(async move { acceptor.accept(socket).await.is_ok() });
        }
    });
    let reachability = fails_as(&format!("https://{addr}/"), "127.0.0.1", "tls").await;
    assert_eq!(
        reachability,
        Reachability::Tls("invalid peer certificate: UnknownIssuer".to_owned())
    );
    server.abort();
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let reachability = fails_as(&format!("http://{addr}/"), "127.0.0.1", "timeout").await;
    assert_eq!(reachability, Reachability::Timeout);
    server.abort();
}

#[tokio::test]
async fn an_http_error_is_its_own_kind_not_a_reachability() {
    let (server, client) = crate::support::stub().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(403).set_body_string("<html>403</html>"))
        .mount(&server)
        .await;
    let err = client.check_credentials().await.unwrap_err();
    assert!(matches!(err, Error::Http { .. }), "{err:?}");
    assert_eq!(err.reachability(), None);
    assert_eq!(err.kind(), "http");
}
