//! Typed per-region configuration, shared by every service: for each region, where Belvo is
//! (named environment or the emulator's base URL), the secret keys (from environment variables,
//! mounted secret files, or inline for local development), the widget family (multi-region or
//! Brazil's OFDA), locale, country codes, products with their `fetch_resources`, access mode,
//! retention (`stale_in`, `credentials_storage`), branding, callback URLs, OFDA consent
//! settings, the webhook `Authorization` value and the rate budget.
//!
//! It is loaded once at start-up from a TOML file plus environment overrides, and validated
//! with every problem reported at once, each naming its region and field. The environment is
//! always passed in explicitly ([`RegionsConfig::load`]), with the secrets the process uses
//! ([`SecretsUsed`]); only
//! [`RegionsConfig::from_process_env`] reads the process environment, and nothing here changes
//! it. Secrets are `secrecy::SecretString`s: `Debug` shows `[REDACTED]`, and no error message
//! carries a secret's value.
//!
//! ```toml
//! [regions.mx]
//! environment = "sandbox"                      # sandbox | production | development | http(s) URL
//! secret_id = { env = "BELVO_MX_SECRET_ID" }   # or { file = "/path" } or { value = "…" } (dev)
//! secret_password = { env = "BELVO_MX_SECRET_PASSWORD" }
//! widget = "multi_region"                      # multi_region | ofda
//! country_codes = ["MX"]
//! [regions.mx.branding]
//! company_name = "ACME"
//! company_icon = "https://acme.example/icon.svg"
//! company_logo = "https://acme.example/logo.svg"
//! company_terms_url = "https://acme.example/terms"
//! [regions.mx.products.banking]
//! fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"]
//! ```
//!
//! The full format, with every default, is in `config/mexico-brazil.toml` beside this crate
//! and in `docs/configuration.md`, "Region configuration".

mod error;
mod overrides;
mod raw;
mod region;
mod secret;
mod types;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use belvo::Environment;
pub use error::{ConfigError, Problem, ProductNotOffered, UnknownRegion};
pub use region::{
    Branding, CallbackUrls, OfdaConsent, ProductConfig, Region, RegionId, RegionsConfig, ThemeEntry,
};
pub use types::{
    AccessMode, CountryCode, CredentialsStorage, FetchResource, InstitutionType, Locale,
    ParseEnumError, ParseRetentionError, Product, RateBudget, StaleIn, WidgetFamily,
};

/// Which of a region's secrets a process resolves. Each service loads only those it uses, so
/// the internet-facing gateway never holds Belvo's API keys and the services that call Belvo
/// never hold the webhook `Authorization` value; what is not used need not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsUsed {
    /// Both (tools and tests).
    All,
    /// Belvo's API keys (`secret_id`, `secret_password`): token-, link- and data-service. The
    /// webhook `Authorization` value is then absent.
    BelvoKeys,
    /// The webhook `Authorization` value: the gateway. The API keys are then empty.
    WebhookAuthorization,
}

impl SecretsUsed {
    fn belvo_keys(self) -> bool {
        matches!(self, Self::All | Self::BelvoKeys)
    }

    fn webhook_authorization(self) -> bool {
        matches!(self, Self::All | Self::WebhookAuthorization)
    }
}

/// The variable naming the configuration file when no path is passed to the loader.
pub const FILE_VAR: &str = "REGIONS_FILE";
/// The variable that overrides the file's `default_region`.
pub const DEFAULT_REGION_VAR: &str = "REGIONS_DEFAULT_REGION";
/// Prefix of the loader's own variables (`REGIONS_FILE`, `REGIONS_DEFAULT_REGION`); any other
/// variable with it is refused as a likely typo.
pub const REGIONS_PREFIX: &str = "REGIONS_";
/// Prefix of per-region overrides: `REGION_<ID>_<FIELD>`, such as `REGION_MX_ENVIRONMENT`.
pub const OVERRIDE_PREFIX: &str = "REGION_";

/// The `<FIELD>` suffixes of per-region overrides, each with the file key it replaces. A
/// secret's plain suffix holds the value itself; its `_FILE` form holds a path to read.
pub fn override_fields() -> impl Iterator<Item = (&'static str, &'static str)> {
    overrides::FIELDS.iter().copied()
}

pub mod shipped {
    //! The configuration files in `libs/regions/config/`, embedded so tests, `make run` and
    //! tools can load them without knowing where the source tree is.

    /// Mexico (multi-region widget: Banking, Employment, Fiscal) and Brazil (OFDA Banking),
    /// with secrets from environment variables and mounted files.
    pub const MEXICO_BRAZIL: &str = include_str!("../config/mexico-brazil.toml");

    /// Local development: Mexico against the emulator at `http://127.0.0.1:8090` with inline
    /// development secrets. Point it elsewhere with `REGION_MX_ENVIRONMENT`.
    pub const LOCAL: &str = include_str!("../config/local.toml");

    /// Every shipped file, by name.
    pub const ALL: &[(&str, &str)] =
        &[("mexico-brazil.toml", MEXICO_BRAZIL), ("local.toml", LOCAL)];
}

impl RegionsConfig {
    /// Loads and validates the configuration: the file at `path`, or else at `$REGIONS_FILE`
    /// taken from `env`, then the `REGION_<ID>_<FIELD>` and `REGIONS_DEFAULT_REGION` overrides
    /// from `env`. Secret references (`{ env = … }`) are resolved from `env` too, and relative
    /// secret file paths from the configuration file's folder. `env` is never the process
    /// environment unless the caller makes it so ([`Self::from_process_env`]); when a variable
    /// appears twice the last one wins. Only the secrets in `used` are resolved.
    pub fn load<I, K, V>(
        path: Option<&Path>,
        env: I,
        used: SecretsUsed,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let env = collect(env);
        let path: PathBuf = match path {
            Some(path) => path.to_owned(),
            None => match env.get(FILE_VAR) {
                Some(path) if !path.is_empty() => PathBuf::from(path),
                _ => return Err(ConfigError::NoFile),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        build(
            &text,
            &path.display().to_string(),
            path.parent(),
            &env,
            used,
        )
    }

    /// [`Self::load`] with the process environment (variables that are not valid UTF-8 are
    /// skipped). For `main`; libraries and tests pass their environment to `load`.
    pub fn from_process_env(path: Option<&Path>, used: SecretsUsed) -> Result<Self, ConfigError> {
        let vars = std::env::vars_os()
            .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)));
        Self::load(path, vars, used)
    }

    /// Validates configuration text (a shipped file, or one built by a test), with overrides
    /// and every secret from `env` as in [`Self::load`]. Relative secret file paths are
    /// relative to the current directory.
    pub fn from_toml_str<I, K, V>(toml: &str, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        build(toml, "<inline TOML>", None, &collect(env), SecretsUsed::All)
    }
}

fn collect<I, K, V>(env: I) -> BTreeMap<String, String>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    env.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

fn build(
    text: &str,
    origin: &str,
    base_dir: Option<&Path>,
    env: &BTreeMap<String, String>,
    used: SecretsUsed,
) -> Result<RegionsConfig, ConfigError> {
    let mut file: raw::RawFile = toml::from_str(text).map_err(|err| {
        let (line, column) = match err.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError::Malformed {
            origin: origin.to_owned(),
            line,
            column,
            message: err.message().trim_end().to_owned(),
        }
    })?;
    let mut problems = Vec::new();
    let default_from = overrides::apply(&mut file, env, &mut problems);
    let config = validate::config(
        file,
        default_from.as_deref(),
        env,
        base_dir,
        used,
        &mut problems,
    );
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => {
            if problems.is_empty() {
                // Every refusal above records its reason; this only guards that promise.
                problems.push(Problem {
                    field: "regions".to_owned(),
                    message: "refused without a recorded reason (a bug in the regions crate)"
                        .to_owned(),
                });
            }
            Err(ConfigError::Invalid {
                origin: origin.to_owned(),
                problems,
            })
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
