//! The Belvo resources data-service stores: their Belvo names and paths, and how each one's
//! indexed columns (date, account, amount, type, status, label) are read from Belvo's JSON.

use std::fmt;
use std::str::FromStr;

use connect_proto::data::v1 as pb;
use serde_json::Value;

/// A stored Belvo resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    Accounts,
    Transactions,
    Balances,
    Owners,
    Incomes,
    RecurringExpenses,
    RiskInsights,
    EmploymentRecords,
    Invoices,
    TaxReturns,
    TaxStatus,
    TaxComplianceStatus,
    TaxRetentions,
}

impl Resource {
    /// Every resource, in a stable order.
    pub const ALL: [Resource; 13] = [
        Self::Accounts,
        Self::Transactions,
        Self::Balances,
        Self::Owners,
        Self::Incomes,
        Self::RecurringExpenses,
        Self::RiskInsights,
        Self::EmploymentRecords,
        Self::Invoices,
        Self::TaxReturns,
        Self::TaxStatus,
        Self::TaxComplianceStatus,
        Self::TaxRetentions,
    ];

    /// Belvo's name, as in `fetch_resources` and `webhook_type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accounts => "ACCOUNTS",
            Self::Transactions => "TRANSACTIONS",
            Self::Balances => "BALANCES",
            Self::Owners => "OWNERS",
            Self::Incomes => "INCOMES",
            Self::RecurringExpenses => "RECURRING_EXPENSES",
            Self::RiskInsights => "RISK_INSIGHTS",
            Self::EmploymentRecords => "EMPLOYMENT_RECORDS",
            Self::Invoices => "INVOICES",
            Self::TaxReturns => "TAX_RETURNS",
            Self::TaxStatus => "TAX_STATUS",
            Self::TaxComplianceStatus => "TAX_COMPLIANCE_STATUS",
            Self::TaxRetentions => "TAX_RETENTIONS",
        }
    }

    /// Belvo's collection path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Accounts => "api/accounts/",
            Self::Transactions => "api/transactions/",
            Self::Balances => "api/balances/",
            Self::Owners => "api/owners/",
            Self::Incomes => "api/incomes/",
            Self::RecurringExpenses => "api/recurring-expenses/",
            Self::RiskInsights => "api/risk-insights/",
            Self::EmploymentRecords => "api/employment-records/",
            Self::Invoices => "api/invoices/",
            Self::TaxReturns => "api/tax-returns/",
            Self::TaxStatus => "api/tax-status/",
            Self::TaxComplianceStatus => "api/tax-compliance-status/",
            Self::TaxRetentions => "api/tax-retentions/",
        }
    }

    /// The proto enum value.
    pub fn to_proto(self) -> pb::Resource {
        match self {
            Self::Accounts => pb::Resource::Accounts,
            Self::Transactions => pb::Resource::Transactions,
            Self::Balances => pb::Resource::Balances,
            Self::Owners => pb::Resource::Owners,
            Self::Incomes => pb::Resource::Incomes,
            Self::RecurringExpenses => pb::Resource::RecurringExpenses,
            Self::RiskInsights => pb::Resource::RiskInsights,
            Self::EmploymentRecords => pb::Resource::EmploymentRecords,
            Self::Invoices => pb::Resource::Invoices,
            Self::TaxReturns => pb::Resource::TaxReturns,
            Self::TaxStatus => pb::Resource::TaxStatus,
            Self::TaxComplianceStatus => pb::Resource::TaxComplianceStatus,
            Self::TaxRetentions => pb::Resource::TaxRetentions,
        }
    }

    /// From the proto enum; `None` for UNSPECIFIED or an unknown number.
    pub fn from_proto(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.to_proto() as i32 == value)
    }

    /// Whether `new_*_available` for this resource can be pulled incrementally (Belvo's
    /// `created_at` filter over an append-mostly listing); others are pulled in full.
    pub fn incremental(self) -> bool {
        matches!(self, Self::Transactions | Self::Invoices | Self::Balances)
    }

    /// The indexed columns of one Belvo object of this resource.
    pub fn columns(self, object: &Value) -> Columns {
        let text = |key: &str| object.get(key).and_then(scalar).unwrap_or_default();
        let day = |key: &str| text(key).get(..10).unwrap_or_default().to_owned();
        let account = || match object.get("account") {
            Some(Value::Object(a)) => a.get("id").and_then(scalar).unwrap_or_default(),
            Some(other) => scalar(other).unwrap_or_default(),
            None => text("account_id"),
        };
        let mut c = Columns {
            created_at: object
                .get("created_at")
                .and_then(Value::as_str)
                .and_then(epoch_ms),
            ..Columns::default()
        };
        match self {
            Self::Accounts => {
                c.kind = text("category");
                c.description = text("name");
                c.currency = text("currency");
                c.amount = object
                    .pointer("/balance/current")
                    .and_then(scalar)
                    .unwrap_or_default();
            }
            Self::Transactions => {
                c.day = day("value_date");
                c.account_id = account();
                c.amount = text("amount");
                c.currency = text("currency");
                c.kind = text("type");
                c.status = text("status");
                c.description = text("description");
            }
            Self::Balances => {
                c.day = day("value_date");
                c.account_id = account();
                c.amount = text("balance");
                c.currency = object
                    .pointer("/account/currency")
                    .and_then(scalar)
                    .unwrap_or_default();
            }
            Self::Owners => c.description = text("display_name"),
            Self::Incomes => {
                c.day = day("last_transaction_date");
                c.amount = text("monthly_average");
                c.kind = text("income_source_type");
            }
            Self::RecurringExpenses => {
                c.account_id = account();
                c.amount = text("average_transaction_amount");
                c.kind = text("category");
                c.description = text("name");
            }
            Self::RiskInsights => c.day = day("created_at"),
            Self::EmploymentRecords => {
                c.day = day("report_date");
                c.description = object
                    .pointer("/personal_data/official_name")
                    .and_then(scalar)
                    .unwrap_or_default();
            }
            Self::Invoices => {
                c.day = day("invoice_date");
                c.amount = text("total_amount");
                c.currency = text("currency");
                c.kind = text("type");
                c.status = text("status");
                c.description = text("sender_name");
            }
            Self::TaxReturns => {
                c.kind = text("type");
                c.day = day("collected_at");
            }
            Self::TaxStatus => {
                c.day = day("collected_at");
                c.description = text("official_name");
            }
            Self::TaxComplianceStatus => {
                c.day = day("collected_at");
                c.status = text("outcome");
            }
            Self::TaxRetentions => {
                c.day = day("issued_at");
                c.amount = text("total_retained_amount");
                c.description = text("sender_name");
            }
        }
        c
    }
}

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

/// A JSON scalar as text (numbers keep Belvo's digits).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An ISO-8601 timestamp (or date) as epoch milliseconds.
pub fn epoch_ms(s: &str) -> Option<i64> {
    belvo::models::serde_lenient::parse_timestamp(s).map(|t| t.timestamp_millis())
}

/// What a stored object yields before it is written: Belvo's id and the indexed columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    pub id: String,
    pub columns: Columns,
}

/// Why an object could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("not a JSON object: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the object has no string `id`")]
    MissingId,
}

impl Resource {
    /// The id and indexed columns of one object, read straight from its JSON text: only the
    /// fields some resource indexes are kept (borrowed where no escape needs decoding), the
    /// rest is skipped. Gives exactly what [`Resource::columns`] gives on the parsed value.
    pub fn index(self, json: &str) -> Result<Indexed, IndexError> {
        let f: fields::Fields<'_> = serde_json::from_str(json)?;
        let id = match &f.id {
            Some(fields::Field::Scalar(fields::Scalar::Str(s))) => s.to_string(),
            _ => return Err(IndexError::MissingId),
        };
        Ok(Indexed {
            id,
            columns: self.columns_of(&f),
        })
    }

    fn columns_of(self, f: &fields::Fields<'_>) -> Columns {
        use fields::Field;
        let text = |v: &Option<Field<'_>>| v.as_ref().and_then(Field::text).unwrap_or_default();
        let day = |v: &Option<Field<'_>>| text(v).get(..10).unwrap_or_default().to_owned();
        let nested = |v: &Option<Field<'_>>, key: fields::NestedKey| {
            v.as_ref().and_then(|v| v.nested(key)).unwrap_or_default()
        };
        let account = || match &f.account {
            Some(Field::Object(a)) => a.get(fields::NestedKey::Id).unwrap_or_default(),
            Some(other) => other.text().unwrap_or_default(),
            None => text(&f.account_id),
        };
        let mut c = Columns {
            created_at: match &f.created_at {
                Some(Field::Scalar(fields::Scalar::Str(s))) => epoch_ms(s),
                _ => None,
            },
            ..Columns::default()
        };
        match self {
            Self::Accounts => {
                c.kind = text(&f.category);
                c.description = text(&f.name);
                c.currency = text(&f.currency);
                c.amount = nested(&f.balance, fields::NestedKey::Current);
            }
            Self::Transactions => {
                c.day = day(&f.value_date);
                c.account_id = account();
                c.amount = text(&f.amount);
                c.currency = text(&f.currency);
                c.kind = text(&f.kind);
                c.status = text(&f.status);
                c.description = text(&f.description);
            }
            Self::Balances => {
                c.day = day(&f.value_date);
                c.account_id = account();
                c.amount = text(&f.balance);
                c.currency = nested(&f.account, fields::NestedKey::Currency);
            }
            Self::Owners => c.description = text(&f.display_name),
            Self::Incomes => {
                c.day = day(&f.last_transaction_date);
                c.amount = text(&f.monthly_average);
                c.kind = text(&f.income_source_type);
            }
            Self::RecurringExpenses => {
                c.account_id = account();
                c.amount = text(&f.average_transaction_amount);
                c.kind = text(&f.category);
                c.description = text(&f.name);
            }
            Self::RiskInsights => c.day = day(&f.created_at),
            Self::EmploymentRecords => {
                c.day = day(&f.report_date);
                c.description = nested(&f.personal_data, fields::NestedKey::OfficialName);
            }
            Self::Invoices => {
                c.day = day(&f.invoice_date);
                c.amount = text(&f.total_amount);
                c.currency = text(&f.currency);
                c.kind = text(&f.kind);
                c.status = text(&f.status);
                c.description = text(&f.sender_name);
            }
            Self::TaxReturns => {
                c.kind = text(&f.kind);
                c.day = day(&f.collected_at);
            }
            Self::TaxStatus => {
                c.day = day(&f.collected_at);
                c.description = text(&f.official_name);
            }
            Self::TaxComplianceStatus => {
                c.day = day(&f.collected_at);
                c.status = text(&f.outcome);
            }
            Self::TaxRetentions => {
                c.day = day(&f.issued_at);
                c.amount = text(&f.total_retained_amount);
                c.description = text(&f.sender_name);
            }
        }
        c
    }
}

/// The fields any resource indexes, deserialized without building a `Value`: a later
/// duplicate key wins (as in `serde_json::Value`), and every other field is skipped.
mod fields {
    use std::borrow::Cow;
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

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

    /// A top-level field: a scalar, or an object of which only a few scalar keys matter.
    #[derive(Debug)]
    pub(super) enum Field<'a> {
        Scalar(Scalar<'a>),
        Object(Nested<'a>),
    }

    impl Field<'_> {
        pub(super) fn text(&self) -> Option<String> {
            match self {
                Self::Scalar(s) => s.text(),
                Self::Object(_) => None,
            }
        }

        pub(super) fn nested(&self, key: NestedKey) -> Option<String> {
            match self {
                Self::Object(n) => n.get(key),
                Self::Scalar(_) => None,
            }
        }
    }

    #[derive(Debug, Clone, Copy)]
    pub(super) enum NestedKey {
        Id,
        Currency,
        Current,
        OfficialName,
    }

    /// `id`, `currency`, `current` and `official_name` of a nested object.
    #[derive(Debug, Default)]
    pub(super) struct Nested<'a>([Option<Scalar<'a>>; 4]);

    impl Nested<'_> {
        pub(super) fn get(&self, key: NestedKey) -> Option<String> {
            self.0[key as usize].as_ref().and_then(Scalar::text)
        }
    }

    #[derive(Debug, Default)]
    pub(super) struct Fields<'a> {
        pub(super) id: Option<Field<'a>>,
        pub(super) value_date: Option<Field<'a>>,
        pub(super) account: Option<Field<'a>>,
        pub(super) account_id: Option<Field<'a>>,
        pub(super) amount: Option<Field<'a>>,
        pub(super) currency: Option<Field<'a>>,
        pub(super) kind: Option<Field<'a>>,
        pub(super) status: Option<Field<'a>>,
        pub(super) description: Option<Field<'a>>,
        pub(super) created_at: Option<Field<'a>>,
        pub(super) category: Option<Field<'a>>,
        pub(super) name: Option<Field<'a>>,
        pub(super) balance: Option<Field<'a>>,
        pub(super) display_name: Option<Field<'a>>,
        pub(super) last_transaction_date: Option<Field<'a>>,
        pub(super) monthly_average: Option<Field<'a>>,
        pub(super) income_source_type: Option<Field<'a>>,
        pub(super) average_transaction_amount: Option<Field<'a>>,
        pub(super) report_date: Option<Field<'a>>,
        pub(super) personal_data: Option<Field<'a>>,
        pub(super) invoice_date: Option<Field<'a>>,
        pub(super) total_amount: Option<Field<'a>>,
        pub(super) sender_name: Option<Field<'a>>,
        pub(super) collected_at: Option<Field<'a>>,
        pub(super) official_name: Option<Field<'a>>,
        pub(super) outcome: Option<Field<'a>>,
        pub(super) issued_at: Option<Field<'a>>,
        pub(super) total_retained_amount: Option<Field<'a>>,
    }

    impl<'a> Fields<'a> {
        fn slot(&mut self, key: &str) -> Option<&mut Option<Field<'a>>> {
            Some(match key {
                "id" => &mut self.id,
                "value_date" => &mut self.value_date,
                "account" => &mut self.account,
                "account_id" => &mut self.account_id,
                "amount" => &mut self.amount,
                "currency" => &mut self.currency,
                "type" => &mut self.kind,
                "status" => &mut self.status,
                "description" => &mut self.description,
                "created_at" => &mut self.created_at,
                "category" => &mut self.category,
                "name" => &mut self.name,
                "balance" => &mut self.balance,
                "display_name" => &mut self.display_name,
                "last_transaction_date" => &mut self.last_transaction_date,
                "monthly_average" => &mut self.monthly_average,
                "income_source_type" => &mut self.income_source_type,
                "average_transaction_amount" => &mut self.average_transaction_amount,
                "report_date" => &mut self.report_date,
                "personal_data" => &mut self.personal_data,
                "invoice_date" => &mut self.invoice_date,
                "total_amount" => &mut self.total_amount,
                "sender_name" => &mut self.sender_name,
                "collected_at" => &mut self.collected_at,
                "official_name" => &mut self.official_name,
                "outcome" => &mut self.outcome,
                "issued_at" => &mut self.issued_at,
                "total_retained_amount" => &mut self.total_retained_amount,
                _ => return None,
            })
        }
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

    /// A top-level field: a scalar, or an object whose few interesting keys are kept.
    struct FieldVisitor;

    impl<'de> Visitor<'de> for FieldVisitor {
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
            let mut nested = Nested::default();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                let slot = match key.as_ref() {
                    "id" => NestedKey::Id,
                    "currency" => NestedKey::Currency,
                    "current" => NestedKey::Current,
                    "official_name" => NestedKey::OfficialName,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                nested.0[slot as usize] = Some(map.next_value::<Scalar<'de>>()?);
            }
            Ok(Field::Object(nested))
        }
    }

    impl<'de> Deserialize<'de> for Field<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(FieldVisitor)
        }
    }

    impl<'de> Deserialize<'de> for Fields<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Fields<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                    let mut fields = Fields::default();
                    while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                        match fields.slot(&key) {
                            Some(slot) => *slot = Some(map.next_value::<Field<'de>>()?),
                            None => {
                                map.next_value::<IgnoredAny>()?;
                            }
                        }
                    }
                    Ok(fields)
                }
            }
            d.deserialize_map(V)
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Not a resource data-service stores.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a resource data-service stores")]
pub struct UnknownResource(pub String);

impl FromStr for Resource {
    type Err = UnknownResource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownResource(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_proto_values_round_trip() {
        for r in Resource::ALL {
            assert_eq!(r.name().parse::<Resource>().unwrap(), r);
            assert_eq!(Resource::from_proto(r.to_proto() as i32), Some(r));
        }
        assert!("BILLS".parse::<Resource>().is_err());
        assert_eq!(Resource::from_proto(0), None);
    }

    #[test]
    fn transaction_columns_come_from_belvos_fields() {
        let t = json!({"id": "t1", "value_date": "2019-10-23", "amount": 2145.45, "currency": "MXN",
            "type": "INFLOW", "status": "PROCESSED", "description": "SEVEN BUDDHAS",
            "account": {"id": "a1", "currency": "MXN"}, "created_at": "2022-02-09T08:45:50.406032Z"});
        let c = Resource::Transactions.columns(&t);
        assert_eq!(c.day, "2019-10-23");
        assert_eq!(c.account_id, "a1");
        assert_eq!(c.amount, "2145.45");
        assert_eq!(
            (c.kind.as_str(), c.status.as_str()),
            ("INFLOW", "PROCESSED")
        );
        assert_eq!(c.created_at, Some(1_644_396_350_406));
    }

    #[test]
    fn invoice_and_retention_dates_are_days() {
        let i = json!({"invoice_date": "2019-12-01", "total_amount": 454, "type": "INFLOW", "status": "Vigente"});
        assert_eq!(Resource::Invoices.columns(&i).day, "2019-12-01");
        let r = json!({"issued_at": "2019-01-03T21:10:40.000Z", "total_retained_amount": 1550.7});
        let c = Resource::TaxRetentions.columns(&r);
        assert_eq!(
            (c.day.as_str(), c.amount.as_str()),
            ("2019-01-03", "1550.7")
        );
    }

    #[test]
    fn index_reads_what_columns_reads_for_every_resource() {
        let objects = [
            json!({"id": "t1", "value_date": "2019-10-23", "amount": 2145.45, "currency": "MXN",
                "type": "INFLOW", "status": "PROCESSED", "description": "SEVEN \"BUDDHAS\"\n\u{e9}\u{1}",
                "account": {"id": "a1", "currency": "MXN", "balance": {"current": 5.5}, "x": [1, {"id": "no"}]},
                "created_at": "2022-02-09T08:45:50.406032Z", "merchant": {"name": "n"}}),
            json!({"id": "a1", "category": "CHECKING_ACCOUNT", "name": "Cuenta", "currency": "MXN",
                "balance": {"current": 123, "available": 1}, "created_at": "2022-02-09"}),
            json!({"id": "b1", "value_date": "2020-01-01T10:00:00Z", "balance": "12.5",
                "account": {"id": "a2", "currency": "COP"}, "account_id": "ignored"}),
            json!({"id": "b2", "account": null, "account_id": "a3", "balance": [1, 2]}),
            json!({"id": "b3", "account_id": "a4", "balance": true, "created_at": 17}),
            json!({"id": "o1", "display_name": "Jane", "created_at": null}),
            json!({"id": "i1", "last_transaction_date": "2021-03-04", "monthly_average": -1.0e3,
                "income_source_type": "SALARY"}),
            json!({"id": "r1", "account": "plain-account", "average_transaction_amount": 18446744073709551615u64,
                "category": "BILLS", "name": "Netflix"}),
            json!({"id": "k1", "created_at": "2023-05-06T07:08:09.1+02:00"}),
            json!({"id": "e1", "report_date": "2022-01", "personal_data": {"official_name": "JUAN"}}),
            json!({"id": "v1", "invoice_date": "2019-12-01", "total_amount": 454, "type": "INFLOW",
                "status": "Vigente", "sender_name": "ACME", "currency": "MXN"}),
            json!({"id": "x1", "type": "PERSONAL", "collected_at": "2020-02-02T00:00:00Z",
                "official_name": "X", "outcome": "POSITIVE", "issued_at": "2019-01-03T21:10:40.000Z",
                "total_retained_amount": 1550.7, "sender_name": "S"}),
            json!({"id": "d1", "value_date": "ñññññ-ñ", "amount": -0.0, "status": false, "type": 1e300}),
        ];
        for object in &objects {
            let text = object.to_string();
            for r in Resource::ALL {
                let indexed = r.index(&text).unwrap();
                assert_eq!(indexed.columns, r.columns(object), "{r} of {text}");
                assert_eq!(indexed.id, object["id"].as_str().unwrap());
            }
        }
        // The same object with a duplicated key: the later one wins, as in `Value`.
        let dup =
            r#"{"id": "t9", "amount": 1, "amount": "2", "account": {"id": "a"}, "account": "b"}"#;
        let value: Value = serde_json::from_str(dup).unwrap();
        let indexed = Resource::Transactions.index(dup).unwrap();
        assert_eq!(indexed.columns, Resource::Transactions.columns(&value));
        assert_eq!(
            (
                indexed.columns.amount.as_str(),
                indexed.columns.account_id.as_str()
            ),
            ("2", "b")
        );
        assert!(matches!(
            Resource::Transactions.index(r#"{"id": 5}"#),
            Err(IndexError::MissingId)
        ));
        assert!(matches!(
            Resource::Transactions.index(r#"{"x": 5}"#),
            Err(IndexError::MissingId)
        ));
        assert!(matches!(
            Resource::Transactions.index("[1]"),
            Err(IndexError::Json(_))
        ));
        assert!(matches!(
            Resource::Transactions.index("{"),
            Err(IndexError::Json(_))
        ));
    }
}
