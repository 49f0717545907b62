//! The stored data of a link, one route per entry of [`resources::Resource::ALL`]
//! (`GET /v1/links/{id}/accounts`, ...), each with `limit`, `cursor` and the resource's
//! filters under their public names, answered with Belvo's objects and paging info through
//! data-service `ListRecords`; `GET /v1/resources`, that table as JSON for the web app;
//! `GET /v1/links/{id}/changes`, what was added, modified and removed since a cursor
//! (data-service `ListChanges`); and `GET /v1/links/{id}/events`, a Server-Sent Events stream
//! of the link's sync progress and status (data-service `WatchSyncStatus`).

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse as _;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use connect_proto::data::v1::{
    DateRange, ListChangesRequest, ListRecordsRequest, PageRequest, WatchSyncStatusRequest,
};
use connect_proto::link::v1::WatchLinkRequest;
use futures::Stream;
use http::Method;
use resources::{Choice, Resource};
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument as _;

use super::api::check_owned;
use super::{Route, RouteDoc};
use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::services::request;
use crate::views;

/// One filter of a resource route, derived from the resource's [`resources::Filters`]: what
/// its query parameter is called, what it takes, and which `ListRecordsRequest` field it sets.
#[derive(Debug, Clone, Copy)]
enum Filter {
    /// `<date>_from`: the first day of the resource's date (`DateRange.from`).
    From(&'static str),
    /// `<date>_to`: the last day (`DateRange.to`).
    To(&'static str),
    /// `account_id`.
    Account,
    /// The type (or category) choice (`types`).
    Kind(Choice),
    /// The status choice (`statuses`).
    Status(Choice),
}

impl Filter {
    /// The resource's filters, in the order they are documented: date range, account, type,
    /// status.
    fn of(resource: &Resource) -> Vec<Self> {
        let f = &resource.filters;
        let mut filters = Vec::new();
        if let Some(date) = f.date {
            filters.extend([Self::From(date), Self::To(date)]);
        }
        if f.account {
            filters.push(Self::Account);
        }
        filters.extend(f.kind.map(Self::Kind));
        filters.extend(f.status.map(Self::Status));
        filters
    }

    /// The public query parameter.
    fn name(&self) -> Cow<'static, str> {
        match self {
            Self::From(date) => format!("{date}_from").into(),
            Self::To(date) => format!("{date}_to").into(),
            Self::Account => "account_id".into(),
            Self::Kind(choice) | Self::Status(choice) => choice.name.into(),
        }
    }

    /// What `GET /v1/resources` calls the kind of value it takes.
    const fn kind(&self) -> &'static str {
        match self {
            Self::From(_) | Self::To(_) => "date",
            Self::Account => "account",
            Self::Kind(_) | Self::Status(_) => "choice",
        }
    }

    /// Its OpenAPI description.
    fn description(&self) -> String {
        match self {
            Self::From(date) => format!("First `{date}` day, YYYY-MM-DD (inclusive)"),
            Self::To(date) => {
                format!("Last `{date}` day, YYYY-MM-DD (inclusive; not before `{date}_from`)")
            }
            Self::Account => "Only this account's objects (the account's `id`)".to_owned(),
            Self::Kind(choice) | Self::Status(choice) => format!(
                "Any of these, comma-separated: {} (other values match nothing)",
                choice.values.join(", ")
            ),
        }
    }

    /// Its entry in `GET /v1/resources`.
    fn json(&self) -> Value {
        let mut filter = json!({"name": self.name(), "kind": self.kind()});
        if let Self::Kind(choice) | Self::Status(choice) = self {
            filter["values"] = json!(choice.values);
        }
        filter
    }
}

const PAGING: [(&str, &str); 2] = [
    ("limit", "Objects per page, 1 to 500 (default 100)"),
    ("cursor", "`next_cursor` of the previous page"),
];

pub(super) fn routes() -> Vec<Route> {
    let mut routes: Vec<Route> = Resource::ALL.iter().map(resource_route).collect();
    routes.push(
        RouteDoc::new(
            Method::GET,
            "/v1/resources",
            "listResources",
            "The Belvo resources the platform serves, in display order: URL segment, Belvo's name, product and filters",
            "data",
        )
        .returns("ResourceList")
        .handler(get(list_resources)),
    );
    routes.push(
        RouteDoc::new(
            Method::GET,
            "/v1/links/{id}/changes",
            "listChanges",
            "What was added to, modified in and removed from the link's data since a cursor, oldest first; from an empty cursor every stored object, as added",
            "data",
        )
        .query(&[
            ("cursor", "Empty: from the beginning. Else a `next_cursor` of this link: follow it until `has_more` is false, then keep it to list later exactly what changed since"),
            ("resources", "Only these resources (URL segments, comma-separated or repeated: `transactions,recurring-expenses`); default: all. Any resources may follow one cursor"),
            ("page_size", "Changes per page, 1 to 500 (default 100)"),
        ])
        .responses(&[
            (200, "A page of changes"),
            (400, "A bad parameter, named in `field` (`cursor`: not a cursor of this link)"),
            (404, "No such link of the user"),
            (409, "`CURSOR_EXPIRED`: the cursor is older than the change retention; list again from an empty cursor"),
        ])
        .returns("ChangePage")
        .handler(get(changes)),
    );
    routes.push(
        RouteDoc::new(
            Method::GET,
            "/v1/links/{id}/events",
            "linkEvents",
            "Server-Sent Events: `link` (the link, again whenever its status changes) and `sync` (sync progress), until the token expires",
            "data",
        )
        .responses(&[
            (200, "Server-Sent Events"),
            (429, "The user holds too many open streams; see Retry-After"),
        ])
        .returns("text/event-stream")
        .handler(get(events)),
    );
    routes
}

/// `GET /v1/links/{id}/<segment>` of one resource.
fn resource_route(resource: &'static Resource) -> Route {
    let mut doc = RouteDoc::new(
        Method::GET,
        format!("/v1/links/{{id}}/{}", resource.segment),
        format!("list_{}", resource.segment.replace('-', "_")),
        format!(
            "The link's {} (Belvo objects), a page at a time",
            resource.segment
        ),
        "data",
    )
    .query(&PAGING)
    .returns("Page");
    for filter in Filter::of(resource) {
        doc = doc.query_param(filter.name(), filter.description());
    }
    doc.handler(get(
        move |state: State<Arc<AppState>>,
              user: AuthUser,
              path: Path<String>,
              query: Result<Query<Vec<(String, String)>>, QueryRejection>| {
            list(state, user, path, query, resource)
        },
    ))
}

/// `GET /v1/resources`: the resource table, as the web app builds its tabs and filters from it.
async fn list_resources(_user: AuthUser) -> Json<Value> {
    let data: Vec<Value> = Resource::ALL
        .iter()
        .map(|resource| {
            json!({
                "resource": resource.segment,
                "belvo_name": resource.name,
                "product": resource.product.as_str(),
                "filters": Filter::of(resource).iter().map(Filter::json).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({ "data": data }))
}

/// The query of a resource route as a `ListRecordsRequest` (without link and owner): paging,
/// and each filter the resource takes; anything else is a 400 naming the parameter. A date
/// range is checked here (`from` not after `to`), so its violation names the resource's own
/// parameter (`value_date_to`).
fn parse_query(
    resource: &Resource,
    query: Vec<(String, String)>,
) -> Result<ListRecordsRequest, ApiError> {
    let filters = Filter::of(resource);
    let mut page = PageRequest::default();
    let mut range = DateRange::default();
    let mut out = ListRecordsRequest {
        resource: resource.id as i32,
        ..ListRecordsRequest::default()
    };
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
                page.page_size = value
                    .parse::<i32>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| ApiError::field("limit", "must be a number from 1 to 500"))?;
                continue;
            }
            "cursor" => {
                page.page_token = value;
                continue;
            }
            _ => {}
        }
        let Some(filter) = filters.iter().find(|f| f.name() == key) else {
            return Err(ApiError::field(
                key,
                format!("unknown query parameter for {}", resource.segment),
            ));
        };
        match filter {
            Filter::From(_) | Filter::To(_) => {
                if chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d").is_err() {
                    return Err(ApiError::field(key, "must be a date, YYYY-MM-DD"));
                }
                if matches!(filter, Filter::From(_)) {
                    range.from = value;
                } else {
                    range.to = value;
                }
            }
            Filter::Account => out.account_id = value,
            Filter::Kind(_) => out.types.extend(values()),
            Filter::Status(_) => out.statuses.extend(values()),
        }
    }
    if let Some(date) = resource.filters.date {
        // YYYY-MM-DD compares as text.
        if !range.from.is_empty() && !range.to.is_empty() && range.from > range.to {
            return Err(ApiError::field(
                format!("{date}_to"),
                format!("must not be before `{date}_from`"),
            ));
        }
        if !range.from.is_empty() || !range.to.is_empty() {
            out.date = Some(range);
        }
    }
    out.page = Some(page);
    Ok(out)
}

/// The public query parameter of a `ListRecordsRequest` field that data-service named in a
/// violation (`date.to` → `value_date_to`, `types` → `category` for accounts); `None` for a
/// field this resource does not name differently (the gateway-wide names apply).
fn public_field(resource: &Resource, field: &str) -> Option<String> {
    let base = field.split('[').next().unwrap_or(field);
    let f = &resource.filters;
    match base {
        "date.from" => f.date.map(|date| format!("{date}_from")),
        "date.to" => f.date.map(|date| format!("{date}_to")),
        "types" => f.kind.map(|choice| choice.name.to_owned()),
        "statuses" => f.status.map(|choice| choice.name.to_owned()),
        _ => None,
    }
}

async fn list(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    resource: &'static Resource,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| super::query_error(&e))?;
    let filters = parse_query(resource, query)?;
    check_owned(&state, &user, &id).await?;
    let page = state
        .services
        .data
        .clone()
        .list_records(request(ListRecordsRequest {
            link_id: id,
            owner: user.id,
            ..filters
        }))
        .await
        .map_err(|status| ApiError::upstream_renamed(status, |f| public_field(resource, f)))?
        .into_inner();
    let next = (!page.next_page_token.is_empty()).then_some(page.next_page_token);
    Ok(Json(views::Page {
        data: views::records(&page.records)?,
        has_more: next.is_some(),
        next_cursor: next,
    })
    .into_response())
}

/// The query of `GET /v1/links/{id}/changes` as a `ListChangesRequest` (without link and
/// owner); anything else is a 400 naming the parameter.
fn parse_changes_query(query: Vec<(String, String)>) -> Result<ListChangesRequest, ApiError> {
    let mut out = ListChangesRequest::default();
    for (key, value) in query {
        match key.as_str() {
            "cursor" => out.cursor = value,
            "resources" => {
                for segment in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let resource = Resource::from_segment(segment).ok_or_else(|| {
                        ApiError::field(
                            "resources",
                            format!("`{segment}` is not a resource (see GET /v1/resources)"),
                        )
                    })?;
                    out.resources.push(resource.id as i32);
                }
            }
            "page_size" => {
                out.page_size = value
                    .parse::<i32>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| {
                        ApiError::field("page_size", "must be a number from 1 to 500")
                    })?;
            }
            _ => {
                return Err(ApiError::field(
                    key,
                    "unknown query parameter (cursor, resources, page_size)",
                ));
            }
        }
    }
    Ok(out)
}

/// The public query parameter of a `ListChangesRequest` field data-service named in a
/// violation (`resources[1]` → `resources`); the gateway-wide names would call `page_size`
/// `limit`.
fn changes_field(field: &str) -> Option<String> {
    let base = field.split('[').next().unwrap_or(field);
    matches!(base, "cursor" | "resources" | "page_size").then(|| base.to_owned())
}

/// `GET /v1/links/{id}/changes`: one page of data-service's `ListChanges` for the user's link.
/// An expired cursor is data-service's `FAILED_PRECONDITION` `CURSOR_EXPIRED`: a 409 with that
/// code, whose message says to list again from an empty cursor.
async fn changes(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| super::query_error(&e))?;
    let wanted = parse_changes_query(query)?;
    check_owned(&state, &user, &id).await?;
    let page = state
        .services
        .data
        .clone()
        .list_changes(request(ListChangesRequest {
            link_id: id,
            owner: user.id,
            ..wanted
        }))
        .await
        .map_err(|status| ApiError::upstream_renamed(status, changes_field))?
        .into_inner();
    let mut changes = Vec::with_capacity(page.changes.len());
    for change in &page.changes {
        changes.extend(views::change(change)?);
    }
    Ok(Json(views::ChangePage {
        changes,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    })
    .into_response())
}

async fn events(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Both pushed by the services, from whichever replica changed them: the link's status
    // (link-service's WatchLink) and its sync progress (data-service's WatchSyncStatus).
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::NotFound);
    }
    // Held by the stream's task: a user's open streams are capped, and each ends with its
    // token (the client then signs in again, or reconnects with a fresh token).
    let held = state
        .event_streams
        .take(&user.id)
        .ok_or(ApiError::RateLimited {
            retry_after: STREAM_RETRY_AFTER,
        })?;
    let expires = tokio::time::Instant::now()
        + user
            .expires_at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
    let mut links = state
        .services
        .link
        .clone()
        .watch_link(request(WatchLinkRequest {
            link_id: id.clone(),
            owner: user.id.clone(),
        }))
        .await?
        .into_inner();
    // The link as it is now, first (WatchLink's NOT_FOUND has answered another user already).
    let link = links
        .message()
        .await?
        .and_then(|m| m.link)
        .ok_or_else(|| ApiError::Unavailable("link-service ended the link stream".into()))?;
    let mut syncs = state
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
    let shutdown = state.shutdown.clone();
    tokio::spawn(
        async move {
            let _held = held;
            if tx
                .send(json_event("link", views::link(&link)))
                .await
                .is_err()
            {
                return;
            }
            loop {
                let (name, next) = tokio::select! {
                    next = links.next() => ("link", next.map(|m| m.map(|m| m.link.map(|l| views::link(&l))))),
                    next = syncs.next() => ("sync", next.map(|m| m.map(|m| m.link.map(|s| views::link_sync(&s))))),
                    () = tx.closed() => return,
                    () = shutdown.triggered() => return,
                    () = tokio::time::sleep_until(expires) => return,
                };
                let event = match next {
                    Some(Ok(Some(view))) => json_event(name, view),
                    Some(Ok(None)) => continue,
                    Some(Err(status)) => {
                        tracing::warn!(stream = name, code = ?status.code(), "a watch stream failed");
                        json_event("error", json!({"code": crate::error::code_name(status.code())}))
                    }
                    // A service shut down: the client reconnects (EventSource does).
                    None => return,
                };
                let failed = name == "error";
                if tx.send(event).await.is_err() || failed {
                    return;
                }
            }
        }
        .instrument(tracing::Span::current()),
    );
    let stream = ReceiverStream::new(rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(state.config.server.sse_keep_alive)))
}

/// When a user holding too many event streams may try again.
const STREAM_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

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

    fn of(id: connect_proto::data::v1::Resource) -> &'static Resource {
        Resource::of(id).unwrap()
    }

    fn field_of(result: Result<ListRecordsRequest, ApiError>) -> String {
        match result {
            Err(ApiError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    /// The public names are an API: they stay what clients (and the web app) were given
    /// before the table existed.
    #[test]
    fn every_resource_keeps_its_public_parameter_names() {
        use connect_proto::data::v1::Resource as R;
        let expected: &[(R, &[&str])] = &[
            (R::Accounts, &["category"]),
            (
                R::Transactions,
                &[
                    "value_date_from",
                    "value_date_to",
                    "account_id",
                    "type",
                    "status",
                ],
            ),
            (
                R::Balances,
                &["value_date_from", "value_date_to", "account_id"],
            ),
            (R::Owners, &[]),
            (R::Incomes, &[]),
            (R::RecurringExpenses, &["account_id"]),
            (R::RiskInsights, &[]),
            (R::EmploymentRecords, &[]),
            (
                R::Invoices,
                &["invoice_date_from", "invoice_date_to", "type", "status"],
            ),
            (R::TaxReturns, &["type"]),
            (R::TaxStatus, &[]),
            (R::TaxComplianceStatus, &[]),
            (R::TaxRetentions, &["issued_from", "issued_to"]),
        ];
        assert_eq!(expected.len(), Resource::ALL.len());
        for (id, names) in expected {
            let filters: Vec<_> = Filter::of(of(*id)).iter().map(Filter::name).collect();
            assert_eq!(filters, *names, "{id:?}");
        }
    }

    #[test]
    fn a_query_becomes_one_list_records_request() {
        use connect_proto::data::v1::Resource as R;
        let f = parse_query(
            of(R::Transactions),
            query(&[
                ("limit", "10"),
                ("cursor", "abc"),
                ("value_date_from", "2024-01-01"),
                ("value_date_to", "2024-01-31"),
                ("account_id", "acc-1"),
                ("type", "INFLOW, OUTFLOW"),
                ("status", "PENDING"),
                ("status", "PROCESSED,"),
            ]),
        )
        .unwrap();
        assert_eq!(f.resource, R::Transactions as i32);
        let page = f.page.unwrap();
        assert_eq!((page.page_size, page.page_token.as_str()), (10, "abc"));
        let date = f.date.unwrap();
        assert_eq!(
            (date.from.as_str(), date.to.as_str()),
            ("2024-01-01", "2024-01-31")
        );
        assert_eq!(f.account_id, "acc-1");
        assert_eq!(f.types, ["INFLOW", "OUTFLOW"]);
        assert_eq!(f.statuses, ["PENDING", "PROCESSED"]);
        assert!(f.link_id.is_empty() && f.owner.is_empty());

        // Accounts' `category` is the request's `types`; an open-ended range is sent as is.
        let f = parse_query(of(R::Accounts), query(&[("category", "CREDIT_CARD")])).unwrap();
        assert_eq!(f.types, ["CREDIT_CARD"]);
        assert_eq!(f.date, None);
        let f = parse_query(of(R::TaxRetentions), query(&[("issued_to", "2024-02-29")])).unwrap();
        assert_eq!(
            f.date,
            Some(DateRange {
                from: String::new(),
                to: "2024-02-29".into()
            })
        );
        // No filter: paging only (data-service's default size).
        let f = parse_query(of(R::Owners), Vec::new()).unwrap();
        assert_eq!(f.page, Some(PageRequest::default()));
        assert_eq!(f.date, None);
    }

    #[test]
    fn bad_queries_name_the_parameter() {
        use connect_proto::data::v1::Resource as R;
        // The resource, its query, the parameter named.
        type Case = (R, &'static [(&'static str, &'static str)], &'static str);
        let cases: &[Case] = &[
            (R::Owners, &[("type", "x")], "type"),
            (R::Accounts, &[("type", "x")], "type"),
            (R::Transactions, &[("category", "x")], "category"),
            (R::Invoices, &[("account_id", "a")], "account_id"),
            (R::Balances, &[("status", "x")], "status"),
            (
                R::Invoices,
                &[("value_date_from", "2024-01-01")],
                "value_date_from",
            ),
            (
                R::Transactions,
                &[("value_date_to", "2024-13-01")],
                "value_date_to",
            ),
            (
                R::TaxRetentions,
                &[("issued_from", "01/02/2024")],
                "issued_from",
            ),
            (
                R::Invoices,
                &[
                    ("invoice_date_from", "2024-02-01"),
                    ("invoice_date_to", "2024-01-31"),
                ],
                "invoice_date_to",
            ),
            (R::Transactions, &[("limit", "501")], "limit"),
            (R::Transactions, &[("limit", "0")], "limit"),
            (R::Accounts, &[("limit", "abc")], "limit"),
        ];
        for (id, pairs, field) in cases {
            assert_eq!(
                field_of(parse_query(of(*id), query(pairs))),
                *field,
                "{id:?} {pairs:?}"
            );
        }
        // The same day on both ends is a range of one day.
        let one_day = [
            ("value_date_from", "2024-01-01"),
            ("value_date_to", "2024-01-01"),
        ];
        assert!(parse_query(of(R::Balances), query(&one_day)).is_ok());
    }

    #[test]
    fn data_service_fields_get_the_resources_public_names() {
        use connect_proto::data::v1::Resource as R;
        let name = |id, field| public_field(of(id), field);
        assert_eq!(
            name(R::Transactions, "date.to").as_deref(),
            Some("value_date_to")
        );
        assert_eq!(
            name(R::TaxRetentions, "date.from").as_deref(),
            Some("issued_from")
        );
        assert_eq!(name(R::Accounts, "types[0]").as_deref(), Some("category"));
        assert_eq!(name(R::TaxReturns, "types").as_deref(), Some("type"));
        assert_eq!(name(R::Invoices, "statuses[1]").as_deref(), Some("status"));
        assert_eq!(name(R::Owners, "types"), None);
        assert_eq!(name(R::Transactions, "page.page_size"), None);
    }

    #[test]
    fn the_resource_list_describes_each_filter() {
        use connect_proto::data::v1::Resource as R;
        let json: Vec<Value> = Filter::of(of(R::Transactions))
            .iter()
            .map(Filter::json)
            .collect();
        assert_eq!(
            json,
            [
                json!({"name": "value_date_from", "kind": "date"}),
                json!({"name": "value_date_to", "kind": "date"}),
                json!({"name": "account_id", "kind": "account"}),
                json!({"name": "type", "kind": "choice", "values": ["INFLOW", "OUTFLOW"]}),
                json!({"name": "status", "kind": "choice", "values": ["PROCESSED", "PENDING", "UNCATEGORIZED"]}),
            ]
        );
        let description = Filter::of(of(R::Accounts))[0].description();
        assert!(
            description.contains("CHECKING_ACCOUNT, SAVINGS_ACCOUNT"),
            "{description}"
        );
    }
}
