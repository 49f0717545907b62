//! Belvo's retry policy: exponential backoff with jitter for 5xx, 429, 408 and
//! `too_many_sessions`; `Retry-After` honoured; `unexpected_error` at most three times; never a
//! retry for other 4xx, and never for calls that are unsafe to repeat.

use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;

use crate::error::{Error, ErrorCode};

/// How a call may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, deletes, token minting, data retrieval: repeating has no extra effect.
    Safe,
    /// Link registration, MFA resume, credential updates, refresh: repeated only when Belvo
    /// certainly did not process the first attempt (429, firewall throttling, no connection).
    Unsafe,
}

/// When and how often to retry. The default is Belvo's published guidance: base 3 s, factor 2,
/// up to 5 retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (Belvo: 5).
    pub max_retries: u32,
    /// Retries for `500 unexpected_error` (Belvo: 3).
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
            max_unexpected_error_retries: 3,
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

    /// The delay before retry number `retry` (0-based) after `error`, or `None` to give up.
    pub(crate) fn delay(
        &self,
        error: &Error,
        retry: u32,
        idempotency: Idempotency,
    ) -> Option<Duration> {
        if !self.retryable(error, idempotency) {
            return None;
        }
        let limit = if error.code() == Some(&ErrorCode::UnexpectedError) {
            self.max_unexpected_error_retries
        } else {
            self.max_retries
        };
        if retry >= limit {
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

    fn retryable(&self, error: &Error, idempotency: Idempotency) -> bool {
        let safe = idempotency == Idempotency::Safe;
        match error {
            // Rejected before Belvo processed anything: safe to repeat whatever the call.
            Error::Api { status, .. } | Error::Http { status, .. }
                if *status == StatusCode::TOO_MANY_REQUESTS =>
            {
                true
            }
            Error::Http { status, .. } if *status == StatusCode::FORBIDDEN => true,
            Error::Transport(e) if e.is_connect() => true,
            Error::Api { status, .. } => {
                safe && (status.is_server_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || error.code() == Some(&ErrorCode::TooManySessions))
            }
            Error::Http { status, .. } => {
                safe && (status.is_server_error() || *status == StatusCode::REQUEST_TIMEOUT)
            }
            Error::Transport(_) | Error::Decode { .. } => safe,
            Error::TokenRequired(_) | Error::ForeignUrl => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::from_response;

    fn api(status: u16, code: &str) -> Error {
        let body = format!(r#"[{{"code":"{code}","message":"m","request_id":"r"}}]"#);
        from_response(
            StatusCode::from_u16(status).unwrap(),
            None,
            body.as_bytes(),
            "",
        )
    }

    #[test]
    fn delays_grow_exponentially_within_jitter_bounds() {
        let policy = RetryPolicy::default();
        for (retry, full) in [(0, 3), (1, 6), (2, 12), (3, 24), (4, 48)] {
            let d = policy
                .delay(&api(503, "service_unavailable"), retry, Idempotency::Safe)
                .unwrap();
            let full = Duration::from_secs(full);
            assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
        }
        assert_eq!(
            policy.delay(&api(503, "service_unavailable"), 5, Idempotency::Safe),
            None
        );
    }

    #[test]
    fn unexpected_error_is_retried_at_most_three_times() {
        let policy = RetryPolicy::default();
        assert!(
            policy
                .delay(&api(500, "unexpected_error"), 2, Idempotency::Safe)
                .is_some()
        );
        assert!(
            policy
                .delay(&api(500, "unexpected_error"), 3, Idempotency::Safe)
                .is_none()
        );
    }

    #[test]
    fn other_4xx_and_unsafe_5xx_are_never_retried() {
        let policy = RetryPolicy::default();
        for code in ["login_error", "invalid", "invalid_link"] {
            assert_eq!(
                policy.delay(&api(400, code), 0, Idempotency::Safe),
                None,
                "{code}"
            );
        }
        assert_eq!(
            policy.delay(&api(401, "authentication_failed"), 0, Idempotency::Safe),
            None
        );
        assert_eq!(
            policy.delay(&api(500, "unexpected_error"), 0, Idempotency::Unsafe),
            None
        );
        assert!(
            policy
                .delay(&api(400, "too_many_sessions"), 0, Idempotency::Safe)
                .is_some()
        );
        assert!(
            policy
                .delay(&api(400, "too_many_sessions"), 0, Idempotency::Unsafe)
                .is_none()
        );
    }

    #[test]
    fn throttling_is_retried_even_for_unsafe_calls_and_retry_after_wins() {
        let policy = RetryPolicy::default();
        let throttled = from_response(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(7)),
            b"Too Many Requests",
            "",
        );
        assert_eq!(
            policy.delay(&throttled, 0, Idempotency::Unsafe),
            Some(Duration::from_secs(7))
        );
        let too_long = from_response(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3600)),
            b"",
            "",
        );
        assert_eq!(policy.delay(&too_long, 0, Idempotency::Safe), None);
    }
}
