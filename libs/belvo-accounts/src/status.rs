//! The one map from a Belvo failure to the gRPC status a caller gets, with one decision per
//! failure. Belvo's own code, HTTP status and request id travel in an `ErrorInfo` (domain
//! `belvo.com`); waits travel as `RetryInfo`. A refused key is an operator's problem in one
//! region, never the caller's and never INTERNAL: FAILED_PRECONDITION naming the region.

use std::time::Duration;

use belvo::{Error, ErrorCode};
use grpc_runtime::status::{belvo_error, internal};
use tonic::{Code, Status};

/// The status for a call to region `region` that failed with `error`. Logs the failure
/// (a warning; the full cause for INTERNAL) with the request id.
pub fn status(region: &str, error: &Error, request_id: Option<&str>) -> Status {
    let decision = decide(region, error);
    let Some((code, message, fallback_reason, retry)) = decision else {
        return internal(request_id, error);
    };
    tracing::warn!(
        request_id = request_id.unwrap_or_default(),
        region,
        belvo_host = error.host().unwrap_or_default(),
        kind = error.kind(),
        error = %error,
        code = ?code,
        "Belvo call failed"
    );
    let reason = error
        .code()
        .map_or(fallback_reason, |c| c.as_str())
        .to_owned();
    belvo_error(
        code,
        message,
        &reason,
        error.status().map(|s| s.as_u16()),
        error.request_id(),
        retry,
    )
}

/// Code, message, the reason when Belvo sent no code, and the wait; `None` for INTERNAL.
type Decision = (Code, String, &'static str, Option<Duration>);

fn decide(region: &str, error: &Error) -> Option<Decision> {
    let refused = |message: &str| {
        Some((
            Code::FailedPrecondition,
            message.to_owned(),
            "belvo_error",
            None,
        ))
    };
    if let Some(wait) = error.refresh_cooldown() {
        return Some((
            Code::FailedPrecondition,
            "the link was refreshed recently; retry after the cooldown".to_owned(),
            "link_refreshed",
            Some(wait),
        ));
    }
    // Unreachable: the message names the kind (DNS, refused, TLS with rustls' reason,
    // timeout), which carries no URL and no secret.
    if let Some(reachability) = error.reachability() {
        return Some((
            Code::Unavailable,
            format!("Belvo could not be reached from region {region}: {reachability}; retry later"),
            "service_unavailable",
            None,
        ));
    }
    if error.is_unavailable() {
        return Some((
            Code::Unavailable,
            "Belvo is unavailable; retry later".to_owned(),
            "service_unavailable",
            error.retry_after(),
        ));
    }
    match error {
        Error::TokenRequired(_) => Some((
            Code::FailedPrecondition,
            "Belvo asked for a multi-factor token".to_owned(),
            "token_required",
            None,
        )),
        Error::Api { status, .. } => match status.as_u16() {
            401 | 403 => refused(&format!("Belvo refused the secret keys of region {region}")),
            404 => Some((
                Code::NotFound,
                format!("Belvo has no such object in region {region}"),
                "not_found",
                None,
            )),
            _ if is_missing_link(error) => Some((
                Code::NotFound,
                format!("Belvo has no such link in region {region}"),
                "does_not_exist",
                None,
            )),
            400 if is_argument_code(error) => Some((
                Code::InvalidArgument,
                "Belvo refused the request".to_owned(),
                "invalid",
                None,
            )),
            _ => refused("Belvo refused the request"),
        },
        Error::Http { .. } => refused("Belvo refused the request"),
        // The service built a list filter from an empty list and the client refused to send
        // it: a bug of the service (no RPC hands a caller's list to Belvo), not the caller's.
        Error::EmptyListFilter { .. } => None,
        Error::Transport(_) | Error::Decode { .. } | Error::ForeignUrl => None,
    }
}

/// `400 does_not_exist` on the link: it is not in this region's Belvo account.
fn is_missing_link(error: &Error) -> bool {
    error.api_error().is_some_and(|e| {
        matches!(e.field.as_deref(), Some("link" | "link_id"))
            && e.code == Some(ErrorCode::DoesNotExist)
    })
}

/// Belvo 400 codes that blame a request field rather than the link's state.
fn is_argument_code(error: &Error) -> bool {
    use ErrorCode as C;
    matches!(
        error.code(),
        Some(
            C::Required
                | C::Null
                | C::Invalid
                | C::InvalidChoice
                | C::NotAList
                | C::ParseError
                | C::InvalidFetchResources
                | C::ValidationError
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use tonic_types::StatusExt as _;

    fn api(status: u16, body: &str) -> Error {
        let errors = serde_json::from_str(body).expect("Belvo error array");
        Error::Api {
            status: StatusCode::from_u16(status).expect("status"),
            errors,
            retry_after: None,
        }
    }

    fn decided(error: &Error) -> (Code, String, String) {
        let status = status("mx", error, Some("req-1"));
        let reason = status
            .get_details_error_info()
            .map(|i| i.reason)
            .unwrap_or_default();
        (status.code(), status.message().to_owned(), reason)
    }

    #[test]
    fn refused_keys_name_the_region_and_are_never_internal() {
        for code in [401, 403] {
            let (code, message, reason) = decided(&api(
                code,
                r#"[{"code":"authentication_failed","message":"bad keys"}]"#,
            ));
            assert_eq!(code, Code::FailedPrecondition);
            assert!(message.contains("region mx"), "{message}");
            assert_eq!(reason, "authentication_failed");
        }
    }

    #[test]
    fn each_failure_has_its_code() {
        let cases = [
            (
                api(500, r#"[{"code":"unexpected_error"}]"#),
                Code::Unavailable,
            ),
            (
                api(429, r#"[{"code":"too_many_requests"}]"#),
                Code::Unavailable,
            ),
            (api(404, r#"[{"code":"not_found"}]"#), Code::NotFound),
            (
                api(400, r#"[{"code":"does_not_exist","field":"link"}]"#),
                Code::NotFound,
            ),
            (
                api(400, r#"[{"code":"invalid","field":"date_from"}]"#),
                Code::InvalidArgument,
            ),
            (
                api(400, r#"[{"code":"invalid_link"}]"#),
                Code::FailedPrecondition,
            ),
            (
                api(
                    409,
                    r#"[{"code":"link_refreshed","message":"Please wait 7 minutes before trying again."}]"#,
                ),
                Code::FailedPrecondition,
            ),
            (
                Error::Http {
                    status: StatusCode::FORBIDDEN,
                    snippet: "<html>".into(),
                    retry_after: None,
                },
                Code::Unavailable,
            ),
            (Error::ForeignUrl, Code::Internal),
            (
                Error::EmptyListFilter {
                    parameter: "link__in".into(),
                },
                Code::Internal,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(decided(&error).0, expected, "{error}");
        }
    }

    /// A real transport failure: `base` called with keys that must never show.
    async fn unreachable(base: &str) -> Error {
        belvo::Client::builder(
            base.parse().expect("base URL"),
            belvo::Credentials::new("the-secret-id", "the-secret-password"),
        )
        .region("mx")
        .retry_policy(belvo::RetryPolicy::none())
        .rate_budget(belvo::RateBudget::unlimited())
        .build()
        .expect("client")
        .check_credentials()
        .await
        .expect_err("nothing to reach")
    }

    #[tokio::test]
    async fn an_unreachable_belvo_is_unavailable_and_the_message_names_the_kind() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let cases = [
            (
                unreachable(&format!("http://user:userinfo-secret@{addr}/")).await,
                "connection refused",
            ),
            (
                unreachable("http://belvo.name.invalid/").await,
                "DNS failure",
            ),
        ];
        for (error, kind) in cases {
            let (code, message, reason) = decided(&error);
            assert_eq!(code, Code::Unavailable, "{error:?}");
            assert_eq!(
                message,
                format!("Belvo could not be reached from region mx: {kind}; retry later")
            );
            assert_eq!(reason, "service_unavailable");
            for secret in ["the-secret", "userinfo-secret"] {
                assert!(!message.contains(secret), "{message}");
            }
        }
    }

    #[test]
    fn a_refresh_cooldown_travels_as_retry_info() {
        let error = api(
            409,
            r#"[{"code":"link_refreshed","message":"Please wait 7 minutes before trying again."}]"#,
        );
        let status = status("mx", &error, None);
        let retry = status.get_details_retry_info().expect("RetryInfo");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(420)));
    }
}
