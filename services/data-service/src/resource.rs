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
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp_millis())
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_millis())
        })
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
}
