//! [`Loader`]: reads the layers, checks them against the type's [`Schema`], merges them with the
//! `config` crate, deserializes, and runs the type's rules, collecting every problem in one
//! [`Report`]. [`Context`] is what a `build` step sees: the report, and how to resolve secrets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Config, ConfigError, Map, Source, Value, ValueKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::flat::FlatNames;
use crate::layers::{self, Table};
use crate::schema::Schema;
use crate::secret::SecretSource;
use crate::{Report, SecretString, SettingsError, Validate, Violation, env_var_name};

/// How environment variables are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Naming {
    /// `<PREFIX>__<KEY>__<SUBKEY>`: double underscores between the prefix and each key
    /// (`TOKEN_SERVICE__SERVER__LISTEN_ADDR`). Values stay strings until deserialized; keys the
    /// type refuses are reported.
    #[default]
    Nested,
    /// `<PREFIX>_<KEY>` with single underscores, matched against the names of the keys the type
    /// has (`REGIONS_DEFAULT_REGION`), and `<SECTION>_<ID>_<KEY>` for the entries of maps of
    /// sections ([`Loader::section_map`]). A variable under a prefix that names no key is
    /// reported; values are read as the key's type (a bad number is reported with its variable);
    /// secrets are set by reference (`<NAME>` or `<NAME>_FILE`).
    Flat,
}

/// Builds a configuration value from defaults, an optional TOML file and the environment.
/// `Debug` shows the names of the variables it was given, never their values.
#[derive(Clone)]
pub struct Loader {
    env_prefix: String,
    naming: Naming,
    file: Option<PathBuf>,
    text: Option<String>,
    file_var: Option<String>,
    require_file: bool,
    env: BTreeMap<String, String>,
    list_keys: BTreeSet<String>,
    sections: Vec<(String, String)>,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("env_prefix", &self.env_prefix)
            .field("naming", &self.naming)
            .field("file", &self.file)
            .field("text", &self.text.as_ref().map(|_| "…"))
            .field("file_var", &self.config_file_var())
            .field("require_file", &self.require_file)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("list_keys", &self.list_keys)
            .field("sections", &self.sections)
            .finish()
    }
}

impl Loader {
    /// A loader for variables named `<env_prefix>__...`, e.g. `TOKEN_SERVICE`. The
    /// variable `<env_prefix>_CONFIG` (one underscore) names the optional TOML file.
    pub fn new(env_prefix: &str) -> Self {
        Self {
            env_prefix: env_prefix.to_uppercase(),
            naming: Naming::Nested,
            file: None,
            text: None,
            file_var: None,
            require_file: false,
            env: BTreeMap::new(),
            list_keys: BTreeSet::new(),
            sections: Vec::new(),
        }
    }

    /// How variables are named ([`Naming::Nested`] unless set).
    pub fn naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// Reads this TOML file (which must exist) as the second layer, whatever
    /// `<PREFIX>_CONFIG` says.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Uses this TOML text (an embedded file, a test's) as the second layer, instead of any
    /// file. Relative secret file paths are then relative to the current directory.
    pub fn toml(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Names the variable that points at the file (instead of `<PREFIX>_CONFIG`).
    pub fn file_var(mut self, var: &str) -> Self {
        self.file_var = Some(var.to_owned());
        self
    }

    /// Refuses to load without a file (or text): the configuration has no useful defaults.
    pub fn require_file(mut self) -> Self {
        self.require_file = true;
        self
    }

    /// The environment to read, e.g. `std::env::vars()`. When a variable appears twice the
    /// last one wins. Only variables under the prefixes set keys, and empty ones are unset;
    /// all of them can be named by secret sources (`{ env = "VAR" }`).
    pub fn env<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Declares a dotted key whose [`Naming::Nested`] environment value is a comma-separated
    /// list (`a,b,c`). In the file it is a TOML array as usual. (Under [`Naming::Flat`] lists
    /// are known from the type.)
    pub fn list_key(mut self, key: &str) -> Self {
        self.list_keys.insert(key.to_lowercase());
        self
    }

    /// Under [`Naming::Flat`]: the map at `key` (`regions`) holds sections whose ids come from
    /// the file, and `<prefix>_<ID>_<FIELD>` (`REGION_MX_LOCALE`) sets a key of the entry `id`
    /// (`<ID>` is the id in upper case with `-` as `_`). Ids that would share a prefix are
    /// reported; so is a variable under the prefix that matches no id and key.
    pub fn section_map(mut self, key: &str, prefix: &str) -> Self {
        self.sections.push((key.to_owned(), prefix.to_uppercase()));
        self
    }

    /// The name of the variable that points at the configuration file.
    pub fn config_file_var(&self) -> String {
        self.file_var
            .clone()
            .unwrap_or_else(|| format!("{}_CONFIG", self.env_prefix))
    }

    /// Loads and validates `T`.
    pub fn load<T>(&self) -> Result<T, SettingsError>
    where
        T: Serialize + DeserializeOwned + Default + Validate,
    {
        self.load_with(|value: T, cx| {
            value.validate(cx.report());
            Some(value)
        })
    }

    /// Loads and validates `T` with `defaults` as the first layer instead of `T::default()`.
    pub fn load_over<T>(&self, defaults: &T) -> Result<T, SettingsError>
    where
        T: Serialize + DeserializeOwned + Default + Validate,
    {
        let mut report = Report::new();
        let value = self.try_load(&mut report, defaults, |value: T, cx| {
            value.validate(cx.report());
            Some(value)
        })?;
        report.complete(value)
    }

    /// Loads the layered form `R` and turns it into `T` with `build`, which reports problems
    /// through the [`Context`] and returns `None` when it cannot build (after reporting why).
    /// For configurations whose rules need more than [`Validate`]: defaults that depend on
    /// other values, secrets resolved from the environment, every value reported at once.
    pub fn load_with<R, T>(
        &self,
        build: impl FnOnce(R, &mut Context<'_>) -> Option<T>,
    ) -> Result<T, SettingsError>
    where
        R: Serialize + DeserializeOwned + Default,
    {
        let mut report = Report::new();
        // An error (no file, not TOML) comes before any violation: it is the only problem.
        let value = self.try_load(&mut report, &R::default(), build)?;
        report.complete(value)
    }

    /// [`Self::load`] into a report shared with other loads: every problem goes to `report`,
    /// and the value is returned whenever it could be read, even if it breaks its rules (those
    /// are in the report), so that it can say what to load next (a service's configuration
    /// names its regions file). [`Report::complete`] then reports everything at once.
    pub fn load_into<T>(&self, report: &mut Report) -> Option<T>
    where
        T: Serialize + DeserializeOwned + Default + Validate,
    {
        self.load_with_into(report, |value: T, cx| {
            value.validate(cx.report());
            Some(value)
        })
    }

    /// [`Self::load_with`] into a shared report, as [`Self::load_into`].
    pub fn load_with_into<R, T>(
        &self,
        report: &mut Report,
        build: impl FnOnce(R, &mut Context<'_>) -> Option<T>,
    ) -> Option<T>
    where
        R: Serialize + DeserializeOwned + Default,
    {
        let mut own = Report::new();
        let value = match self.try_load(&mut own, &R::default(), build) {
            Ok(value) => value,
            Err(err) => {
                own.absorb(err);
                None
            }
        };
        report.violations.extend(own.violations);
        value
    }

    fn try_load<R, T>(
        &self,
        report: &mut Report,
        defaults: &R,
        build: impl FnOnce(R, &mut Context<'_>) -> Option<T>,
    ) -> Result<Option<T>, SettingsError>
    where
        R: Serialize + DeserializeOwned + Default,
    {
        let schema = Schema::of::<R>();
        let names = match self.naming {
            Naming::Nested => Names::Nested(self.env_prefix.clone()),
            Naming::Flat => Names::Flat(FlatNames::new(
                &schema,
                &self.env_prefix,
                &self.config_file_var(),
                &self.sections,
            )?),
        };

        let mut defaults = match Config::try_from(defaults)
            .map_err(SettingsError::Defaults)?
            .cache
            .kind
        {
            ValueKind::Table(table) => table,
            _ => Table::new(),
        };
        let (mut file, base_dir) = match self.file_layer()? {
            Some((table, dir)) => (table, dir),
            None => (Table::new(), None),
        };
        let mut usable = layers::check(&mut file, &schema, report);
        let mut env = match &names {
            Names::Nested(prefix) => {
                let mut env = layers::nested_env(prefix, &self.env, &self.list_keys);
                usable &= layers::check(&mut env, &schema, report);
                env
            }
            Names::Flat(flat) => {
                flat.env_layer(&self.env, &mut [&mut defaults, &mut file], &schema, report)
            }
        };

        let mut value = None;
        if usable {
            let built = Config::builder()
                .add_source(Layer(std::mem::take(&mut defaults)))
                .add_source(Layer(std::mem::take(&mut file)))
                .add_source(Layer(std::mem::take(&mut env)))
                .build()
                .and_then(Config::try_deserialize::<R>);
            match built {
                Ok(raw) => {
                    let mut cx = Context {
                        report,
                        env: &self.env,
                        base_dir: base_dir.as_deref(),
                        names: &names,
                    };
                    value = build(raw, &mut cx);
                }
                Err(err) => report.violations.push(violation(err)),
            }
        }
        for v in &mut report.violations {
            if v.variable.is_none() {
                v.variable = names.variables(&v.key).into_iter().next();
            }
        }
        Ok(value)
    }

    /// The file (or text) layer, and the folder relative secret files are in.
    fn file_layer(&self) -> Result<Option<(Table, Option<PathBuf>)>, SettingsError> {
        if let Some(text) = &self.text {
            return parse(text, "<inline TOML>").map(|t| Some((t, None)));
        }
        let var = self.config_file_var();
        let path = self.file.clone().or_else(|| {
            self.env
                .get(&var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        let Some(path) = path else {
            if self.require_file {
                return Err(SettingsError::NoFile { var });
            }
            return Ok(None);
        };
        let text = std::fs::read_to_string(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                SettingsError::MissingFile(path.clone())
            } else {
                SettingsError::ReadFile {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        let table = parse(&text, &path.display().to_string())?;
        Ok(Some((table, path.parent().map(Path::to_path_buf))))
    }
}

fn parse(text: &str, origin: &str) -> Result<Table, SettingsError> {
    layers::parse_toml(text, origin).map_err(|err| SettingsError::Parse {
        origin: origin.to_owned(),
        line: err.line,
        column: err.column,
        message: err.message,
    })
}

/// A deserialization error as a violation at its key. The message says what was expected and
/// what kind of value was found, never the value (which could be a secret).
fn violation(err: ConfigError) -> Violation {
    let (key, message) = describe_error(err);
    Violation {
        key: key.unwrap_or_default(),
        variable: None,
        message,
    }
}

fn describe_error(err: ConfigError) -> (Option<String>, String) {
    match err {
        ConfigError::At { error, key, origin } => {
            let (inner_key, message) = describe_error(*error);
            let message = match origin {
                Some(origin) => format!("{message} (in {origin})"),
                None => message,
            };
            (inner_key.or(key), message)
        }
        ConfigError::Type {
            origin,
            unexpected,
            expected,
            key,
        } => {
            // `unexpected` prints the value; say only what kind it is.
            let found = format!("{unexpected}");
            let kind = match found.split([' ', '`', '"']).next().unwrap_or_default() {
                "boolean" => "a boolean",
                "string" => "a string",
                "floating" => "a number",
                "unit" => "nothing",
                "sequence" => "a list",
                "map" => "a table",
                _ if found.contains("integer") => "a whole number",
                _ => "another kind of value",
            };
            let mut message = format!("expected {expected}, found {kind}");
            if let Some(origin) = origin {
                message.push_str(&format!(" (in {origin})"));
            }
            (key, message)
        }
        ConfigError::NotFound(key) => (Some(key), "missing".to_owned()),
        ConfigError::Message(message) => (None, message),
        other => (None, other.to_string()),
    }
}

/// A finished layer, handed to `config` to merge.
#[derive(Clone)]
struct Layer(Table);

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets.
        f.debug_tuple("Layer")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Source for Layer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.0.clone())
    }

    fn collect_to(&self, cache: &mut Value) -> Result<(), ConfigError> {
        // Merge key by key without parsing keys as paths (`regions."mx.north"` stays one key).
        let Value { kind, .. } = cache;
        if !matches!(kind, ValueKind::Table(_)) {
            *kind = ValueKind::Table(Table::new());
        }
        if let ValueKind::Table(root) = kind {
            for (key, value) in &self.0 {
                merge(root, key, value.clone());
            }
        }
        Ok(())
    }
}

fn merge(table: &mut Table, key: &str, value: Value) {
    match (table.get_mut(key), value) {
        (
            Some(Value {
                kind: ValueKind::Table(existing),
                ..
            }),
            Value {
                kind: ValueKind::Table(incoming),
                ..
            },
        ) => {
            for (k, v) in incoming {
                merge(existing, &k, v);
            }
        }
        (_, value) => {
            table.insert(key.to_owned(), value);
        }
    }
}

/// How the variables of one load are named.
#[derive(Debug)]
enum Names {
    Nested(String),
    Flat(FlatNames),
}

impl Names {
    fn variables(&self, key: &str) -> Vec<String> {
        if key.is_empty() {
            return Vec::new();
        }
        match self {
            Self::Nested(prefix) => vec![env_var_name(prefix, key)],
            Self::Flat(flat) => flat.variables(&split_key(key)),
        }
    }
}

/// `a.b."c.d"` → `a`, `b`, `c.d`.
fn split_key(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// What a [`Loader::load_with`] `build` step works with: the report, the environment secrets
/// are resolved from, and the names of the variables that set each key.
pub struct Context<'a> {
    report: &'a mut Report,
    env: &'a BTreeMap<String, String>,
    base_dir: Option<&'a Path>,
    names: &'a Names,
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("report", &self.report)
            .field("base_dir", &self.base_dir)
            .finish_non_exhaustive()
    }
}

impl Context<'_> {
    /// The report problems go to (keys are dotted paths from the configuration's root).
    pub fn report(&mut self) -> &mut Report {
        self.report
    }

    /// Records that `key` is invalid; the loader names the variable that sets it.
    pub fn push(&mut self, key: &str, message: impl Into<String>) {
        self.report.push(key, message);
    }

    /// The variables that set `key` (both forms for a secret: `X` and `X_FILE`), if any.
    pub fn variables(&self, key: &str) -> Vec<String> {
        self.names.variables(key)
    }

    /// Resolves a secret: from the environment given to the loader, or from a file (relative
    /// paths from the configuration file's folder; trailing newlines trimmed). The error names
    /// the variable or path, never the value.
    pub fn resolve(&self, source: &SecretSource) -> Result<SecretString, String> {
        source.resolve(self.env, self.base_dir)
    }
}
