//! [`Naming::Flat`](crate::Naming::Flat): variables named with single underscores,
//! `<PREFIX>_<KEY>` for the type's own keys and `<SECTION>_<ID>_<KEY>` for the entries of a map
//! of sections (`REGION_MX_LOCALE` for `regions.mx.locale`). A single `_` also joins words inside
//! a key, so names are not split but matched against the names the type's keys would have: the
//! list comes from the [`Schema`], never from a hand-kept table, and the ids of a section come
//! from the layers before the environment (the file).
//!
//! Every scalar key reachable through struct keys is settable (`RATE_BUDGET_REQUESTS` for
//! `rate_budget.requests`), and so are lists of scalars (comma-separated) and secrets (the
//! variable itself, or `<NAME>_FILE` with a path). Keys under an open map (`theme`,
//! `products.<name>`) are the file's. A variable under a prefix that names nothing is reported,
//! unless a layer names it as a secret source (`{ env = "REGION_MX_BELVO_ID" }`).

use std::collections::{BTreeMap, BTreeSet};

use config::{Value, ValueKind};

use crate::layers::{self, Table};
use crate::schema::{ScalarKind, Schema, StructSchema};
use crate::{Report, SettingsError};

/// How an environment value becomes the key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlatKind {
    /// A single value of this kind.
    Scalar(ScalarKind),
    /// A comma-separated list of values of this kind.
    List(ScalarKind),
    /// A secret whose value is in the variable itself: `{ env = "<VAR>" }`.
    SecretInVariable,
    /// A secret whose value is in the file the variable names: `{ file = "<value>" }`.
    SecretInFile,
}

/// One settable key of a struct under [`Naming::Flat`](crate::Naming::Flat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatField {
    /// The variable name's ending: `RATE_BUDGET_REQUESTS`, `SECRET_ID_FILE`.
    pub suffix: String,
    /// The key it sets, relative to the struct: `rate_budget.requests`.
    pub key: String,
    /// How the value is read.
    pub kind: FlatKind,
    path: Vec<String>,
}

/// The settable keys of a struct, in declaration order, each with its variable suffix. Refuses
/// a type in which two keys would have the same name (`a_b` and `a.b`).
pub fn flat_fields(schema: &StructSchema) -> Result<Vec<FlatField>, SettingsError> {
    let mut out = Vec::new();
    walk(schema, &mut Vec::new(), &mut out);
    for a in &out {
        if let Some(b) = out.iter().find(|b| b.key != a.key && b.suffix == a.suffix) {
            return Err(SettingsError::Schema(format!(
                "keys {} and {} would both be set by …_{}",
                a.key, b.key, a.suffix
            )));
        }
    }
    Ok(out)
}

/// A section's fields must also not end one another at a `_` (`A_B` and `B`): with an entry
/// `x`, `X_A_B` would also read as entry `x_a`, key `b`.
fn check_section_fields(key: &str, fields: &[FlatField]) -> Result<(), SettingsError> {
    for a in fields {
        if let Some(b) = fields
            .iter()
            .find(|b| a.suffix.ends_with(&format!("_{}", b.suffix)))
        {
            return Err(SettingsError::Schema(format!(
                "in {key}, …_{} (for {}) would also read as …_{} (for {}) of another entry",
                a.suffix, a.key, b.suffix, b.key
            )));
        }
    }
    Ok(())
}

fn walk(schema: &StructSchema, path: &mut Vec<String>, out: &mut Vec<FlatField>) {
    for (key, schema) in &schema.fields {
        path.push(key.clone());
        let suffix = path
            .iter()
            .map(|p| env_key_part(p))
            .collect::<Vec<_>>()
            .join("_");
        let mut push = |suffix: String, kind| {
            out.push(FlatField {
                suffix,
                key: path.join("."),
                kind,
                path: path.clone(),
            });
        };
        match schema {
            Schema::Scalar(kind) => push(suffix, FlatKind::Scalar(*kind)),
            Schema::List(item) => {
                if let Schema::Scalar(kind) = **item {
                    push(suffix, FlatKind::List(kind));
                }
            }
            Schema::Secret => {
                // The plain form first: it is the one messages name.
                push(suffix.clone(), FlatKind::SecretInVariable);
                push(format!("{suffix}_FILE"), FlatKind::SecretInFile);
            }
            Schema::Struct(inner) => walk(inner, path, out),
            Schema::Map(_) | Schema::Any => {}
        }
        path.pop();
    }
}

/// The form of a key or id in a variable name: upper case, with `-` as `_` (`mx-north` →
/// `MX_NORTH`).
pub fn env_key_part(key: &str) -> String {
    key.to_uppercase().replace('-', "_")
}

/// A map of sections: the entries of `key` (`regions`) are set by `<prefix>_<ID>_<FIELD>`.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) key: String,
    pub(crate) prefix: String,
    pub(crate) fields: Vec<FlatField>,
}

/// The flat naming of one type: its own keys under `prefix`, and its sections.
#[derive(Debug, Clone)]
pub(crate) struct FlatNames {
    pub(crate) prefix: String,
    pub(crate) file_var: String,
    pub(crate) top: Vec<FlatField>,
    pub(crate) sections: Vec<Section>,
}

impl FlatNames {
    pub(crate) fn new(
        schema: &Schema,
        prefix: &str,
        file_var: &str,
        sections: &[(String, String)],
    ) -> Result<Self, SettingsError> {
        let root = schema.as_struct().ok_or_else(|| {
            SettingsError::Schema("the configuration type is not a struct".to_owned())
        })?;
        let mut own = root.clone();
        own.fields
            .retain(|(key, _)| !sections.iter().any(|(s, _)| s == key));
        let mut out = Vec::with_capacity(sections.len());
        for (key, section_prefix) in sections {
            let entry = match root.field(key) {
                Some(Schema::Map(entry)) => entry,
                _ => {
                    return Err(SettingsError::Schema(format!(
                        "{key} is not a map of sections"
                    )));
                }
            };
            let entry = entry.as_struct().ok_or_else(|| {
                SettingsError::Schema(format!("the entries of {key} are not structs"))
            })?;
            let fields = flat_fields(entry)?;
            check_section_fields(key, &fields)?;
            out.push(Section {
                key: key.clone(),
                prefix: section_prefix.clone(),
                fields,
            });
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            file_var: file_var.to_owned(),
            top: flat_fields(&own)?,
            sections: out,
        })
    }

    /// The variables that set `key` (a secret has two), or none.
    pub(crate) fn variables(&self, key: &[String]) -> Vec<String> {
        if let Some((first, rest)) = key.split_first()
            && let Some(section) = self.sections.iter().find(|s| &s.key == first)
        {
            let Some((id, rest)) = rest.split_first() else {
                return Vec::new();
            };
            return section
                .fields
                .iter()
                .filter(|f| f.path == rest)
                .map(|f| format!("{}_{}_{}", section.prefix, env_key_part(id), f.suffix))
                .collect();
        }
        self.top
            .iter()
            .filter(|f| f.path == key)
            .map(|f| format!("{}_{}", self.prefix, f.suffix))
            .collect()
    }

    /// The environment layer. Secrets it sets replace the earlier layers' (`defaults`, `file`)
    /// references instead of merging with them.
    pub(crate) fn env_layer(
        &self,
        vars: &BTreeMap<String, String>,
        earlier: &mut [&mut Table],
        schema: &Schema,
        report: &mut Report,
    ) -> Table {
        let mut referenced = BTreeSet::new();
        let mut ids: Vec<Vec<String>> = vec![Vec::new(); self.sections.len()];
        for layer in earlier.iter() {
            let root = Value::new(None, ValueKind::Table((**layer).clone()));
            layers::secret_env_refs(&root, schema, &mut referenced);
            for (section, ids) in self.sections.iter().zip(ids.iter_mut()) {
                for id in layers::table_at(layer, &section.key)
                    .into_iter()
                    .flat_map(|t| t.keys())
                {
                    if !ids.contains(id) {
                        ids.push(id.clone());
                    }
                }
            }
        }
        for (section, ids) in self.sections.iter().zip(&ids) {
            let mut seen: BTreeMap<String, &str> = BTreeMap::new();
            for id in ids {
                let part = env_key_part(id);
                if let Some(other) = seen.insert(part.clone(), id) {
                    report.push(
                        &format!("{}.{id}", section.key),
                        format!(
                            "ids `{other}` and `{id}` share the variable prefix {}_{part}_; \
                             rename one",
                            section.prefix
                        ),
                    );
                }
            }
        }

        let mut layer = Table::new();
        let mut set_by: BTreeMap<Vec<String>, String> = BTreeMap::new();
        for (var, value) in vars {
            if value.is_empty() || *var == self.file_var {
                continue;
            }
            let mut under: Option<Option<usize>> = None;
            let mut matches: Vec<(Vec<String>, &FlatField)> = Vec::new();
            if let Some(rest) = var.strip_prefix(&format!("{}_", self.prefix)) {
                under = Some(None);
                for field in self.top.iter().filter(|f| f.suffix == rest) {
                    matches.push((field.path.clone(), field));
                }
            }
            for (index, (section, ids)) in self.sections.iter().zip(&ids).enumerate() {
                let Some(rest) = var.strip_prefix(&format!("{}_", section.prefix)) else {
                    continue;
                };
                under.get_or_insert(Some(index));
                for id in ids {
                    let Some(suffix) = rest
                        .strip_prefix(env_key_part(id).as_str())
                        .and_then(|r| r.strip_prefix('_'))
                    else {
                        continue;
                    };
                    for field in section.fields.iter().filter(|f| f.suffix == suffix) {
                        let mut path = vec![section.key.clone(), id.clone()];
                        path.extend(field.path.iter().cloned());
                        matches.push((path, field));
                    }
                }
            }
            let Some(under) = under else {
                continue;
            };
            match matches.as_slice() {
                [(path, field)] => self.set(
                    var,
                    value,
                    path,
                    field,
                    &mut layer,
                    earlier,
                    &mut set_by,
                    report,
                ),
                [] if referenced.contains(var) => {}
                [] => report.push_variable(var, self.nothing_named(under, &ids)),
                [..] => {
                    let what = match under.and_then(|i| self.sections.get(i)) {
                        Some(section) => format!(
                            "matches more than one {}; rename one of the {}",
                            noun(&section.prefix),
                            section.key
                        ),
                        None => "matches more than one key".to_owned(),
                    };
                    report.push_variable(var, what);
                }
            }
        }
        layer
    }

    fn nothing_named(&self, under: Option<usize>, ids: &[Vec<String>]) -> String {
        match under.and_then(|i| Some((self.sections.get(i)?, ids.get(i)?))) {
            Some((section, ids)) => {
                let ids: Vec<String> = ids.iter().map(|id| env_key_part(id)).collect();
                let fields: Vec<&str> = section.fields.iter().map(|f| f.suffix.as_str()).collect();
                format!(
                    "matches no {noun} and field: {prefix}_<ID>_<FIELD> with <ID> one of {} and \
                     <FIELD> one of {}",
                    if ids.is_empty() {
                        "(none configured)".to_owned()
                    } else {
                        ids.join(", ")
                    },
                    fields.join(", "),
                    noun = noun(&section.prefix),
                    prefix = section.prefix,
                )
            }
            None => {
                let mut names: Vec<String> = Vec::new();
                if self.file_var.starts_with(&format!("{}_", self.prefix)) {
                    names.push(self.file_var.clone());
                }
                names.extend(
                    self.top
                        .iter()
                        .map(|f| format!("{}_{}", self.prefix, f.suffix)),
                );
                format!(
                    "unknown variable; the {}_* variables are {}",
                    self.prefix,
                    and_list(&names)
                )
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn set(
        &self,
        var: &str,
        value: &str,
        path: &[String],
        field: &FlatField,
        layer: &mut Table,
        earlier: &mut [&mut Table],
        set_by: &mut BTreeMap<Vec<String>, String>,
        report: &mut Report,
    ) {
        let key = path.join(".");
        if let Some(other) = set_by.get(path) {
            // Only a secret has two variables (`X` and `X_FILE`) for one key.
            report.push_at(
                &key,
                var,
                format!("{other} sets the same field; set only one of them"),
            );
            return;
        }
        set_by.insert(path.to_vec(), var.to_owned());
        let origin = format!("environment variable {var}");
        let kind = match field.kind {
            FlatKind::Scalar(kind) => match scalar(kind, value) {
                Ok(kind) => kind,
                Err(message) => return report.push_at(&key, var, message),
            },
            FlatKind::List(kind) => {
                let mut items = Vec::new();
                for item in layers::split_list(value) {
                    match scalar(kind, item) {
                        Ok(kind) => items.push(Value::new(Some(&origin), kind)),
                        Err(message) => return report.push_at(&key, var, message),
                    }
                }
                ValueKind::Array(items)
            }
            FlatKind::SecretInVariable | FlatKind::SecretInFile => {
                let (source, text) = if field.kind == FlatKind::SecretInFile {
                    ("file", value)
                } else {
                    ("env", var)
                };
                for earlier in earlier.iter_mut() {
                    layers::remove(earlier, path);
                }
                let mut table = Table::new();
                table.insert(
                    source.to_owned(),
                    Value::new(Some(&origin), ValueKind::String(text.to_owned())),
                );
                ValueKind::Table(table)
            }
        };
        layers::insert(layer, path, Value::new(Some(&origin), kind));
    }
}

/// `REGION` → `region`: what one entry of a section is called in messages.
fn noun(prefix: &str) -> String {
    prefix.to_lowercase().replace('_', " ")
}

fn and_list(names: &[String]) -> String {
    match names {
        [] => "none".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// An environment value as the schema's kind of scalar. The message quotes the value: scalars
/// are not secrets (those are [`FlatKind::SecretInVariable`]).
fn scalar(kind: ScalarKind, text: &str) -> Result<ValueKind, String> {
    match kind {
        ScalarKind::Str | ScalarKind::Enum => Ok(ValueKind::String(text.to_owned())),
        ScalarKind::Int => {
            let trimmed = text.trim();
            trimmed
                .parse::<i64>()
                .map(ValueKind::I64)
                .or_else(|_| trimmed.parse::<u64>().map(ValueKind::U64))
                .map_err(|_| format!("`{text}` is not a whole number"))
        }
        ScalarKind::Float => text
            .trim()
            .parse::<f64>()
            .map(ValueKind::Float)
            .map_err(|_| format!("`{text}` is not a number")),
        ScalarKind::Bool => match text.trim().to_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(ValueKind::Boolean(true)),
            "false" | "no" | "off" | "0" => Ok(ValueKind::Boolean(false)),
            _ => Err(format!("`{text}` is not true or false")),
        },
    }
}
