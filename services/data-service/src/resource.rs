//! The resources data-service stores (the table in `libs/resources`), and how one stored
//! object is indexed: Belvo's id and the columns its resource's [`Index`] names, read straight
//! from the object's JSON text. Only the fields the resource indexes are kept (borrowed where
//! no escape needs decoding); the rest is skipped, and no `serde_json::Value` is built.

use resources::Source;
pub use resources::{Index, Resource};
use serde::de::DeserializeSeed as _;

/// Indexed columns of one object (empty strings where a resource has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub account_id: String,
    pub day: String,
    pub amount: String,
    pub currency: String,
    pub kind: String,
    pub status: String,
    pub description: String,
    pub created_at: Option<i64>,
}

/// An ISO-8601 timestamp (or date) as epoch milliseconds.
pub fn epoch_ms(s: &str) -> Option<i64> {
    belvo::models::serde_lenient::parse_timestamp(s).map(|t| t.timestamp_millis())
}

/// What a stored object yields before it is written: Belvo's id, the indexed columns and the
/// hash of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    pub id: String,
    pub columns: Columns,
    pub content_hash: i64,
}

/// Top-level fields that change without the object changing, left out of its content hash:
/// when Belvo collected it, and the account a transaction or balance embeds whole (its balance
/// moves with every other transaction; which account it is stays in the hash).
const VOLATILE: [&str; 2] = ["collected_at", "account"];

/// The first 64 bits of the SHA-256 of `json` without the `volatile` values (slices of it, in
/// order) and with `account_id`. The change log compares it with the stored one: a re-pull of
/// the same content is no change. (The object holds Belvo's random ids and times, so a stored
/// hash cannot confirm a guess at what a sealed object says.)
fn content_hash(json: &str, volatile: &[&str], account_id: &str) -> i64 {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    let mut from = 0;
    for value in volatile {
        let start = value.as_ptr() as usize - json.as_ptr() as usize;
        hasher.update(&json.as_bytes()[from..start]);
        from = start + value.len();
    }
    hasher.update(&json.as_bytes()[from..]);
    hasher.update(account_id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Why an object could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("not a JSON object: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the object has no string `id`")]
    MissingId,
}

/// The id and indexed columns of one object of `resource`, from its JSON text.
pub fn index(resource: &'static Resource, json: &str) -> Result<Indexed, IndexError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let fields = fields::Wanted(&resource.index).deserialize(&mut de)?;
    de.end()?;
    let id = match fields.get("id") {
        Some(fields::Field::Scalar(fields::Scalar::Str(s))) => s.to_string(),
        _ => return Err(IndexError::MissingId),
    };
    let column = |source: Source| fields.column(source).unwrap_or_default();
    let i = &resource.index;
    let account_id = column(i.account_id);
    Ok(Indexed {
        id,
        content_hash: content_hash(json, &fields.volatile, &account_id),
        columns: Columns {
            account_id,
            day: column(i.date),
            amount: column(i.amount),
            currency: column(i.currency),
            kind: column(i.kind),
            status: column(i.status),
            description: column(i.description),
            created_at: match fields.get("created_at") {
                Some(fields::Field::Scalar(fields::Scalar::Str(s))) => epoch_ms(s),
                _ => None,
            },
        },
    })
}

/// The fields an [`Index`] reads, deserialized without building a `Value`: a later duplicate
/// key wins (as in `serde_json::Value`), and every other field is skipped.
mod fields {
    use std::borrow::Cow;
    use std::fmt;

    use resources::{Index, Source};
    use serde::Deserialize;
    use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    use serde_json::value::RawValue;

    /// A JSON value as a column sees it.
    #[derive(Debug)]
    pub(super) enum Scalar<'a> {
        Str(Cow<'a, str>),
        /// A number, in `serde_json::Number`'s text, or `true`/`false`.
        Text(String),
        /// `null`, an array or an object.
        None,
    }

    impl Scalar<'_> {
        fn text(&self) -> Option<String> {
            match self {
                Self::Str(s) => Some(s.to_string()),
                Self::Text(t) => Some(t.clone()),
                Self::None => None,
            }
        }
    }

    /// A top-level field: a scalar, or an object of which only the wanted scalar keys are kept.
    #[derive(Debug)]
    pub(super) enum Field<'a> {
        Scalar(Scalar<'a>),
        Object(Vec<(&'static str, Scalar<'a>)>),
    }

    impl Field<'_> {
        fn text(&self) -> Option<String> {
            match self {
                Self::Scalar(s) => s.text(),
                Self::Object(_) => None,
            }
        }

        fn nested(&self, key: &str) -> Option<String> {
            match self {
                Self::Object(kept) => kept.iter().rev().find(|(k, _)| *k == key)?.1.text(),
                Self::Scalar(_) => None,
            }
        }
    }

    /// The kept top-level fields of one object, and the text of its volatile values.
    #[derive(Debug, Default)]
    pub(super) struct Fields<'a> {
        kept: Vec<(&'static str, Field<'a>)>,
        /// The values of [`super::VOLATILE`] fields, slices of the object's text, in order.
        pub(super) volatile: Vec<&'a str>,
    }

    impl<'a> Fields<'a> {
        pub(super) fn get(&self, key: &str) -> Option<&Field<'a>> {
            self.kept.iter().find(|(k, _)| *k == key).map(|(_, f)| f)
        }

        fn set(&mut self, key: &'static str, field: Field<'a>) {
            match self.kept.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = field,
                None => self.kept.push((key, field)),
            }
        }

        /// The text of one column.
        pub(super) fn column(&self, source: Source) -> Option<String> {
            match source {
                Source::None => None,
                Source::Field(key) => self.get(key)?.text(),
                Source::FieldOr(key, default) => match self.get(key) {
                    Some(field) => field.text(),
                    None => Some(default.to_owned()),
                },
                Source::Day(key) => Some(self.get(key)?.text()?.get(..10)?.to_owned()),
                Source::Nested(key, inner) => self.get(key)?.nested(inner),
                Source::Account => match self.get("account") {
                    Some(account @ Field::Object(_)) => account.nested("id"),
                    Some(other) => other.text(),
                    None => self.get("account_id")?.text(),
                },
            }
        }
    }

    /// The keys every object keeps besides its index's: the id and Belvo's `created_at`.
    const ALWAYS: [&str; 2] = ["id", "created_at"];

    /// The top-level keys an index reads, each as the `'static` name it is kept under.
    fn top_level(index: &Index, key: &str) -> Option<&'static str> {
        if let Some(k) = ALWAYS.iter().find(|k| **k == key) {
            return Some(k);
        }
        sources(index).find_map(|source| match source {
            Source::Field(k) | Source::FieldOr(k, _) | Source::Day(k) | Source::Nested(k, _)
                if k == key =>
            {
                Some(k)
            }
            Source::Account => ["account", "account_id"].into_iter().find(|k| *k == key),
            _ => None,
        })
    }

    /// The keys an index reads inside the top-level object `field`.
    fn nested(index: &Index, field: &str, key: &str) -> Option<&'static str> {
        sources(index).find_map(|source| match source {
            Source::Nested(f, k) if f == field && k == key => Some(k),
            Source::Account if field == "account" && key == "id" => Some("id"),
            _ => None,
        })
    }

    fn sources(index: &Index) -> impl Iterator<Item = Source> {
        [
            index.date,
            index.account_id,
            index.amount,
            index.currency,
            index.kind,
            index.status,
            index.description,
        ]
        .into_iter()
    }

    /// A map key, borrowed when it has no escapes.
    struct Key<'a>(Cow<'a, str>);

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v)))
                }
            }
            d.deserialize_str(V)
        }
    }

    /// Scalars as text; `null`, arrays and objects as `None` (skipped, not built).
    struct ScalarVisitor;

    impl<'de> Visitor<'de> for ScalarVisitor {
        type Value = Scalar<'de>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Str(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Str(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Str(Cow::Owned(v)))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Text(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Text(serde_json::Number::from(v).to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Text(serde_json::Number::from(v).to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar<'de>, E> {
            Ok(serde_json::Number::from_f64(v)
                .map_or(Scalar::None, |n| Scalar::Text(n.to_string())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
            Ok(Scalar::None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
            Ok(Scalar::None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Scalar::None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Scalar::None)
        }
    }

    impl<'de> Deserialize<'de> for Scalar<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ScalarVisitor)
        }
    }

    /// The top-level field `name` of an object: a scalar, or an object of which the keys the
    /// index reads inside it are kept.
    struct FieldSeed<'i> {
        index: &'i Index,
        name: &'static str,
    }

    impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
        type Value = Field<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field<'de>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for FieldSeed<'_> {
        type Value = Field<'de>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
            ScalarVisitor.visit_borrowed_str(v).map(Field::Scalar)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
            ScalarVisitor.visit_str(v).map(Field::Scalar)
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
            ScalarVisitor.visit_string(v).map(Field::Scalar)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field<'de>, E> {
            ScalarVisitor.visit_bool(v).map(Field::Scalar)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field<'de>, E> {
            ScalarVisitor.visit_i64(v).map(Field::Scalar)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
            ScalarVisitor.visit_u64(v).map(Field::Scalar)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field<'de>, E> {
            ScalarVisitor.visit_f64(v).map(Field::Scalar)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
            Ok(Field::Scalar(Scalar::None))
        }
        fn visit_none<E: de::Error>(self) -> Result<Field<'de>, E> {
            Ok(Field::Scalar(Scalar::None))
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field<'de>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Field<'de>, A::Error> {
            ScalarVisitor.visit_seq(seq).map(Field::Scalar)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<'de>, A::Error> {
            let mut kept = Vec::new();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                match nested(self.index, self.name, &key) {
                    Some(k) => kept.push((k, map.next_value::<Scalar<'de>>()?)),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Field::Object(kept))
        }
    }

    /// An object, keeping the fields `Index` reads.
    pub(super) struct Wanted<'i>(pub(super) &'i Index);

    impl<'de> DeserializeSeed<'de> for Wanted<'_> {
        type Value = Fields<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields<'de>, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Wanted<'_> {
        type Value = Fields<'de>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
            let mut fields = Fields::default();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                if super::VOLATILE.contains(&key.as_ref()) {
                    // Its text is kept (to leave it out of the hash), then read from it.
                    let raw = map.next_value::<&'de RawValue>()?.get();
                    fields.volatile.push(raw);
                    if let Some(name) = top_level(self.0, &key) {
                        let mut de = serde_json::Deserializer::from_str(raw);
                        let field = FieldSeed {
                            index: self.0,
                            name,
                        }
                        .deserialize(&mut de)
                        .map_err(de::Error::custom)?;
                        fields.set(name, field);
                    }
                    continue;
                }
                match top_level(self.0, &key) {
                    Some(name) => {
                        let field = map.next_value_seed(FieldSeed {
                            index: self.0,
                            name,
                        })?;
                        fields.set(name, field);
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(fields)
        }
    }
}

/// The resources of a link's `fetch_resources` that data-service stores, in proto order.
pub fn stored_resources(fetch_resources: &[String]) -> Vec<&'static Resource> {
    let mut out: Vec<&'static Resource> = fetch_resources
        .iter()
        .filter_map(|name| Resource::from_name(name))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use connect_proto::data::v1 as pb;
    use serde_json::json;

    use super::*;

    fn of(id: pb::Resource) -> &'static Resource {
        Resource::of(id).unwrap()
    }

    fn columns(id: pb::Resource, object: &serde_json::Value) -> Columns {
        index(of(id), &object.to_string()).unwrap().columns
    }

    #[test]
    fn content_hash_ignores_when_belvo_collected_and_the_embedded_account() {
        let hash = |t: serde_json::Value| {
            index(of(pb::Resource::Transactions), &t.to_string())
                .unwrap()
                .content_hash
        };
        let t = |amount: f64, account: &str, balance: f64, collected: &str| {
            json!({"id": "t1", "collected_at": collected, "amount": amount,
                "account": {"id": account, "balance": {"current": balance}}, "value_date": "2024-01-02"})
        };
        let first = hash(t(10.5, "a1", 100.0, "2024-01-02T10:00:00Z"));
        assert_eq!(first, hash(t(10.5, "a1", 250.0, "2024-02-01T09:00:00Z")));
        assert_ne!(first, hash(t(10.75, "a1", 100.0, "2024-01-02T10:00:00Z")));
        assert_ne!(first, hash(t(10.5, "a2", 100.0, "2024-01-02T10:00:00Z")));
        // The account is still read from the embedded object.
        let indexed = index(
            of(pb::Resource::Transactions),
            &t(1.0, "a9", 0.0, "2024-01-02T10:00:00Z").to_string(),
        )
        .unwrap();
        assert_eq!(indexed.columns.account_id, "a9");
    }

    #[test]
    fn transaction_columns_come_from_belvos_fields() {
        let t = json!({"id": "t1", "value_date": "2019-10-23", "amount": 2145.45, "currency": "MXN",
            "type": "INFLOW", "status": "PROCESSED", "description": "SEVEN \"BUDDHAS\"\n\u{e9}",
            "account": {"id": "a1", "currency": "MXN", "balance": {"current": 5.5}, "x": [1, {"id": "no"}]},
            "created_at": "2022-02-09T08:45:50.406032Z", "merchant": {"name": "n"}});
        let indexed = index(of(pb::Resource::Transactions), &t.to_string()).unwrap();
        assert_eq!(indexed.id, "t1");
        assert_eq!(
            indexed.columns,
            Columns {
                account_id: "a1".into(),
                day: "2019-10-23".into(),
                amount: "2145.45".into(),
                currency: "MXN".into(),
                kind: "INFLOW".into(),
                status: "PROCESSED".into(),
                description: "SEVEN \"BUDDHAS\"\n\u{e9}".into(),
                created_at: Some(1_644_396_350_406),
            }
        );
    }

    #[test]
    fn every_resource_reads_its_own_fields() {
        let cases = [
            (
                pb::Resource::Accounts,
                json!({"id": "a1", "category": "CHECKING_ACCOUNT", "name": "Cuenta", "currency": "MXN",
                    "balance": {"current": 123, "available": 1}, "created_at": "2022-02-09"}),
                ("", "", "123", "MXN", "CHECKING_ACCOUNT", "", "Cuenta"),
            ),
            (
                pb::Resource::Balances,
                json!({"id": "b1", "value_date": "2020-01-01T10:00:00Z", "balance": "12.5",
                    "account": {"id": "a2", "currency": "COP"}, "account_id": "ignored"}),
                ("a2", "2020-01-01", "12.5", "COP", "", "", ""),
            ),
            (
                pb::Resource::Owners,
                json!({"id": "o1", "display_name": "Jane", "created_at": null}),
                ("", "", "", "", "", "", "Jane"),
            ),
            (
                pb::Resource::Incomes,
                json!({"id": "i1", "last_transaction_date": "2021-03-04", "monthly_average": -1.0e3,
                    "income_source_type": "SALARY"}),
                ("", "2021-03-04", "-1000.0", "", "SALARY", "", ""),
            ),
            (
                pb::Resource::RecurringExpenses,
                json!({"id": "r1", "account": "plain-account", "average_transaction_amount": 18446744073709551615u64,
                    "category": "BILLS", "name": "Netflix"}),
                (
                    "plain-account",
                    "",
                    "18446744073709551615",
                    "",
                    "BILLS",
                    "",
                    "Netflix",
                ),
            ),
            (
                pb::Resource::RiskInsights,
                json!({"id": "k1", "created_at": "2023-05-06T07:08:09.1+02:00"}),
                ("", "2023-05-06", "", "", "", "", ""),
            ),
            (
                pb::Resource::EmploymentRecords,
                json!({"id": "e1", "report_date": "2022-01-31", "personal_data": {"official_name": "JUAN"}}),
                ("", "2022-01-31", "", "", "", "", "JUAN"),
            ),
            (
                pb::Resource::Invoices,
                json!({"id": "v1", "invoice_date": "2019-12-01", "total_amount": 454, "type": "INFLOW",
                    "status": "Vigente", "sender_name": "ACME", "currency": "MXN"}),
                ("", "2019-12-01", "454", "MXN", "INFLOW", "Vigente", "ACME"),
            ),
            (
                pb::Resource::TaxReturns,
                json!({"id": "x1", "type": "monthly", "collected_at": "2020-02-02T00:00:00Z"}),
                ("", "2020-02-02", "", "", "monthly", "", ""),
            ),
            (
                // Belvo's yearly returns carry no `type`.
                pb::Resource::TaxReturns,
                json!({"id": "x5", "informacion_general": {"ejercicio": 2019}, "collected_at": "2020-02-05T00:00:00Z"}),
                ("", "2020-02-05", "", "", "yearly", "", ""),
            ),
            (
                pb::Resource::TaxStatus,
                json!({"id": "x2", "official_name": "X", "collected_at": "2020-02-03T00:00:00Z"}),
                ("", "2020-02-03", "", "", "", "", "X"),
            ),
            (
                pb::Resource::TaxComplianceStatus,
                json!({"id": "x3", "outcome": "POSITIVE", "collected_at": "2020-02-04T00:00:00Z"}),
                ("", "2020-02-04", "", "", "", "POSITIVE", ""),
            ),
            (
                pb::Resource::TaxRetentions,
                json!({"id": "x4", "issued_at": "2019-01-03T21:10:40.000Z",
                    "total_retained_amount": 1550.7, "sender_name": "S"}),
                ("", "2019-01-03", "1550.7", "", "", "", "S"),
            ),
        ];
        for (id, object, (account, day, amount, currency, kind, status, description)) in cases {
            let c = columns(id, &object);
            assert_eq!(
                (
                    c.account_id.as_str(),
                    c.day.as_str(),
                    c.amount.as_str(),
                    c.currency.as_str(),
                    c.kind.as_str(),
                    c.status.as_str(),
                    c.description.as_str()
                ),
                (account, day, amount, currency, kind, status, description),
                "{id:?}"
            );
        }
    }

    #[test]
    fn odd_shapes_index_as_empty_columns() {
        // `account: null` is an account given as nothing: `account_id` is not consulted.
        let b = columns(
            pb::Resource::Balances,
            &json!({"id": "b2", "account": null, "account_id": "a3", "balance": [1, 2]}),
        );
        assert_eq!((b.account_id.as_str(), b.amount.as_str()), ("", ""));
        let b = columns(
            pb::Resource::Balances,
            &json!({"id": "b3", "account_id": "a4", "balance": true, "created_at": 17}),
        );
        assert_eq!(
            (b.account_id.as_str(), b.amount.as_str(), b.created_at),
            ("a4", "true", None)
        );
        // A day shorter than ten characters, or cut inside a character, is no day.
        let t = columns(
            pb::Resource::Transactions,
            &json!({"id": "d1", "value_date": "añññññ", "amount": -0.0, "status": false, "type": 1e300}),
        );
        assert_eq!(
            (
                t.day.as_str(),
                t.amount.as_str(),
                t.status.as_str(),
                t.kind.as_str()
            ),
            ("", "-0.0", "false", "1e+300")
        );
        // A wanted field that is an object without the wanted keys is empty.
        let a = columns(
            pb::Resource::Accounts,
            &json!({"id": "a", "name": {"x": 1}}),
        );
        assert_eq!(a.description, "");
    }

    #[test]
    fn a_later_duplicate_key_wins() {
        let dup =
            r#"{"id": "t9", "amount": 1, "amount": "2", "account": {"id": "a"}, "account": "b"}"#;
        let c = index(of(pb::Resource::Transactions), dup).unwrap().columns;
        assert_eq!((c.amount.as_str(), c.account_id.as_str()), ("2", "b"));
    }

    #[test]
    fn an_object_needs_a_string_id() {
        let transactions = of(pb::Resource::Transactions);
        for json in [r#"{"id": 5}"#, r#"{"x": 5}"#] {
            assert!(matches!(
                index(transactions, json),
                Err(IndexError::MissingId)
            ));
        }
        for json in ["[1]", "{", r#"{"id": "a"} x"#] {
            assert!(matches!(
                index(transactions, json),
                Err(IndexError::Json(_))
            ));
        }
    }

    #[test]
    fn stored_resources_are_the_known_names_once_in_proto_order() {
        let names = ["OWNERS", "BILLS", "ACCOUNTS", "OWNERS"].map(String::from);
        let stored: Vec<&str> = stored_resources(&names).iter().map(|r| r.name).collect();
        assert_eq!(stored, ["ACCOUNTS", "OWNERS"]);
    }
}
