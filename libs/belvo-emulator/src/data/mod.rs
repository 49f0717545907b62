//! Deterministic data per link: which resources exist, how many objects each link has, and the
//! object at any index, computed from the link's seed without materialising the rest. Banking
//! (legacy Mexican shapes), fiscal (SAT) and employment (IMSS) generators live in submodules.

mod banking;
mod fiscal;
mod other;

use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::config::Scale;
use crate::ids;
use crate::institutions::{Institution, Kind};

pub(crate) use banking::write_transaction;
pub(crate) use fiscal::{MESES, rfc};

/// Every data resource the emulator serves.
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
    pub const ALL: [Resource; 13] = [
        Resource::Accounts,
        Resource::Transactions,
        Resource::Balances,
        Resource::Owners,
        Resource::Incomes,
        Resource::RecurringExpenses,
        Resource::RiskInsights,
        Resource::EmploymentRecords,
        Resource::Invoices,
        Resource::TaxReturns,
        Resource::TaxStatus,
        Resource::TaxComplianceStatus,
        Resource::TaxRetentions,
    ];

    /// The path segment under `/api/`.
    pub fn path(self) -> &'static str {
        match self {
            Resource::Accounts => "accounts",
            Resource::Transactions => "transactions",
            Resource::Balances => "balances",
            Resource::Owners => "owners",
            Resource::Incomes => "incomes",
            Resource::RecurringExpenses => "recurring-expenses",
            Resource::RiskInsights => "risk-insights",
            Resource::EmploymentRecords => "employment-records",
            Resource::Invoices => "invoices",
            Resource::TaxReturns => "tax-returns",
            Resource::TaxStatus => "tax-status",
            Resource::TaxComplianceStatus => "tax-compliance-status",
            Resource::TaxRetentions => "tax-retentions",
        }
    }

    pub fn from_path(p: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.path() == p)
    }

    /// The `fetch_resources` / `webhook_type` name.
    pub fn fetch_name(self) -> &'static str {
        match self {
            Resource::Accounts => "ACCOUNTS",
            Resource::Transactions => "TRANSACTIONS",
            Resource::Balances => "BALANCES",
            Resource::Owners => "OWNERS",
            Resource::Incomes => "INCOMES",
            Resource::RecurringExpenses => "RECURRING_EXPENSES",
            Resource::RiskInsights => "RISK_INSIGHTS",
            Resource::EmploymentRecords => "EMPLOYMENT_RECORDS",
            Resource::Invoices => "INVOICES",
            Resource::TaxReturns => "TAX_RETURNS",
            Resource::TaxStatus => "TAX_STATUS",
            Resource::TaxComplianceStatus => "TAX_COMPLIANCE_STATUS",
            Resource::TaxRetentions => "TAX_RETENTIONS",
        }
    }

    pub fn from_fetch_name(n: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.fetch_name() == n)
    }

    /// Institutions whose links have this resource.
    pub fn kind(self) -> Kind {
        match self {
            Resource::Accounts
            | Resource::Transactions
            | Resource::Balances
            | Resource::Owners
            | Resource::Incomes
            | Resource::RecurringExpenses
            | Resource::RiskInsights => Kind::Bank,
            Resource::EmploymentRecords => Kind::Employment,
            _ => Kind::Fiscal,
        }
    }

    /// Retrieve (POST) answers one object rather than an array.
    pub fn single_object(self) -> bool {
        matches!(
            self,
            Resource::Incomes
                | Resource::RiskInsights
                | Resource::TaxStatus
                | Resource::TaxComplianceStatus
        )
    }

    /// List (GET) refuses to run without a `link` filter.
    pub fn link_required(self) -> bool {
        matches!(self, Resource::Transactions)
    }

    /// Supports `X-Belvo-Request-Mode: async` on retrieve.
    pub fn supports_async(self) -> bool {
        matches!(
            self,
            Resource::Transactions | Resource::Invoices | Resource::EmploymentRecords
        )
    }

    /// Supports resuming an MFA session with PATCH on the collection.
    pub fn supports_patch(self) -> bool {
        matches!(
            self,
            Resource::Accounts
                | Resource::Transactions
                | Resource::Balances
                | Resource::Owners
                | Resource::Incomes
                | Resource::RecurringExpenses
                | Resource::RiskInsights
                | Resource::Invoices
        )
    }

    /// The date field whose order follows the index (newest first), if any.
    pub fn date_field(self) -> Option<&'static str> {
        match self {
            Resource::Transactions => Some("value_date"),
            Resource::Invoices => Some("invoice_date"),
            _ => None,
        }
    }

    /// Belvo's list-filter names for nested fields of this resource, and the path each one
    /// filters on.
    pub fn filter_aliases(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Resource::Transactions => &[("account_type", &["account", "type"])],
            Resource::TaxReturns => &[
                ("ejercicio", &["informacion_general", "ejercicio"]),
                (
                    "tipo_declaracion",
                    &["informacion_general", "tipo_declaracion"],
                ),
            ],
            _ => &[],
        }
    }

    /// Retrieve needs `date_from` / `date_to`.
    pub fn needs_dates(self) -> bool {
        matches!(
            self,
            Resource::Transactions
                | Resource::Balances
                | Resource::Invoices
                | Resource::TaxRetentions
        )
    }
}

/// The sandbox's data profiles, chosen by the credentials (`bnk100`/`full`, `bnk101`/`nodata`,
/// `bnk102`/`low`, `bnk103`/`negative`; any other user is the "frequent user", i.e. full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Full,
    NoData,
    Low,
    Negative,
}

impl Profile {
    pub fn from_credentials(username: &str, password: &str) -> Profile {
        let u = username.to_ascii_lowercase();
        if u.ends_with("101") || password == "nodata" {
            Profile::NoData
        } else if u.ends_with("102") || password == "low" {
            Profile::Low
        } else if u.ends_with("103") || password == "negative" {
            Profile::Negative
        } else {
            Profile::Full
        }
    }
}

/// What a generator needs to know about a link.
#[derive(Debug, Clone)]
pub struct LinkCtx {
    pub id: Uuid,
    pub institution: Institution,
    pub username: String,
    pub profile: Profile,
    pub scale: Scale,
    pub created_at: DateTime<Utc>,
    pub as_of: NaiveDate,
    /// Seed of the content (amounts, names): the same user at the same institution gets the
    /// same data in every run with the same emulator seed.
    pub seed: u64,
}

impl LinkCtx {
    pub fn created(&self) -> String {
        fmt_ts(self.created_at)
    }

    pub fn currency(&self) -> &'static str {
        match self.institution.country {
            "BR" => "BRL",
            "CO" => "COP",
            _ => "MXN",
        }
    }
}

/// ISO-8601 with microseconds and `Z`, as Belvo writes timestamps.
pub(crate) fn fmt_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Days of data a generated, date-ordered collection spans.
pub(crate) const SPAN_DAYS: u64 = 365;

/// Days before `as_of` of item `i` in a collection of `n` (non-decreasing in `i`).
pub(crate) fn days_back(i: u64, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    ((u128::from(i) * u128::from(SPAN_DAYS)) / u128::from(n)) as u64
}

/// Smallest index whose `days_back` is at least `d`.
pub(crate) fn first_index_with_days(d: u64, n: u64) -> u64 {
    // days_back(i) >= d  <=>  i * SPAN >= d * n  <=>  i >= ceil(d * n / SPAN)
    let v = (u128::from(d) * u128::from(n)).div_ceil(u128::from(SPAN_DAYS));
    v.min(u128::from(n)) as u64
}

pub(crate) fn date_of(as_of: NaiveDate, i: u64, n: u64) -> NaiveDate {
    as_of - Duration::days(days_back(i, n) as i64)
}

/// Belvo's example objects, one per schema, generated from the official OpenAPI specs.
pub(crate) fn templates() -> &'static serde_json::Map<String, Value> {
    static T: OnceLock<serde_json::Map<String, Value>> = OnceLock::new();
    T.get_or_init(|| {
        match serde_json::from_str::<Value>(include_str!("templates.json")) {
            Ok(Value::Object(m)) => m,
            // The file is compiled in and checked by a unit test; an empty map only makes
            // objects smaller, never panics.
            _ => serde_json::Map::new(),
        }
    })
}

pub(crate) fn template(name: &str) -> Value {
    templates().get(name).cloned().unwrap_or(Value::Null)
}

/// Number of objects of `res` the link has before any control-API edit.
pub(crate) fn len(ctx: &LinkCtx, res: Resource) -> u64 {
    if res.kind() != ctx.institution.kind {
        return 0;
    }
    match res.kind() {
        Kind::Bank => banking::len(ctx, res),
        Kind::Fiscal => fiscal::len(ctx, res),
        Kind::Employment => other::len(ctx, res),
    }
}

/// Object `i` of `res` as JSON.
pub(crate) fn item(ctx: &LinkCtx, res: Resource, i: u64) -> Value {
    match res.kind() {
        Kind::Bank => banking::item(ctx, res, i),
        Kind::Fiscal => fiscal::item(ctx, res, i),
        Kind::Employment => other::item(ctx, res, i),
    }
}

/// The id of object `i` of `res` in the link.
pub(crate) fn object_id(link: &Uuid, res: Resource, i: u64) -> Uuid {
    ids::object_id(ids::scope(link, res.path()), i)
}

/// The index of `id` if it is a generated object of `res` in the link.
pub(crate) fn object_index(link: &Uuid, res: Resource, id: &Uuid) -> Option<u64> {
    ids::object_index(ids::scope(link, res.path()), id)
}

/// Reusable per-request state for writing many objects of one link quickly.
#[derive(Debug, Default)]
pub(crate) struct WriteCache {
    accounts: Vec<Box<serde_json::value::RawValue>>,
    account_values: Vec<Value>,
}

/// Whether generated object `i` passes `filters` (the object's own patch not applied).
pub(crate) fn matches(
    ctx: &LinkCtx,
    res: Resource,
    i: u64,
    cache: &mut WriteCache,
    filters: &[crate::filters::Filter],
) -> bool {
    match res {
        Resource::Transactions => banking::transaction_matches(ctx, i, cache, filters),
        _ => {
            let v = item(ctx, res, i);
            filters.iter().all(|f| f.matches(&v))
        }
    }
}

/// Appends object `i` as JSON to `out`; the fast path for the scaled resources.
pub(crate) fn write_item(
    ctx: &LinkCtx,
    res: Resource,
    i: u64,
    cache: &mut WriteCache,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    match res {
        Resource::Transactions => write_transaction(ctx, i, cache, out),
        _ => serde_json::to_writer(out, &item(ctx, res, i)),
    }
}

/// Counts for the `historical_update` webhook of `res`: the `data` object.
pub(crate) fn transaction_type_counts(ctx: &LinkCtx) -> (u64, u64) {
    banking::type_counts(ctx)
}

/// Small helpers shared by the generators.
pub(crate) fn pick<T>(items: &[T], r: u64) -> &T {
    &items[(r % items.len() as u64) as usize]
}

pub(crate) fn money(cents: u64) -> f64 {
    cents as f64 / 100.0
}

pub(crate) fn set(v: &mut Value, key: &str, val: Value) {
    if let Value::Object(m) = v {
        m.insert(key.to_owned(), val);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_load() {
        assert!(templates().contains_key("legacy.Account"));
        assert!(templates().contains_key("InvoiceWithIdSat"));
    }

    #[test]
    fn every_generator_works_for_many_users() {
        use crate::institutions;
        let as_of = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        for name in [
            "erebor_mx_retail",
            "tatooine_mx_fiscal",
            "planet_mx_employment",
        ] {
            let inst = institutions::by_name(name).unwrap();
            for seed in 0..300u64 {
                let ctx = LinkCtx {
                    id: Uuid::from_u128(u128::from(seed) + 1),
                    institution: inst.clone(),
                    username: format!("user{seed}"),
                    profile: Profile::Full,
                    scale: Scale {
                        transactions: 50,
                        invoices: 20,
                    },
                    created_at: Utc::now(),
                    as_of,
                    seed: ids::mix(seed),
                };
                for res in Resource::ALL {
                    let n = len(&ctx, res);
                    for i in [0, n / 2, n.saturating_sub(1)] {
                        if i < n {
                            let v = item(&ctx, res, i);
                            assert_eq!(
                                v["id"],
                                serde_json::json!(object_id(&ctx.id, res, i)),
                                "{res:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn day_mapping_is_monotone_and_inverts() {
        for n in [1u64, 7, 365, 1000, 1_000_000] {
            let mut prev = 0;
            for i in (0..n).step_by((n / 50).max(1) as usize) {
                let d = days_back(i, n);
                assert!(d >= prev);
                prev = d;
                let f = first_index_with_days(d, n);
                assert!(f <= i && days_back(f, n) == d);
            }
        }
    }
}
