//! End-user authentication: HS256, JWKS (served by a local HTTP server), dev mode, and the
//! production refusal of dev mode.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gateway::config::{AuthMode, Environment};
use gateway::{Application, Shutdown};
use grpc_runtime::{Listeners, Service as _};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::harness::*;

async fn status_with(app: &TestApp, bearer: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.url("/v1/links"));
    if let Some(bearer) = bearer {
        request = request.header("authorization", bearer);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn missing_or_malformed_tokens_are_401() {
    let app = TestApp::start().await;
    let response = status_with(&app, None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body = error(response, 401).await;
    assert_eq!(body["code"], "unauthenticated");
    error(status_with(&app, Some("Basic abc")).await, 401).await;
    error(status_with(&app, Some("Bearer not.a.jwt")).await, 401).await;
    // Nothing reached link-service.
    assert!(app.fakes.link.journal.calls().is_empty());
    // A good token passes.
    let ok = status_with(&app, Some(&format!("Bearer {}", token("alice")))).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn expired_wrong_issuer_audience_or_key_are_401() {
    let app = TestApp::start().await;
    let cases = [
        (
            "expired",
            json!({"sub": "a", "iss": ISSUER, "aud": AUDIENCE, "exp": now() - 3600}),
            SECRET,
        ),
        (
            "wrong issuer",
            json!({"sub": "a", "iss": "https://evil.example", "aud": AUDIENCE, "exp": now() + 300}),
            SECRET,
        ),
        (
            "wrong audience",
            json!({"sub": "a", "iss": ISSUER, "aud": "other", "exp": now() + 300}),
            SECRET,
        ),
        (
            "no exp",
            json!({"sub": "a", "iss": ISSUER, "aud": AUDIENCE}),
            SECRET,
        ),
        (
            "empty sub",
            json!({"sub": "", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300}),
            SECRET,
        ),
        (
            "wrong key",
            json!({"sub": "a", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300}),
            "another-secret-0123456789-0123456789-xyz",
        ),
    ];
    for (what, claims, secret) in cases {
        let response = status_with(
            &app,
            Some(&format!("Bearer {}", sign_hs256(&claims, secret))),
        )
        .await;
        assert_eq!(response.status(), 401, "{what}");
        let body: Value = response.json().await.unwrap();
        // The reason stays in the log.
        assert_eq!(
            body["error"]["message"], "a valid bearer token is required",
            "{what}"
        );
    }
}

/// The status and `error.message` of `GET /v1/links` with an HS256 token of these claims.
async fn verdict(app: &TestApp, claims: &Value) -> (u16, Value) {
    let response = status_with(app, Some(&format!("Bearer {}", sign_hs256(claims, SECRET)))).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"]["message"].clone())
}

#[tokio::test]
async fn tokens_not_yet_valid_are_401_with_the_exp_leeway() {
    // The harness keeps the default leeway of 30 s.
    let app = TestApp::start().await;
    let base = |nbf: i64| json!({"sub": "a", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 3600, "nbf": nbf});
    let (status, message) = verdict(&app, &base(now() + 600)).await;
    assert_eq!(status, 401, "nbf ten minutes ahead");
    assert_eq!(message, "a valid bearer token is required");
    // Within the leeway (a clock a few seconds ahead), as for `exp`.
    assert_eq!(
        verdict(&app, &base(now() + 5)).await.0,
        200,
        "nbf within the leeway"
    );
    assert_eq!(verdict(&app, &base(now() - 60)).await.0, 200, "nbf passed");
}

#[tokio::test]
async fn an_audience_list_must_contain_the_configured_audience() {
    let app = TestApp::start().await;
    let with = |aud: Value| json!({"sub": "a", "iss": ISSUER, "aud": aud, "exp": now() + 300});
    assert_eq!(
        verdict(&app, &with(json!([AUDIENCE]))).await.0,
        200,
        "[aud]"
    );
    assert_eq!(
        verdict(&app, &with(json!(["other", AUDIENCE]))).await.0,
        200,
        "aud among others"
    );
    let (status, message) = verdict(&app, &with(json!(["other", "another"]))).await;
    assert_eq!(status, 401, "a list without it");
    assert_eq!(message, "a valid bearer token is required");
    assert_eq!(
        verdict(&app, &with(json!([]))).await.0,
        401,
        "an empty list"
    );
}

#[tokio::test]
async fn dev_mode_issues_tokens_that_work() {
    let app = TestApp::start_with(|c| c.auth.mode = Some(AuthMode::Dev)).await;
    let (status, body) = json(
        app.http
            .post(app.url("/v1/dev/login"))
            .json(&json!({"user": "dev-user"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    let response = app
        .http
        .get(app.url("/v1/links"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = app.fakes.link.journal.of("ListLinks");
    assert!(
        seen[0].request.contains("owner: \"dev-user\""),
        "{:?}",
        seen
    );
    // An HS256 token of the host application's secret is not a dev token.
    error(
        status_with(
            &app,
            Some(&format!("Bearer {}", crate::harness::token("x"))),
        )
        .await,
        401,
    )
    .await;
    // Login needs a user.
    let response = app
        .http
        .post(app.url("/v1/dev/login"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error(response, 400).await["field"], "user");
}

#[tokio::test]
async fn dev_login_does_not_exist_outside_dev_mode() {
    let app = TestApp::start().await;
    let response = app
        .http
        .post(app.url("/v1/dev/login"))
        .json(&json!({"user": "mallory"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn production_refuses_dev_mode_at_start_up() {
    let mut config = config(&dead_url());
    config.environment = Environment::Production;
    config.auth.mode = Some(AuthMode::Dev);
    let err = Application::build(
        config,
        regions(),
        Listeners::local().await.unwrap(),
        Shutdown::new(),
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("auth.mode"), "{message}");
    assert!(message.contains("GATEWAY__AUTH__MODE"), "{message}");
    // The same production configuration with hs256 starts.
    let mut config = crate::harness::config(&dead_url());
    config.environment = Environment::Production;
    assert!(
        Application::build(
            config,
            regions(),
            Listeners::local().await.unwrap(),
            Shutdown::new()
        )
        .await
        .is_ok()
    );
}

/// The start-up error of `config`, or `None` when it starts.
async fn start_up_error(config: gateway::GatewayConfig) -> Option<String> {
    Application::build(
        config,
        regions(),
        Listeners::local().await.unwrap(),
        Shutdown::new(),
    )
    .await
    .err()
    .map(|e| e.to_string())
}

#[tokio::test]
async fn no_auth_mode_refuses_to_start_rather_than_enabling_dev_sign_in() {
    // What the binary does without configuration: no file, no variables.
    let env = |vars: &[(&str, &str)]| -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let message = grpc_runtime::load_config::<Application>(&env(&[]))
        .expect_err("loaded without auth.mode")
        .to_string();
    assert!(message.contains("auth.mode"), "{message}");
    assert!(message.contains("GATEWAY__AUTH__MODE"), "{message}");
    // Dev sign-in chosen explicitly (as `make run` and the dev overlay do) still loads.
    let config = grpc_runtime::load_config::<Application>(&env(&[("GATEWAY__AUTH__MODE", "dev")]))
        .expect("GATEWAY__AUTH__MODE=dev");
    assert_eq!(config.auth.mode, Some(AuthMode::Dev));
    // And a configuration built in code without a mode does not start either.
    let mut config = crate::harness::config(&dead_url());
    config.auth.mode = None;
    let message = start_up_error(config)
        .await
        .expect("started without auth.mode");
    assert!(message.contains("auth.mode"), "{message}");
}

#[tokio::test]
async fn production_refuses_an_http_jwks_url_at_start_up() {
    let jwks = |environment, url: &str| {
        let mut config = config(&dead_url());
        config.environment = environment;
        config.auth.mode = Some(AuthMode::Jwks);
        config.auth.jwks_url = Some(url.to_owned());
        config
    };
    let message = start_up_error(jwks(
        Environment::Production,
        "http://keys.example/jwks.json",
    ))
    .await
    .expect("production started with an http JWKS URL");
    assert!(message.contains("auth.jwks_url"), "{message}");
    assert!(message.contains("https://"), "{message}");
    assert_eq!(
        start_up_error(jwks(
            Environment::Production,
            "https://keys.example/jwks.json"
        ))
        .await,
        None
    );
    // Development keeps http for local JWKS servers.
    assert_eq!(
        start_up_error(jwks(
            Environment::Development,
            "http://127.0.0.1:1/jwks.json"
        ))
        .await,
        None
    );
}

// ---------------------------------------------------------------------------------------
// JWKS

const RSA: &[u8] = include_bytes!("keys/rsa.pem");
const RSA_OTHER: &[u8] = include_bytes!("keys/rsa-other.pem");
const EC: &[u8] = include_bytes!("keys/ec.pem");

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

struct JwksServer {
    addr: SocketAddr,
    keys: Arc<Mutex<Vec<Jwk>>>,
    fetches: Arc<AtomicUsize>,
}

async fn jwks_server(keys: Vec<Jwk>) -> JwksServer {
    let keys = Arc::new(Mutex::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (k, f) = (Arc::clone(&keys), Arc::clone(&fetches));
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (k, f) = (Arc::clone(&k), Arc::clone(&f));
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                axum::Json(JwkSet {
                    keys: k.lock().unwrap().clone(),
                })
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    JwksServer {
        addr,
        keys,
        fetches,
    }
}

fn sign(key: &EncodingKey, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300})
}

#[tokio::test]
async fn jwks_keys_verify_rs256_and_es256_and_are_cached() {
    let rsa = EncodingKey::from_rsa_pem(RSA).unwrap();
    let ec = EncodingKey::from_ec_pem(EC).unwrap();
    let other = EncodingKey::from_rsa_pem(RSA_OTHER).unwrap();
    let server = jwks_server(vec![
        jwk(&rsa, Algorithm::RS256, "rsa-1"),
        jwk(&ec, Algorithm::ES256, "ec-1"),
    ])
    .await;
    let url = format!("http://{}/.well-known/jwks.json", server.addr);
    let app = TestApp::start_with(|c| {
        c.auth.mode = Some(AuthMode::Jwks);
        c.auth.jwks_url = Some(url);
        c.auth.hs256_secret = None;
        c.auth.jwks_min_refresh = std::time::Duration::ZERO;
    })
    .await;
    let bearer = |t: String| format!("Bearer {t}");

    let rs = sign(&rsa, Algorithm::RS256, Some("rsa-1"), &claims("alice"));
    assert_eq!(
        status_with(&app, Some(&bearer(rs.clone()))).await.status(),
        200
    );
    let es = sign(&ec, Algorithm::ES256, Some("ec-1"), &claims("alice"));
    assert_eq!(status_with(&app, Some(&bearer(es))).await.status(), 200);
    assert_eq!(status_with(&app, Some(&bearer(rs))).await.status(), 200);
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1, "keys are cached");

    // Signed by a key that is not the published one.
    let forged = sign(&other, Algorithm::RS256, Some("rsa-1"), &claims("alice"));
    error(status_with(&app, Some(&bearer(forged))).await, 401).await;
    // Wrong issuer with a good key.
    let wrong_iss = sign(
        &rsa,
        Algorithm::RS256,
        Some("rsa-1"),
        &json!({"sub": "a", "iss": "https://evil.example", "aud": AUDIENCE, "exp": now() + 300}),
    );
    error(status_with(&app, Some(&bearer(wrong_iss))).await, 401).await;
    // Expired with a good key.
    let expired = sign(
        &rsa,
        Algorithm::RS256,
        Some("rsa-1"),
        &json!({"sub": "a", "iss": ISSUER, "aud": AUDIENCE, "exp": now() - 3600}),
    );
    error(status_with(&app, Some(&bearer(expired))).await, 401).await;
    // HS256 is not accepted in jwks mode (no algorithm confusion).
    error(status_with(&app, Some(&bearer(token("alice")))).await, 401).await;

    // Key rotation: an unknown kid refetches the set.
    server
        .keys
        .lock()
        .unwrap()
        .push(jwk(&other, Algorithm::RS256, "rsa-2"));
    let rotated = sign(&other, Algorithm::RS256, Some("rsa-2"), &claims("alice"));
    assert_eq!(
        status_with(&app, Some(&bearer(rotated))).await.status(),
        200
    );
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_jwks_is_401_not_500() {
    let app = TestApp::start_with(|c| {
        c.auth.mode = Some(AuthMode::Jwks);
        c.auth.jwks_url = Some(format!("{}/jwks.json", dead_url()));
    })
    .await;
    let rsa = EncodingKey::from_rsa_pem(RSA).unwrap();
    let token = sign(&rsa, Algorithm::RS256, Some("rsa-1"), &claims("alice"));
    error(
        status_with(&app, Some(&format!("Bearer {token}"))).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn forged_kids_do_not_make_the_gateway_hammer_the_jwks_url() {
    let rsa = EncodingKey::from_rsa_pem(RSA).unwrap();
    let server = jwks_server(vec![jwk(&rsa, Algorithm::RS256, "rsa-1")]).await;
    let url = format!("http://{}/.well-known/jwks.json", server.addr);
    let app = TestApp::start_with(|c| {
        c.auth.mode = Some(AuthMode::Jwks);
        c.auth.jwks_url = Some(url);
        c.auth.jwks_min_refresh = std::time::Duration::from_secs(3600);
    })
    .await;
    let good = sign(&rsa, Algorithm::RS256, Some("rsa-1"), &claims("alice"));
    assert_eq!(
        status_with(&app, Some(&format!("Bearer {good}")))
            .await
            .status(),
        200
    );
    for i in 0..5 {
        let forged = sign(
            &rsa,
            Algorithm::RS256,
            Some(&format!("made-up-{i}")),
            &claims("alice"),
        );
        error(
            status_with(&app, Some(&format!("Bearer {forged}"))).await,
            401,
        )
        .await;
    }
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
}
