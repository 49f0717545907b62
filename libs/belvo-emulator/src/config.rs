//! Typed configuration of one emulator instance: where it listens, which Belvo accounts (secret
//! key pairs, webhook targets) it serves, sandbox or production paging, data scale and seed.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::firewall::FirewallLimit;

/// Default port of the emulator (the platform's convention).
pub const DEFAULT_PORT: u16 = 8090;

/// Sandbox (10 results a page by default) or production (100) behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Sandbox,
    Production,
}

impl Mode {
    /// Belvo's default `page_size` in this mode.
    pub fn default_page_size(self) -> usize {
        match self {
            Mode::Sandbox => 10,
            Mode::Production => 100,
        }
    }

    /// Belvo's name of the environment, as it appears in tokens.
    pub fn environment(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Production => "production",
        }
    }
}

/// One Belvo account: a secret key pair plus the webhook target configured in its dashboard.
/// Links and webhooks belong to the account whose keys created them. `Debug` hides the secret
/// password and the webhook Authorization value.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Account {
    pub secret_id: String,
    pub secret_password: String,
    /// Where this account's webhooks go; `None` records events without delivering them.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Sent verbatim as the `Authorization` header of every webhook delivery.
    #[serde(default)]
    pub webhook_authorization: Option<String>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("secret_id", &self.secret_id)
            .field("secret_password", &"<redacted>")
            .field("webhook_url", &self.webhook_url)
            .field(
                "webhook_authorization",
                &self.webhook_authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Account {
    pub fn new(secret_id: impl Into<String>, secret_password: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_password: secret_password.into(),
            webhook_url: None,
            webhook_authorization: None,
        }
    }

    pub fn with_webhook(mut self, url: impl Into<String>, authorization: Option<String>) -> Self {
        self.webhook_url = Some(url.into());
        self.webhook_authorization = authorization;
        self
    }
}

/// How much generated data a link has. Transactions and invoices are generated page by page
/// from the index, so any size costs the same memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    /// Transactions of a link with the "full" banking profile.
    pub transactions: u64,
    /// Invoices of a link with the "full" fiscal profile.
    pub invoices: u64,
}

impl Default for Scale {
    fn default() -> Self {
        Self {
            transactions: 120,
            invoices: 40,
        }
    }
}

/// Everything an emulator instance needs; `Config::default()` is a sandbox on 127.0.0.1:8090
/// with one account `sandbox-id` / `sandbox-password`.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub mode: Mode,
    pub accounts: Vec<Account>,
    /// Base of absolute URLs (`next`, `previous`); `None` uses the request's `Host` header.
    pub public_url: Option<String>,
    /// Linear backoff step between webhook redeliveries (attempt n waits n × this).
    pub webhook_retry_interval: Duration,
    /// Per-attempt timeout of a webhook delivery (Belvo: 5 s).
    pub webhook_timeout: Duration,
    /// Scale given to new links.
    pub default_scale: Scale,
    /// Seed for link ids and generated data; same seed and same calls give the same data.
    pub seed: u64,
    /// Last day covered by generated data; `None` is the day the emulator started.
    pub data_as_of: Option<NaiveDate>,
    /// Lifetime of a widget access token (Belvo: 10 minutes).
    pub widget_token_ttl: Duration,
    /// Cool-down between two refreshes of one link (Belvo: 10 minutes).
    pub refresh_cooldown: Duration,
    /// How long an MFA session can be resumed (`expiry` in the 428 body).
    pub mfa_session_ttl: Duration,
    /// Synchronous deletions per account per minute before 429 (Belvo: 5); 0 disables.
    pub delete_rate_per_minute: u32,
    /// How many received requests the control API keeps.
    pub request_log_capacity: usize,
    /// Belvo's web-application firewall: more requests than this from one source address in
    /// the sliding window get the WAF's HTML 403. `None` turns it off. Default: off (the
    /// default is sandbox mode, where `make run` puts every service on one loopback address);
    /// the binary turns Belvo's 80 in 30 s on in production mode.
    pub firewall: Option<FirewallLimit>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            mode: Mode::Sandbox,
            accounts: vec![Account::new("sandbox-id", "sandbox-password")],
            public_url: None,
            webhook_retry_interval: Duration::from_secs(30),
            webhook_timeout: Duration::from_secs(5),
            default_scale: Scale::default(),
            seed: 42,
            data_as_of: None,
            widget_token_ttl: Duration::from_secs(600),
            refresh_cooldown: Duration::from_secs(600),
            mfa_session_ttl: Duration::from_secs(600),
            delete_rate_per_minute: 5,
            request_log_capacity: 10_000,
            firewall: None,
        }
    }
}

impl Config {
    /// A configuration for tests: port 0 on loopback, short webhook backoff, no firewall (tests
    /// that hammer the emulator from one address are not testing Belvo's WAF; a test that is
    /// sets `firewall`).
    pub fn for_tests() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            webhook_retry_interval: Duration::from_millis(50),
            firewall: None,
            ..Self::default()
        }
    }

    /// Checks what can be checked before binding a port.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.accounts.is_empty() {
            return Err(ConfigError::NoAccount);
        }
        for (i, a) in self.accounts.iter().enumerate() {
            if a.secret_id.is_empty() || a.secret_password.is_empty() {
                return Err(ConfigError::EmptyKey(i));
            }
            if let Some(u) = &a.webhook_url {
                url::Url::parse(u).map_err(|e| ConfigError::WebhookUrl(u.clone(), e))?;
            }
            if self.accounts[..i]
                .iter()
                .any(|b| b.secret_id == a.secret_id)
            {
                return Err(ConfigError::DuplicateKey(a.secret_id.clone()));
            }
        }
        if let Some(u) = &self.public_url {
            url::Url::parse(u).map_err(|e| ConfigError::PublicUrl(u.clone(), e))?;
        }
        if let Some(f) = self.firewall
            && (f.max_requests == 0 || f.window.is_zero())
        {
            return Err(ConfigError::Firewall);
        }
        Ok(())
    }
}

/// A configuration the emulator refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("at least one account (secret key pair) is required")]
    NoAccount,
    #[error("account #{0} has an empty secret id or password")]
    EmptyKey(usize),
    #[error("two accounts share the secret id {0}")]
    DuplicateKey(String),
    #[error("webhook URL {0:?} is not a URL: {1}")]
    WebhookUrl(String, url::ParseError),
    #[error("public URL {0:?} is not a URL: {1}")]
    PublicUrl(String, url::ParseError),
    #[error(
        "the firewall needs at least one request per window and a non-zero window (turn it off with None)"
    )]
    Firewall,
}
