//! A client pointed at a wiremock server, with fast retries.

use std::time::Duration;

use belvo::{Client, ClientBuilder, Credentials, RateBudget, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const SECRET_ID: &str = "test-secret-id";
pub(crate) const SECRET_PASSWORD: &str = "test-secret-password";

pub(crate) fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        ..RetryPolicy::default()
    }
}

pub(crate) async fn stub() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = client_for(&server, fast_retries());
    (server, client)
}

pub(crate) fn client_for(server: &MockServer, retry: RetryPolicy) -> Client {
    builder_at(&server.uri(), retry).build().unwrap()
}

/// A client builder for Belvo at `url`, with the test credentials, `retry` and no rate limit.
pub(crate) fn builder_at(url: &str, retry: RetryPolicy) -> ClientBuilder {
    Client::builder(
        url.parse().unwrap(),
        Credentials::new(SECRET_ID, SECRET_PASSWORD),
    )
    .retry_policy(retry)
    .rate_budget(RateBudget::unlimited())
}

/// The URL of a local port nothing listens on: bound, then closed.
pub(crate) fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// `verb route` answers `response`, expected `times` times.
pub(crate) async fn expect_call(
    server: &MockServer,
    verb: &str,
    route: impl Into<String>,
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// `verb route` answers `response` once, and is expected once; a later mount answers after.
pub(crate) async fn answer_once(
    server: &MockServer,
    verb: &str,
    route: impl Into<String>,
    response: ResponseTemplate,
) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(response)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

/// Belvo's documented example link.
pub(crate) fn link_json(id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "institution": "erebor_mx_retail",
        "access_mode": "recurrent",
        "last_accessed_at": "2021-03-09T10:28:40.000Z",
        "created_at": "2022-02-09T08:45:50.406032Z",
        "external_id": "56ab5706-6e00-48a4-91c9-ca55968678d9",
        "institution_user_id": "sooE7XJWEKypZJR603ecaWYk-8Ap0oD8Nr1pBQ4eG9c=",
        "status": "valid",
        "created_by": "bcef7f35-67f2-4b19-b009-cb38795faf09",
        "refresh_rate": "7d",
        "credentials_storage": "store",
        "fetch_resources": ["ACCOUNTS", "TRANSACTIONS", "OWNERS"],
        "stale_in": "365d"
    })
}

/// Belvo's documented example transaction (account trimmed).
pub(crate) fn transaction_json(id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "internal_identification": "TXpRMU9UQTROMWhZV2xSU1FUazJSMDl",
        "account": {"id": "0d3ffb69-f83b-456e-ad8e-208d0998d71d", "link": "30cb4806-6e00-48a4-91c9-ca55968576c8",
                    "institution": {"name": "erebor_mx_retail", "type": "bank"}, "category": "CHECKING_ACCOUNT",
                    "balance_type": "ASSET", "type": "Cuentas de efectivo", "name": "Cuenta Perfiles- M.N. - MXN-666",
                    "number": "4057068115181", "balance": {"current": 5874.13, "available": 5621.12}, "currency": "MXN",
                    "public_identification_name": "CLABE", "public_identification_value": "150194683119900273",
                    "collected_at": "2019-09-27T13:01:41.941Z", "created_at": "2022-02-09T08:45:50.406032Z",
                    "last_accessed_at": "2021-03-09T10:28:40.000Z", "credit_data": null, "loan_data": null},
        "collected_at": "2019-11-28T10:27:44.813Z",
        "created_at": "2022-02-09T08:45:50.406032Z",
        "value_date": "2019-10-23",
        "accounting_date": "2019-10-23T13:01:41.941Z",
        "amount": 2145.45,
        "balance": 16907.96,
        "currency": "MXN",
        "description": "SEVEN BUDDHAS RFC:XXXXXXXXXX",
        "observations": null,
        "merchant": {"logo": "https://logo.clearbit.com/asesor-contable.es", "website": "https://merchants-r-us.com", "merchant_name": "Merchants R Us Global"},
        "category": "Income & Payments",
        "subcategory": "Freelance",
        "reference": "8703",
        "type": "INFLOW",
        "status": "PROCESSED",
        "credit_card_data": null
    })
}

/// Whether each of Belvo's two specs answers `GET {path}{id}/` with an array (`true`) or an
/// object (`false`), for the specs that have the path: what the stub serves comes from the
/// specs, not from what the client expects.
pub(crate) fn spec_detail_shapes(path: &str) -> Vec<bool> {
    let mut shapes = Vec::new();
    for name in ["belvo-openapi-1.35.0.json", "belvo-openapi-1.223.0.json"] {
        let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("openapi")
            .join(name);
        let spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let Some(op) = spec["paths"].get(format!("{path}{{id}}/")) else {
            continue;
        };
        let response = resolve(&spec, &op["get"]["responses"]["200"]);
        let schema = resolve(&spec, &response["content"]["application/json"]["schema"]);
        shapes.push(schema["type"] == "array");
    }
    shapes.dedup();
    assert!(!shapes.is_empty(), "no spec has {path}{{id}}/");
    shapes
}

/// Follows `$ref`s within `spec`.
fn resolve<'a>(spec: &'a serde_json::Value, mut v: &'a serde_json::Value) -> &'a serde_json::Value {
    while let Some(r) = v.get("$ref").and_then(serde_json::Value::as_str) {
        v = r
            .trim_start_matches("#/")
            .split('/')
            .fold(spec, |o, k| &o[k]);
    }
    v
}
