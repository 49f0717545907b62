//! Layered, typed service configuration. A service describes its configuration as one
//! serde struct with a `Default`; [`Loader`] builds it from three layers, each overriding
//! the one before: the struct's defaults, then an optional TOML file, then environment
//! variables named `<PREFIX>__<KEY>__<SUBKEY>` (for example `TOKEN_SERVICE__SERVER__LISTEN_ADDR`).
//! The environment is passed in explicitly (`std::env::vars()` in `main`, a literal list in
//! tests), so nothing here reads or mutates the process environment. After deserializing,
//! the struct's [`Validate`] implementation reports every problem at once; a service prints
//! them and exits before binding any port ([`exit_on_error`]).
//!
//! Secrets are [`SecretString`]s: they deserialize from plain strings but never print.
//! Mark them `#[serde(skip_serializing)]` (defaults are serialized to form the first layer)
//! and give them a serde default.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Config, File, FileFormat, Map, Source, Value, ValueKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use secrecy::{ExposeSecret, SecretString};

/// Separator between the prefix and the key, and between nested keys, in environment
/// variable names.
pub const ENV_SEPARATOR: &str = "__";

/// What can go wrong while loading configuration.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The defaults could not be turned into the first layer (a bug in the config type).
    #[error("the configuration defaults cannot be serialized: {0}")]
    Defaults(#[source] config::ConfigError),
    /// The configuration file named by `<PREFIX>_CONFIG` (or [`Loader::file`]) is missing.
    #[error("configuration file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// A layer could not be read, or a value has the wrong type or an unknown key.
    #[error("invalid configuration: {0}")]
    Load(#[source] config::ConfigError),
    /// The values were read but break the service's rules.
    #[error("{}", Violations::render(.violations, .env_prefix))]
    Invalid {
        /// Every problem found.
        violations: Vec<Violation>,
        /// The environment prefix, to name the variable that sets each key.
        env_prefix: String,
    },
}

/// One broken rule: the dotted key (`server.listen_addr`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Dotted path of the offending key.
    pub key: String,
    /// What is wrong, in words an operator understands.
    pub message: String,
}

/// Checks a configuration value after it is loaded, before anything starts.
pub trait Validate {
    /// Adds one [`Violation`] per problem to `report` (keys relative to `self`).
    fn validate(&self, report: &mut Report);
}

/// Collects [`Violation`]s; nested configuration sections validate under their key.
#[derive(Debug, Default)]
pub struct Report {
    path: Vec<String>,
    violations: Vec<Violation>,
}

impl Report {
    /// A report with no violations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `key` (relative to the section being validated) is invalid.
    pub fn push(&mut self, key: &str, message: impl Into<String>) {
        let key = self
            .path
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(key).filter(|k| !k.is_empty()))
            .collect::<Vec<_>>()
            .join(".");
        self.violations.push(Violation {
            key,
            message: message.into(),
        });
    }

    /// Records a violation of `key` unless `ok`.
    pub fn check(&mut self, ok: bool, key: &str, message: impl Into<String>) {
        if !ok {
            self.push(key, message);
        }
    }

    /// Validates a nested section with its keys under `key`.
    pub fn section<T: Validate + ?Sized>(&mut self, key: &str, value: &T) {
        self.path.push(key.to_owned());
        value.validate(self);
        self.path.pop();
    }

    /// The violations found so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// `Ok` when nothing was reported.
    pub fn into_result(self, env_prefix: &str) -> Result<(), SettingsError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(SettingsError::Invalid {
                violations: self.violations,
                env_prefix: env_prefix.to_owned(),
            })
        }
    }
}

struct Violations;

impl Violations {
    fn render(violations: &[Violation], env_prefix: &str) -> String {
        let mut out = format!("invalid configuration ({} problems):", violations.len());
        for v in violations {
            out.push_str(&format!(
                "\n  - {} ({}): {}",
                v.key,
                env_var_name(env_prefix, &v.key),
                v.message
            ));
        }
        out
    }
}

/// The environment variable that sets the dotted `key`: `env_var_name("TOKEN_SERVICE",
/// "server.listen_addr")` is `TOKEN_SERVICE__SERVER__LISTEN_ADDR`.
pub fn env_var_name(env_prefix: &str, key: &str) -> String {
    let mut name = env_prefix.to_uppercase();
    for part in key.split('.') {
        name.push_str(ENV_SEPARATOR);
        name.push_str(&part.to_uppercase());
    }
    name
}

/// Builds a configuration value from defaults, an optional TOML file and the environment.
#[derive(Debug, Clone)]
pub struct Loader {
    env_prefix: String,
    file: Option<PathBuf>,
    env: Vec<(String, String)>,
    list_keys: BTreeSet<String>,
}

impl Loader {
    /// A loader for variables named `<env_prefix>__...`, e.g. `TOKEN_SERVICE`. The
    /// variable `<env_prefix>_CONFIG` (one underscore) names the optional TOML file.
    pub fn new(env_prefix: &str) -> Self {
        Self {
            env_prefix: env_prefix.to_uppercase(),
            file: None,
            env: Vec::new(),
            list_keys: BTreeSet::new(),
        }
    }

    /// Reads this TOML file (which must exist) as the second layer, whatever
    /// `<PREFIX>_CONFIG` says.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// The environment to read, e.g. `std::env::vars()`. Variables without the prefix are
    /// ignored, and so are empty ones.
    pub fn env<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let prefix = format!("{}{}", self.env_prefix, ENV_SEPARATOR);
        let config_var = self.config_file_var();
        self.env = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(k, v)| !v.is_empty() && (k.starts_with(&prefix) || *k == config_var))
            .collect();
        self
    }

    /// Declares a dotted key whose environment value is a comma-separated list
    /// (`a,b,c`). In the file it is a TOML array as usual.
    pub fn list_key(mut self, key: &str) -> Self {
        self.list_keys.insert(key.to_lowercase());
        self
    }

    /// The name of the variable that points at the configuration file.
    pub fn config_file_var(&self) -> String {
        format!("{}_CONFIG", self.env_prefix)
    }

    /// Loads and validates `T`.
    pub fn load<T>(&self) -> Result<T, SettingsError>
    where
        T: Serialize + DeserializeOwned + Default + Validate,
    {
        self.load_over(&T::default())
    }

    /// Loads and validates `T` with `defaults` as the first layer instead of `T::default()`.
    pub fn load_over<T>(&self, defaults: &T) -> Result<T, SettingsError>
    where
        T: Serialize + DeserializeOwned + Validate,
    {
        let defaults = Config::try_from(defaults).map_err(SettingsError::Defaults)?;
        let mut builder = Config::builder().add_source(defaults);
        if let Some(path) = self.file_path() {
            if !path.is_file() {
                return Err(SettingsError::MissingFile(path));
            }
            builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Toml));
        }
        builder = builder.add_source(EnvSource {
            prefix: format!("{}{}", self.env_prefix, ENV_SEPARATOR),
            vars: self
                .env
                .iter()
                .filter(|(k, _)| *k != self.config_file_var())
                .cloned()
                .collect(),
            list_keys: self.list_keys.clone(),
        });
        let value: T = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(SettingsError::Load)?;
        let mut report = Report::new();
        value.validate(&mut report);
        report.into_result(&self.env_prefix)?;
        Ok(value)
    }

    fn file_path(&self) -> Option<PathBuf> {
        self.file.clone().or_else(|| {
            let var = self.config_file_var();
            self.env
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| Path::new(v).to_path_buf())
        })
    }
}

/// The environment layer: `PREFIX__A__B=value` sets key `a.b` to the string `value` (or to
/// a list, for declared list keys). Values stay strings; deserialization converts them to
/// the field's type, so a secret like `0123` keeps its leading zero.
#[derive(Debug, Clone)]
struct EnvSource {
    prefix: String,
    vars: Vec<(String, String)>,
    list_keys: BTreeSet<String>,
}

impl Source for EnvSource {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let mut map = Map::new();
        for (name, value) in &self.vars {
            let Some(rest) = name.strip_prefix(&self.prefix) else {
                continue;
            };
            let key = rest.to_lowercase().replace(ENV_SEPARATOR, ".");
            let origin = format!("environment variable {name}");
            let kind = if self.list_keys.contains(&key) {
                ValueKind::Array(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::new(Some(&origin), ValueKind::String(s.to_owned())))
                        .collect(),
                )
            } else {
                ValueKind::String(value.clone())
            };
            map.insert(key, Value::new(Some(&origin), kind));
        }
        Ok(map)
    }
}

/// For `main`: returns the loaded value, or prints the error (every violation, each with
/// its variable name) to stderr and exits with status 2, before any port is bound.
pub fn exit_on_error<T>(result: Result<T, SettingsError>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => {
            // A deliberate start-up site: logging is not set up before configuration is
            // loaded, so stderr is the only place an operator can read why we stopped.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {err}");
            }
            std::process::exit(2)
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

#[cfg(test)]
mod tests;
