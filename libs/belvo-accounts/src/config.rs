//! `[belvo]`: how a service's Belvo clients behave (`<PREFIX>__BELVO__TIMEOUT`, ...). Each
//! service starts from the defaults that fit its callers: [`BelvoConfig::interactive`] where a
//! person waits on the answer (token- and link-service), [`BelvoConfig::background`] for sync
//! work (data-service, Belvo's published retry guidance). The rate budget is the region's
//! (`rate_budget` in the regions file).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use settings::{Report, Validate};

/// The most retries a configuration may ask for.
const MAX_RETRIES: u32 = 10;
/// Belvo: retry `unexpected_error` at most three times (the client never goes beyond it).
const MAX_UNEXPECTED_ERROR_RETRIES: u32 = belvo::MAX_UNEXPECTED_ERROR_RETRIES;

/// Timeouts and retries of the per-region Belvo clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BelvoConfig {
    /// Timeout of one read, token or link call.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Timeout of one data retrieval POST, where Belvo logs into the institution.
    #[serde(with = "humantime_serde")]
    pub retrieve_timeout: Duration,
    /// TCP connect timeout.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Retries after a failed attempt (5xx, 408, 429, `too_many_sessions`; reads also after
    /// transport and decode errors; link registration and other never-repeated calls: none).
    pub max_retries: u32,
    /// Retries of `500 unexpected_error`: at most 3 (Belvo's guidance; a larger value is a
    /// validation error) and never more than `max_retries`.
    pub max_unexpected_error_retries: u32,
    /// The first retry delay; each retry doubles it, with jitter.
    #[serde(with = "humantime_serde")]
    pub retry_base_delay: Duration,
    /// The longest delay between two attempts.
    #[serde(with = "humantime_serde")]
    pub retry_max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the failure goes back to the
    /// caller (which can reschedule).
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
}

impl BelvoConfig {
    /// A person is waiting (a widget token, a link registration): fail within seconds
    /// rather than follow Belvo's background guidance.
    pub fn interactive() -> Self {
        let retry_base_delay = Duration::from_millis(500);
        Self {
            timeout: Duration::from_secs(10),
            retrieve_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            max_retries: 2,
            max_unexpected_error_retries: 2,
            retry_base_delay,
            retry_max_delay: retry_base_delay.saturating_mul(8),
            max_retry_after: Duration::from_secs(5),
        }
    }

    /// Sync work: Belvo's published guidance (base 3 s, factor 2, 5 retries, 3 for
    /// `unexpected_error`), generous timeouts.
    pub fn background() -> Self {
        let policy = belvo::RetryPolicy::default();
        Self {
            timeout: Duration::from_secs(30),
            retrieve_timeout: Duration::from_secs(330),
            connect_timeout: Duration::from_secs(10),
            max_retries: policy.max_retries,
            max_unexpected_error_retries: policy.max_unexpected_error_retries,
            retry_base_delay: policy.base_delay,
            retry_max_delay: policy.max_delay,
            max_retry_after: policy.max_retry_after,
        }
    }

    /// No retries, short timeouts: for tests that count Belvo calls.
    pub fn no_retries() -> Self {
        Self {
            max_retries: 0,
            max_unexpected_error_retries: 0,
            ..Self::interactive()
        }
    }

    /// The client's retry policy.
    pub fn retry_policy(&self) -> belvo::RetryPolicy {
        belvo::RetryPolicy {
            max_retries: self.max_retries,
            max_unexpected_error_retries: self
                .max_unexpected_error_retries
                .min(MAX_UNEXPECTED_ERROR_RETRIES)
                .min(self.max_retries),
            base_delay: self.retry_base_delay,
            max_delay: self.retry_max_delay,
            max_retry_after: self.max_retry_after,
        }
    }
}

impl Default for BelvoConfig {
    fn default() -> Self {
        Self::interactive()
    }
}

impl Validate for BelvoConfig {
    fn validate(&self, report: &mut Report) {
        for (key, value) in [
            ("timeout", self.timeout),
            ("retrieve_timeout", self.retrieve_timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            report.check(!value.is_zero(), key, "must be greater than zero");
        }
        report.check(
            self.max_retries <= MAX_RETRIES,
            "max_retries",
            format!("must be at most {MAX_RETRIES}"),
        );
        report.check(
            self.max_unexpected_error_retries <= MAX_UNEXPECTED_ERROR_RETRIES,
            "max_unexpected_error_retries",
            format!("must be at most {MAX_UNEXPECTED_ERROR_RETRIES} (Belvo's guidance)"),
        );
        report.check(
            self.retry_base_delay <= self.retry_max_delay,
            "retry_base_delay",
            "must not exceed retry_max_delay",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid() {
        for config in [
            BelvoConfig::interactive(),
            BelvoConfig::background(),
            BelvoConfig::no_retries(),
        ] {
            let mut report = Report::new();
            config.validate(&mut report);
            assert!(report.violations().is_empty(), "{:?}", report.violations());
        }
    }

    #[test]
    fn bad_values_are_named() {
        let config = BelvoConfig {
            timeout: Duration::ZERO,
            max_retries: 11,
            max_unexpected_error_retries: 4,
            retry_base_delay: Duration::from_secs(100),
            ..BelvoConfig::interactive()
        };
        let mut report = Report::new();
        config.validate(&mut report);
        let keys: Vec<_> = report.violations().iter().map(|v| v.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "timeout",
                "max_retries",
                "max_unexpected_error_retries",
                "retry_base_delay"
            ]
        );
    }

    #[test]
    fn unexpected_error_retries_above_belvos_three_are_refused_naming_the_field() {
        let loaded = settings::Loader::new("TEST_SERVICE")
            .env([
                ("TEST_SERVICE__MAX_RETRIES", "10"),
                ("TEST_SERVICE__MAX_UNEXPECTED_ERROR_RETRIES", "10"),
            ])
            .load::<BelvoConfig>();
        let err = loaded.expect_err("10 unexpected_error retries must be refused");
        let violations = err.violations();
        assert_eq!(violations.len(), 1, "{err}");
        assert_eq!(violations[0].key, "max_unexpected_error_retries");
        assert!(violations[0].message.contains("at most 3"), "{err}");
        assert!(
            err.to_string()
                .contains("TEST_SERVICE__MAX_UNEXPECTED_ERROR_RETRIES"),
            "{err}"
        );
        // Three is accepted.
        let three = settings::Loader::new("TEST_SERVICE")
            .env([("TEST_SERVICE__MAX_UNEXPECTED_ERROR_RETRIES", "3")])
            .load::<BelvoConfig>()
            .expect("3 is Belvo's guidance");
        assert_eq!(three.max_unexpected_error_retries, 3);
    }

    #[test]
    fn an_unvalidated_config_still_never_retries_unexpected_error_more_than_three_times() {
        let config = BelvoConfig {
            max_retries: 10,
            max_unexpected_error_retries: 10,
            ..BelvoConfig::background()
        };
        let policy = config.retry_policy();
        assert_eq!(policy.max_unexpected_error_retries, 3);
        assert_eq!(policy.max_retries, 10);
    }

    #[test]
    fn the_background_defaults_are_belvos_guidance() {
        let policy = BelvoConfig::background().retry_policy();
        let guidance = belvo::RetryPolicy::default();
        assert_eq!(
            (
                policy.max_retries,
                policy.base_delay,
                policy.max_retry_after
            ),
            (
                guidance.max_retries,
                guidance.base_delay,
                guidance.max_retry_after
            )
        );
    }
}
