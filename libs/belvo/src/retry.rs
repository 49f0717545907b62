//! Belvo's retry policy, and which calls may follow it.
//!
//! Every call belongs to one [`RetryClass`], chosen where the call is built:
//! - [`RetryClass::Idempotent`]: reads, deletes, token minting, link options. Repeating has no
//!   effect beyond the answer, so besides Belvo's retryable answers these also retry what only
//!   the path to Belvo broke: transport errors (timeouts, dropped connections), the firewall's
//!   HTML 403 and a body that does not decode.
//! - [`RetryClass::Retrieval`]: data retrieval POSTs. Each attempt is a login at the user's bank
//!   through Belvo: billed, able to lock the user out and to open a second session
//!   (`too_many_sessions`). Retried only where Belvo's guidance says so: 5xx, 408, 429 and
//!   `too_many_sessions`. Never after a timeout, a broken connection or an undecodable body,
//!   where Belvo may well have logged in.
//! - [`RetryClass::NeverRepeat`]: link registration, the MFA resume, credential updates,
//!   refresh. Never retried, whatever the failure: a repeat may create a second link, spend an
//!   MFA session or trip the refresh cooldown. Not even a failure to connect is repeated:
//!   reqwest does not document that a connect error guarantees no byte of the request was
//!   sent, so no failure is known to be safe.
//!
//! Within a class that retries: exponential backoff with jitter, `Retry-After` honoured, at
//! most [`RetryPolicy::max_retries`] retries and never more than Belvo's three for
//! `500 unexpected_error`.

use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;

use crate::error::{Error, ErrorCode};

/// Which failures a call may be repeated after; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryClass {
    /// Reads, deletes, token minting, link options: Belvo's retryable answers, transport
    /// errors, the firewall's 403 and decode errors.
    Idempotent,
    /// Data retrieval: only 5xx, 408, 429 and `too_many_sessions`.
    Retrieval,
    /// Link registration, MFA resume, credential updates, refresh: never.
    NeverRepeat,
}

/// Belvo: "retry `unexpected_error` a maximum of three times". [`RetryPolicy`] never goes
/// beyond it, whatever its `max_unexpected_error_retries` says.
pub const MAX_UNEXPECTED_ERROR_RETRIES: u32 = 3;

/// When and how often to retry. The default is Belvo's published guidance: base 3 s, factor 2,
/// up to 5 retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (Belvo: 5).
    pub max_retries: u32,
    /// Retries for `500 unexpected_error`; capped at [`MAX_UNEXPECTED_ERROR_RETRIES`] (Belvo's
    /// 3) and at `max_retries`.
    pub max_unexpected_error_retries: u32,
    /// The first delay (Belvo: 3 s); each retry doubles it.
    pub base_delay: Duration,
    /// The largest delay between two attempts.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error goes back to the caller,
    /// which can reschedule the work.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            max_unexpected_error_retries: MAX_UNEXPECTED_ERROR_RETRIES,
            base_delay: Duration::from_secs(3),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            max_unexpected_error_retries: 0,
            ..Self::default()
        }
    }

    /// How many retries `error` may get under this policy, whatever the call.
    fn limit(&self, error: &Error) -> u32 {
        if error.code() == Some(&ErrorCode::UnexpectedError) {
            self.max_unexpected_error_retries
                .min(MAX_UNEXPECTED_ERROR_RETRIES)
                .min(self.max_retries)
        } else {
            self.max_retries
        }
    }

    /// The delay before retry number `retry` (0-based) of a call of `class` after `error`, or
    /// `None` to give up.
    pub(crate) fn delay(&self, error: &Error, retry: u32, class: RetryClass) -> Option<Duration> {
        if !retryable(error, class) || retry >= self.limit(error) {
            return None;
        }
        if let Some(after) = error.retry_after() {
            return (after <= self.max_retry_after).then_some(after);
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_delay);
        // "Equal jitter": half fixed, half random, so retries spread without collapsing to zero.
        let half = exp / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        Some(half + Duration::from_millis(jitter))
    }
}

/// Whether a call of `class` may be repeated after `error`.
fn retryable(error: &Error, class: RetryClass) -> bool {
    match class {
        RetryClass::NeverRepeat => false,
        RetryClass::Retrieval => belvo_says_retry(error),
        RetryClass::Idempotent => belvo_says_retry(error) || path_broke(error),
    }
}

/// Belvo's guidance: 5xx, 408, 429 and `400 too_many_sessions`.
fn belvo_says_retry(error: &Error) -> bool {
    let status_retryable = |status: &StatusCode| {
        status.is_server_error()
            || *status == StatusCode::REQUEST_TIMEOUT
            || *status == StatusCode::TOO_MANY_REQUESTS
    };
    match error {
        Error::Api { status, .. } => {
            status_retryable(status) || error.code() == Some(&ErrorCode::TooManySessions)
        }
        Error::Http { status, .. } => status_retryable(status),
        Error::TokenRequired(_)
        | Error::Transport(_)
        | Error::Decode { .. }
        | Error::ForeignUrl
        | Error::EmptyListFilter { .. } => false,
    }
}

/// Failures of the way to Belvo rather than Belvo's answer: the connection (refused, broken,
/// timed out), the firewall's HTML 403, a body that does not decode. Belvo may have acted on
/// the request, so only idempotent calls repeat after them.
fn path_broke(error: &Error) -> bool {
    match error {
        Error::Transport(_) | Error::Decode { .. } => true,
        Error::Http { status, .. } => *status == StatusCode::FORBIDDEN,
        Error::Api { .. }
        | Error::TokenRequired(_)
        | Error::ForeignUrl
        | Error::EmptyListFilter { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::from_response;

    use RetryClass::{Idempotent, NeverRepeat, Retrieval};

    fn api(status: u16, code: &str) -> Error {
        let body = format!(r#"[{{"code":"{code}","message":"m","request_id":"r"}}]"#);
        from_response(
            StatusCode::from_u16(status).unwrap(),
            None,
            body.as_bytes(),
            "",
        )
    }

    fn html(status: u16) -> Error {
        from_response(
            StatusCode::from_u16(status).unwrap(),
            None,
            b"<html>403 Forbidden openresty</html>",
            "",
        )
    }

    fn decode() -> Error {
        Error::Decode {
            status: StatusCode::OK,
            source: serde_json::from_str::<u8>("[").unwrap_err(),
        }
    }

    /// A real transport error: a connection refused by a port nothing listens on.
    async fn connection_refused() -> Error {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let error = reqwest::Client::new()
            .post(format!("http://{addr}/api/links/"))
            .send()
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error:?}");
        Error::Transport(error)
    }

    #[test]
    fn delays_grow_exponentially_within_jitter_bounds() {
        let policy = RetryPolicy::default();
        for (retry, full) in [(0, 3), (1, 6), (2, 12), (3, 24), (4, 48)] {
            let d = policy
                .delay(&api(503, "service_unavailable"), retry, Idempotent)
                .unwrap();
            let full = Duration::from_secs(full);
            assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
        }
        assert_eq!(
            policy.delay(&api(503, "service_unavailable"), 5, Idempotent),
            None
        );
    }

    #[test]
    fn unexpected_error_is_retried_at_most_three_times() {
        let policy = RetryPolicy::default();
        assert!(
            policy
                .delay(&api(500, "unexpected_error"), 2, Idempotent)
                .is_some()
        );
        assert!(
            policy
                .delay(&api(500, "unexpected_error"), 3, Idempotent)
                .is_none()
        );
    }

    #[test]
    fn unexpected_error_stays_at_three_retries_whatever_the_policy_says() {
        let policy = RetryPolicy {
            max_retries: 10,
            max_unexpected_error_retries: 10,
            ..RetryPolicy::default()
        };
        for class in [Idempotent, Retrieval] {
            assert!(
                policy
                    .delay(&api(500, "unexpected_error"), 2, class)
                    .is_some()
            );
            for retry in 3..10 {
                assert_eq!(
                    policy.delay(&api(500, "unexpected_error"), retry, class),
                    None,
                    "{class:?} retry {retry}"
                );
            }
        }
        // Other 5xx still get the configured ten.
        assert!(
            policy
                .delay(&api(503, "service_unavailable"), 9, Idempotent)
                .is_some()
        );
        // And never more than max_retries either.
        let few = RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(
            few.delay(&api(500, "unexpected_error"), 1, Idempotent),
            None
        );
    }

    #[test]
    fn other_4xx_are_never_retried() {
        let policy = RetryPolicy::default();
        for class in [Idempotent, Retrieval, NeverRepeat] {
            for code in ["login_error", "invalid", "invalid_link"] {
                assert_eq!(
                    policy.delay(&api(400, code), 0, class),
                    None,
                    "{class:?} {code}"
                );
            }
            assert_eq!(
                policy.delay(&api(401, "authentication_failed"), 0, class),
                None
            );
            assert_eq!(
                policy.delay(&api(403, "access_to_resource_denied"), 0, class),
                None
            );
        }
    }

    #[test]
    fn retrieval_follows_belvos_guidance_only() {
        let policy = RetryPolicy::default();
        for error in [
            api(500, "unexpected_error"),
            api(503, "service_unavailable"),
            api(408, "request_timeout"),
            api(429, "too_many_requests"),
            api(400, "too_many_sessions"),
            html(502),
            html(429),
        ] {
            assert!(
                policy.delay(&error, 0, Retrieval).is_some(),
                "{error:?} should be retried"
            );
        }
        for error in [decode(), html(403)] {
            assert_eq!(
                policy.delay(&error, 0, Retrieval),
                None,
                "{error:?} must not repeat a bank login"
            );
            assert!(policy.delay(&error, 0, Idempotent).is_some(), "{error:?}");
        }
    }

    #[tokio::test]
    async fn transport_errors_repeat_reads_only() {
        let policy = RetryPolicy::default();
        let refused = connection_refused().await;
        assert!(policy.delay(&refused, 0, Idempotent).is_some());
        assert_eq!(policy.delay(&refused, 0, Retrieval), None);
        assert_eq!(policy.delay(&refused, 0, NeverRepeat), None);
    }

    #[test]
    fn never_repeat_calls_are_never_retried() {
        let policy = RetryPolicy::default();
        let throttled = from_response(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(1)),
            b"Too Many Requests",
            "",
        );
        for error in [
            throttled,
            html(403),
            html(502),
            api(500, "unexpected_error"),
            api(503, "service_unavailable"),
            api(408, "request_timeout"),
            api(400, "too_many_sessions"),
            decode(),
        ] {
            assert_eq!(policy.delay(&error, 0, NeverRepeat), None, "{error:?}");
        }
    }

    #[test]
    fn retry_after_wins_and_a_long_one_is_not_waited_for() {
        let policy = RetryPolicy::default();
        let throttled = from_response(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(7)),
            b"Too Many Requests",
            "",
        );
        assert_eq!(
            policy.delay(&throttled, 0, Retrieval),
            Some(Duration::from_secs(7))
        );
        let too_long = from_response(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3600)),
            b"",
            "",
        );
        assert_eq!(policy.delay(&too_long, 0, Idempotent), None);
    }
}
