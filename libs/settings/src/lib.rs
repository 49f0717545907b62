//! Layered, typed configuration for every service and shared library. A configuration is one
//! serde type with a `Default`; [`Loader`] builds it from three layers, each overriding the one
//! before: the type's defaults, then an optional TOML file, then environment variables. The
//! environment is passed in explicitly (`std::env::vars()` in `main`, a literal list in tests),
//! so nothing here reads or mutates the process environment.
//!
//! Variables are named one of two ways ([`Naming`]): `<PREFIX>__<KEY>__<SUBKEY>` (services:
//! `TOKEN_SERVICE__SERVER__LISTEN_ADDR`), or with single underscores matched against the keys
//! the type has, with maps of sections whose entries come from the file (`REGION_MX_LOCALE` for
//! `regions.mx.locale`; see [`Loader::section_map`]). Which keys exist, which are lists and which
//! are secrets is read from the type itself ([`Schema`]), never from a hand-kept table.
//!
//! Every problem is reported at once, in one [`Report`] of [`Violation`]s, each naming its key
//! and the variable that sets it: unknown keys in the file, unknown variables under a flat
//! prefix, environment values of the wrong type, and after deserializing, the rules of the
//! type ([`Validate`], or the `build` step of [`Loader::load_with`]). Reports of several loads
//! (a service's own configuration and its regions) combine into one ([`Loader::load_into`] a
//! shared report, [`Report::take`], [`combine`]); a service prints it and exits before binding
//! any port ([`exit_on_error`]).
//!
//! Secrets are [`SecretString`]s (plain strings that never print; mark them
//! `#[serde(skip_serializing)]`, since defaults are serialized to form the first layer, and give
//! them a serde default) or [`SecretSource`]s (`{ env = … }`, `{ file = … }`, `{ value = … }`,
//! resolved with [`Context::resolve`]). No message carries a secret's value.

mod flat;
mod layers;
mod loader;
mod schema;
mod secret;

use std::fmt;
use std::path::PathBuf;

pub use flat::{FlatField, FlatKind, env_key_part, flat_fields};
pub use loader::{Context, Loader, Naming};
pub use schema::{ScalarKind, Schema, StructSchema};
pub use secrecy::{ExposeSecret, SecretString};
pub use secret::SecretSource;

/// Separator between the prefix and the key, and between nested keys, in environment
/// variable names under [`Naming::Nested`].
pub const ENV_SEPARATOR: &str = "__";

/// What can go wrong while loading configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The defaults could not be turned into the first layer (a bug in the config type).
    #[error("the configuration defaults cannot be serialized: {0}")]
    Defaults(#[source] config::ConfigError),
    /// The type's keys cannot be named by variables without ambiguity (a bug in the type).
    #[error("the configuration type cannot be named in variables: {0}")]
    Schema(String),
    /// A file is required ([`Loader::require_file`]) but none was named.
    #[error("no configuration file: pass a path or set {var}")]
    NoFile {
        /// The variable that names the file.
        var: String,
    },
    /// The configuration file named by `<PREFIX>_CONFIG` (or [`Loader::file`]) is missing.
    #[error("configuration file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// The configuration file exists but cannot be read.
    #[error("cannot read the configuration file {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML. Given by position, never by quoting the line, which could hold a
    /// secret.
    #[error("configuration {origin}{}: {message}", position(*.line, *.column))]
    Parse {
        /// The file, or `<inline TOML>`.
        origin: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Values are unknown, of the wrong type, or break the configuration's rules: every
    /// problem found.
    #[error("{}", render(.violations))]
    Invalid {
        /// Every problem found.
        violations: Vec<Violation>,
    },
}

impl SettingsError {
    /// The problems, when this is [`SettingsError::Invalid`] (else none).
    pub fn violations(&self) -> &[Violation] {
        match self {
            Self::Invalid { violations } => violations,
            _ => &[],
        }
    }
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(", line {line}, column {column}"),
        (Some(line), None) => format!(", line {line}"),
        _ => String::new(),
    }
}

fn render(violations: &[Violation]) -> String {
    let count = match violations.len() {
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    };
    let mut out = format!("invalid configuration ({count}):");
    for v in violations {
        out.push_str("\n  - ");
        out.push_str(&v.to_string());
    }
    out
}

/// One problem: the dotted key (`server.listen_addr`, `regions.mx.locale`), the variable that
/// sets it (or the variable at fault, for an unknown one), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// Dotted path of the offending key; empty when the problem is a variable that sets no key.
    pub key: String,
    /// The environment variable that sets the key (or is at fault), when there is one.
    pub variable: Option<String>,
    /// What is wrong, in words an operator understands.
    pub message: String,
}

impl Violation {
    /// Where: `key (VARIABLE)`, `key`, or `VARIABLE`.
    pub fn place(&self) -> String {
        match (&self.variable, self.key.is_empty()) {
            (Some(var), true) => var.clone(),
            (Some(var), false) => format!("{} ({var})", self.key),
            (None, _) => self.key.clone(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = self.place();
        if place.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{place}: {}", self.message)
        }
    }
}

/// Checks a configuration value after it is loaded, before anything starts.
pub trait Validate {
    /// Adds one [`Violation`] per problem to `report` (keys relative to `self`).
    fn validate(&self, report: &mut Report);
}

/// Collects [`Violation`]s; nested configuration sections validate under their key. Reports
/// of several loads combine: [`Report::take`] keeps a load's value or absorbs its problems.
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

    fn full_key(&self, key: &str) -> String {
        self.path
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(key).filter(|k| !k.is_empty()))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Records that `key` (relative to the section being validated) is invalid. The loader
    /// names the variable that sets it.
    pub fn push(&mut self, key: &str, message: impl Into<String>) {
        let key = self.full_key(key);
        self.violations.push(Violation {
            key,
            variable: None,
            message: message.into(),
        });
    }

    /// Records that `key` is invalid as set by the environment variable `variable`.
    pub fn push_at(&mut self, key: &str, variable: &str, message: impl Into<String>) {
        let key = self.full_key(key);
        self.violations.push(Violation {
            key,
            variable: Some(variable.to_owned()),
            message: message.into(),
        });
    }

    /// Records a problem with a variable that sets no key (an unknown one).
    pub fn push_variable(&mut self, variable: &str, message: impl Into<String>) {
        self.violations.push(Violation {
            key: String::new(),
            variable: Some(variable.to_owned()),
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

    /// Whether nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// Adds every problem of a failed load to this report. An error that is not a list of
    /// violations (a missing file, a parse error) becomes one, its message in words.
    pub fn absorb(&mut self, err: SettingsError) {
        match err {
            SettingsError::Invalid { violations } => self.violations.extend(violations),
            SettingsError::NoFile { ref var } => {
                let var = var.clone();
                self.push_variable(&var, err.to_string());
            }
            other => self.violations.push(Violation {
                key: String::new(),
                variable: None,
                message: other.to_string(),
            }),
        }
    }

    /// A load's value, or `None` with its problems absorbed into this report: load everything,
    /// then [`Report::complete`] reports all of it at once.
    pub fn take<T>(&mut self, result: Result<T, SettingsError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.absorb(err);
                None
            }
        }
    }

    /// `value` when nothing was reported, else every violation in one error.
    pub fn complete<T>(mut self, value: Option<T>) -> Result<T, SettingsError> {
        match value {
            Some(value) if self.violations.is_empty() => Ok(value),
            _ => {
                if self.violations.is_empty() {
                    self.push(
                        "",
                        "refused without a recorded reason (a bug in the loader)",
                    );
                }
                Err(SettingsError::Invalid {
                    violations: self.violations,
                })
            }
        }
    }

    /// `Ok` when nothing was reported. Violations that name no variable get the one
    /// `<env_prefix>__<KEY>` names (see [`env_var_name`]).
    pub fn into_result(mut self, env_prefix: &str) -> Result<(), SettingsError> {
        for v in &mut self.violations {
            if v.variable.is_none() && !v.key.is_empty() {
                v.variable = Some(env_var_name(env_prefix, &v.key));
            }
        }
        self.complete(Some(()))
    }
}

/// Both loads' values, or one error listing the problems of both: for a service that loads its
/// own configuration and its regions, so that one start shows everything to fix.
pub fn combine<A, B>(
    a: Result<A, SettingsError>,
    b: Result<B, SettingsError>,
) -> Result<(A, B), SettingsError> {
    let mut report = Report::new();
    let a = report.take(a);
    let b = report.take(b);
    report.complete(a.zip(b))
}

/// The [`Naming::Nested`] variable that sets the dotted `key`: `env_var_name("TOKEN_SERVICE",
/// "server.listen_addr")` is `TOKEN_SERVICE__SERVER__LISTEN_ADDR`.
pub fn env_var_name(env_prefix: &str, key: &str) -> String {
    let mut name = env_prefix.to_uppercase();
    for part in key.split('.') {
        name.push_str(ENV_SEPARATOR);
        name.push_str(&part.to_uppercase());
    }
    name
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

#[cfg(test)]
mod tests;
