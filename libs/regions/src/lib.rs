//! Typed per-region configuration, shared by every service: for each region, where Belvo is
//! (named environment or the emulator's base URL), the secret keys (from environment variables,
//! mounted secret files, or inline for local development), the widget family (multi-region or
//! Brazil's OFDA), locale, country codes, products with their `fetch_resources`, access mode,
//! retention (`stale_in`, `credentials_storage`), branding, callback URLs, OFDA consent
//! settings, the webhook `Authorization` value and the rate budget.
//!
//! It is loaded once at start-up by `settings`' [`Loader`](settings::Loader), like every other
//! configuration: the TOML file, then environment overrides named `REGION_<ID>_<FIELD>`
//! ([`settings::Naming::Flat`], with `regions` as a map of sections whose ids come from the
//! file). The overridable fields and their names are read from the region's type, not from a
//! list ([`override_fields`]). Every problem is reported at once in one `settings` report
//! ([`ConfigError`] is `settings::SettingsError`), each naming its region and field and the
//! variable that sets it; a service can add its own configuration's problems to the same report
//! ([`RegionsConfig::load_alongside`]).
//!
//! The environment is always passed in explicitly ([`RegionsConfig::load`]), with the secrets
//! the process uses ([`SecretsUsed`]); only [`RegionsConfig::from_process_env`] reads the
//! process environment, and nothing here changes it. Secrets are `secrecy::SecretString`s:
//! `Debug` shows `[REDACTED]`, and no error message carries a secret's value.
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
mod raw;
mod region;
mod types;
mod validate;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use settings::{FlatField, Naming, Report, Schema, SettingsError, Validate};

pub use belvo::Environment;
pub use error::{ConfigError, ProductNotOffered, UnknownRegion};
pub use region::{
    Branding, CallbackUrls, OfdaConsent, ProductConfig, Region, RegionId, RegionsConfig, ThemeEntry,
};
pub use types::{
    AccessMode, BelvoCaller, CountryCode, CredentialsStorage, FetchResource, InstitutionType,
    Locale, ParseEnumError, ParseRetentionError, Product, RateBudget, Shares, StaleIn,
    WidgetFamily,
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
/// The variable that overrides the file's `default_region` (the name `settings` derives for
/// that key under [`REGIONS_PREFIX`]; a test checks they agree).
pub const DEFAULT_REGION_VAR: &str = "REGIONS_DEFAULT_REGION";
/// Prefix of the loader's own variables (`REGIONS_FILE`, `REGIONS_DEFAULT_REGION`); any other
/// variable with it is refused as a likely typo.
pub const REGIONS_PREFIX: &str = "REGIONS_";
/// Prefix of per-region overrides: `REGION_<ID>_<FIELD>`, such as `REGION_MX_ENVIRONMENT`.
pub const OVERRIDE_PREFIX: &str = "REGION_";

/// The `<FIELD>` suffixes of per-region overrides, each with the key it sets, in the region
/// type's order: derived from the type, so a field added to a region is overridable without
/// being listed anywhere. Every scalar field is (also inside struct-valued fields such as
/// `rate_budget` and `branding`; not inside the open tables `theme` and `products`), lists take
/// comma-separated values, and a secret has two: its plain suffix holds the value itself, its
/// `_FILE` form a path to read.
pub fn override_fields() -> Vec<FlatField> {
    match Schema::of::<raw::RawRegion>().as_struct() {
        // Never fails for the region type (a test checks it); empty would only mean that no
        // override is recognised, and every one would then be reported.
        Some(region) => settings::flat_fields(region).unwrap_or_default(),
        None => Vec::new(),
    }
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
    /// appears twice the last one wins, and an empty override is unset. Only the secrets in
    /// `used` are resolved.
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
        let mut loader = loader(env);
        if let Some(path) = path {
            loader = loader.file(path);
        }
        build(&loader, used)
    }

    /// [`Self::load`] with the process environment (variables that are not valid UTF-8 are
    /// skipped). For `main`; libraries and tests pass their environment to `load`.
    pub fn from_process_env(path: Option<&Path>, used: SecretsUsed) -> Result<Self, ConfigError> {
        Self::load(path, process_env(), used)
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
        build(&loader(env).toml(toml), SecretsUsed::All)
    }

    /// Loads a service's own configuration (with `service`, a `settings` loader given the
    /// same environment) and the regions, and reports the problems of both in one error, so
    /// that one start shows everything to fix. For `main`:
    ///
    /// ```ignore
    /// let env: Vec<(String, String)> = std::env::vars().collect();
    /// let (config, regions) = settings::exit_on_error(RegionsConfig::load_alongside(
    ///     &settings::Loader::new(ENV_PREFIX).env(env.clone()),
    ///     |config: &Config| config.regions_file.clone(),
    ///     env,
    ///     SecretsUsed::BelvoKeys,
    /// ));
    /// ```
    ///
    /// The regions file is the one `regions_file` picks from the service's configuration (read
    /// even when it breaks its rules), else `$REGIONS_FILE`. When the service's configuration
    /// cannot be read at all, the file it names is unknown: the regions are then loaded from
    /// `$REGIONS_FILE` if set, and otherwise only the service's problems are reported.
    pub fn load_alongside<C, I, K, V>(
        service: &settings::Loader,
        regions_file: impl FnOnce(&C) -> Option<PathBuf>,
        env: I,
        used: SecretsUsed,
    ) -> Result<(C, Self), SettingsError>
    where
        C: Serialize + DeserializeOwned + Default + Validate,
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let env: Vec<(String, String)> =
            env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let mut report = Report::new();
        let config = service.load_into::<C>(&mut report);
        let path = match &config {
            Some(config) => regions_file(config),
            None if env.iter().any(|(k, v)| k == FILE_VAR && !v.is_empty()) => None,
            None => return report.complete(None),
        };
        let mut loader = loader(env);
        if let Some(path) = &path {
            loader = loader.file(path);
        }
        let regions = loader.load_with_into(&mut report, |file: raw::RawFile, cx| {
            validate::config(file, cx, used)
        });
        report.complete(config.zip(regions))
    }
}

/// The process environment, without variables that are not valid UTF-8.
fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
}

/// `settings`' loader for the regions: `REGIONS_*` for the file's own keys, `REGION_<ID>_*` for
/// each region's, `REGIONS_FILE` for the file, which is required.
fn loader<I, K, V>(env: I) -> settings::Loader
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    settings::Loader::new(REGIONS_PREFIX.trim_end_matches('_'))
        .naming(Naming::Flat)
        .file_var(FILE_VAR)
        .require_file()
        .section_map("regions", OVERRIDE_PREFIX.trim_end_matches('_'))
        .env(env)
}

fn build(loader: &settings::Loader, used: SecretsUsed) -> Result<RegionsConfig, ConfigError> {
    loader.load_with(|file: raw::RawFile, cx| validate::config(file, cx, used))
}

#[cfg(test)]
mod tests;
