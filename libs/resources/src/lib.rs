//! The Belvo resources the platform stores and serves, one entry each in [`Resource::ALL`]:
//! the proto value, Belvo's name and collection path, the gateway's URL segment, the product it
//! belongs to, the webhook `data` key that announces its count, whether new data can be pulled
//! incrementally, where each indexed column comes from in Belvo's JSON, and the filters its
//! listing takes. data-service (indexing, sync, inbox, read API), the gateway (routes, OpenAPI,
//! the web app's resource list) all read this table; adding a resource is one entry here.

use std::fmt;
use std::hash::{Hash, Hasher};

use belvo::webhook::ResourceCounts;
use connect_proto::data::v1 as pb;
use regions::Product;

/// One Belvo resource.
#[derive(Debug)]
pub struct Resource {
    /// The proto enum value (`connect.data.v1.Resource`): the identity of the resource.
    pub id: pb::Resource,
    /// Belvo's name, as in `fetch_resources` and `webhook_type`.
    pub name: &'static str,
    /// Belvo's collection path.
    pub path: &'static str,
    /// The gateway's URL segment: `/v1/links/{id}/<segment>`.
    pub segment: &'static str,
    /// The product it belongs to (the web app groups a link's resources by it).
    pub product: Product,
    /// Belvo's announced count of a pull, from the webhook's `data`.
    pub expected: fn(&ResourceCounts) -> Option<u64>,
    /// Whether `new_*_available` can be pulled incrementally (Belvo's `created_at` filter over
    /// an append-mostly listing); other resources are pulled in full.
    pub incremental: bool,
    /// Where each indexed column comes from.
    pub index: Index,
    /// The filters its listing takes.
    pub filters: Filters,
}

/// Where each indexed column of a stored object comes from in Belvo's JSON (`created_at`
/// always comes from `created_at`).
#[derive(Debug, Clone, Copy)]
pub struct Index {
    /// The object's own date, `YYYY-MM-DD` (the listing's order).
    pub date: Source,
    pub account_id: Source,
    pub amount: Source,
    pub currency: Source,
    /// The type (or category) field.
    pub kind: Source,
    pub status: Source,
    /// A short human label.
    pub description: Source,
}

impl Index {
    /// No indexed column (every field is [`Source::None`]).
    pub const NONE: Self = Self {
        date: Source::None,
        account_id: Source::None,
        amount: Source::None,
        currency: Source::None,
        kind: Source::None,
        status: Source::None,
        description: Source::None,
    };
}

/// Where one column's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Nothing: the column stays empty.
    None,
    /// A top-level scalar, as text (numbers keep Belvo's digits).
    Field(&'static str),
    /// A top-level scalar, or this text when the object has no such field (Belvo's yearly tax
    /// returns carry no `type`).
    FieldOr(&'static str, &'static str),
    /// A top-level scalar's first ten characters: the day of a date or timestamp.
    Day(&'static str),
    /// A scalar inside a top-level object: `Nested("balance", "current")`.
    Nested(&'static str, &'static str),
    /// The object's account: `account.id` when `account` is an object, `account` itself when
    /// it is a scalar, else `account_id`.
    Account,
}

/// The filters a resource's listing takes, beside paging.
#[derive(Debug, Clone, Copy)]
pub struct Filters {
    /// A date range on the object's date, named for Belvo's field (`value_date`): the
    /// gateway's `value_date_from` / `value_date_to`, the typed RPC's `value_date`.
    pub date: Option<&'static str>,
    /// Only one account (`account_id`).
    pub account: bool,
    /// Any of these types (the gateway's `type`, or `category` for accounts).
    pub kind: Option<Choice>,
    /// Any of these statuses (the gateway's `status`).
    pub status: Option<Choice>,
}

impl Filters {
    /// No filter.
    pub const NONE: Self = Self {
        date: None,
        account: false,
        kind: None,
        status: None,
    };
}

/// A filter that takes any of some values.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    /// Its query parameter in the gateway.
    pub name: &'static str,
    /// Belvo's values, for documentation and the web app's choices (others are accepted and
    /// simply match nothing).
    pub values: &'static [&'static str],
}

const ACCOUNT_DATED: Filters = Filters {
    date: Some("value_date"),
    account: true,
    ..Filters::NONE
};
const FLOWS: &[&str] = &["INFLOW", "OUTFLOW"];

impl Resource {
    /// Every resource, in proto order.
    pub const ALL: &'static [Resource] = &[
        Resource {
            id: pb::Resource::Accounts,
            name: "ACCOUNTS",
            path: "api/accounts/",
            segment: "accounts",
            product: Product::Banking,
            expected: |c| c.total_accounts,
            incremental: false,
            index: Index {
                kind: Source::Field("category"),
                description: Source::Field("name"),
                currency: Source::Field("currency"),
                amount: Source::Nested("balance", "current"),
                ..Index::NONE
            },
            filters: Filters {
                kind: Some(Choice {
                    name: "category",
                    values: &[
                        "CHECKING_ACCOUNT",
                        "SAVINGS_ACCOUNT",
                        "CREDIT_CARD",
                        "LOAN_ACCOUNT",
                        "INVESTMENT_ACCOUNT",
                        "PENSION_FUND_ACCOUNT",
                        "RECEIVABLES_ACCOUNT",
                        "UNCATEGORIZED",
                    ],
                }),
                ..Filters::NONE
            },
        },
        Resource {
            id: pb::Resource::Transactions,
            name: "TRANSACTIONS",
            path: "api/transactions/",
            segment: "transactions",
            product: Product::Banking,
            expected: |c| c.total_transactions,
            incremental: true,
            index: Index {
                date: Source::Day("value_date"),
                account_id: Source::Account,
                amount: Source::Field("amount"),
                currency: Source::Field("currency"),
                kind: Source::Field("type"),
                status: Source::Field("status"),
                description: Source::Field("description"),
            },
            filters: Filters {
                kind: Some(Choice {
                    name: "type",
                    values: FLOWS,
                }),
                status: Some(Choice {
                    name: "status",
                    values: &["PROCESSED", "PENDING", "UNCATEGORIZED"],
                }),
                ..ACCOUNT_DATED
            },
        },
        Resource {
            id: pb::Resource::Balances,
            name: "BALANCES",
            path: "api/balances/",
            segment: "balances",
            product: Product::Banking,
            expected: |c| c.total_balances,
            incremental: true,
            index: Index {
                date: Source::Day("value_date"),
                account_id: Source::Account,
                amount: Source::Field("balance"),
                currency: Source::Nested("account", "currency"),
                ..Index::NONE
            },
            filters: ACCOUNT_DATED,
        },
        Resource {
            id: pb::Resource::Owners,
            name: "OWNERS",
            path: "api/owners/",
            segment: "owners",
            product: Product::Banking,
            expected: |c| c.total_owners,
            incremental: false,
            index: Index {
                description: Source::Field("display_name"),
                ..Index::NONE
            },
            filters: Filters::NONE,
        },
        Resource {
            id: pb::Resource::Incomes,
            name: "INCOMES",
            path: "api/incomes/",
            segment: "incomes",
            product: Product::Banking,
            expected: |c| c.total_incomes,
            incremental: false,
            index: Index {
                date: Source::Day("last_transaction_date"),
                amount: Source::Field("monthly_average"),
                kind: Source::Field("income_source_type"),
                ..Index::NONE
            },
            filters: Filters::NONE,
        },
        Resource {
            id: pb::Resource::RecurringExpenses,
            name: "RECURRING_EXPENSES",
            path: "api/recurring-expenses/",
            segment: "recurring-expenses",
            product: Product::Banking,
            expected: |c| c.total_recurring_expenses,
            incremental: false,
            index: Index {
                account_id: Source::Account,
                amount: Source::Field("average_transaction_amount"),
                kind: Source::Field("category"),
                description: Source::Field("name"),
                ..Index::NONE
            },
            filters: Filters {
                account: true,
                ..Filters::NONE
            },
        },
        Resource {
            id: pb::Resource::RiskInsights,
            name: "RISK_INSIGHTS",
            path: "api/risk-insights/",
            segment: "risk-insights",
            product: Product::Banking,
            expected: |c| c.total_risk_insights,
            incremental: false,
            index: Index {
                date: Source::Day("created_at"),
                ..Index::NONE
            },
            filters: Filters::NONE,
        },
        Resource {
            id: pb::Resource::EmploymentRecords,
            name: "EMPLOYMENT_RECORDS",
            path: "api/employment-records/",
            segment: "employment-records",
            product: Product::Employment,
            expected: |c| c.total_employment_record_profiles,
            incremental: false,
            index: Index {
                date: Source::Day("report_date"),
                description: Source::Nested("personal_data", "official_name"),
                ..Index::NONE
            },
            filters: Filters::NONE,
        },
        Resource {
            id: pb::Resource::Invoices,
            name: "INVOICES",
            path: "api/invoices/",
            segment: "invoices",
            product: Product::Fiscal,
            expected: |c| c.total_invoices,
            incremental: true,
            index: Index {
                date: Source::Day("invoice_date"),
                account_id: Source::None,
                amount: Source::Field("total_amount"),
                currency: Source::Field("currency"),
                kind: Source::Field("type"),
                status: Source::Field("status"),
                description: Source::Field("sender_name"),
            },
            filters: Filters {
                date: Some("invoice_date"),
                account: false,
                kind: Some(Choice {
                    name: "type",
                    values: FLOWS,
                }),
                status: Some(Choice {
                    name: "status",
                    values: &["Vigente", "Cancelado"],
                }),
            },
        },
        Resource {
            id: pb::Resource::TaxReturns,
            name: "TAX_RETURNS",
            path: "api/tax-returns/",
            segment: "tax-returns",
            product: Product::Fiscal,
            // One webhook per type (yearly, monthly), each counting its own type: not what a
            // pull of the resource stores, so no expected count.
            expected: |c| match c.kind {
                None => c.total_tax_returns,
                Some(_) => None,
            },
            incremental: false,
            index: Index {
                date: Source::Day("collected_at"),
                kind: Source::FieldOr("type", "yearly"),
                ..Index::NONE
            },
            filters: Filters {
                kind: Some(Choice {
                    name: "type",
                    values: &["yearly", "monthly"],
                }),
                ..Filters::NONE
            },
        },
        Resource {
            id: pb::Resource::TaxStatus,
            name: "TAX_STATUS",
            path: "api/tax-status/",
            segment: "tax-status",
            product: Product::Fiscal,
            expected: |c| c.total_tax_status,
            incremental: false,
            index: Index {
                date: Source::Day("collected_at"),
                description: Source::Field("official_name"),
                ..Index::NONE
            },
            filters: Filters::NONE,
        },
        Resource {
            id: pb::Resource::TaxComplianceStatus,
            name: "TAX_COMPLIANCE_STATUS",
            path: "api/tax-compliance-status/",
            segment: "tax-compliance-status",
            product: Product::Fiscal,
            expected: |c| c.total_tax_compliance_status,
            incremental: false,
            index: Index {
                date: Source::Day("collected_at"),
                status: Source::Field("outcome"),
                ..Index::NONE
            },
            filters: Filters::NONE,
        },
        Resource {
            id: pb::Resource::TaxRetentions,
            name: "TAX_RETENTIONS",
            path: "api/tax-retentions/",
            segment: "tax-retentions",
            product: Product::Fiscal,
            expected: |c| c.total_tax_retentions,
            incremental: false,
            index: Index {
                date: Source::Day("issued_at"),
                amount: Source::Field("total_retained_amount"),
                description: Source::Field("sender_name"),
                ..Index::NONE
            },
            filters: Filters {
                date: Some("issued"),
                ..Filters::NONE
            },
        },
    ];

    /// The resource of a proto value; `None` for UNSPECIFIED or an unknown number.
    pub fn from_proto(value: i32) -> Option<&'static Self> {
        Self::ALL.iter().find(|r| r.id as i32 == value)
    }

    /// The resource of a proto enum value; `None` for UNSPECIFIED.
    pub fn of(id: pb::Resource) -> Option<&'static Self> {
        Self::from_proto(id as i32)
    }

    /// The resource Belvo calls `name` (`TRANSACTIONS`); `None` for one not stored here.
    pub fn from_name(name: &str) -> Option<&'static Self> {
        Self::ALL.iter().find(|r| r.name == name)
    }

    /// The resource at the gateway's URL segment (`recurring-expenses`).
    pub fn from_segment(segment: &str) -> Option<&'static Self> {
        Self::ALL.iter().find(|r| r.segment == segment)
    }
}

// A resource is its proto value: equal, ordered and hashed by it.
impl PartialEq for Resource {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Resource {}

impl PartialOrd for Resource {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Resource {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl Hash for Resource {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_proto_value_has_exactly_one_entry_with_unique_names() {
        let values: Vec<i32> = (1..)
            .take_while(|v| pb::Resource::try_from(*v).is_ok())
            .collect();
        assert_eq!(values.len(), Resource::ALL.len());
        for (i, r) in Resource::ALL.iter().enumerate() {
            assert_eq!(r.id as i32, i as i32 + 1, "{r} is out of proto order");
            assert_eq!(Resource::from_proto(r.id as i32), Some(r));
            assert_eq!(Resource::from_name(r.name), Some(r));
            assert_eq!(Resource::from_segment(r.segment), Some(r));
            assert_eq!(r.segment, r.name.to_lowercase().replace('_', "-"));
            assert_eq!(
                format!("api/{}/", r.segment),
                r.path,
                "{r}: Belvo's path is its segment"
            );
        }
        assert_eq!(Resource::from_proto(0), None);
        assert_eq!(Resource::from_name("BILLS"), None);
    }

    #[test]
    fn filters_name_a_column_the_resource_indexes() {
        for r in Resource::ALL {
            let f = &r.filters;
            assert!(
                f.date.is_none() || r.index.date != Source::None,
                "{r} filters on a date it does not index"
            );
            assert!(!f.account || r.index.account_id != Source::None, "{r}");
            assert!(f.kind.is_none() || r.index.kind != Source::None, "{r}");
            assert!(f.status.is_none() || r.index.status != Source::None, "{r}");
        }
    }

    #[test]
    fn the_expected_count_reads_the_resources_own_key() {
        let counts = ResourceCounts {
            total_transactions: Some(19),
            total_employment_record_profiles: Some(2),
            ..ResourceCounts::default()
        };
        let expected = |id| Resource::of(id).and_then(|r| (r.expected)(&counts));
        assert_eq!(expected(pb::Resource::Transactions), Some(19));
        assert_eq!(expected(pb::Resource::EmploymentRecords), Some(2));
        assert_eq!(expected(pb::Resource::Accounts), None);
        // A tax-returns webhook counts one type of return, not the resource.
        let yearly = ResourceCounts {
            kind: Some("yearly".into()),
            total_tax_returns: Some(3),
            ..ResourceCounts::default()
        };
        let tax_returns = Resource::of(pb::Resource::TaxReturns).unwrap();
        assert_eq!((tax_returns.expected)(&yearly), None);
    }
}
