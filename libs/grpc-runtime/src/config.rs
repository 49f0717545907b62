//! The `[server]` section of a service's configuration: where it listens, how long a call
//! and a drain may take, and which internal callers hold which bearer tokens.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};

/// Server settings (`<PREFIX>__SERVER__...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// gRPC address, e.g. `0.0.0.0:50051`; port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// Admin HTTP address serving `/metrics`, e.g. `0.0.0.0:9051`.
    pub admin_addr: SocketAddr,
    /// Longest time a call may take to answer; a shorter client deadline (`grpc-timeout`)
    /// wins. Past it the call ends with `DEADLINE_EXCEEDED`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// After a shutdown signal, how long in-flight calls may take to finish before the
    /// server stops anyway.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Internal callers and their bearer tokens (`AUTH_TOKENS__<CALLER>=<token>`). Empty:
    /// no authentication. Otherwise every call except health and reflection needs
    /// `authorization: Bearer <token>` of one of them.
    #[serde(skip_serializing, default)]
    pub auth_tokens: BTreeMap<String, SecretString>,
}

impl ServerConfig {
    /// Settings with these addresses and the default timeouts.
    pub fn new(listen_addr: SocketAddr, admin_addr: SocketAddr) -> Self {
        Self {
            listen_addr,
            admin_addr,
            ..Self::default()
        }
    }

    /// Every interface on these ports (a service's defaults), with the default timeouts.
    pub fn on_ports(listen_port: u16, admin_port: u16) -> Self {
        let any = |port| SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
        Self::new(any(listen_port), any(admin_port))
    }

    /// Loopback, port 0 for both listeners: for tests.
    pub fn for_tests() -> Self {
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self::new(any, any)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 50051)),
            admin_addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 9090)),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            auth_tokens: BTreeMap::new(),
        }
    }
}

/// Shortest bearer token accepted, so that a typo or a placeholder is not a credential.
const MIN_TOKEN_LEN: usize = 16;

impl Validate for ServerConfig {
    fn validate(&self, report: &mut Report) {
        report.check(
            self.listen_addr.port() == 0 || self.listen_addr != self.admin_addr,
            "admin_addr",
            "must differ from listen_addr",
        );
        report.check(
            !self.request_timeout.is_zero(),
            "request_timeout",
            "must be greater than zero",
        );
        for (caller, token) in &self.auth_tokens {
            let key = format!("auth_tokens.{caller}");
            report.check(
                !caller.is_empty()
                    && caller
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                &key,
                "caller names use letters, digits, '-' and '_'",
            );
            report.check(
                token.expose_secret().len() >= MIN_TOKEN_LEN,
                &key,
                format!("the token must have at least {MIN_TOKEN_LEN} characters"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let mut report = Report::new();
        ServerConfig::default().validate(&mut report);
        assert!(report.violations().is_empty(), "{:?}", report.violations());
    }

    #[test]
    fn bad_values_are_named() {
        let mut config = ServerConfig::default();
        config.admin_addr = config.listen_addr;
        config.request_timeout = Duration::ZERO;
        config
            .auth_tokens
            .insert("gateway".into(), SecretString::from("short"));
        config
            .auth_tokens
            .insert("bad name".into(), SecretString::from("x".repeat(32)));
        let mut report = Report::new();
        config.validate(&mut report);
        let keys: Vec<_> = report.violations().iter().map(|v| v.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "admin_addr",
                "request_timeout",
                "auth_tokens.bad name",
                "auth_tokens.gateway"
            ]
        );
        // No violation message carries the token.
        assert!(
            report
                .violations()
                .iter()
                .all(|v| !v.message.contains("short"))
        );
    }
}
