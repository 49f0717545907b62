//! The gateway's typed configuration: where it listens, how it reaches token-, link- and
//! data-service, how it authenticates end users (dev, HS256 or JWKS), which browser origins
//! may call it, its limits, and where the regions file is. Loaded with [`settings::Loader`]
//! under the prefix `GATEWAY` (`GATEWAY__SERVER__LISTEN_ADDR`, `GATEWAY__AUTH__MODE`, ...) and
//! validated before any port is bound. `auth.mode` has no default (the gateway refuses to
//! start without it, rather than silently enabling dev sign-in); a production configuration
//! refuses the `dev` auth mode and an `http://` JWKS URL.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use grpc_runtime::client::ClientConfig;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use settings::{Report, Validate};
use telemetry::TelemetryConfig;

/// The environment prefix of the gateway's variables.
pub const ENV_PREFIX: &str = "GATEWAY";

/// The default HTTP port (DESIGN §2).
pub const DEFAULT_PORT: u16 = 8080;
/// The default admin (`/metrics`) port.
pub const DEFAULT_ADMIN_PORT: u16 = 9080;

grpc_runtime::service_config!(GatewayConfig, no_database);

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// `development` (default) or `production`.
    pub environment: Environment,
    /// Listening and timeouts.
    pub server: ServerSection,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// The three services.
    pub clients: Clients,
    /// End-user authentication.
    pub auth: AuthConfig,
    /// Browser origins allowed to call the API (CORS).
    pub cors: CorsConfig,
    /// Body sizes and rate limits.
    pub limits: LimitsConfig,
    /// Response security headers.
    pub security: SecurityConfig,
    /// The regions file (webhook Authorization values, default region). Unset: `$REGIONS_FILE`.
    pub regions_file: Option<PathBuf>,
}

/// Where the gateway runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine or a test: `dev` auth is allowed.
    #[default]
    Development,
    /// Production: `dev` auth is refused at start-up.
    Production,
}

/// `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// HTTP address; port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// Admin HTTP address serving `/metrics`, apart from the internet-facing one.
    pub admin_addr: SocketAddr,
    /// Longest time a request may take to produce its response head.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// After a shutdown signal, how long in-flight requests may take.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// How often an open event stream sends a keep-alive comment.
    #[serde(with = "humantime_serde")]
    pub sse_keep_alive: Duration,
    /// How long a `/readyz` health check of one service may take.
    #[serde(with = "humantime_serde")]
    pub readiness_timeout: Duration,
    /// Behind a trusted proxy (an ingress): the header that carries the client address, e.g.
    /// `x-forwarded-for`; its rightmost address (the one the proxy saw) is the client for
    /// per-IP limits. Unset: the TCP peer. Never set it when clients reach the gateway
    /// directly, or they could choose their own address.
    pub client_ip_header: Option<String>,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, DEFAULT_PORT)),
            admin_addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, DEFAULT_ADMIN_PORT)),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            sse_keep_alive: Duration::from_secs(15),
            readiness_timeout: Duration::from_secs(2),
            client_ip_header: None,
        }
    }
}

/// `[clients.*]`: one section per service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Clients {
    /// token-service.
    pub token_service: ClientConfig,
    /// link-service.
    pub link_service: ClientConfig,
    /// data-service.
    pub data_service: ClientConfig,
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            token_service: ClientConfig::new("http://127.0.0.1:50051"),
            link_service: ClientConfig::new("http://127.0.0.1:50052"),
            data_service: ClientConfig::new("http://127.0.0.1:50053"),
        }
    }
}

/// How end users authenticate. There is no default: a configuration must choose one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Local runs only: `POST /v1/dev/login` issues short-lived HS256 tokens.
    Dev,
    /// Tokens signed by the host application with a shared HS256 secret.
    Hs256,
    /// RS256/ES256 tokens verified with the keys at a JWKS URL.
    Jwks,
}

/// `[auth]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `dev`, `hs256` or `jwks`; required (unset, the gateway refuses to start).
    pub mode: Option<AuthMode>,
    /// Required `iss` claim (hs256, jwks).
    pub issuer: String,
    /// Required `aud` claim (hs256, jwks).
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// The shared secret (hs256), at least 32 bytes.
    #[serde(skip_serializing, default)]
    pub hs256_secret: Option<SecretString>,
    /// The JWKS URL (jwks).
    pub jwks_url: Option<String>,
    /// How long fetched keys are kept before they are fetched again (an unknown `kid`
    /// refetches sooner, at most once per `jwks_min_refresh`).
    #[serde(with = "humantime_serde")]
    pub jwks_refresh: Duration,
    /// The shortest time between two fetches.
    #[serde(with = "humantime_serde")]
    pub jwks_min_refresh: Duration,
    /// Timeout of one JWKS fetch.
    #[serde(with = "humantime_serde")]
    pub jwks_timeout: Duration,
    /// Dev mode: the signing secret. Unset: a random one per process.
    #[serde(skip_serializing, default)]
    pub dev_secret: Option<SecretString>,
    /// Dev mode: lifetime of issued tokens.
    #[serde(with = "humantime_serde")]
    pub dev_token_ttl: Duration,
    /// The key of the pseudonyms logs and traces give users instead of their `sub` (see
    /// [`crate::pseudonym`]), at least 32 bytes. Unset: a random key per process, so a
    /// user's pseudonym changes at a restart and differs between replicas.
    #[serde(skip_serializing, default)]
    pub user_pseudonym_key: Option<SecretString>,
}

/// `iss` and `aud` of the tokens dev mode issues.
pub const DEV_ISSUER: &str = "connect-gateway-dev";
/// `aud` of the tokens dev mode issues.
pub const DEV_AUDIENCE: &str = "connect-gateway";

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: None,
            issuer: String::new(),
            audience: String::new(),
            leeway: Duration::from_secs(30),
            hs256_secret: None,
            jwks_url: None,
            jwks_refresh: Duration::from_secs(600),
            jwks_min_refresh: Duration::from_secs(10),
            jwks_timeout: Duration::from_secs(5),
            dev_secret: None,
            dev_token_ttl: Duration::from_secs(15 * 60),
            user_pseudonym_key: None,
        }
    }
}

/// Shortest HS256 secret accepted (RFC 7518 §3.2: at least the hash size).
const MIN_HS256_SECRET: usize = 32;

/// `[cors]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Exact origins (`https://app.example.com`). Empty: no cross-origin access.
    pub allowed_origins: Vec<String>,
}

/// `[limits]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest JSON request body, in bytes.
    pub body_bytes: usize,
    /// Largest webhook body, in bytes.
    pub webhook_body_bytes: usize,
    /// Widget tokens one user may mint per `token_window`.
    pub token_mints: u32,
    /// The window of `token_mints`.
    #[serde(with = "humantime_serde")]
    pub token_window: Duration,
    /// Refreshes (`POST /v1/links/{id}/refresh`, each a call to Belvo) one user may ask for per
    /// `refresh_window`.
    pub refreshes: u32,
    /// The window of `refreshes`.
    #[serde(with = "humantime_serde")]
    pub refresh_window: Duration,
    /// Event streams one user may hold open at once (per gateway replica).
    pub event_streams: u32,
    /// Failed webhook authentications one IP may make per `webhook_failure_window` before
    /// every webhook from it is refused with 429.
    pub webhook_auth_failures: u32,
    /// The window of `webhook_auth_failures`.
    #[serde(with = "humantime_serde")]
    pub webhook_failure_window: Duration,
    /// Deadline of data-service's `IngestWebhook`: past it the webhook is answered 503, well
    /// before Belvo's 5 s, so that Belvo retries instead of recording a timeout.
    #[serde(with = "humantime_serde")]
    pub webhook_ingest_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            body_bytes: 64 * 1024,
            webhook_body_bytes: 256 * 1024,
            token_mints: 20,
            token_window: Duration::from_secs(60),
            refreshes: 10,
            refresh_window: Duration::from_secs(60),
            event_streams: 8,
            webhook_auth_failures: 10,
            webhook_failure_window: Duration::from_secs(60),
            webhook_ingest_timeout: Duration::from_secs(4),
        }
    }
}

/// `[security]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// The `Content-Security-Policy` of every response. The origins of every region's
    /// `widget_script_url` and `hosted_widget_url` are added to `script-src`, `connect-src`
    /// and `frame-src` at start-up (see `web::csp_with_origins`), so the emulator's widget
    /// (development) and Belvo's CDN (production) both load. The web app has no inline
    /// script or style; `style-src 'unsafe-inline'` is for the widget, which injects its own
    /// styles into the page.
    pub content_security_policy: String,
    /// Send `Strict-Transport-Security` (behind TLS).
    pub hsts: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            content_security_policy: "default-src 'self'; script-src 'self' https://cdn.belvo.io; \
                frame-src https://widget.belvo.io https://widget.belvo.com; connect-src 'self'; \
                img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; \
                frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
                .to_owned(),
            hsts: false,
        }
    }
}

impl Validate for GatewayConfig {
    fn validate(&self, report: &mut Report) {
        report.section("telemetry", &self.telemetry);
        report.section("clients.token_service", &self.clients.token_service);
        report.section("clients.link_service", &self.clients.link_service);
        report.section("clients.data_service", &self.clients.data_service);
        report.section("auth", &self.auth);
        report.check(
            !(self.environment == Environment::Production && self.auth.mode == Some(AuthMode::Dev)),
            "auth.mode",
            "`dev` is for local runs only and is refused in production; use hs256 or jwks",
        );
        if self.environment == Environment::Production && self.auth.mode == Some(AuthMode::Jwks) {
            // The keys that decide who is who must not travel in clear text (or be swapped by
            // anyone on the path). Development keeps http for a local JWKS server.
            report.check(
                self.auth.jwks_url.as_deref().is_none_or(|url| {
                    url.get(..8)
                        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
                }),
                "auth.jwks_url",
                "must be an https:// URL in production (http:// is for local runs only)",
            );
        }
        report.check(
            self.server.listen_addr.port() == 0
                || self.server.listen_addr != self.server.admin_addr,
            "server.admin_addr",
            "must differ from server.listen_addr",
        );
        report.check(
            !self.server.request_timeout.is_zero(),
            "server.request_timeout",
            "must be greater than zero",
        );
        report.check(
            !self.server.sse_keep_alive.is_zero(),
            "server.sse_keep_alive",
            "must be greater than zero",
        );
        if let Some(name) = &self.server.client_ip_header {
            report.check(
                http::HeaderName::from_bytes(name.as_bytes()).is_ok(),
                "server.client_ip_header",
                "must be a header name such as x-forwarded-for",
            );
        }
        for (i, origin) in self.cors.allowed_origins.iter().enumerate() {
            let ok = origin.parse::<http::Uri>().ok().is_some_and(|uri| {
                matches!(uri.scheme_str(), Some("http" | "https"))
                    && uri.host().is_some()
                    && uri.path_and_query().is_none_or(|p| p.as_str() == "/")
            }) && !origin.ends_with('/');
            report.check(
                ok,
                &format!("cors.allowed_origins.{i}"),
                "must be an exact origin such as https://app.example.com (no path, no wildcard)",
            );
        }
        report.check(
            !self.limits.webhook_ingest_timeout.is_zero(),
            "limits.webhook_ingest_timeout",
            "must be greater than zero",
        );
        report.check(
            self.limits.body_bytes > 0,
            "limits.body_bytes",
            "must be greater than zero",
        );
        report.check(
            self.limits.webhook_body_bytes > 0,
            "limits.webhook_body_bytes",
            "must be greater than zero",
        );
        report.check(
            self.limits.token_mints > 0 && !self.limits.token_window.is_zero(),
            "limits.token_mints",
            "must be greater than zero, with a non-zero token_window",
        );
        report.check(
            self.limits.refreshes > 0 && !self.limits.refresh_window.is_zero(),
            "limits.refreshes",
            "must be greater than zero, with a non-zero refresh_window",
        );
        report.check(
            self.limits.event_streams > 0,
            "limits.event_streams",
            "must be greater than zero",
        );
        report.check(
            self.limits.webhook_auth_failures > 0 && !self.limits.webhook_failure_window.is_zero(),
            "limits.webhook_auth_failures",
            "must be greater than zero, with a non-zero webhook_failure_window",
        );
    }
}

impl Validate for AuthConfig {
    fn validate(&self, report: &mut Report) {
        if let Some(key) = &self.user_pseudonym_key {
            report.check(
                key.expose_secret().len() >= MIN_HS256_SECRET,
                "user_pseudonym_key",
                format!("must be at least {MIN_HS256_SECRET} bytes"),
            );
        }
        let Some(mode) = self.mode else {
            report.check(
                false,
                "mode",
                "required: `hs256` or `jwks` (`dev` for local runs only); \
                 there is no default, so that no deployment signs users in by mistake",
            );
            return;
        };
        match mode {
            AuthMode::Dev => {
                if let Some(secret) = &self.dev_secret {
                    report.check(
                        secret.expose_secret().len() >= MIN_HS256_SECRET,
                        "dev_secret",
                        format!("must be at least {MIN_HS256_SECRET} bytes"),
                    );
                }
                report.check(
                    !self.dev_token_ttl.is_zero(),
                    "dev_token_ttl",
                    "must be greater than zero",
                );
            }
            AuthMode::Hs256 => {
                report.check(
                    self.hs256_secret
                        .as_ref()
                        .is_some_and(|s| s.expose_secret().len() >= MIN_HS256_SECRET),
                    "hs256_secret",
                    format!("required in hs256 mode, at least {MIN_HS256_SECRET} bytes"),
                );
                self.require_claims(report);
            }
            AuthMode::Jwks => {
                let ok = self.jwks_url.as_deref().is_some_and(|url| {
                    url.parse::<http::Uri>()
                        .ok()
                        .is_some_and(|u| matches!(u.scheme_str(), Some("http" | "https")))
                });
                report.check(ok, "jwks_url", "required in jwks mode: an http(s) URL");
                report.check(
                    !self.jwks_refresh.is_zero(),
                    "jwks_refresh",
                    "must be greater than zero",
                );
                self.require_claims(report);
            }
        }
    }
}

impl AuthConfig {
    fn require_claims(&self, report: &mut Report) {
        report.check(
            !self.issuer.is_empty(),
            "issuer",
            "required: the `iss` the host application puts in its tokens",
        );
        report.check(
            !self.audience.is_empty(),
            "audience",
            "required: the `aud` the host application puts in its tokens",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violations(config: &GatewayConfig) -> Vec<String> {
        let mut report = Report::new();
        config.validate(&mut report);
        report.violations().iter().map(|v| v.key.clone()).collect()
    }

    /// The defaults with the dev auth mode chosen explicitly.
    fn dev() -> GatewayConfig {
        let mut config = GatewayConfig::default();
        config.auth.mode = Some(AuthMode::Dev);
        config
    }

    #[test]
    fn defaults_with_an_auth_mode_are_valid() {
        assert!(violations(&dev()).is_empty());
    }

    #[test]
    fn the_auth_mode_has_no_default() {
        assert_eq!(violations(&GatewayConfig::default()), ["auth.mode"]);
        // Nor in production.
        let config = GatewayConfig {
            environment: Environment::Production,
            ..GatewayConfig::default()
        };
        assert_eq!(violations(&config), ["auth.mode"]);
    }

    #[test]
    fn production_refuses_dev_mode() {
        let config = GatewayConfig {
            environment: Environment::Production,
            ..dev()
        };
        assert_eq!(violations(&config), ["auth.mode"]);
    }

    fn jwks(environment: Environment, url: &str) -> GatewayConfig {
        let mut config = GatewayConfig {
            environment,
            ..GatewayConfig::default()
        };
        config.auth.mode = Some(AuthMode::Jwks);
        config.auth.jwks_url = Some(url.to_owned());
        config.auth.issuer = "https://host.example".into();
        config.auth.audience = "connect-api".into();
        config
    }

    #[test]
    fn production_refuses_an_http_jwks_url() {
        let production = Environment::Production;
        let http = jwks(production, "http://keys.example/.well-known/jwks.json");
        assert_eq!(violations(&http), ["auth.jwks_url"]);
        let mut report = Report::new();
        http.validate(&mut report);
        assert!(
            report.violations()[0].message.contains("https://"),
            "{:?}",
            report.violations()
        );
        assert!(violations(&jwks(production, "HTTPS://keys.example/jwks.json")).is_empty());
        // Development keeps http for a local JWKS server.
        let local = jwks(Environment::Development, "http://127.0.0.1:9999/jwks.json");
        assert!(violations(&local).is_empty());
    }

    #[test]
    fn hs256_needs_a_long_secret_issuer_and_audience() {
        let mut config = dev();
        config.auth.mode = Some(AuthMode::Hs256);
        config.auth.hs256_secret = Some(SecretString::from("short"));
        assert_eq!(
            violations(&config),
            ["auth.hs256_secret", "auth.issuer", "auth.audience"]
        );
    }

    #[test]
    fn origins_must_be_exact() {
        let mut config = dev();
        config.cors.allowed_origins = vec![
            "https://app.example.com".into(),
            "*".into(),
            "https://app.example.com/path".into(),
        ];
        assert_eq!(
            violations(&config),
            ["cors.allowed_origins.1", "cors.allowed_origins.2"]
        );
    }

    #[test]
    fn secrets_never_print() {
        let mut config = GatewayConfig::default();
        config.auth.hs256_secret = Some(SecretString::from("super-secret-value-0123456789abcdef"));
        assert!(!format!("{config:?}").contains("super-secret"));
    }
}
