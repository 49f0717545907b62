//! What the gateway logs: every request's lines carry its request id, no secret (the JWT
//! secret, a bearer token, a webhook Authorization value) is ever written, and users are named
//! by a keyed pseudonym, never by their token's `sub`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::harness::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_carry_request_ids_and_never_secrets() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let app = TestApp::start().await;
    let bearer = token("alice");
    let ok = app
        .http
        .get(app.url("/v1/links"))
        .bearer_auth(&bearer)
        .header("x-request-id", "req-ok-1")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let denied = app
        .http
        .post(app.url("/webhooks/belvo/mx"))
        .header("authorization", "Bearer guessed-secret-value")
        .header("x-request-id", "req-webhook-1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let accepted = app
        .webhook(
            "mx",
            Some(WEBHOOK_AUTH),
            &json!({"webhook_id": "wh-log"}).to_string(),
        )
        .await;
    assert_eq!(accepted.status(), 200);
    let failing = app
        .post("/v1/widget-token", "alice", json!({"region": "code-13"}))
        .await;
    assert_eq!(failing.status(), 500);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    for secret in [
        SECRET,
        bearer.as_str(),
        "local-webhook-token",
        "guessed-secret-value",
    ] {
        assert!(!logs.contains(secret), "a secret is in the logs:\n{logs}");
    }
    // Every request line names its request.
    let request_lines: Vec<&str> = logs.lines().filter(|l| l.contains(" request ")).collect();
    assert!(request_lines.len() >= 4, "{logs}");
    for line in &request_lines {
        assert!(line.contains("request_id="), "{line}");
    }
    assert!(
        logs.lines()
            .any(|l| l.contains("req-ok-1") && l.contains("status=200")),
        "{logs}"
    );
    // The refused webhook is logged with its request id, and its reason without the value.
    assert!(
        logs.lines()
            .any(|l| l.contains("req-webhook-1") && l.contains("wrong or missing Authorization")),
        "{logs}"
    );
    // A 5xx's cause is logged (once, inward) with the request id.
    assert!(
        logs.lines()
            .any(|l| l.contains("fake says Internal") && l.contains("request_id=")),
        "{logs}"
    );
}

#[test]
fn logs_name_users_by_a_keyed_pseudonym_never_their_subject() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    // This thread only: the current-thread runtime below runs the gateway's tasks here too.
    let _guard = tracing::subscriber::set_default(subscriber);
    let key = "the-pseudonym-key-0123456789-0123456789";
    let expected =
        gateway::pseudonym::UserPseudonyms::new(Some(key.as_bytes())).of("alice@example.com");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = TestApp::start_with(|c| {
            c.auth.user_pseudonym_key = Some(secrecy::SecretString::from(key));
        })
        .await;
        let ok = app
            .http
            .get(app.url("/v1/links"))
            .bearer_auth(token("alice@example.com"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    });
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        !logs.contains("alice"),
        "the subject is in the logs:\n{logs}"
    );
    // The request line names the user by the pseudonym of the configured key.
    assert!(
        logs.lines()
            .any(|l| l.contains(&format!("user={expected}")) && l.contains("status=200")),
        "no `user={expected}` on the request line:\n{logs}"
    );
}
