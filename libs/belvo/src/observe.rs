//! What a client tells its service about each call, for metrics: every HTTP attempt (retries
//! included) and every wait for the rate budget. The client knows nothing of Prometheus; the
//! service's observer does (`belvo_accounts::BelvoMetrics`).

use std::fmt;
use std::time::Duration;

use reqwest::Method;

/// Receives what a client saw. Called inline: keep it cheap.
pub trait Observer: Send + Sync + fmt::Debug {
    /// One HTTP exchange with Belvo, decoded or failed.
    fn attempt(&self, attempt: &Attempt<'_>);
    /// A call waited `waited` for the region's rate budget before it was sent.
    fn budget_wait(&self, region: &str, waited: Duration);
}

/// One HTTP exchange.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The client's region (empty when it was built without one).
    pub region: &'a str,
    pub method: &'a Method,
    /// The path with its ids replaced by `{id}` (`/api/links/{id}/`): a bounded label.
    pub endpoint: &'a str,
    /// `ok`, or the failure's kind: `http`, `dns`, `connection_refused`, `tls`, `timeout`,
    /// `connection`, `decode`, `refused_locally`.
    pub outcome: &'a str,
    /// The HTTP status, when Belvo answered.
    pub status: Option<u16>,
    /// Belvo's error code (`too_many_sessions`, `login_error`, ...), when it sent one.
    pub code: Option<&'a str>,
    /// From sending the request to the decoded answer or the failure.
    pub elapsed: Duration,
}

/// `path` with every segment that is an id (a UUID or a number) replaced by `{id}`.
pub fn endpoint(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let id = uuid::Uuid::try_parse(segment).is_ok()
                || (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()));
            if id { "{id}" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_leave_the_endpoint() {
        assert_eq!(
            endpoint("/api/links/8e2b1c4a-5a0e-4f1e-9a3b-2c1d0e9f8a7b/"),
            "/api/links/{id}/"
        );
        assert_eq!(endpoint("/api/transactions/"), "/api/transactions/");
        assert_eq!(
            endpoint("/api/links/42/refresh/"),
            "/api/links/{id}/refresh/"
        );
    }
}
