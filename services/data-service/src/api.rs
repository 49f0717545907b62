//! The `connect.data.v1.DataService` handlers: validation, the mapping of stored rows to
//! protobuf, and one exhaustive mapping from data-service errors to `tonic::Status`.

use std::future::Future;
use std::pin::Pin;

use connect_proto::data::v1 as pb;
use connect_proto::data::v1::data_service_server::DataService;
use futures::Stream;
use grpc_runtime::status::{FieldViolations, internal, invalid_field, platform_error, request_id};
use grpc_runtime::{Admits, Gate};
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status};

use crate::inbox::{Inbox, IngestError, timestamp};
use crate::resource::Resource;
use crate::store::{
    Change, ChangeKind, Ingested, LinkRow, RecordFilter, StatusRow, StoreError, StoredRecord,
    StoredWebhook, SyncState, WebhookFilter, WebhookState, now_ms,
};

/// The handlers.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub(crate) inbox: Inbox,
    /// Who may call what; records operator calls.
    pub(crate) gate: Gate,
}

/// The callers of the user-facing RPCs, of webhooks, and of link-service's notices.
const GATEWAY: &[&str] = &["gateway"];
const LINK_SERVICE: &[&str] = &["link-service"];

/// `ErrorInfo.reason`s of `FAILED_PRECONDITION` from ListChanges and WatchChanges.
const CURSOR_EXPIRED: &str = "CURSOR_EXPIRED";
const CHANGE_LOG_OFF: &str = "CHANGE_LOG_OFF";
/// Links one WatchChanges stream may follow.
const MAX_WATCHED_LINKS: usize = 100;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("invalid request")]
    Invalid(FieldViolations),
    #[error("link {0} not found")]
    LinkNotFound(String),
    #[error("webhook {0} not found")]
    WebhookNotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(IngestError),
}

impl ApiError {
    fn field(field: &str, description: &str) -> Self {
        let mut v = FieldViolations::new();
        v.add(field, description);
        Self::Invalid(v)
    }

    fn into_status(self, request_id: Option<&str>) -> Status {
        match self {
            Self::Invalid(violations) => violations.into_status(),
            Self::LinkNotFound(id) => Status::not_found(format!("link {id} not found")),
            Self::WebhookNotFound(id) => Status::not_found(format!("webhook {id} not found")),
            Self::Store(StoreError::BadPageToken) => {
                invalid_field("page.page_token", "not a token this service issued")
            }
            Self::Store(e) | Self::Ingest(IngestError::Store(e)) if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                Status::unavailable("the database is unavailable; try again")
            }
            Self::Store(StoreError::BadCursor(why)) => invalid_field("cursor", why),
            Self::Store(StoreError::CursorExpired) => platform_error(
                Code::FailedPrecondition,
                "the cursor has expired: changes after it are past the change retention; \
                 list again from an empty cursor",
                CURSOR_EXPIRED,
            ),
            Self::Store(StoreError::ChangeLogOff) => platform_error(
                Code::FailedPrecondition,
                "this data-service keeps no change log (sync.change_log = false)",
                CHANGE_LOG_OFF,
            ),
            Self::Store(
                e @ (StoreError::Database(_) | StoreError::LeaseLost | StoreError::Sealed(_)),
            ) => internal(request_id, &e),
            Self::Ingest(IngestError::NotAWebhook(e)) => {
                invalid_field("body", &format!("not a Belvo webhook envelope: {e}"))
            }
            Self::Ingest(IngestError::UnknownRegion(region)) => {
                invalid_field("region", &format!("region `{region}` is not configured"))
            }
            Self::Ingest(IngestError::Store(e)) => internal(request_id, &e),
            Self::Ingest(IngestError::NotStored { unavailable: true }) => {
                Status::unavailable("the database is unavailable; try again")
            }
            Self::Ingest(e @ IngestError::NotStored { .. }) => internal(request_id, &e),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn respond<T>(request_id: Option<String>, result: ApiResult<T>) -> Result<Response<T>, Status> {
    result
        .map(Response::new)
        .map_err(|e| e.into_status(request_id.as_deref()))
}

/// Runs a handler body on the request's message and answers with its result, mapping errors
/// (with the call's request id) through [`ApiError::into_status`].
async fn handle<Req, T, Fut>(
    request: Request<Req>,
    body: impl FnOnce(Req) -> Fut,
) -> Result<Response<T>, Status>
where
    Fut: Future<Output = ApiResult<T>>,
{
    let id = request_id(&request).map(str::to_owned);
    respond(id, body(request.into_inner()).await)
}

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: i32 = 500;

/// Page size and token from a request.
fn page(page: Option<&pb::PageRequest>, v: &mut FieldViolations) -> (usize, Option<String>) {
    let Some(p) = page else {
        return (DEFAULT_PAGE, None);
    };
    v.check(
        (0..=MAX_PAGE).contains(&p.page_size),
        "page.page_size",
        "must be 0 (default 100) to 500",
    );
    let size = if p.page_size <= 0 {
        DEFAULT_PAGE
    } else {
        p.page_size.min(MAX_PAGE) as usize
    };
    let token = (!p.page_token.is_empty()).then(|| p.page_token.clone());
    (size, token)
}

fn date(value: &str, field: &str, v: &mut FieldViolations) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    let ok = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() && value.len() == 10;
    v.check(ok, field, "must be a date YYYY-MM-DD");
    Some(value.to_owned())
}

fn range(
    r: Option<&pb::DateRange>,
    field: &str,
    v: &mut FieldViolations,
) -> (Option<String>, Option<String>) {
    let Some(r) = r else { return (None, None) };
    let from = date(&r.from, &format!("{field}.from"), v);
    let to = date(&r.to, &format!("{field}.to"), v);
    if let (Some(f), Some(t)) = (&from, &to) {
        v.check(f <= t, &format!("{field}.to"), "must not be before `from`");
    }
    (from, to)
}

/// The resources of a request's `resources`, each unknown one a violation.
fn resources(values: &[i32], v: &mut FieldViolations) -> Vec<&'static Resource> {
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match Resource::from_proto(*value) {
            Some(resource) => out.push(resource),
            None => {
                v.add(
                    format!("resources[{i}]"),
                    "not a resource data-service stores",
                );
            }
        }
    }
    out
}

fn check_link_id(link_id: &str, v: &mut FieldViolations) {
    v.check(
        uuid::Uuid::parse_str(link_id).is_ok(),
        "link_id",
        "must be a Belvo link id (UUID)",
    );
}

/// Counts a stream as open until it is dropped (its task ended).
struct OpenStream(prometheus::IntGauge);

impl OpenStream {
    fn new(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What a `WatchSyncStatus` stream follows: one link, or every link of an owner.
struct Watched {
    link_id: String,
    owner: String,
}

impl Watched {
    /// Every link it follows.
    async fn links(&self, api: &Api) -> ApiResult<Vec<LinkRow>> {
        if self.link_id.is_empty() {
            Ok(api.inbox.engine.store.links_of(&self.owner).await?)
        } else {
            Ok(vec![api.owned_link(&self.link_id, &self.owner).await?])
        }
    }

    /// `link_id`, if it follows it (none when it does not, or it is gone).
    async fn link(&self, api: &Api, link_id: &str) -> Vec<LinkRow> {
        if !self.link_id.is_empty() && link_id != self.link_id {
            return Vec::new();
        }
        match api.inbox.engine.store.link(link_id).await {
            Ok(Some(link)) if self.owner.is_empty() || link.owner == self.owner => vec![link],
            _ => Vec::new(),
        }
    }
}

impl Api {
    /// The link, if it exists and (when `owner` is given) is the owner's.
    async fn owned_link(&self, link_id: &str, owner: &str) -> ApiResult<LinkRow> {
        let link = self.inbox.engine.store.link(link_id).await?;
        match link {
            Some(link) if owner.is_empty() || link.owner == owner => Ok(link),
            _ => Err(ApiError::LinkNotFound(link_id.to_owned())),
        }
    }

    /// One page of a link's resource: the one read path of `ListRecords` and every typed list.
    /// `date_field` names the date range in violations (`date`, or the typed RPC's own name).
    async fn list(
        &self,
        r: pb::ListRecordsRequest,
        date_field: &str,
    ) -> ApiResult<pb::ListRecordsResponse> {
        let mut v = FieldViolations::new();
        check_link_id(&r.link_id, &mut v);
        let (limit, token) = page(r.page.as_ref(), &mut v);
        let resource = Resource::from_proto(r.resource);
        v.check(
            resource.is_some(),
            "resource",
            "required: a resource data-service stores",
        );
        let Some(resource) = resource else {
            return Err(ApiError::Invalid(v));
        };
        let filters = &resource.filters;
        let mut unsupported = |given: bool, supported: bool, field: &str| {
            if given && !supported {
                v.add(field, format!("{resource} cannot be filtered by {field}"));
            }
        };
        unsupported(r.date.is_some(), filters.date.is_some(), date_field);
        unsupported(!r.account_id.is_empty(), filters.account, "account_id");
        unsupported(!r.types.is_empty(), filters.kind.is_some(), "types");
        unsupported(!r.statuses.is_empty(), filters.status.is_some(), "statuses");
        let (day_from, day_to) = range(r.date.as_ref(), date_field, &mut v);
        if !v.is_empty() {
            return Err(ApiError::Invalid(v));
        }
        let filter = RecordFilter {
            day_from,
            day_to,
            account_id: (!r.account_id.is_empty()).then_some(r.account_id),
            kinds: r.types,
            statuses: r.statuses,
        };
        self.owned_link(&r.link_id, &r.owner).await?;
        let page = self
            .inbox
            .engine
            .store
            .list_records(&r.link_id, resource, &filter, limit, token.as_deref())
            .await?;
        Ok(pb::ListRecordsResponse {
            records: page.records.into_iter().map(record).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        })
    }

    async fn link_sync(&self, link: &LinkRow) -> ApiResult<pb::LinkSync> {
        let rows = self.inbox.engine.store.statuses(&link.link_id).await?;
        Ok(link_sync(
            link,
            &rows,
            self.inbox.engine.config.freshness_margin,
        ))
    }
}

fn record(r: StoredRecord) -> pb::Record {
    let c = r.columns;
    pb::Record {
        id: r.id,
        link_id: r.link_id,
        resource: r.resource.id as i32,
        account_id: c.account_id,
        date: c.day,
        amount: c.amount,
        currency: c.currency,
        r#type: c.kind,
        status: c.status,
        description: c.description,
        belvo_created_at: c.created_at.map(timestamp),
        synced_at: Some(timestamp(r.synced_at)),
        belvo_json: r.body,
    }
}

fn change(c: Change) -> pb::Change {
    pb::Change {
        kind: match c.kind {
            ChangeKind::Added => pb::ChangeKind::Added,
            ChangeKind::Modified => pb::ChangeKind::Modified,
            ChangeKind::Removed => pb::ChangeKind::Removed,
        } as i32,
        resource: c.resource.id as i32,
        id: c.id,
        record: c.record.map(record),
    }
}

fn sync_state(s: SyncState) -> pb::SyncState {
    match s {
        SyncState::Waiting => pb::SyncState::Waiting,
        SyncState::Pending => pb::SyncState::Pending,
        SyncState::Running => pb::SyncState::Running,
        SyncState::Succeeded => pb::SyncState::Succeeded,
        SyncState::Retrying => pb::SyncState::Retrying,
        SyncState::Failed => pb::SyncState::Failed,
    }
}

/// A link's sync state: every resource it fetches (waiting until announced) and any other
/// resource that has a state.
fn link_sync(link: &LinkRow, rows: &[StatusRow], margin: std::time::Duration) -> pb::LinkSync {
    let mut resources: Vec<pb::ResourceSync> = rows
        .iter()
        .map(|s| pb::ResourceSync {
            resource: s.resource.id as i32,
            state: sync_state(s.state) as i32,
            records: s.records,
            records_this_pull: s.records_this_pull,
            expected_records: s.expected_records.unwrap_or_default(),
            last_success_at: s.last_success_at.map(timestamp),
            last_attempt_at: s.last_attempt_at.map(timestamp),
            next_attempt_at: s.next_attempt_at.map(timestamp),
            attempts: s.attempts,
            last_error: s.last_error.clone().unwrap_or_default(),
            last_full_pull_at: s.full_pull_succeeded_at.map(timestamp),
            full_pull_error: s.full_pull_error.clone().unwrap_or_default(),
            error_code: s.last_error_code.clone().unwrap_or_default(),
        })
        .collect();
    for resource in crate::resource::stored_resources(&link.fetch_resources) {
        if !rows.iter().any(|s| s.resource == resource) {
            resources.push(pb::ResourceSync {
                resource: resource.id as i32,
                state: pb::SyncState::Waiting as i32,
                ..Default::default()
            });
        }
    }
    resources.sort_by_key(|r| r.resource);
    pb::LinkSync {
        link_id: link.link_id.clone(),
        owner: link.owner.clone(),
        resources,
        last_webhook_at: link.last_webhook_at.map(timestamp),
        stale: crate::watchdog::is_stale(link, now_ms(), margin),
    }
}

fn webhook_state(s: WebhookState) -> pb::WebhookState {
    match s {
        WebhookState::Received => pb::WebhookState::Received,
        WebhookState::Processed => pb::WebhookState::Processed,
        WebhookState::Held => pb::WebhookState::Held,
        WebhookState::Ignored => pb::WebhookState::Ignored,
        WebhookState::Failed => pb::WebhookState::Failed,
    }
}

fn webhook(w: StoredWebhook) -> pb::WebhookEvent {
    pb::WebhookEvent {
        webhook_id: w.webhook_id,
        region: w.region,
        link_id: w.link_id,
        webhook_type: w.webhook_type,
        webhook_code: w.webhook_code,
        process_type: w.process_type.unwrap_or_default(),
        request_id: w.request_id.unwrap_or_default(),
        state: webhook_state(w.state) as i32,
        error: w.error.unwrap_or_default(),
        deliveries: w.deliveries,
        received_at: Some(timestamp(w.received_at)),
        processed_at: w.processed_at.map(timestamp),
        body: w.body.into_bytes(),
    }
}

/// A typed list RPC: its request as a `ListRecordsRequest` for one resource.
macro_rules! list_rpc {
    ($method:ident, $req:ident, $resp:ident, $resource:ident, |$r:ident| { $($field:ident: $value:expr),* $(,)? }) => {
        // Written out as `async_trait` would expand it: the attribute does not see methods
        // that a macro produces.
        fn $method<'life0, 'async_trait>(
            &'life0 self,
            request: Request<pb::$req>,
        ) -> Pin<Box<dyn Future<Output = Result<Response<pb::$resp>, Status>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
            let req = request.get_ref();
            self.gate.admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id).await?;
            handle(request, move |$r| async move {
                let resource = pb::Resource::$resource;
                let date_field = Resource::of(resource)
                    .and_then(|r| r.filters.date)
                    .unwrap_or("date");
                #[allow(unused_mut)]
                let mut list = pb::ListRecordsRequest {
                    link_id: $r.link_id,
                    owner: $r.owner,
                    resource: resource as i32,
                    page: $r.page,
                    ..Default::default()
                };
                $(list.$field = $value;)*
                let page = self.list(list, date_field).await?;
                Ok(pb::$resp {
                    records: page.records,
                    next_page_token: page.next_page_token,
                })
            }).await
            })
        }
    };
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchSyncStatusResponse, Status>> + Send>>;
type ChangesStream = Pin<Box<dyn Stream<Item = Result<pb::WatchChangesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl DataService for Api {
    async fn ingest_webhook(
        &self,
        request: Request<pb::IngestWebhookRequest>,
    ) -> Result<Response<pb::IngestWebhookResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::Services(GATEWAY), &req.region)
            .await?;
        handle(request, |r| async move {
            if r.region.is_empty() {
                return Err(ApiError::field("region", "required"));
            }
            let (ingested, webhook_id) = self
                .inbox
                .ingest(&r.region, &r.body)
                .await
                .map_err(ApiError::Ingest)?;
            let outcome = match ingested {
                Ingested::New => pb::IngestOutcome::Accepted,
                Ingested::Duplicate => pb::IngestOutcome::Duplicate,
            };
            Ok(pb::IngestWebhookResponse {
                outcome: outcome as i32,
                webhook_id,
            })
        })
        .await
    }

    async fn notify_link_registered(
        &self,
        request: Request<pb::NotifyLinkRegisteredRequest>,
    ) -> Result<Response<pb::NotifyLinkRegisteredResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::Services(LINK_SERVICE), &req.link_id)
            .await?;
        handle(request, |r| async move {
            let mut v = FieldViolations::new();
            check_link_id(&r.link_id, &mut v);
            v.check(
                self.inbox.engine.belvo.has(&r.region),
                "region",
                "not a configured region",
            );
            v.check(!r.owner.is_empty(), "owner", "required");
            if !v.is_empty() {
                return Err(ApiError::Invalid(v));
            }
            let released = self
                .inbox
                .link_registered(LinkRow {
                    link_id: r.link_id,
                    region: r.region,
                    owner: r.owner,
                    fetch_resources: r.fetch_resources,
                    refresh_rate: r.refresh_rate,
                    registered_at: now_ms(),
                    last_webhook_at: None,
                    last_reconciled_at: None,
                    purged_at: None,
                })
                .await
                .map_err(ApiError::Ingest)?;
            Ok(pb::NotifyLinkRegisteredResponse {
                released_webhooks: released as i32,
            })
        })
        .await
    }

    async fn list_records(
        &self,
        request: Request<pb::ListRecordsRequest>,
    ) -> Result<Response<pb::ListRecordsResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id)
            .await?;
        handle(request, |r| self.list(r, "date")).await
    }

    list_rpc!(list_accounts, ListAccountsRequest, ListAccountsResponse, Accounts, |r| {
        types: r.categories,
    });
    list_rpc!(list_transactions, ListTransactionsRequest, ListTransactionsResponse, Transactions, |r| {
        date: r.value_date,
        account_id: r.account_id,
        types: r.types,
        statuses: r.statuses,
    });
    list_rpc!(list_balances, ListBalancesRequest, ListBalancesResponse, Balances, |r| {
        date: r.value_date,
        account_id: r.account_id,
    });
    list_rpc!(
        list_owners,
        ListOwnersRequest,
        ListOwnersResponse,
        Owners,
        |r| {}
    );
    list_rpc!(
        list_incomes,
        ListIncomesRequest,
        ListIncomesResponse,
        Incomes,
        |r| {}
    );
    list_rpc!(
        list_recurring_expenses,
        ListRecurringExpensesRequest,
        ListRecurringExpensesResponse,
        RecurringExpenses,
        |r| { account_id: r.account_id }
    );
    list_rpc!(
        list_risk_insights,
        ListRiskInsightsRequest,
        ListRiskInsightsResponse,
        RiskInsights,
        |r| {}
    );
    list_rpc!(
        list_employment_records,
        ListEmploymentRecordsRequest,
        ListEmploymentRecordsResponse,
        EmploymentRecords,
        |r| {}
    );
    list_rpc!(list_invoices, ListInvoicesRequest, ListInvoicesResponse, Invoices, |r| {
        date: r.invoice_date,
        types: r.types,
        statuses: r.statuses,
    });
    list_rpc!(list_tax_returns, ListTaxReturnsRequest, ListTaxReturnsResponse, TaxReturns, |r| {
        types: r.types,
    });
    list_rpc!(
        list_tax_status,
        ListTaxStatusRequest,
        ListTaxStatusResponse,
        TaxStatus,
        |r| {}
    );
    list_rpc!(
        list_tax_compliance_status,
        ListTaxComplianceStatusRequest,
        ListTaxComplianceStatusResponse,
        TaxComplianceStatus,
        |r| {}
    );
    list_rpc!(list_tax_retentions, ListTaxRetentionsRequest, ListTaxRetentionsResponse, TaxRetentions, |r| {
        date: r.issued,
    });

    async fn list_changes(
        &self,
        request: Request<pb::ListChangesRequest>,
    ) -> Result<Response<pb::ListChangesResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id)
            .await?;
        handle(request, |r| async move {
            let mut v = FieldViolations::new();
            check_link_id(&r.link_id, &mut v);
            v.check(
                (0..=MAX_PAGE).contains(&r.page_size),
                "page_size",
                "must be 0 (default 100) to 500",
            );
            let resources = resources(&r.resources, &mut v);
            if !v.is_empty() {
                return Err(ApiError::Invalid(v));
            }
            self.owned_link(&r.link_id, &r.owner).await?;
            let limit = match r.page_size {
                0 => DEFAULT_PAGE,
                size => size as usize,
            };
            let cursor = (!r.cursor.is_empty()).then_some(r.cursor.as_str());
            let page = self
                .inbox
                .engine
                .store
                .list_changes(&r.link_id, &resources, cursor, limit)
                .await?;
            Ok(pb::ListChangesResponse {
                changes: page.changes.into_iter().map(change).collect(),
                next_cursor: page.next_cursor,
                has_more: page.has_more,
            })
        })
        .await
    }

    type WatchChangesStream = ChangesStream;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(
                &request,
                Admits::user(GATEWAY, &req.owner),
                &req.link_ids.join(","),
            )
            .await?;
        handle(request, |r| async move {
            let mut v = FieldViolations::new();
            v.check(
                (1..=MAX_WATCHED_LINKS).contains(&r.link_ids.len()),
                "link_ids",
                "1 to 100 link ids are required",
            );
            for (i, link_id) in r.link_ids.iter().enumerate() {
                if uuid::Uuid::parse_str(link_id).is_err() {
                    v.add(format!("link_ids[{i}]"), "must be a Belvo link id (UUID)");
                }
            }
            if !v.is_empty() {
                return Err(ApiError::Invalid(v));
            }
            let store = self.inbox.engine.store.clone();
            if !store.change_log() {
                return Err(ApiError::Store(StoreError::ChangeLogOff));
            }
            for link_id in &r.link_ids {
                self.owned_link(link_id, &r.owner).await?;
            }
            // Subscribed before the first cursors: a change in between is sent again.
            let mut committed = self.inbox.engine.changes.subscribe();
            let mut sent = std::collections::HashMap::new();
            let (tx, rx) = tokio::sync::mpsc::channel(16);
            let stop = self.inbox.engine.stop.clone();
            let watched = r.link_ids;
            let open = OpenStream::new(&self.inbox.engine.metrics.change_streams);
            tokio::spawn(async move {
                let _open = open;
                let mut due = watched.clone();
                loop {
                    for link_id in due.drain(..) {
                        let Ok(cursor) = store.newest_cursor(&link_id).await else {
                            continue;
                        };
                        if sent.get(&link_id) == Some(&cursor) {
                            continue;
                        }
                        let update = pb::WatchChangesResponse {
                            link_id: link_id.clone(),
                            cursor: cursor.clone(),
                        };
                        if tx.send(Ok(update)).await.is_err() {
                            return;
                        }
                        sent.insert(link_id, cursor);
                    }
                    // The stream ends when the client goes away or the server shuts down.
                    let notice = tokio::select! {
                        () = tx.closed() => return,
                        () = stop.triggered() => return,
                        notice = committed.recv() => notice,
                    };
                    match notice.as_deref() {
                        // Notices may have been missed: every watched link again.
                        Ok(database::Feed::EVERYTHING) | Err(RecvError::Lagged(_)) => {
                            due.clone_from(&watched);
                        }
                        Ok(link_id) if watched.iter().any(|w| w == link_id) => {
                            due.push(link_id.to_owned());
                        }
                        Ok(_) => {}
                        Err(RecvError::Closed) => return,
                    }
                }
            });
            Ok(Box::pin(ReceiverStream::new(rx)) as ChangesStream)
        })
        .await
    }

    async fn get_sync_status(
        &self,
        request: Request<pb::GetSyncStatusRequest>,
    ) -> Result<Response<pb::GetSyncStatusResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id)
            .await?;
        handle(request, |r| async move {
            let mut v = FieldViolations::new();
            check_link_id(&r.link_id, &mut v);
            if !v.is_empty() {
                return Err(ApiError::Invalid(v));
            }
            let link = self.owned_link(&r.link_id, &r.owner).await?;
            Ok(pb::GetSyncStatusResponse {
                link: Some(self.link_sync(&link).await?),
            })
        })
        .await
    }

    type WatchSyncStatusStream = WatchStream;

    async fn watch_sync_status(
        &self,
        request: Request<pb::WatchSyncStatusRequest>,
    ) -> Result<Response<Self::WatchSyncStatusStream>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id)
            .await?;
        handle(request, |r| async move {
            let mut v = FieldViolations::new();
            v.check(
                !r.link_id.is_empty() || !r.owner.is_empty(),
                "link_id",
                "link_id or owner is required",
            );
            if !r.link_id.is_empty() {
                check_link_id(&r.link_id, &mut v);
            }
            if !v.is_empty() {
                return Err(ApiError::Invalid(v));
            }
            let watched = Watched {
                link_id: r.link_id,
                owner: r.owner,
            };
            // Subscribed before the first snapshots: a change in between is sent again.
            let mut changes = self.inbox.engine.changes.subscribe();
            let initial = watched.links(self).await?;
            let (tx, rx) = tokio::sync::mpsc::channel(16);
            let api = self.clone();
            let stop = self.inbox.engine.stop.clone();
            tokio::spawn(async move {
                let mut links = initial;
                loop {
                    for link in &links {
                        let Ok(snapshot) = api.link_sync(link).await else {
                            continue;
                        };
                        let update = pb::WatchSyncStatusResponse {
                            link: Some(snapshot),
                        };
                        if tx.send(Ok(update)).await.is_err() {
                            return;
                        }
                    }
                    // The stream ends when the client goes away or the server shuts down.
                    let changed = tokio::select! {
                        () = tx.closed() => return,
                        () = stop.triggered() => return,
                        changed = changes.recv() => changed,
                    };
                    links = match changed.as_deref() {
                        // Changes may have been missed: every watched link again.
                        Ok(database::Feed::EVERYTHING) | Err(RecvError::Lagged(_)) => {
                            watched.links(&api).await.unwrap_or_default()
                        }
                        Ok(link_id) => watched.link(&api, link_id).await,
                        Err(RecvError::Closed) => return,
                    };
                }
            });
            Ok(Box::pin(ReceiverStream::new(rx)) as WatchStream)
        })
        .await
    }

    async fn resync_link(
        &self,
        request: Request<pb::ResyncLinkRequest>,
    ) -> Result<Response<pb::ResyncLinkResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::Operators, &req.link_id)
            .await?;
        handle(request, |r| async move {
            let mut v = FieldViolations::new();
            check_link_id(&r.link_id, &mut v);
            let mut resources = resources(&r.resources, &mut v);
            if !v.is_empty() {
                return Err(ApiError::Invalid(v));
            }
            let link = self.owned_link(&r.link_id, &r.owner).await?;
            if resources.is_empty() {
                resources = crate::resource::stored_resources(&link.fetch_resources);
            }
            let now = now_ms();
            for resource in &resources {
                self.inbox
                    .engine
                    .store
                    .enqueue_job(
                        &link.link_id,
                        resource,
                        crate::store::JobMode::Full,
                        belvo::Priority::Resync,
                        None,
                        now,
                    )
                    .await?;
            }
            self.inbox.engine.wake.notify_waiters();
            self.inbox.engine.changed(&link.link_id);
            Ok(pb::ResyncLinkResponse {
                scheduled: resources.iter().map(|r| r.id as i32).collect(),
            })
        })
        .await
    }

    async fn purge_link(
        &self,
        request: Request<pb::PurgeLinkRequest>,
    ) -> Result<Response<pb::PurgeLinkResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::Services(LINK_SERVICE), &req.link_id)
            .await?;
        handle(request, |r| async move {
            let mut v = FieldViolations::new();
            check_link_id(&r.link_id, &mut v);
            if !v.is_empty() {
                return Err(ApiError::Invalid(v));
            }
            let deleted = self
                .inbox
                .engine
                .store
                .purge_link(&r.link_id, r.erase)
                .await?;
            self.inbox.engine.changed(&r.link_id);
            Ok(pb::PurgeLinkResponse {
                records_deleted: deleted as i64,
            })
        })
        .await
    }

    async fn list_webhook_events(
        &self,
        request: Request<pb::ListWebhookEventsRequest>,
    ) -> Result<Response<pb::ListWebhookEventsResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::Operators, &req.link_id)
            .await?;
        handle(request, |r| async move {
            let mut v = FieldViolations::new();
            let (limit, token) = page(r.page.as_ref(), &mut v);
            let mut states = Vec::new();
            for (i, s) in r.states.iter().enumerate() {
                match pb::WebhookState::try_from(*s) {
                    Ok(pb::WebhookState::Received) => states.push(WebhookState::Received),
                    Ok(pb::WebhookState::Processed) => states.push(WebhookState::Processed),
                    Ok(pb::WebhookState::Held) => states.push(WebhookState::Held),
                    Ok(pb::WebhookState::Ignored) => states.push(WebhookState::Ignored),
                    Ok(pb::WebhookState::Failed) => states.push(WebhookState::Failed),
                    Ok(pb::WebhookState::Unspecified) => {}
                    Err(_) => {
                        v.add(format!("states[{i}]"), "not a webhook state");
                    }
                }
            }
            if !v.is_empty() {
                return Err(ApiError::Invalid(v));
            }
            let filter = WebhookFilter {
                link_id: (!r.link_id.is_empty()).then_some(r.link_id),
                region: (!r.region.is_empty()).then_some(r.region),
                states,
            };
            let (events, next) = self
                .inbox
                .engine
                .store
                .list_webhooks(&filter, limit, token.as_deref())
                .await?;
            Ok(pb::ListWebhookEventsResponse {
                events: events.into_iter().map(webhook).collect(),
                next_page_token: next.unwrap_or_default(),
            })
        })
        .await
    }

    async fn replay_webhook_event(
        &self,
        request: Request<pb::ReplayWebhookEventRequest>,
    ) -> Result<Response<pb::ReplayWebhookEventResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::Operators, &req.webhook_id)
            .await?;
        handle(request, |r| async move {
            if r.webhook_id.is_empty() {
                return Err(ApiError::field("webhook_id", "required"));
            }
            let store = &self.inbox.engine.store;
            let event = store
                .webhook(&r.webhook_id)
                .await?
                .ok_or_else(|| ApiError::WebhookNotFound(r.webhook_id.clone()))?;
            self.inbox
                .reprocess(&event)
                .await
                .map_err(ApiError::Ingest)?;
            let event = store
                .webhook(&r.webhook_id)
                .await?
                .ok_or_else(|| ApiError::WebhookNotFound(r.webhook_id.clone()))?;
            Ok(pb::ReplayWebhookEventResponse {
                event: Some(webhook(event)),
            })
        })
        .await
    }
}
