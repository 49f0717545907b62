//! The stored data of a link, one route per Belvo resource (`GET /v1/links/{id}/accounts`,
//! ...), each with `limit`, `cursor` and the resource's filters as in `data.proto`, answered
//! with Belvo's objects and paging info; and `GET /v1/links/{id}/events`, a Server-Sent Events
//! stream of the link's sync progress and status (data-service `WatchSyncStatus`).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse as _;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use connect_proto::data::v1::{
    DateRange, ListAccountsRequest, ListBalancesRequest, ListEmploymentRecordsRequest,
    ListIncomesRequest, ListInvoicesRequest, ListOwnersRequest, ListRecurringExpensesRequest,
    ListRiskInsightsRequest, ListTaxComplianceStatusRequest, ListTaxRetentionsRequest,
    ListTaxReturnsRequest, ListTaxStatusRequest, ListTransactionsRequest, PageRequest, Record,
    WatchSyncStatusRequest,
};
use connect_proto::link::v1::GetLinkRequest;
use futures::Stream;
use http::Method;
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument as _;

use super::api::{check_owned, owned_link};
use super::{Route, RouteDoc};
use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::services::request;
use crate::views;

/// A readable resource: its URL segment and the filters it takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResourceRoute {
    /// `/v1/links/{id}/<segment>`.
    pub(crate) segment: &'static str,
    pub(crate) path: &'static str,
    kind: Kind,
    filters: &'static [(&'static str, &'static str)],
}

#[derive(Debug, Clone, Copy)]
enum Kind {
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

const VALUE_DATE: [(&str, &str); 2] = [
    ("value_date_from", "First value_date, YYYY-MM-DD"),
    ("value_date_to", "Last value_date, YYYY-MM-DD"),
];
const ACCOUNT: (&str, &str) = ("account_id", "Only this account");

/// Every resource route.
pub(crate) const RESOURCES: &[ResourceRoute] = &[
    ResourceRoute {
        segment: "accounts",
        path: "/v1/links/{id}/accounts",
        kind: Kind::Accounts,
        filters: &[(
            "category",
            "Account categories, comma-separated (CHECKING_ACCOUNT, ...)",
        )],
    },
    ResourceRoute {
        segment: "transactions",
        path: "/v1/links/{id}/transactions",
        kind: Kind::Transactions,
        filters: &[
            VALUE_DATE[0],
            VALUE_DATE[1],
            ACCOUNT,
            ("type", "INFLOW, OUTFLOW"),
            ("status", "PENDING, PROCESSED, UNCATEGORIZED"),
        ],
    },
    ResourceRoute {
        segment: "balances",
        path: "/v1/links/{id}/balances",
        kind: Kind::Balances,
        filters: &[VALUE_DATE[0], VALUE_DATE[1], ACCOUNT],
    },
    ResourceRoute {
        segment: "owners",
        path: "/v1/links/{id}/owners",
        kind: Kind::Owners,
        filters: &[],
    },
    ResourceRoute {
        segment: "incomes",
        path: "/v1/links/{id}/incomes",
        kind: Kind::Incomes,
        filters: &[],
    },
    ResourceRoute {
        segment: "recurring-expenses",
        path: "/v1/links/{id}/recurring-expenses",
        kind: Kind::RecurringExpenses,
        filters: &[ACCOUNT],
    },
    ResourceRoute {
        segment: "risk-insights",
        path: "/v1/links/{id}/risk-insights",
        kind: Kind::RiskInsights,
        filters: &[],
    },
    ResourceRoute {
        segment: "employment-records",
        path: "/v1/links/{id}/employment-records",
        kind: Kind::EmploymentRecords,
        filters: &[],
    },
    ResourceRoute {
        segment: "invoices",
        path: "/v1/links/{id}/invoices",
        kind: Kind::Invoices,
        filters: &[
            ("invoice_date_from", "First invoice_date, YYYY-MM-DD"),
            ("invoice_date_to", "Last invoice_date, YYYY-MM-DD"),
            ("type", "INFLOW, OUTFLOW"),
            ("status", "Vigente, Cancelado"),
        ],
    },
    ResourceRoute {
        segment: "tax-returns",
        path: "/v1/links/{id}/tax-returns",
        kind: Kind::TaxReturns,
        filters: &[("type", "yearly, monthly")],
    },
    ResourceRoute {
        segment: "tax-status",
        path: "/v1/links/{id}/tax-status",
        kind: Kind::TaxStatus,
        filters: &[],
    },
    ResourceRoute {
        segment: "tax-compliance-status",
        path: "/v1/links/{id}/tax-compliance-status",
        kind: Kind::TaxComplianceStatus,
        filters: &[],
    },
    ResourceRoute {
        segment: "tax-retentions",
        path: "/v1/links/{id}/tax-retentions",
        kind: Kind::TaxRetentions,
        filters: &[
            ("issued_from", "First issue date, YYYY-MM-DD"),
            ("issued_to", "Last issue date, YYYY-MM-DD"),
        ],
    },
];

const PAGING: [(&str, &str); 2] = [
    ("limit", "Objects per page, 1 to 500 (default 100)"),
    ("cursor", "`next_cursor` of the previous page"),
];

pub(super) fn routes() -> Vec<Route> {
    let mut routes: Vec<Route> = RESOURCES
        .iter()
        .map(|resource| {
            let resource = *resource;
            RouteDoc::new(
                Method::GET,
                resource.path,
                format!("list_{}", resource.segment.replace('-', "_")),
                format!(
                    "The link's {} (Belvo objects), a page at a time",
                    resource.segment
                ),
                "data",
            )
            .query(&PAGING)
            .query(resource.filters)
            .returns("Page")
            .handler(get(
                move |state: State<Arc<AppState>>,
                      user: AuthUser,
                      path: Path<String>,
                      query: Result<Query<Vec<(String, String)>>, QueryRejection>| {
                    list(state, user, path, query, resource)
                },
            ))
        })
        .collect();
    routes.push(
        RouteDoc::new(
            Method::GET,
            "/v1/links/{id}/events",
            "linkEvents",
            "Server-Sent Events: `link` (the link, again whenever its status changes) and `sync` (sync progress)",
            "data",
        )
        .responses(&[(200, "Server-Sent Events")])
        .returns("text/event-stream")
        .handler(get(events)),
    );
    routes
}

/// Parsed query of a resource route.
#[derive(Debug, Default)]
struct Filters {
    page: PageRequest,
    from: String,
    to: String,
    account_id: String,
    categories: Vec<String>,
    types: Vec<String>,
    statuses: Vec<String>,
}

fn parse_query(
    resource: &ResourceRoute,
    query: Vec<(String, String)>,
) -> Result<Filters, ApiError> {
    let mut filters = Filters::default();
    for (key, value) in query {
        let values = || {
            value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        match key.as_str() {
            "limit" => {
                filters.page.page_size = value
                    .parse::<i32>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| ApiError::field("limit", "must be a number from 1 to 500"))?;
            }
            "cursor" => filters.page.page_token = value,
            _ if !resource.filters.iter().any(|(name, _)| *name == key) => {
                return Err(ApiError::field(
                    key.clone(),
                    format!("unknown query parameter for {}", resource.segment),
                ));
            }
            name if name.ends_with("_from") || name.ends_with("_to") => {
                if chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d").is_err() {
                    return Err(ApiError::field(key.clone(), "must be a date, YYYY-MM-DD"));
                }
                if name.ends_with("_from") {
                    filters.from = value;
                } else {
                    filters.to = value;
                }
            }
            "account_id" => filters.account_id = value,
            "category" => filters.categories.extend(values()),
            "type" => filters.types.extend(values()),
            "status" => filters.statuses.extend(values()),
            _ => return Err(ApiError::field(key.clone(), "unsupported query parameter")),
        }
    }
    Ok(filters)
}

async fn list(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    resource: ResourceRoute,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| super::query_error(&e))?;
    let filters = parse_query(&resource, query)?;
    check_owned(&state, &user, &id).await?;
    let (records, next) = fetch(&state, resource.kind, id, user.id, filters).await?;
    let next = (!next.is_empty()).then_some(next);
    Ok(Json(views::Page {
        data: views::records(&records)?,
        has_more: next.is_some(),
        next_cursor: next,
    })
    .into_response())
}

async fn fetch(
    state: &AppState,
    kind: Kind,
    link_id: String,
    owner: String,
    f: Filters,
) -> Result<(Vec<Record>, String), tonic::Status> {
    let mut data = state.services.data.clone();
    let page = Some(f.page);
    let range = || {
        (!f.from.is_empty() || !f.to.is_empty()).then(|| DateRange {
            from: f.from.clone(),
            to: f.to.clone(),
        })
    };
    macro_rules! call {
        ($method:ident, $request:expr) => {{
            let r = data.$method(request($request)).await?.into_inner();
            Ok((r.records, r.next_page_token))
        }};
    }
    match kind {
        Kind::Accounts => call!(
            list_accounts,
            ListAccountsRequest {
                link_id,
                owner,
                page,
                categories: f.categories.clone(),
            }
        ),
        Kind::Transactions => call!(
            list_transactions,
            ListTransactionsRequest {
                link_id,
                owner,
                page,
                value_date: range(),
                account_id: f.account_id.clone(),
                types: f.types.clone(),
                statuses: f.statuses.clone(),
            }
        ),
        Kind::Balances => call!(
            list_balances,
            ListBalancesRequest {
                link_id,
                owner,
                page,
                value_date: range(),
                account_id: f.account_id.clone(),
            }
        ),
        Kind::Owners => call!(
            list_owners,
            ListOwnersRequest {
                link_id,
                owner,
                page
            }
        ),
        Kind::Incomes => call!(
            list_incomes,
            ListIncomesRequest {
                link_id,
                owner,
                page
            }
        ),
        Kind::RecurringExpenses => call!(
            list_recurring_expenses,
            ListRecurringExpensesRequest {
                link_id,
                owner,
                page,
                account_id: f.account_id.clone(),
            }
        ),
        Kind::RiskInsights => call!(
            list_risk_insights,
            ListRiskInsightsRequest {
                link_id,
                owner,
                page
            }
        ),
        Kind::EmploymentRecords => call!(
            list_employment_records,
            ListEmploymentRecordsRequest {
                link_id,
                owner,
                page,
            }
        ),
        Kind::Invoices => call!(
            list_invoices,
            ListInvoicesRequest {
                link_id,
                owner,
                page,
                invoice_date: range(),
                types: f.types.clone(),
                statuses: f.statuses.clone(),
            }
        ),
        Kind::TaxReturns => call!(
            list_tax_returns,
            ListTaxReturnsRequest {
                link_id,
                owner,
                page,
                types: f.types.clone(),
            }
        ),
        Kind::TaxStatus => call!(
            list_tax_status,
            ListTaxStatusRequest {
                link_id,
                owner,
                page
            }
        ),
        Kind::TaxComplianceStatus => call!(
            list_tax_compliance_status,
            ListTaxComplianceStatusRequest {
                link_id,
                owner,
                page,
            }
        ),
        Kind::TaxRetentions => call!(
            list_tax_retentions,
            ListTaxRetentionsRequest {
                link_id,
                owner,
                page,
                issued: range(),
            }
        ),
    }
}

async fn events(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let link = owned_link(&state, &user, &id).await?;
    let watch = state
        .services
        .data
        .clone()
        .watch_sync_status(request(WatchSyncStatusRequest {
            link_id: id.clone(),
            owner: user.id.clone(),
        }))
        .await?
        .into_inner();
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    let task_state = Arc::clone(&state);
    tokio::spawn(
        async move {
            let mut watch = watch;
            let mut status = link.status;
            if tx
                .send(json_event("link", views::link(&link)))
                .await
                .is_err()
            {
                return;
            }
            let mut poll = tokio::time::interval(task_state.config.server.sse_link_poll);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            poll.tick().await;
            loop {
                let next = tokio::select! {
                    next = watch.next() => Some(next),
                    _ = poll.tick() => None,
                    () = tx.closed() => return,
                    () = task_state.shutdown.triggered() => return,
                };
                if let Some(next) = next {
                    let update = match next {
                        Some(Ok(update)) => update,
                        Some(Err(status)) => {
                            tracing::warn!(code = ?status.code(), "sync status stream failed");
                            let _ = tx
                                .send(json_event(
                                    "error",
                                    json!({"code": crate::error::code_name(status.code())}),
                                ))
                                .await;
                            return;
                        }
                        None => return,
                    };
                    if let Some(sync) = &update.link
                        && tx
                            .send(json_event("sync", views::link_sync(sync)))
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
                // On a sync update and on every poll tick: the link's status may have changed
                // (Belvo's LINK webhooks); send it when it did.
                let current = task_state
                    .services
                    .link
                    .clone()
                    .get_link(request(GetLinkRequest {
                        link_id: link.link_id.clone(),
                        owner: user.id.clone(),
                    }))
                    .await;
                if let Ok(response) = current
                    && let Some(current) = response.into_inner().link
                    && current.status != status
                {
                    status = current.status;
                    if tx
                        .send(json_event("link", views::link(&current)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        .instrument(tracing::Span::current()),
    );
    let stream = ReceiverStream::new(rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(state.config.server.sse_keep_alive)))
}

fn json_event(name: &str, data: Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn filters_are_checked_per_resource() {
        let transactions = &RESOURCES[1];
        let f = parse_query(
            transactions,
            query(&[
                ("limit", "10"),
                ("value_date_from", "2024-01-01"),
                ("type", "INFLOW,OUTFLOW"),
            ]),
        )
        .unwrap();
        assert_eq!(f.page.page_size, 10);
        assert_eq!(f.from, "2024-01-01");
        assert_eq!(f.types, ["INFLOW", "OUTFLOW"]);
        let owners = &RESOURCES[3];
        match parse_query(owners, query(&[("type", "x")])) {
            Err(ApiError::InvalidField { field, .. }) => assert_eq!(field, "type"),
            other => panic!("{other:?}"),
        }
        match parse_query(transactions, query(&[("value_date_to", "2024-13-01")])) {
            Err(ApiError::InvalidField { field, .. }) => assert_eq!(field, "value_date_to"),
            other => panic!("{other:?}"),
        }
        match parse_query(transactions, query(&[("limit", "501")])) {
            Err(ApiError::InvalidField { field, .. }) => assert_eq!(field, "limit"),
            other => panic!("{other:?}"),
        }
    }
}
