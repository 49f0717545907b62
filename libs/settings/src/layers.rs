//! The layers as trees of `config` values, before they are merged: the TOML file read with its
//! line numbers (and without ever quoting a line, which could hold a secret), the environment
//! under either naming, and the checks a layer gets against the type's [`Schema`]: unknown keys
//! and values of the wrong shape become [`Violation`](crate::Violation)s, every one of them,
//! instead of stopping at serde's first error.

use std::collections::{BTreeMap, BTreeSet};

use config::{Map, Value, ValueKind};

use crate::schema::{ScalarKind, Schema};
use crate::{ENV_SEPARATOR, Report};

/// A layer: the top-level table.
pub(crate) type Table = Map<String, Value>;

/// Why TOML text is not TOML: toml's message and position, never the offending line.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
    pub(crate) message: String,
}

/// Parses TOML text into a layer whose values know their origin (`regions.toml, line 3`).
pub(crate) fn parse_toml(text: &str, origin: &str) -> Result<Table, ParseError> {
    let document = toml::de::DeTable::parse(text).map_err(|err| {
        let (line, column) = match err.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ParseError {
            line,
            column,
            message: err.message().trim_end().to_owned(),
        }
    })?;
    let mut table = Table::new();
    for (key, value) in document.into_inner() {
        table.insert(key.into_inner().into_owned(), convert(value, text, origin)?);
    }
    Ok(table)
}

fn convert(
    value: toml::Spanned<toml::de::DeValue<'_>>,
    text: &str,
    origin: &str,
) -> Result<Value, ParseError> {
    use toml::de::DeValue;
    let (line, column) = line_column(text, value.span().start);
    let here = format!("{origin}, line {line}");
    let kind = match value.into_inner() {
        DeValue::String(s) => ValueKind::String(s.into_owned()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => ValueKind::I64(n),
            Err(_) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => ValueKind::U64(n),
                Err(_) => {
                    return Err(ParseError {
                        line: Some(line),
                        column: Some(column),
                        message: "integer out of range".to_owned(),
                    });
                }
            },
        },
        DeValue::Float(f) => match f.as_str().replace('_', "").parse::<f64>() {
            Ok(n) => ValueKind::Float(n),
            Err(_) => {
                return Err(ParseError {
                    line: Some(line),
                    column: Some(column),
                    message: "invalid float".to_owned(),
                });
            }
        },
        DeValue::Boolean(b) => ValueKind::Boolean(b),
        DeValue::Datetime(d) => ValueKind::String(d.to_string()),
        DeValue::Array(items) => ValueKind::Array(
            items
                .into_iter()
                .map(|item| convert(item, text, origin))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(entries) => {
            let mut table = Table::new();
            for (key, value) in entries {
                table.insert(key.into_inner().into_owned(), convert(value, text, origin)?);
            }
            ValueKind::Table(table)
        }
    };
    Ok(Value::new(Some(&here), kind))
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

/// The environment layer of [`crate::Naming::Nested`]: `PREFIX__A__B=value` sets `a.b` to the
/// string `value` (or to a list, for declared list keys). Values stay strings; deserialization
/// converts them to the field's type, so a secret like `0123` keeps its leading zero.
pub(crate) fn nested_env(
    prefix: &str,
    vars: &BTreeMap<String, String>,
    list_keys: &BTreeSet<String>,
) -> Table {
    let prefix = format!("{prefix}{ENV_SEPARATOR}");
    let mut table = Table::new();
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let path: Vec<String> = rest
            .to_lowercase()
            .split(ENV_SEPARATOR)
            .map(str::to_owned)
            .collect();
        let origin = format!("environment variable {name}");
        let kind = if list_keys.contains(&path.join(".")) {
            ValueKind::Array(
                split_list(value)
                    .map(|s| Value::new(Some(&origin), ValueKind::String(s.to_owned())))
                    .collect(),
            )
        } else {
            ValueKind::String(value.clone())
        };
        insert(&mut table, &path, Value::new(Some(&origin), kind));
    }
    table
}

/// The items of a comma-separated environment value.
pub(crate) fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Sets `path` in `table`, creating (or replacing non-table values with) tables on the way.
pub(crate) fn insert(table: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Value::new(None, ValueKind::Table(Table::new())));
        if !matches!(entry.kind, ValueKind::Table(_)) {
            *entry = Value::new(None, ValueKind::Table(Table::new()));
        }
        let ValueKind::Table(next) = &mut entry.kind else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), value);
}

/// Removes `path` from `table`, if it is there.
pub(crate) fn remove(table: &mut Table, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for key in parents {
        match current.get_mut(key).map(|v| &mut v.kind) {
            Some(ValueKind::Table(next)) => current = next,
            _ => return,
        }
    }
    current.retain(|key, _| key != last);
}

/// The table at `key` of a layer, if there is one.
pub(crate) fn table_at<'a>(table: &'a Table, key: &str) -> Option<&'a Table> {
    match table.get(key).map(|v| &v.kind) {
        Some(ValueKind::Table(inner)) => Some(inner),
        _ => None,
    }
}

/// Checks a layer against the schema: every unknown key (where the struct refuses them) is
/// reported and removed, so that loading goes on and finds the other problems too; a value of
/// the wrong shape is reported and makes the layer unusable (`false`).
pub(crate) fn check(table: &mut Table, schema: &Schema, report: &mut Report) -> bool {
    let mut root = Value::new(None, ValueKind::Table(std::mem::take(table)));
    let usable = check_value(&mut root, schema, "", report);
    if let ValueKind::Table(checked) = root.kind {
        *table = checked;
    }
    usable
}

fn join(key: &str, child: &str) -> String {
    if key.is_empty() {
        child.to_owned()
    } else if child.contains('.') || child.is_empty() {
        format!("{key}.\"{child}\"")
    } else {
        format!("{key}.{child}")
    }
}

fn check_value(value: &mut Value, schema: &Schema, key: &str, report: &mut Report) -> bool {
    let origin = value.origin().map(str::to_owned);
    let found = describe(&value.kind);
    let mismatch = |report: &mut Report| {
        report.push(
            key,
            format!(
                "expected {}, not {found}{}",
                schema.expects(),
                in_origin(origin.as_deref())
            ),
        );
        false
    };
    match (schema, &mut value.kind) {
        (_, ValueKind::Nil) | (Schema::Any | Schema::Secret, _) => true,
        (Schema::Struct(fields), ValueKind::Table(table)) => {
            let mut usable = true;
            let mut unknown = Vec::new();
            for (child, value) in table.iter_mut() {
                match fields.field(child) {
                    Some(schema) => usable &= check_value(value, schema, &join(key, child), report),
                    None if fields.deny_unknown => {
                        let known: Vec<&str> =
                            fields.fields.iter().map(|(k, _)| k.as_str()).collect();
                        report.push(
                            &join(key, child),
                            format!(
                                "unknown key{}; the keys here are {}",
                                in_origin(value.origin()),
                                known.join(", ")
                            ),
                        );
                        unknown.push(child.clone());
                    }
                    None => {}
                }
            }
            // Dropped, so that loading goes on and finds the other problems.
            table.retain(|child, _| !unknown.contains(child));
            usable
        }
        (Schema::Map(inner), ValueKind::Table(table)) => {
            let mut usable = true;
            for (child, value) in table.iter_mut() {
                usable &= check_value(value, inner, &join(key, child), report);
            }
            usable
        }
        (Schema::List(inner), ValueKind::Array(items)) => {
            let mut usable = true;
            for (index, item) in items.iter_mut().enumerate() {
                usable &= check_value(item, inner, &format!("{key}[{index}]"), report);
            }
            usable
        }
        (Schema::Scalar(ScalarKind::Enum), _) => true,
        (Schema::Scalar(_), ValueKind::Table(_) | ValueKind::Array(_))
        | (Schema::Struct(_) | Schema::Map(_) | Schema::List(_), _) => mismatch(report),
        (Schema::Scalar(_), _) => true,
    }
}

fn in_origin(origin: Option<&str>) -> String {
    origin.map(|o| format!(" (in {o})")).unwrap_or_default()
}

/// What a value is, without its content (which could be a secret).
pub(crate) fn describe(kind: &ValueKind) -> &'static str {
    match kind {
        ValueKind::Nil => "nothing",
        ValueKind::Boolean(_) => "a boolean",
        ValueKind::I64(_) | ValueKind::I128(_) | ValueKind::U64(_) | ValueKind::U128(_) => {
            "a whole number"
        }
        ValueKind::Float(_) => "a number",
        ValueKind::String(_) => "a string",
        ValueKind::Array(_) => "a list",
        ValueKind::Table(_) => "a table",
    }
}

/// The variables a layer names as secret sources (`{ env = "VAR" }`), wherever the schema has a
/// secret.
pub(crate) fn secret_env_refs(value: &Value, schema: &Schema, out: &mut BTreeSet<String>) {
    match (schema, &value.kind) {
        (Schema::Secret, ValueKind::Table(table)) => {
            if let Some(ValueKind::String(var)) = table.get("env").map(|v| &v.kind) {
                out.insert(var.clone());
            }
        }
        (Schema::Struct(fields), ValueKind::Table(table)) => {
            for (key, value) in table {
                if let Some(schema) = fields.field(key) {
                    secret_env_refs(value, schema, out);
                }
            }
        }
        (Schema::Map(inner), ValueKind::Table(table)) => {
            for value in table.values() {
                secret_env_refs(value, inner, out);
            }
        }
        (Schema::List(inner), ValueKind::Array(items)) => {
            for item in items {
                secret_env_refs(item, inner, out);
            }
        }
        _ => {}
    }
}
