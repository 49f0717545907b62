//! The data resources (Banking, Employment, Fiscal, enrichment) behind one generic API: list as
//! a stream, retrieve (POST, sync or async, with the MFA resume), detail and delete.
//!
//! Details follow Belvo's specs (1.35.0 and 1.223.0): most answer the object, recurring
//! expenses and risk insights a one-element array (both specs), incomes either (an array in
//! 1.35.0, the object in 1.223.0); see [`DetailShape`].

use std::marker::PhantomData;

use futures::stream::BoxStream;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::client::{Answer, Client};
use crate::error::Error;
use crate::links::{Accepted, MfaResume};
use crate::models;
use crate::pagination::{Filters, Page};
use crate::retry::RetryClass;

/// A Belvo data resource: its collection path and object type.
pub trait Resource {
    /// The collection path, e.g. `api/transactions/`.
    const PATH: &'static str;
    /// The `fetch_resources` / webhook name, e.g. `TRANSACTIONS`.
    const NAME: &'static str;
    /// How `GET …/{id}/` answers, per Belvo's specs.
    const DETAIL: DetailShape;
    /// The object type.
    type Item: DeserializeOwned + Send + 'static;
}

/// The body of a resource's detail (`GET …/{id}/`) in Belvo's specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailShape {
    /// The object itself.
    Object,
    /// An array holding the one object (`/api/recurring-expenses/{id}/`,
    /// `/api/risk-insights/{id}/` in both specs).
    Array,
    /// Either: the specs disagree (`/api/incomes/{id}/`: an array in 1.35.0, the object in
    /// 1.223.0), so both are accepted.
    ObjectOrArray,
}

macro_rules! resources {
    ($($(#[$doc:meta])* $marker:ident, $method:ident => $path:literal, $name:literal, $detail:ident, $item:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $marker;

            impl Resource for $marker {
                const PATH: &'static str = $path;
                const NAME: &'static str = $name;
                const DETAIL: DetailShape = DetailShape::$detail;
                type Item = $item;
            }
        )*

        impl Client {
            $(
                #[doc = concat!("`/", $path, "`.")]
                pub fn $method(&self) -> Resources<'_, $marker> {
                    self.resource()
                }
            )*
        }
    };
}

resources! {
    /// `/api/accounts/`.
    Accounts, accounts => "api/accounts/", "ACCOUNTS", Object, models::Account;
    /// `/api/transactions/` (`link` filter required; retrieve needs `date_from`/`date_to`).
    Transactions, transactions => "api/transactions/", "TRANSACTIONS", Object, models::Transaction;
    /// `/api/balances/` (multi-region; retrieve needs `date_from`/`date_to`).
    Balances, balances => "api/balances/", "BALANCES", Object, models::Balance;
    /// `/api/owners/`.
    Owners, owners => "api/owners/", "OWNERS", Object, models::Owner;
    /// `/api/incomes/`.
    Incomes, incomes => "api/incomes/", "INCOMES", ObjectOrArray, models::Income;
    /// `/api/recurring-expenses/`.
    RecurringExpenses, recurring_expenses => "api/recurring-expenses/", "RECURRING_EXPENSES", Array, models::RecurringExpense;
    /// `/api/risk-insights/`.
    RiskInsights, risk_insights => "api/risk-insights/", "RISK_INSIGHTS", Array, models::RiskInsights;
    /// `/api/employment-records/`.
    EmploymentRecords, employment_records => "api/employment-records/", "EMPLOYMENT_RECORDS", Object, models::EmploymentRecord;
    /// `/api/invoices/` (retrieve needs `date_from`, `date_to` at most 365 days apart, `type`).
    Invoices, invoices => "api/invoices/", "INVOICES", Object, models::Invoice;
    /// `/api/tax-returns/` (retrieve: yearly `year_from`/`year_to`, or monthly dates).
    TaxReturns, tax_returns => "api/tax-returns/", "TAX_RETURNS", Object, models::TaxReturn;
    /// `/api/tax-status/`.
    TaxStatus, tax_status => "api/tax-status/", "TAX_STATUS", Object, models::TaxStatus;
    /// `/api/tax-compliance-status/`.
    TaxComplianceStatus, tax_compliance_status => "api/tax-compliance-status/", "TAX_COMPLIANCE_STATUS", Object, models::TaxComplianceStatus;
    /// `/api/tax-retentions/` (retrieve needs `date_from`, `date_to`, `type`).
    TaxRetentions, tax_retentions => "api/tax-retentions/", "TAX_RETENTIONS", Object, models::TaxRetention;
}

/// The body of a retrieve POST. Each resource needs a subset (see its docs); Belvo validates
/// the rest and answers `400` naming the field.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetrieveRequest {
    /// The link to retrieve for.
    pub link: Uuid,
    /// Only this account (transactions, balances).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Uuid>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_from: Option<String>,
    /// `YYYY-MM-DD`, not in the future.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_to: Option<String>,
    /// `INFLOW`/`OUTFLOW` (invoices, retentions); `yearly`/`monthly` (tax returns).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Tax returns, yearly: first year (`"2018"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_from: Option<String>,
    /// Tax returns, yearly: last year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_to: Option<String>,
    /// Include PDFs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_pdf: Option<bool>,
    /// Include XML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_xml: Option<bool>,
    /// Incomes: income types to keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_income_types: Option<Vec<String>>,
    /// Incomes: `HIGH`, `MEDIUM` or `LOW`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_confidence_level: Option<String>,
    /// An MFA token, if the institution asks for one.
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub token: Option<SecretString>,
    /// Persist at Belvo (default true: 201); `false` answers 200 without storing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_data: Option<bool>,
}

impl RetrieveRequest {
    /// A request for `link` with no other field.
    pub fn for_link(link: Uuid) -> Self {
        Self {
            link,
            ..Self::default()
        }
    }
}

/// Some retrieve endpoints answer an array, others a single object; both become a `Vec`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> From<OneOrMany<T>> for Vec<T> {
    fn from(v: OneOrMany<T>) -> Self {
        match v {
            OneOrMany::Many(v) => v,
            OneOrMany::One(t) => vec![t],
        }
    }
}

/// Decodes a detail body of `shape`.
fn detail<T: DeserializeOwned>(answer: &Answer, shape: DetailShape) -> Result<T, Error> {
    let is_array = || {
        answer
            .body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'[')
    };
    match shape {
        DetailShape::Object => answer.json(),
        DetailShape::ObjectOrArray if !is_array() => answer.json(),
        DetailShape::Array | DetailShape::ObjectOrArray => {
            let mut items = answer.json::<Vec<T>>()?.into_iter();
            match (items.next(), items.len()) {
                (Some(item), 0) => Ok(item),
                (first, more) => Err(Error::Decode {
                    status: answer.status,
                    source: serde::de::Error::custom(format!(
                        "a detail array must hold exactly one object, this one holds {}",
                        usize::from(first.is_some()) + more
                    )),
                }),
            }
        }
    }
}

/// One resource's endpoints, from [`Client::resource`] or the named shortcuts.
#[derive(Debug)]
pub struct Resources<'c, R> {
    client: &'c Client,
    resource: PhantomData<R>,
}

impl<R> Clone for Resources<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Resources<'_, R> {}

impl Client {
    /// The endpoints of resource `R`.
    pub fn resource<R: Resource>(&self) -> Resources<'_, R> {
        Resources {
            client: self,
            resource: PhantomData,
        }
    }
}

impl<R: Resource> Resources<'_, R> {
    /// `GET` the whole listing as typed objects, one page in memory at a time.
    pub fn list(&self, filters: &Filters) -> BoxStream<'static, Result<R::Item, Error>> {
        self.client.list(R::PATH, filters)
    }

    /// `GET` the listing page by page, decoded as any `T` (for instance
    /// `Box<serde_json::value::RawValue>` to keep Belvo's JSON verbatim). Each page's `next` is
    /// a checkpoint for [`Client::pages_from`].
    pub fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        filters: &Filters,
    ) -> BoxStream<'static, Result<Page<T>, Error>> {
        self.client.pages(R::PATH, filters)
    }

    /// `GET …/{id}/`: the object, whether Belvo sends it alone or in an array
    /// ([`Resource::DETAIL`]). An array that does not hold exactly one object is a
    /// [`Error::Decode`].
    pub async fn get(&self, id: Uuid) -> Result<R::Item, Error> {
        let call = self.client.request(
            Method::GET,
            &format!("{}{id}/", R::PATH),
            RetryClass::Idempotent,
        )?;
        self.client
            .send(call, |answer| detail::<R::Item>(answer, R::DETAIL))
            .await
    }

    /// `DELETE …/{id}/` (204; an object already gone counts as deleted).
    pub async fn delete(&self, id: Uuid) -> Result<(), Error> {
        let call = self.client.request(
            Method::DELETE,
            &format!("{}{id}/", R::PATH),
            RetryClass::Idempotent,
        )?;
        match self.client.call_empty(call).await {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `POST`: Belvo logs into the institution and fetches now. `428` comes back as
    /// [`Error::TokenRequired`]; resume with [`Resources::resume`]. Each attempt is a bank
    /// login (billed, able to lock the user out), so only 5xx, 408, 429 and
    /// `too_many_sessions` are retried; never a timeout, a broken connection or a body that
    /// does not decode.
    pub async fn retrieve(&self, body: &RetrieveRequest) -> Result<Vec<R::Item>, Error> {
        let mut call = self
            .client
            .with_body(Method::POST, R::PATH, body, RetryClass::Retrieval)?;
        call.long = true;
        let many: OneOrMany<R::Item> = self.client.call_json(call).await?;
        Ok(many.into())
    }

    /// `POST` with `X-Belvo-Request-Mode: async`: `202 {request_id}` now, a webhook later.
    /// Retried like [`Resources::retrieve`]: the login happens all the same.
    pub async fn retrieve_async(&self, body: &RetrieveRequest) -> Result<Accepted, Error> {
        let mut call = self
            .client
            .with_body(Method::POST, R::PATH, body, RetryClass::Retrieval)?;
        call.async_mode = true;
        self.client.call_json(call).await
    }

    /// `PATCH` on the collection: resume a retrieval after `428` with the user's token. Never
    /// repeated: the token and the session are spent by the first attempt.
    pub async fn resume(&self, body: &MfaResume) -> Result<Vec<R::Item>, Error> {
        let mut call =
            self.client
                .with_body(Method::PATCH, R::PATH, body, RetryClass::NeverRepeat)?;
        call.long = true;
        let many: OneOrMany<R::Item> = self.client.call_json(call).await?;
        Ok(many.into())
    }
}
