//! The shape of a configuration type, read from its `Deserialize` implementation rather than
//! from a hand-kept list: which keys a struct has (and whether it refuses others), which values
//! are single values, lists, open maps or [`SecretSource`](crate::SecretSource)s.
//!
//! [`Schema::of`] drives `T::deserialize` with a probing deserializer, once per node: to learn
//! what is at `a.b`, it offers a map with the single key `a`, whose value is a map with the single
//! key `b`, whose value records which `deserialize_*` method the field's type calls and then
//! stops the walk with an error. serde's derive names a struct's fields when it asks for one
//! (`deserialize_struct`), and calls `unknown_field` for a key it refuses, so both come from the
//! type itself. Types that decide at run time (`deserialize_any`: untagged enums, flattened
//! structs' contents) are [`Schema::Any`] and are not checked.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use crate::secret::SECRET_SOURCE;

/// Nodes deeper than this are [`Schema::Any`] (a recursive type would never end).
const MAX_DEPTH: usize = 24;

/// A key no struct has: offered to learn whether the struct refuses unknown keys.
const UNKNOWN_KEY_PROBE: &str = "\u{0}settings: an unknown key";

/// What a configuration value is, as far as layering and checking need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// One value: a string, number or boolean.
    Scalar(ScalarKind),
    /// A list; its items' schema.
    List(Box<Schema>),
    /// A struct with named keys.
    Struct(StructSchema),
    /// A table whose keys are data (`BTreeMap<String, _>`, `regions.<id>`); its values' schema.
    Map(Box<Schema>),
    /// A [`SecretSource`](crate::SecretSource): `{ env = … }`, `{ file = … }` or `{ value = … }`.
    Secret,
    /// Decided at run time by the type (untagged enums, flattened contents): not checked.
    Any,
}

/// The kind of a [`Schema::Scalar`], which says how an environment value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// Text (also durations, addresses, URLs: anything a type parses from a string).
    Str,
    /// A whole number.
    Int,
    /// A number with a fraction.
    Float,
    /// `true` or `false`.
    Bool,
    /// An enum: usually a name, but other forms are left to the type.
    Enum,
}

/// A struct's keys, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructSchema {
    /// Each key with its schema.
    pub fields: Vec<(String, Schema)>,
    /// Whether the struct refuses keys it does not have (`#[serde(deny_unknown_fields)]`).
    pub deny_unknown: bool,
}

impl StructSchema {
    /// The schema of one key.
    pub fn field(&self, key: &str) -> Option<&Schema> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }
}

impl Schema {
    /// The schema of `T`, read from its `Deserialize` implementation.
    pub fn of<T: DeserializeOwned>() -> Self {
        probe_node::<T>(&mut Vec::new())
    }

    /// The struct, if this is one.
    pub fn as_struct(&self) -> Option<&StructSchema> {
        match self {
            Self::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// What this schema expects, for messages (`a table`, `a list`, `a single value`).
    pub(crate) fn expects(&self) -> &'static str {
        match self {
            Self::Scalar(_) => "a single value",
            Self::List(_) => "a list",
            Self::Struct(_) | Self::Map(_) | Self::Secret => "a table",
            Self::Any => "a value",
        }
    }
}

/// What the probed node's type asked for.
#[derive(Debug, Clone)]
enum Found {
    Scalar(ScalarKind),
    Seq,
    Map,
    Struct(&'static [&'static str]),
    Secret,
    Any,
    /// The node ignored the value it was offered (a struct that accepts unknown keys).
    Ignored,
}

fn probe_node<T: DeserializeOwned>(path: &mut Vec<String>) -> Schema {
    if path.len() > MAX_DEPTH {
        return Schema::Any;
    }
    let Some(found) = probe::<T>(path).0 else {
        return Schema::Any;
    };
    match found {
        Found::Scalar(kind) => Schema::Scalar(kind),
        Found::Secret => Schema::Secret,
        Found::Any | Found::Ignored => Schema::Any,
        Found::Seq => Schema::List(Box::new(child::<T>(path, "[]"))),
        Found::Map => Schema::Map(Box::new(child::<T>(path, "*"))),
        Found::Struct(names) => {
            let fields = names
                .iter()
                .map(|name| ((*name).to_owned(), child::<T>(path, name)))
                .collect();
            path.push(UNKNOWN_KEY_PROBE.to_owned());
            let (found, refused) = probe::<T>(path);
            path.pop();
            let deny_unknown = refused && !matches!(found, Some(Found::Ignored));
            Schema::Struct(StructSchema {
                fields,
                deny_unknown,
            })
        }
    }
}

fn child<T: DeserializeOwned>(path: &mut Vec<String>, segment: &str) -> Schema {
    path.push(segment.to_owned());
    let schema = probe_node::<T>(path);
    path.pop();
    schema
}

/// Runs `T::deserialize` down `path`; returns what the node at its end asked for, and whether
/// some struct on the way refused its key as unknown.
fn probe<T: DeserializeOwned>(path: &[String]) -> (Option<Found>, bool) {
    let slot = RefCell::new(None);
    let result = T::deserialize(Probe { path, slot: &slot });
    let refused = matches!(result, Err(ProbeError::UnknownField));
    (slot.into_inner(), refused)
}

/// Why a probe stopped. It always stops: reaching the node is all it is for.
#[derive(Debug)]
enum ProbeError {
    /// The node was reached and recorded, or the walk could not go on.
    Stop,
    /// A struct refused the key it was offered.
    UnknownField,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("schema probe")
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Self::Stop
    }

    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Self::UnknownField
    }
}

struct Probe<'a> {
    path: &'a [String],
    slot: &'a RefCell<Option<Found>>,
}

impl Probe<'_> {
    fn record<V>(self, found: Found) -> Result<V, ProbeError> {
        if self.path.is_empty() {
            *self.slot.borrow_mut() = Some(found);
        }
        Err(ProbeError::Stop)
    }
}

macro_rules! scalar {
    ($($method:ident => $kind:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeError> {
                self.record(Found::Scalar(ScalarKind::$kind))
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = ProbeError;

    scalar! {
        deserialize_bool => Bool,
        deserialize_i8 => Int, deserialize_i16 => Int, deserialize_i32 => Int,
        deserialize_i64 => Int, deserialize_i128 => Int,
        deserialize_u8 => Int, deserialize_u16 => Int, deserialize_u32 => Int,
        deserialize_u64 => Int, deserialize_u128 => Int,
        deserialize_f32 => Float, deserialize_f64 => Float,
        deserialize_char => Str, deserialize_str => Str, deserialize_string => Str,
        deserialize_bytes => Str, deserialize_byte_buf => Str,
        deserialize_identifier => Str,
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeError> {
        self.record(Found::Any)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeError> {
        self.record(Found::Ignored)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeError> {
        self.record(Found::Any)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, ProbeError> {
        self.record(Found::Any)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, ProbeError> {
        self.record(Found::Any)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, ProbeError> {
        self.record(Found::Any)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ProbeError> {
        self.record(Found::Scalar(ScalarKind::Enum))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        match self.path.split_first() {
            None => self.record(Found::Seq),
            Some((_, rest)) => visitor.visit_seq(OneItem {
                value: Some(Probe {
                    path: rest,
                    slot: self.slot,
                }),
            }),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.enter(visitor, Found::Map)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        if name == SECRET_SOURCE {
            return self.record(Found::Secret);
        }
        self.enter(visitor, Found::Struct(fields))
    }
}

impl<'a> Probe<'a> {
    /// A table: records it at the end of the path, else offers the next key.
    fn enter<'de, V: Visitor<'de>>(self, visitor: V, found: Found) -> Result<V::Value, ProbeError> {
        match self.path.split_first() {
            None => self.record(found),
            Some((key, rest)) => visitor.visit_map(OneEntry {
                key: Some(key.clone()),
                value: Some(Probe {
                    path: rest,
                    slot: self.slot,
                }),
            }),
        }
    }
}

/// A map with one entry: the next key of the path, and a probe for the rest.
struct OneEntry<'a> {
    key: Option<String>,
    value: Option<Probe<'a>>,
}

impl<'de> de::MapAccess<'de> for OneEntry<'_> {
    type Error = ProbeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        match self.key.take() {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ProbeError> {
        match self.value.take() {
            Some(probe) => seed.deserialize(probe),
            None => Err(ProbeError::Stop),
        }
    }
}

/// A list with one item: a probe for the rest of the path.
struct OneItem<'a> {
    value: Option<Probe<'a>>,
}

impl<'de> de::SeqAccess<'de> for OneItem<'_> {
    type Error = ProbeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ProbeError> {
        match self.value.take() {
            Some(probe) => seed.deserialize(probe).map(Some),
            None => Ok(None),
        }
    }
}
