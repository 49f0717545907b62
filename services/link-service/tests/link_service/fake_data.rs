//! A fake data-service that records the `NotifyLinkRegistered` and `PurgeLink` calls
//! link-service makes, and can be told to fail them. Everything else is unimplemented.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_proto::data::v1::data_service_server::DataService;
use connect_proto::data::v1::*;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

/// One call link-service made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DataCall {
    Notify(NotifyLinkRegisteredRequest),
    Purge(PurgeLinkRequest),
}

#[derive(Clone, Default)]
pub(crate) struct FakeData {
    calls: Arc<Mutex<Vec<DataCall>>>,
    changed: Arc<Notify>,
    failing: Arc<AtomicBool>,
}

impl FakeData {
    /// Every call so far.
    pub(crate) fn calls(&self) -> Vec<DataCall> {
        self.calls.lock().unwrap().clone()
    }

    /// Makes every later call answer UNAVAILABLE (they are still recorded).
    pub(crate) fn fail(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }

    /// Makes later calls succeed again.
    pub(crate) fn recover(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }

    /// Waits (at most 5 s) until the calls satisfy `done`; returns them either way.
    pub(crate) async fn wait_for(&self, done: impl Fn(&[DataCall]) -> bool) -> Vec<DataCall> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let notified = self.changed.notified();
            let calls = self.calls();
            if done(&calls) {
                return calls;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.calls();
            }
        }
    }

    fn record(&self, call: DataCall) -> Result<(), Status> {
        self.calls.lock().unwrap().push(call);
        self.changed.notify_waiters();
        if self.failing.load(Ordering::SeqCst) {
            return Err(Status::unavailable("fake data-service is down"));
        }
        Ok(())
    }
}

macro_rules! unimplemented_rpcs {
    ($($method:ident($req:ty) -> $resp:ty;)*) => {
        $(
            // Spelled as `async_trait` expands an `async fn` (it cannot see into macros).
            fn $method<'a, 'async_trait>(
                &'a self,
                _request: Request<$req>,
            ) -> Pin<Box<dyn Future<Output = Result<Response<$resp>, Status>> + Send + 'async_trait>>
            where
                'a: 'async_trait,
                Self: 'async_trait,
            {
                Box::pin(async move { Err(Status::unimplemented("not in this fake")) })
            }
        )*
    };
}

#[tonic::async_trait]
impl DataService for FakeData {
    async fn notify_link_registered(
        &self,
        request: Request<NotifyLinkRegisteredRequest>,
    ) -> Result<Response<NotifyLinkRegisteredResponse>, Status> {
        self.record(DataCall::Notify(request.into_inner()))?;
        Ok(Response::new(NotifyLinkRegisteredResponse {
            released_webhooks: 0,
        }))
    }

    async fn purge_link(
        &self,
        request: Request<PurgeLinkRequest>,
    ) -> Result<Response<PurgeLinkResponse>, Status> {
        self.record(DataCall::Purge(request.into_inner()))?;
        Ok(Response::new(PurgeLinkResponse { records_deleted: 7 }))
    }

    type WatchSyncStatusStream =
        futures::stream::BoxStream<'static, Result<WatchSyncStatusResponse, Status>>;
    type WatchChangesStream =
        futures::stream::BoxStream<'static, Result<WatchChangesResponse, Status>>;

    unimplemented_rpcs! {
        ingest_webhook(IngestWebhookRequest) -> IngestWebhookResponse;
        list_records(ListRecordsRequest) -> ListRecordsResponse;
        list_accounts(ListAccountsRequest) -> ListAccountsResponse;
        list_transactions(ListTransactionsRequest) -> ListTransactionsResponse;
        list_balances(ListBalancesRequest) -> ListBalancesResponse;
        list_owners(ListOwnersRequest) -> ListOwnersResponse;
        list_incomes(ListIncomesRequest) -> ListIncomesResponse;
        list_recurring_expenses(ListRecurringExpensesRequest) -> ListRecurringExpensesResponse;
        list_risk_insights(ListRiskInsightsRequest) -> ListRiskInsightsResponse;
        list_employment_records(ListEmploymentRecordsRequest) -> ListEmploymentRecordsResponse;
        list_invoices(ListInvoicesRequest) -> ListInvoicesResponse;
        list_tax_returns(ListTaxReturnsRequest) -> ListTaxReturnsResponse;
        list_tax_status(ListTaxStatusRequest) -> ListTaxStatusResponse;
        list_tax_compliance_status(ListTaxComplianceStatusRequest) -> ListTaxComplianceStatusResponse;
        list_tax_retentions(ListTaxRetentionsRequest) -> ListTaxRetentionsResponse;
        get_sync_status(GetSyncStatusRequest) -> GetSyncStatusResponse;
        watch_sync_status(WatchSyncStatusRequest) -> Self::WatchSyncStatusStream;
        list_changes(ListChangesRequest) -> ListChangesResponse;
        watch_changes(WatchChangesRequest) -> Self::WatchChangesStream;
        resync_link(ResyncLinkRequest) -> ResyncLinkResponse;
        list_webhook_events(ListWebhookEventsRequest) -> ListWebhookEventsResponse;
        replay_webhook_event(ReplayWebhookEventRequest) -> ReplayWebhookEventResponse;
    }
}
