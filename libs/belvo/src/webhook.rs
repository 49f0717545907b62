//! Belvo's webhooks: the envelope and the typed `data` of each documented type and code.
//! Parsing is permissive: an unknown type or code, or a `data` that does not match its
//! documented shape, is a value to store and acknowledge, never an error.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

string_enum! {
    /// `webhook_type`: the resource or subject of the event.
    pub enum WebhookType {
        Accounts = "ACCOUNTS",
        Transactions = "TRANSACTIONS",
        Owners = "OWNERS",
        Bills = "BILLS",
        Investments = "INVESTMENTS",
        InvestmentTransactions = "INVESTMENT_TRANSACTIONS",
        Incomes = "INCOMES",
        RecurringExpenses = "RECURRING_EXPENSES",
        RiskInsights = "RISK_INSIGHTS",
        EmploymentRecords = "EMPLOYMENT_RECORDS",
        EmploymentMetrics = "EMPLOYMENT_METRICS",
        Employments = "EMPLOYMENTS",
        CurrentEmployments = "CURRENT_EMPLOYMENTS",
        Invoices = "INVOICES",
        TaxReturns = "TAX_RETURNS",
        TaxStatus = "TAX_STATUS",
        TaxComplianceStatus = "TAX_COMPLIANCE_STATUS",
        TaxRetentions = "TAX_RETENTIONS",
        TaxDeclarations = "TAX_DECLARATIONS",
        FinancialStatements = "FINANCIAL_STATEMENTS",
        Link = "LINK",
        Consent = "CONSENT",
    }
}

string_enum! {
    /// `webhook_code`: what happened.
    pub enum WebhookCode {
        HistoricalUpdate = "historical_update",
        NewAccountsAvailable = "new_accounts_available",
        NewTransactionsAvailable = "new_transactions_available",
        TransactionsUpdated = "transactions_updated",
        TransactionsDeleted = "transactions_deleted",
        NewOwnersAvailable = "new_owners_available",
        NewBillsAvailable = "new_bills_available",
        NewInvoicesAvailable = "new_invoices_available",
        InitialInflowUpdate = "initial_inflow_update",
        InitialOutflowUpdate = "initial_outflow_update",
        HistoricalInflowUpdate = "historical_inflow_update",
        HistoricalOutflowUpdate = "historical_outflow_update",
        NewTaxReturnsAvailable = "new_tax_returns_available",
        EmploymentChanges = "employment_changes",
        NewEmploymentsAvailable = "new_employments_available",
        InvalidCredentials = "invalid_credentials",
        TokenRequired = "token_required",
        LinkDeleted = "link_deleted",
        ConsentExpired = "consent_expired",
    }
}

string_enum! {
    /// `process_type`: why the event fired.
    pub enum ProcessType {
        HistoricalUpdate = "historical_update",
        RecurrentUpdate = "recurrent_update",
    }
}

/// The envelope every webhook shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEnvelope {
    /// Belvo's id for the event (32 hex): the de-duplication key.
    pub webhook_id: String,
    /// The subject.
    pub webhook_type: WebhookType,
    /// The event.
    pub webhook_code: WebhookCode,
    /// The link (a UUID; kept as text so an odd value is still stored).
    pub link_id: String,
    /// Why it fired (absent in older payloads).
    #[serde(default)]
    pub process_type: Option<ProcessType>,
    /// Correlates with the `202 {request_id}` of an async call.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The link's external id (`null` if none).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The type-specific payload; see [`WebhookEnvelope::data`].
    #[serde(default)]
    pub data: serde_json::Value,
}

/// The typed payload of a webhook.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookData {
    /// A data resource changed: counts and date ranges (historical or recurrent).
    Resource(Box<ResourceCounts>),
    /// `EMPLOYMENT_RECORDS` / `employment_changes`.
    EmploymentChanges(EmploymentChanges),
    /// `LINK` errors: `invalid_credentials`, `token_required`.
    LinkError(LinkError),
    /// `LINK` / `link_deleted` (no documented payload).
    LinkDeleted,
    /// `CONSENT` events (Brazil).
    Consent(ConsentEvent),
    /// Anything else, or a payload that does not match its documented shape.
    Other(serde_json::Value),
}

/// Counts and ranges of a resource webhook. Every documented key of every resource type is
/// here; each type fills its own (e.g. `total_accounts`, `new_transactions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceCounts {
    pub total_accounts: Option<u64>,
    pub new_accounts: Option<u64>,
    pub total_transactions: Option<u64>,
    pub total_inflow_transactions: Option<u64>,
    pub total_outflow_transactions: Option<u64>,
    pub new_transactions: Option<u64>,
    #[serde(with = "crate::models::serde_lenient::date")]
    pub first_transaction_date: Option<NaiveDate>,
    #[serde(with = "crate::models::serde_lenient::date")]
    pub last_transaction_date: Option<NaiveDate>,
    /// Balances: Belvo documents no count; kept for a sender that gives one (the emulator).
    pub total_balances: Option<u64>,
    pub total_owners: Option<u64>,
    pub new_owners: Option<u64>,
    pub total_bills: Option<u64>,
    pub total_incomes: Option<u64>,
    pub number_of_income_streams: Option<u64>,
    pub total_recurring_expenses: Option<u64>,
    pub total_risk_insights: Option<u64>,
    pub total_employment_record_profiles: Option<u64>,
    pub total_employment_metrics: Option<u64>,
    pub total_employments: Option<u64>,
    pub new_employments: Option<u64>,
    pub total_invoices: Option<u64>,
    pub new_invoices: Option<u64>,
    #[serde(with = "crate::models::serde_lenient::date")]
    pub first_invoice_date: Option<NaiveDate>,
    #[serde(with = "crate::models::serde_lenient::date")]
    pub last_invoice_date: Option<NaiveDate>,
    /// Tax returns: `yearly` or `monthly`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub total_tax_returns: Option<u64>,
    pub new_tax_returns: Option<u64>,
    pub first_tax_return_year: Option<i32>,
    pub last_tax_return_year: Option<i32>,
    pub total_tax_status: Option<u64>,
    #[serde(with = "crate::models::serde_lenient::date")]
    pub last_status_change_date: Option<NaiveDate>,
    pub total_tax_compliance_status: Option<u64>,
    pub total_tax_retentions: Option<u64>,
    pub total_financial_statements: Option<u64>,
    /// `transactions_updated` / `transactions_deleted`: the affected ids, when sent.
    pub transactions: Option<Vec<String>>,
}

/// `employment_changes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentChanges {
    /// E.g. `EMPLOYED`, `SALARY_INCREASED`.
    pub employment_changes: Vec<String>,
}

/// `LINK` error events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkError {
    /// E.g. `login_error`, `token_required`.
    pub error_code: Option<String>,
    /// Belvo's message.
    pub error_message: Option<String>,
    /// The HTTP status the failed access got (400, 428).
    pub status: Option<u16>,
}

/// `CONSENT` events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsentEvent {
    pub consent_id: Option<String>,
    /// E.g. `renew`.
    pub action: Option<String>,
    pub institution: Option<String>,
    pub institution_display_name: Option<String>,
    pub institution_icon_logo: Option<String>,
}

impl WebhookEnvelope {
    /// Parses a webhook body. Fails only when it is not JSON or lacks the envelope's keys.
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The typed payload; never fails (see [`WebhookData::Other`]).
    pub fn data(&self) -> WebhookData {
        fn typed<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Option<T> {
            serde_json::from_value(v.clone()).ok()
        }
        let parsed = match (&self.webhook_type, &self.webhook_code) {
            (WebhookType::Link, WebhookCode::LinkDeleted) => Some(WebhookData::LinkDeleted),
            (WebhookType::Link, _) => typed(&self.data).map(WebhookData::LinkError),
            (WebhookType::Consent, _) => typed(&self.data).map(WebhookData::Consent),
            (_, WebhookCode::EmploymentChanges) => {
                typed(&self.data).map(WebhookData::EmploymentChanges)
            }
            (_, WebhookCode::LinkDeleted) => Some(WebhookData::LinkDeleted),
            (WebhookType::Unrecognized(_), _) | (_, WebhookCode::Unrecognized(_)) => None,
            _ => typed(&self.data).map(|c| WebhookData::Resource(Box::new(c))),
        };
        parsed.unwrap_or_else(|| WebhookData::Other(self.data.clone()))
    }

    /// The link as a UUID, if it is one.
    pub fn link_uuid(&self) -> Option<uuid::Uuid> {
        self.link_id.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> WebhookEnvelope {
        WebhookEnvelope::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn documented_transactions_historical_update() {
        let w = parse(
            r#"{"webhook_id":"aadf41a1fc8e4f79a49f7f04027ac999","webhook_type":"TRANSACTIONS",
            "process_type":"historical_update","webhook_code":"historical_update",
            "link_id":"16f68516-bcbc-4cf7-b815-c500d4204e28","request_id":"4363b08b-51eb-4350-9c74-5df5ac92a7f6",
            "external_id":"your_external_id","data":{"total_transactions":19,"total_inflow_transactions":10,
            "total_outflow_transactions":9,"first_transaction_date":"2023-01-03","last_transaction_date":"2024-01-03"}}"#,
        );
        assert_eq!(w.webhook_type, WebhookType::Transactions);
        assert_eq!(w.process_type, Some(ProcessType::HistoricalUpdate));
        let WebhookData::Resource(counts) = w.data() else {
            panic!("{:?}", w.data())
        };
        assert_eq!(counts.total_transactions, Some(19));
        assert_eq!(
            counts.first_transaction_date,
            NaiveDate::from_ymd_opt(2023, 1, 3)
        );
        assert!(w.link_uuid().is_some());
    }

    #[test]
    fn link_errors_and_deletion() {
        let w = parse(
            r#"{"webhook_id":"1","webhook_type":"LINK","webhook_code":"invalid_credentials",
            "link_id":"x","data":{"error_code":"login_error","error_message":"Invalid credentials provided to login to the institution","status":400}}"#,
        );
        assert_eq!(
            w.data(),
            WebhookData::LinkError(LinkError {
                error_code: Some("login_error".into()),
                error_message: Some(
                    "Invalid credentials provided to login to the institution".into()
                ),
                status: Some(400),
            })
        );
        let d = parse(
            r#"{"webhook_id":"2","webhook_type":"LINK","webhook_code":"link_deleted","link_id":"x","data":{}}"#,
        );
        assert_eq!(d.data(), WebhookData::LinkDeleted);
        assert_eq!(d.process_type, None);
    }

    #[test]
    fn unknown_types_codes_and_shapes_are_values() {
        let w = parse(
            r#"{"webhook_id":"3","webhook_type":"PAYMENTS_V9","webhook_code":"warp_speed",
            "link_id":"x","data":{"anything":[1,2]}}"#,
        );
        assert_eq!(
            w.webhook_type,
            WebhookType::Unrecognized("PAYMENTS_V9".into())
        );
        assert_eq!(w.webhook_code.as_str(), "warp_speed");
        assert!(matches!(w.data(), WebhookData::Other(_)));
        let odd = parse(
            r#"{"webhook_id":"4","webhook_type":"ACCOUNTS","webhook_code":"historical_update",
            "link_id":"x","data":{"total_accounts":"five"}}"#,
        );
        assert!(matches!(odd.data(), WebhookData::Other(_)));
    }

    #[test]
    fn missing_envelope_keys_are_an_error() {
        assert!(WebhookEnvelope::parse(br#"{"webhook_type":"ACCOUNTS"}"#).is_err());
        assert!(WebhookEnvelope::parse(b"<html>").is_err());
    }
}
