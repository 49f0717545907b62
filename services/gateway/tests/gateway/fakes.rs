//! Small in-memory stand-ins for token-, link- and data-service, served over real gRPC on
//! port 0 (with health) by grpc-runtime. They record what the gateway sent them and can be
//! told to fail.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use connect_proto::data::v1::data_service_server::{DataService, DataServiceServer};
use connect_proto::data::v1::*;
use connect_proto::link::v1::link_service_server::{LinkService, LinkServiceServer};
use connect_proto::link::v1::*;
use connect_proto::token::v1::token_service_server::{TokenService, TokenServiceServer};
use connect_proto::token::v1::*;
use futures::{Stream, StreamExt as _};
use grpc_runtime::{RunningServer, ServerConfig, ServiceSet, Shutdown, serve};
use tokio::sync::broadcast;
use tonic::{Code, Request, Response, Status};

/// What a fake saw of one call: the method, the request's debug form and its metadata.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: &'static str,
    pub(crate) request: String,
    pub(crate) request_id: String,
    pub(crate) traceparent: String,
}

#[derive(Debug, Default)]
pub(crate) struct Journal {
    calls: Mutex<Vec<Seen>>,
}

impl Journal {
    fn record<T: std::fmt::Debug>(&self, method: &'static str, request: &Request<T>) {
        let get = |key: &str| {
            request
                .metadata()
                .get(key)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        self.calls.lock().unwrap().push(Seen {
            method,
            request: format!("{:?}", request.get_ref()),
            request_id: get("x-request-id"),
            traceparent: get("traceparent"),
        });
    }

    pub(crate) fn calls(&self) -> Vec<Seen> {
        self.calls.lock().unwrap().clone()
    }

    pub(crate) fn of(&self, method: &str) -> Vec<Seen> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// token-service

/// `region` `code-N` answers gRPC code N; `bad-field` answers a BadRequest on
/// `widget.locale`; `belvo-error` a PERMISSION_DENIED with a Belvo ErrorInfo.
#[derive(Debug, Default)]
pub(crate) struct FakeToken {
    pub(crate) journal: Journal,
}

#[tonic::async_trait]
impl TokenService for FakeToken {
    async fn create_widget_token(
        &self,
        request: Request<CreateWidgetTokenRequest>,
    ) -> Result<Response<CreateWidgetTokenResponse>, Status> {
        self.journal.record("CreateWidgetToken", &request);
        let r = request.into_inner();
        if let Some(n) = r.region.strip_prefix("code-") {
            let code = Code::from_i32(n.parse().unwrap());
            return Err(Status::new(code, format!("fake says {code:?}")));
        }
        match r.region.as_str() {
            "bad-field" => {
                return Err(grpc_runtime::status::invalid_field(
                    "widget.locale",
                    "must be es, en or pt",
                ));
            }
            "belvo-error" => {
                return Err(grpc_runtime::status::belvo_error(
                    Code::PermissionDenied,
                    "Belvo refused the keys",
                    "authentication_failed",
                    Some(401),
                    None,
                    None,
                ));
            }
            _ => {}
        }
        Ok(Response::new(CreateWidgetTokenResponse {
            access_token: format!("access-for-{}", r.owner),
            expires_at: Some(prost_types::Timestamp {
                seconds: 1_900_000_000,
                nanos: 0,
            }),
            widget: Some(WidgetConfig {
                region: r.region,
                family: WidgetFamily::MultiRegion as i32,
                external_id: format!("ext-{}", r.owner),
                access_mode: connect_proto::common::v1::AccessMode::Recurrent as i32,
                fetch_resources: r.products.iter().map(|p| format!("product-{p}")).collect(),
                link_id: r.link_id,
                locale: "es".into(),
                ..WidgetConfig::default()
            }),
        }))
    }

    async fn resolve_external_id(
        &self,
        _request: Request<ResolveExternalIdRequest>,
    ) -> Result<Response<ResolveExternalIdResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn erase_owner(
        &self,
        _: Request<connect_proto::token::v1::EraseOwnerRequest>,
    ) -> Result<Response<connect_proto::token::v1::EraseOwnerResponse>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

// ---------------------------------------------------------------------------------------
// link-service

/// Links by id, each with an owner. `RegisterLink` of an unknown id creates it for the
/// caller (institution `erebor_mx_retail`); of another owner's id answers PERMISSION_DENIED.
/// `RefreshLink` answers FAILED_PRECONDITION with RetryInfo (Belvo's cooldown).
/// `WatchLink` streams the link, then every `set_status` of it.
#[derive(Debug)]
pub(crate) struct FakeLink {
    pub(crate) journal: Journal,
    pub(crate) links: Mutex<HashMap<String, Link>>,
    /// When set, every call answers this.
    pub(crate) fail_with: Mutex<Option<Status>>,
    /// When set, `ListLinks` never answers.
    pub(crate) hang: std::sync::atomic::AtomicBool,
    changed: broadcast::Sender<Link>,
    /// Erasures asked for, by owner (never finished here).
    erasures: Mutex<HashMap<String, Erasure>>,
}

impl Default for FakeLink {
    fn default() -> Self {
        Self {
            journal: Journal::default(),
            links: Mutex::default(),
            erasures: Mutex::default(),
            fail_with: Mutex::default(),
            hang: std::sync::atomic::AtomicBool::default(),
            changed: broadcast::channel(16).0,
        }
    }
}

impl FakeLink {
    pub(crate) fn insert(&self, link_id: &str, owner: &str) {
        self.links.lock().unwrap().insert(
            link_id.to_owned(),
            Link {
                link_id: link_id.to_owned(),
                owner: owner.to_owned(),
                region: "mx".into(),
                institution: "erebor_mx_retail".into(),
                status: LinkStatus::Valid as i32,
                external_id: format!("ext-{owner}"),
                ..Link::default()
            },
        );
    }

    pub(crate) fn set_status(&self, link_id: &str, status: LinkStatus) {
        let mut links = self.links.lock().unwrap();
        let link = links.get_mut(link_id).unwrap();
        link.status = status as i32;
        let _ = self.changed.send(link.clone());
    }

    fn fail(&self) -> Result<(), Status> {
        match self.fail_with.lock().unwrap().clone() {
            Some(status) => Err(status),
            None => Ok(()),
        }
    }

    fn owned(&self, link_id: &str, owner: &str) -> Result<Link, Status> {
        self.fail()?;
        self.links
            .lock()
            .unwrap()
            .get(link_id)
            .filter(|l| owner.is_empty() || l.owner == owner)
            .cloned()
            .ok_or_else(|| Status::not_found("link not found"))
    }
}

#[tonic::async_trait]
impl LinkService for FakeLink {
    type WatchLinkStream = LinkStream;

    async fn watch_link(
        &self,
        request: Request<WatchLinkRequest>,
    ) -> Result<Response<Self::WatchLinkStream>, Status> {
        self.journal.record("WatchLink", &request);
        self.fail()?;
        let r = request.into_inner();
        let updates = self.changed.subscribe();
        let first = match self.links.lock().unwrap().get(&r.link_id) {
            Some(link) if r.owner.is_empty() || link.owner == r.owner => link.clone(),
            _ => return Err(Status::not_found("no such link")),
        };
        let id = r.link_id;
        let stream = futures::stream::once(async move { Ok(first) })
            .chain(futures::stream::unfold(updates, |mut updates| async move {
                let link = updates.recv().await.ok()?;
                Some((Ok(link), updates))
            }))
            .filter(move |link: &Result<Link, Status>| {
                let ours = link.as_ref().map_or(true, |l| l.link_id == id);
                async move { ours }
            })
            .map(|link| link.map(|link| WatchLinkResponse { link: Some(link) }));
        let stream: LinkStream = Box::pin(stream);
        Ok(Response::new(stream))
    }

    async fn register_link(
        &self,
        request: Request<RegisterLinkRequest>,
    ) -> Result<Response<RegisterLinkResponse>, Status> {
        self.journal.record("RegisterLink", &request);
        self.fail()?;
        let r = request.into_inner();
        let existing = self.links.lock().unwrap().get(&r.link_id).cloned();
        match existing {
            Some(link) if link.owner != r.owner => Err(grpc_runtime::status::platform_error(
                Code::PermissionDenied,
                "the link is registered to another owner",
                "LINK_OWNED_BY_ANOTHER_OWNER",
            )),
            Some(link) => Ok(Response::new(RegisterLinkResponse {
                link: Some(link),
                created: false,
            })),
            None => {
                self.insert(&r.link_id, &r.owner);
                let link = self.links.lock().unwrap()[&r.link_id].clone();
                Ok(Response::new(RegisterLinkResponse {
                    link: Some(link),
                    created: true,
                }))
            }
        }
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        self.journal.record("GetLink", &request);
        let r = request.into_inner();
        let link = self.owned(&r.link_id, &r.owner)?;
        Ok(Response::new(GetLinkResponse { link: Some(link) }))
    }

    async fn list_links(
        &self,
        request: Request<ListLinksRequest>,
    ) -> Result<Response<ListLinksResponse>, Status> {
        self.journal.record("ListLinks", &request);
        self.fail()?;
        if self.hang.load(std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let r = request.into_inner();
        let mut links: Vec<Link> = self
            .links
            .lock()
            .unwrap()
            .values()
            .filter(|l| l.owner == r.owner)
            .cloned()
            .collect();
        links.sort_by(|a, b| a.link_id.cmp(&b.link_id));
        let start: usize = r.page_token.parse().unwrap_or(0);
        let size = if r.page_size == 0 {
            50
        } else {
            r.page_size as usize
        };
        let page: Vec<Link> = links.iter().skip(start).take(size).cloned().collect();
        let next = if start + size < links.len() {
            (start + size).to_string()
        } else {
            String::new()
        };
        Ok(Response::new(ListLinksResponse {
            links: page,
            next_page_token: next,
        }))
    }

    async fn delete_link(
        &self,
        request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        self.journal.record("DeleteLink", &request);
        let r = request.into_inner();
        let mut link = self.owned(&r.link_id, &r.owner)?;
        link.status = LinkStatus::Deleted as i32;
        self.links
            .lock()
            .unwrap()
            .insert(r.link_id.clone(), link.clone());
        Ok(Response::new(DeleteLinkResponse { link: Some(link) }))
    }

    async fn refresh_link(
        &self,
        request: Request<RefreshLinkRequest>,
    ) -> Result<Response<RefreshLinkResponse>, Status> {
        self.journal.record("RefreshLink", &request);
        let r = request.into_inner();
        let link = self.owned(&r.link_id, &r.owner)?;
        if link.last_refresh_requested_at.is_some() {
            return Err(grpc_runtime::status::belvo_error(
                Code::FailedPrecondition,
                "the link was refreshed recently",
                "link_refreshed",
                Some(400),
                None,
                Some(std::time::Duration::from_secs(540)),
            ));
        }
        let mut link = link;
        link.last_refresh_requested_at = Some(prost_types::Timestamp::default());
        self.links.lock().unwrap().insert(r.link_id, link);
        Ok(Response::new(RefreshLinkResponse {
            belvo_request_id: "belvo-req-1".into(),
            requested_at: Some(prost_types::Timestamp {
                seconds: 1_800_000_000,
                nanos: 0,
            }),
        }))
    }

    async fn apply_link_event(
        &self,
        _request: Request<ApplyLinkEventRequest>,
    ) -> Result<Response<ApplyLinkEventResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn erase_owner(
        &self,
        request: Request<connect_proto::link::v1::EraseOwnerRequest>,
    ) -> Result<Response<connect_proto::link::v1::EraseOwnerResponse>, Status> {
        self.journal.record("EraseOwner", &request);
        self.fail()?;
        let owner = request.into_inner().owner;
        let mut links = self.links.lock().unwrap();
        let theirs: Vec<&mut Link> = links.values_mut().filter(|l| l.owner == owner).collect();
        let erasure = Erasure {
            requested_at: Some(prost_types::Timestamp::default()),
            links: theirs.len() as i32,
            ..Default::default()
        };
        for link in theirs {
            link.status = LinkStatus::Deleted as i32;
        }
        let erasure = self
            .erasures
            .lock()
            .unwrap()
            .entry(owner)
            .or_insert(erasure)
            .clone();
        Ok(Response::new(connect_proto::link::v1::EraseOwnerResponse {
            erasure: Some(erasure),
        }))
    }

    async fn get_erasure(
        &self,
        request: Request<GetErasureRequest>,
    ) -> Result<Response<GetErasureResponse>, Status> {
        self.journal.record("GetErasure", &request);
        let owner = request.into_inner().owner;
        match self.erasures.lock().unwrap().get(&owner) {
            Some(erasure) => Ok(Response::new(GetErasureResponse {
                erasure: Some(erasure.clone()),
            })),
            None => Err(Status::not_found("no erasure")),
        }
    }

    async fn adopt_link(
        &self,
        _request: Request<AdoptLinkRequest>,
    ) -> Result<Response<AdoptLinkResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }
}

// ---------------------------------------------------------------------------------------
// data-service

/// Webhooks are kept (duplicates by `webhook_id`); a body without `webhook_id` is
/// INVALID_ARGUMENT. `ListRecords` answers the records stored for (link, resource), a page at
/// a time (the token is an offset), or [`FakeData::list_fails_with`] when set; the typed
/// lists are UNIMPLEMENTED. `ListChanges` answers the changes stored for a link (see
/// [`FakeData::add_change`]), a page at a time (the cursor is `c<offset>`), with data-service's
/// errors: `expired` is FAILED_PRECONDITION `CURSOR_EXPIRED`, any other cursor it did not
/// issue INVALID_ARGUMENT on `cursor`; or [`FakeData::changes_fail_with`] when set. `WatchSyncStatus` sends a snapshot, then whatever
/// [`FakeData::push_sync`] sends.
#[derive(Debug)]
pub(crate) struct FakeData {
    pub(crate) journal: Journal,
    pub(crate) webhooks: Mutex<Vec<(String, Vec<u8>)>>,
    /// The stored webhooks' ids (the duplicate check must not grow with the store: the
    /// gateway benchmark sends thousands).
    webhook_ids: Mutex<HashSet<String>>,
    pub(crate) records: Mutex<HashMap<(String, i32), Vec<Record>>>,
    /// Each link's changes, oldest first.
    pub(crate) changes: Mutex<HashMap<String, Vec<Change>>>,
    /// When set, `ListRecords` answers this.
    pub(crate) list_fails_with: Mutex<Option<Status>>,
    /// When set, `ListChanges` answers this.
    pub(crate) changes_fail_with: Mutex<Option<Status>>,
    pub(crate) sync: broadcast::Sender<LinkSync>,
}

impl Default for FakeData {
    fn default() -> Self {
        Self {
            journal: Journal::default(),
            webhooks: Mutex::default(),
            webhook_ids: Mutex::default(),
            records: Mutex::default(),
            changes: Mutex::default(),
            list_fails_with: Mutex::default(),
            changes_fail_with: Mutex::default(),
            sync: broadcast::channel(16).0,
        }
    }
}

impl FakeData {
    pub(crate) fn add_record(&self, link_id: &str, resource: Resource, belvo_json: &str) {
        let mut records = self.records.lock().unwrap();
        let list = records
            .entry((link_id.to_owned(), resource as i32))
            .or_default();
        list.push(Record {
            id: format!("rec-{}", list.len()),
            link_id: link_id.to_owned(),
            resource: resource as i32,
            belvo_json: belvo_json.to_owned(),
            ..Record::default()
        });
    }

    /// A change of one of the link's objects; `belvo_json` is the object now (`None` for a
    /// removal).
    pub(crate) fn add_change(
        &self,
        link_id: &str,
        kind: ChangeKind,
        resource: Resource,
        id: &str,
        belvo_json: Option<&str>,
    ) {
        self.changes
            .lock()
            .unwrap()
            .entry(link_id.to_owned())
            .or_default()
            .push(Change {
                kind: kind as i32,
                resource: resource as i32,
                id: id.to_owned(),
                record: belvo_json.map(|json| Record {
                    id: id.to_owned(),
                    link_id: link_id.to_owned(),
                    resource: resource as i32,
                    belvo_json: json.to_owned(),
                    ..Record::default()
                }),
            });
    }

    pub(crate) fn push_sync(&self, sync: LinkSync) {
        let _ = self.sync.send(sync);
    }

    fn page(
        &self,
        link_id: &str,
        resource: Resource,
        page: Option<&PageRequest>,
    ) -> (Vec<Record>, String) {
        let all = self
            .records
            .lock()
            .unwrap()
            .get(&(link_id.to_owned(), resource as i32))
            .cloned()
            .unwrap_or_default();
        let page = page.cloned().unwrap_or_default();
        let start: usize = page.page_token.parse().unwrap_or(0);
        let size = if page.page_size == 0 {
            100
        } else {
            page.page_size as usize
        };
        let next = if start + size < all.len() {
            (start + size).to_string()
        } else {
            String::new()
        };
        (all.into_iter().skip(start).take(size).collect(), next)
    }
}

pub(crate) fn snapshot(link_id: &str, state: SyncState, records: i64) -> LinkSync {
    LinkSync {
        link_id: link_id.to_owned(),
        owner: String::new(),
        resources: vec![ResourceSync {
            resource: Resource::Accounts as i32,
            state: state as i32,
            records,
            ..ResourceSync::default()
        }],
        last_webhook_at: None,
        stale: false,
    }
}

/// The typed list RPCs, which the gateway does not call (it reads through `ListRecords`):
/// recorded and answered UNIMPLEMENTED.
macro_rules! typed_lists {
    ($($method:ident, $name:literal, $req:ty, $resp:ident;)+) => {
        $(
            // Spelled as `async_trait` expands an `async fn` (it cannot see into macros).
            fn $method<'a, 'async_trait>(
                &'a self,
                request: Request<$req>,
            ) -> Pin<Box<dyn Future<Output = Result<Response<$resp>, Status>> + Send + 'async_trait>>
            where
                'a: 'async_trait,
                Self: 'async_trait,
            {
                Box::pin(async move {
                    self.journal.record($name, &request);
                    Err(Status::unimplemented("the gateway reads through ListRecords"))
                })
            }
        )+
    };
}

type LinkStream = Pin<Box<dyn Stream<Item = Result<WatchLinkResponse, Status>> + Send>>;
type ChangesStream = Pin<Box<dyn Stream<Item = Result<WatchChangesResponse, Status>> + Send>>;
type SyncStream = Pin<Box<dyn Stream<Item = Result<WatchSyncStatusResponse, Status>> + Send>>;

#[tonic::async_trait]
impl DataService for FakeData {
    async fn ingest_webhook(
        &self,
        request: Request<IngestWebhookRequest>,
    ) -> Result<Response<IngestWebhookResponse>, Status> {
        self.journal.record("IngestWebhook", &request);
        let r = request.into_inner();
        let body: serde_json::Value = serde_json::from_slice(&r.body)
            .map_err(|_| grpc_runtime::status::invalid_field("body", "not JSON"))?;
        if body["webhook_id"] == "never-answers" {
            std::future::pending::<()>().await;
        }
        let Some(id) = body["webhook_id"].as_str() else {
            return Err(grpc_runtime::status::invalid_field(
                "body.webhook_id",
                "required",
            ));
        };
        let duplicate = !self.webhook_ids.lock().unwrap().insert(id.to_owned());
        if !duplicate {
            self.webhooks
                .lock()
                .unwrap()
                .push((r.region, r.body.clone()));
        }
        Ok(Response::new(IngestWebhookResponse {
            outcome: if duplicate {
                IngestOutcome::Duplicate
            } else {
                IngestOutcome::Accepted
            } as i32,
            webhook_id: id.to_owned(),
        }))
    }

    async fn notify_link_registered(
        &self,
        _request: Request<NotifyLinkRegisteredRequest>,
    ) -> Result<Response<NotifyLinkRegisteredResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn list_records(
        &self,
        request: Request<ListRecordsRequest>,
    ) -> Result<Response<ListRecordsResponse>, Status> {
        self.journal.record("ListRecords", &request);
        if let Some(status) = self.list_fails_with.lock().unwrap().clone() {
            return Err(status);
        }
        let r = request.into_inner();
        let resource = Resource::try_from(r.resource)
            .ok()
            .filter(|r| *r != Resource::Unspecified)
            .ok_or_else(|| grpc_runtime::status::invalid_field("resource", "required"))?;
        let (records, next_page_token) = self.page(&r.link_id, resource, r.page.as_ref());
        Ok(Response::new(ListRecordsResponse {
            records,
            next_page_token,
        }))
    }

    typed_lists! {
        list_accounts, "ListAccounts", ListAccountsRequest, ListAccountsResponse;
        list_transactions, "ListTransactions", ListTransactionsRequest, ListTransactionsResponse;
        list_balances, "ListBalances", ListBalancesRequest, ListBalancesResponse;
        list_owners, "ListOwners", ListOwnersRequest, ListOwnersResponse;
        list_incomes, "ListIncomes", ListIncomesRequest, ListIncomesResponse;
        list_recurring_expenses, "ListRecurringExpenses", ListRecurringExpensesRequest, ListRecurringExpensesResponse;
        list_risk_insights, "ListRiskInsights", ListRiskInsightsRequest, ListRiskInsightsResponse;
        list_employment_records, "ListEmploymentRecords", ListEmploymentRecordsRequest, ListEmploymentRecordsResponse;
        list_invoices, "ListInvoices", ListInvoicesRequest, ListInvoicesResponse;
        list_tax_returns, "ListTaxReturns", ListTaxReturnsRequest, ListTaxReturnsResponse;
        list_tax_status, "ListTaxStatus", ListTaxStatusRequest, ListTaxStatusResponse;
        list_tax_compliance_status, "ListTaxComplianceStatus", ListTaxComplianceStatusRequest, ListTaxComplianceStatusResponse;
        list_tax_retentions, "ListTaxRetentions", ListTaxRetentionsRequest, ListTaxRetentionsResponse;
    }

    async fn list_changes(
        &self,
        request: Request<ListChangesRequest>,
    ) -> Result<Response<ListChangesResponse>, Status> {
        self.journal.record("ListChanges", &request);
        if let Some(status) = self.changes_fail_with.lock().unwrap().clone() {
            return Err(status);
        }
        let r = request.into_inner();
        let start: usize = match r.cursor.as_str() {
            "" => 0,
            "expired" => {
                return Err(grpc_runtime::status::platform_error(
                    Code::FailedPrecondition,
                    "the cursor has expired: changes after it are past the change retention; \
                     list again from an empty cursor",
                    "CURSOR_EXPIRED",
                ));
            }
            cursor => cursor
                .strip_prefix('c')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    grpc_runtime::status::invalid_field(
                        "cursor",
                        "not a cursor this service issued",
                    )
                })?,
        };
        let size = if r.page_size == 0 {
            100
        } else {
            r.page_size as usize
        };
        let all = self
            .changes
            .lock()
            .unwrap()
            .get(&r.link_id)
            .cloned()
            .unwrap_or_default();
        let total = all.len();
        let mut matching = all
            .into_iter()
            .enumerate()
            .skip(start)
            .filter(|(_, c)| r.resources.is_empty() || r.resources.contains(&c.resource))
            .peekable();
        let mut changes = Vec::new();
        let mut next = start;
        while changes.len() < size
            && let Some((at, change)) = matching.next()
        {
            changes.push(change);
            next = at + 1;
        }
        let has_more = matching.peek().is_some();
        if !has_more {
            // Past everything stored now, as data-service's last cursor is.
            next = next.max(total);
        }
        Ok(Response::new(ListChangesResponse {
            changes,
            next_cursor: format!("c{next}"),
            has_more,
        }))
    }

    type WatchChangesStream = ChangesStream;

    async fn watch_changes(
        &self,
        _request: Request<WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        Err(Status::unimplemented("the gateway does not watch changes"))
    }

    async fn get_sync_status(
        &self,
        request: Request<GetSyncStatusRequest>,
    ) -> Result<Response<GetSyncStatusResponse>, Status> {
        self.journal.record("GetSyncStatus", &request);
        let r = request.into_inner();
        Ok(Response::new(GetSyncStatusResponse {
            link: Some(snapshot(&r.link_id, SyncState::Succeeded, 3)),
        }))
    }

    type WatchSyncStatusStream = SyncStream;

    async fn watch_sync_status(
        &self,
        request: Request<WatchSyncStatusRequest>,
    ) -> Result<Response<Self::WatchSyncStatusStream>, Status> {
        self.journal.record("WatchSyncStatus", &request);
        let r = request.into_inner();
        let updates = self.sync.subscribe();
        let first = WatchSyncStatusResponse {
            link: Some(snapshot(&r.link_id, SyncState::Pending, 0)),
        };
        let stream = futures::stream::once(async move { Ok(first) }).chain(
            futures::stream::unfold(updates, |mut updates| async move {
                let sync = updates.recv().await.ok()?;
                Some((Ok(WatchSyncStatusResponse { link: Some(sync) }), updates))
            }),
        );
        let stream: SyncStream = Box::pin(stream);
        Ok(Response::new(stream))
    }

    async fn resync_link(
        &self,
        _request: Request<ResyncLinkRequest>,
    ) -> Result<Response<ResyncLinkResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn purge_link(
        &self,
        _request: Request<PurgeLinkRequest>,
    ) -> Result<Response<PurgeLinkResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn list_webhook_events(
        &self,
        _request: Request<ListWebhookEventsRequest>,
    ) -> Result<Response<ListWebhookEventsResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }

    async fn replay_webhook_event(
        &self,
        _request: Request<ReplayWebhookEventRequest>,
    ) -> Result<Response<ReplayWebhookEventResponse>, Status> {
        Err(Status::unimplemented("not in the fake"))
    }
}

// ---------------------------------------------------------------------------------------

/// The three fakes, served.
pub(crate) struct Fakes {
    pub(crate) token: Arc<FakeToken>,
    pub(crate) link: Arc<FakeLink>,
    pub(crate) data: Arc<FakeData>,
    pub(crate) server: RunningServer,
    pub(crate) shutdown: Shutdown,
}

impl Fakes {
    pub(crate) async fn start() -> Self {
        let token = Arc::new(FakeToken::default());
        let link = Arc::new(FakeLink::default());
        let data = Arc::new(FakeData::default());
        let config = ServerConfig::for_tests();
        let services = ServiceSet::new()
            .service(TokenServiceServer::from_arc(Arc::clone(&token)))
            .service(LinkServiceServer::from_arc(Arc::clone(&link)))
            .service(DataServiceServer::from_arc(Arc::clone(&data)));
        let listeners = grpc_runtime::Listeners::local().await.unwrap();
        let shutdown = Shutdown::new();
        let registry = prometheus::Registry::new();
        let server = serve(services, listeners, &config, &registry, shutdown.clone())
            .await
            .unwrap();
        Self {
            token,
            link,
            data,
            server,
            shutdown,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }
}
