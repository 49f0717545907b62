//! The webhook inbox: store each webhook once, act on it, acknowledge. The payload is only a
//! hint: data always comes from Belvo. `LINK` events go to link-service; `link_deleted`
//! purges; a webhook for a link data-service does not know yet is held (or the link adopted
//! through link-service) and processed when the link appears.
//!
//! Webhooks are stored and acted on in batches: what arrives while a batch is being processed
//! forms the next one. A batch is stored, and the pulls its data webhooks for registered links
//! ask for are scheduled (one job per link resource), in one transaction with one commit; each
//! request is answered only after it. The rest act once per group of identical webhooks (same
//! region, link, type and code). A burst for one link, and Belvo's mix spread over many links,
//! then cost a few statements and one commit per batch instead of several per webhook.

use std::collections::{HashMap, HashSet};

use belvo::webhook::{LinkError, WebhookCode, WebhookData, WebhookEnvelope, WebhookType};
use connect_proto::link::v1 as link_pb;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::task::TaskTracker;
use tonic::Code;

use crate::resource::Resource;
use crate::store::{
    Ingested, JobMode, LinkRow, NewWebhook, Planned, Pull, StoreError, StoredWebhook, WebhookState,
    now_ms,
};
use crate::sync::Engine;

/// link-service, as data-service calls it.
pub type LinkClient =
    link_pb::link_service_client::LinkServiceClient<grpc_runtime::client::ClientChannel>;

/// Why a webhook body was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the body is not a Belvo webhook: {0}")]
    NotAWebhook(#[from] serde_json::Error),
    #[error("region `{0}` is not configured")]
    UnknownRegion(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Its batch could not be stored.
    #[error("the webhook could not be stored")]
    NotStored { unavailable: bool },
}

/// How old an unprocessed webhook must be before the background pass takes it over.
const RETRY_AFTER_MS: i64 = 10_000;

/// The most webhooks acted on in one batch.
const MAX_BATCH: usize = 256;

/// The inbox.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub engine: Engine,
    pub links: Option<LinkClient>,
    /// To the batch processor. Unbounded, because each arrival is a request waiting for its
    /// answer: the server's concurrency bounds them.
    arrivals: mpsc::UnboundedSender<(Arrival, Answer)>,
}

/// A webhook waiting for its batch.
#[derive(Debug)]
struct Arrival {
    webhook: NewWebhook,
    envelope: WebhookEnvelope,
    region: String,
}

/// Its request, waiting for the batch to store it (and act on it).
type Answer = oneshot::Sender<Stored>;

/// What became of an arrival.
#[derive(Debug, Clone, Copy)]
enum Stored {
    Ingested(Ingested),
    /// The batch's insert failed; `unavailable` when the database could not be reached.
    Failed {
        unavailable: bool,
    },
}

/// What processing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Processed,
    Held,
    Ignored,
}

impl Inbox {
    /// The inbox, and its batch processor to run until shutdown.
    pub fn new(
        engine: Engine,
        links: Option<LinkClient>,
        batches_in_flight: usize,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (arrivals, received) = mpsc::unbounded_channel();
        let inbox = Self {
            engine,
            links,
            arrivals,
        };
        let batches = inbox
            .clone()
            .process_batches(received, batches_in_flight.max(1));
        (inbox, batches)
    }

    /// Stores a webhook (once per id) with the others of its batch and processes it; answers
    /// once it is committed and acted on. Processing failures leave the event `received` for
    /// the background pass to retry; the webhook is still acknowledged (it is stored), as it is
    /// when shutdown stops the processor first.
    pub async fn ingest(
        &self,
        region: &str,
        body: &[u8],
    ) -> Result<(Ingested, String), IngestError> {
        let envelope = WebhookEnvelope::parse(body)?;
        if !self.engine.belvo.has(region) {
            return Err(IngestError::UnknownRegion(region.to_owned()));
        }
        let event = NewWebhook {
            webhook_id: envelope.webhook_id.clone(),
            region: region.to_owned(),
            link_id: envelope.link_id.clone(),
            webhook_type: envelope.webhook_type.as_str().to_owned(),
            webhook_code: envelope.webhook_code.as_str().to_owned(),
            process_type: envelope
                .process_type
                .as_ref()
                .map(|p| p.as_str().to_owned()),
            request_id: envelope.request_id.clone(),
            external_id: envelope.external_id.clone(),
            body: String::from_utf8_lossy(body).into_owned(),
            received_at: now_ms(),
        };
        let webhook_id = envelope.webhook_id.clone();
        let (done, finished) = oneshot::channel();
        let arrival = Arrival {
            webhook: event,
            envelope,
            region: region.to_owned(),
        };
        if let Err(returned) = self.arrivals.send((arrival, done)) {
            // The batch processor stopped (shutdown): stored here, acted on by the retry pass.
            let ingested = self
                .engine
                .store
                .insert_webhook(&returned.0.0.webhook)
                .await?;
            return Ok((ingested, webhook_id));
        }
        match finished.await {
            Ok(Stored::Ingested(ingested)) => Ok((ingested, webhook_id)),
            Ok(Stored::Failed { unavailable }) => Err(IngestError::NotStored { unavailable }),
            // Dropped unanswered: the processor stopped mid-batch.
            Err(_) => Err(IngestError::NotStored { unavailable: true }),
        }
    }

    /// Whenever one of its `slots` is free (`webhooks.batches_in_flight`), takes whatever has
    /// arrived (up to [`MAX_BATCH`]) and stores it; what its transaction could not settle is acted on outside
    /// the slots, so that a batch waiting on link-service and Belvo does not hold up the
    /// webhooks behind it. At shutdown, lets the running batches and acting finish.
    async fn process_batches(
        self,
        mut arrivals: mpsc::UnboundedReceiver<(Arrival, Answer)>,
        slots: usize,
    ) {
        let stop = self.engine.stop.clone();
        let mut running = JoinSet::new();
        let acting = TaskTracker::new();
        loop {
            while running.try_join_next().is_some() {}
            if running.len() >= slots {
                running.join_next().await;
            }
            let mut batch = Vec::new();
            tokio::select! {
                () = stop.triggered() => break,
                count = arrivals.recv_many(&mut batch, MAX_BATCH) => {
                    if count == 0 {
                        break;
                    }
                }
            }
            let (inbox, acting) = (self.clone(), acting.clone());
            running.spawn(async move {
                let rest = inbox.store_batch(batch).await;
                if !rest.is_empty() {
                    acting.spawn(async move { inbox.act_on(rest).await });
                }
            });
        }
        while running.join_next().await.is_some() {}
        acting.close();
        acting.wait().await;
    }

    /// Stores the batch and schedules the pulls its new data webhooks for registered links
    /// ask for, in one transaction, and answers the webhooks that settles (a duplicate, a
    /// scheduled pull). Returns the rest, new webhooks to act on: LINK events, links to adopt
    /// or hold, or all of them when the transaction failed.
    async fn store_batch(&self, batch: Vec<(Arrival, Answer)>) -> Vec<(Arrival, Answer)> {
        let (batch, answers): (Vec<Arrival>, Vec<Answer>) = batch.into_iter().unzip();
        let store = &self.engine.store;
        let plan = self.plan(&batch).await;
        let planned: Vec<Planned<'_>> = batch
            .iter()
            .zip(&plan)
            .map(|(a, &(state, pull))| Planned {
                webhook: &a.webhook,
                state,
                pull,
            })
            .collect();
        let (ingested, scheduled) = match store.store_and_schedule(&planned, now_ms()).await {
            Ok(ingested) => (ingested, true),
            Err(e) if e.is_unavailable() => {
                fail(answers, &e);
                return Vec::new();
            }
            Err(e) => {
                // Store them as received and act one by one (or leave them to the retry pass).
                tracing::warn!(error = %e, webhooks = batch.len(),
                    "storing and scheduling a batch failed; acting one by one");
                let webhooks: Vec<&NewWebhook> = batch.iter().map(|a| &a.webhook).collect();
                match store.insert_webhooks(&webhooks).await {
                    Ok(ingested) => (ingested, false),
                    Err(e) => {
                        fail(answers, &e);
                        return Vec::new();
                    }
                }
            }
        };
        let states: Vec<WebhookState> = plan.iter().map(|&(state, _)| state).collect();
        let mut changed = HashSet::new();
        let mut rest = Vec::new();
        for (((arrival, outcome), state), answer) in
            batch.into_iter().zip(ingested).zip(states).zip(answers)
        {
            let label = match outcome {
                Ingested::New => "accepted",
                Ingested::Duplicate => "duplicate",
            };
            self.engine
                .metrics
                .webhooks
                .with_label_values(&[label])
                .inc();
            if outcome == Ingested::Duplicate || (scheduled && state != WebhookState::Received) {
                let _ = answer.send(Stored::Ingested(outcome));
                if outcome == Ingested::New {
                    changed.insert(arrival.envelope.link_id);
                }
            } else {
                rest.push((arrival, answer));
            }
        }
        if !changed.is_empty() {
            self.engine.wake.notify_waiters();
            for link in &changed {
                self.engine.changed(link);
            }
        }
        rest
    }

    /// Acts on new webhooks once per group of identical ones (same region, link, type and
    /// code), the groups concurrently, and answers each after its group.
    async fn act_on(&self, rest: Vec<(Arrival, Answer)>) {
        let (arrivals, answers): (Vec<Arrival>, Vec<Answer>) = rest.into_iter().unzip();
        let mut groups: HashMap<(&str, &str, &str, &str), Vec<&Arrival>> = HashMap::new();
        for arrival in &arrivals {
            let e = &arrival.envelope;
            let key = (
                arrival.region.as_str(),
                e.link_id.as_str(),
                e.webhook_type.as_str(),
                e.webhook_code.as_str(),
            );
            groups.entry(key).or_default().push(arrival);
        }
        futures::future::join_all(groups.into_values().map(|group| self.process_group(group)))
            .await;
        for answer in answers {
            let _ = answer.send(Stored::Ingested(Ingested::New));
        }
    }

    /// The state each webhook of the batch is stored in, and the pull it schedules: a data
    /// webhook for a registered link is `processed` with its pull, one for a purged link
    /// `ignored`; every other is stored `received`, to be acted on one by one (all of them
    /// when the batch's links cannot be read).
    async fn plan<'a>(&self, batch: &'a [Arrival]) -> Vec<(WebhookState, Option<Pull<'a>>)> {
        let pulls: Vec<Option<Pull<'a>>> = batch.iter().map(|a| pull_of(&a.envelope)).collect();
        let mut ids: Vec<&str> = pulls.iter().flatten().map(|p| p.link_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let links = if ids.is_empty() {
            HashMap::new()
        } else {
            match self.engine.store.links_by_id(&ids).await {
                Ok(links) => links,
                Err(e) => {
                    tracing::warn!(error = %e, "reading a batch's links failed; acting one by one");
                    HashMap::new()
                }
            }
        };
        pulls
            .into_iter()
            .map(|pull| match pull.map(|p| (links.get(p.link_id), p)) {
                Some((Some(link), _)) if link.purged_at.is_some() => (WebhookState::Ignored, None),
                Some((Some(_), pull)) => (WebhookState::Processed, Some(pull)),
                _ => (WebhookState::Received, None),
            })
            .collect()
    }

    /// Processes the group's first webhook and records its outcome for the others.
    async fn process_group(&self, group: Vec<&Arrival>) {
        let Some((first, others)) = group.split_first() else {
            return;
        };
        let webhook_id = first.envelope.webhook_id.as_str();
        let result = match self.process(&first.envelope, &first.region).await {
            Ok(Some((state, error))) if !others.is_empty() => {
                let ids: Vec<&str> = others
                    .iter()
                    .map(|a| a.envelope.webhook_id.as_str())
                    .collect();
                self.engine
                    .store
                    .set_webhook_state(&ids, state, error.as_deref(), now_ms())
                    .await
                    .map_err(IngestError::from)
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(webhook_id, batched = others.len(), error = %e,
                "processing a webhook failed; it stays received for a retry");
        }
    }

    /// Processes a stored webhook again (operators' replay, the background pass).
    pub async fn reprocess(&self, stored: &StoredWebhook) -> Result<(), IngestError> {
        let envelope = WebhookEnvelope::parse(stored.body.as_bytes())?;
        self.process(&envelope, &stored.region).await?;
        Ok(())
    }

    /// Acts on a webhook and records the outcome, which it returns (none when the webhook is
    /// left received for a retry).
    async fn process(
        &self,
        envelope: &WebhookEnvelope,
        region: &str,
    ) -> Result<Option<(WebhookState, Option<String>)>, IngestError> {
        let store = &self.engine.store;
        let (state, error) = match self.act(envelope, region).await {
            Ok(Outcome::Processed) => (WebhookState::Processed, None),
            Ok(Outcome::Held) => (WebhookState::Held, None),
            Ok(Outcome::Ignored) => (WebhookState::Ignored, None),
            Err(ActError::Store(e)) => return Err(IngestError::Store(e)),
            Err(ActError::LinkService(status)) if is_transient(status.code()) => {
                // Leave it received: the background pass retries once link-service is back.
                tracing::warn!(webhook_id = %envelope.webhook_id, status = %status.message(),
                    "link-service unavailable; the webhook will be retried");
                return Ok(None);
            }
            Err(ActError::LinkService(status)) => (
                WebhookState::Failed,
                Some(format!("link-service: {}", status.message())),
            ),
            Err(ActError::Belvo(e)) => {
                // Left received: the background pass asks Belvo again.
                tracing::warn!(webhook_id = %envelope.webhook_id, error = %e,
                    "Belvo could not confirm a LINK webhook; it will be retried");
                return Ok(None);
            }
        };
        store
            .set_webhook_state(&[&envelope.webhook_id], state, error.as_deref(), now_ms())
            .await?;
        Ok(Some((state, error)))
    }

    async fn act(&self, envelope: &WebhookEnvelope, region: &str) -> Result<Outcome, ActError> {
        let store = &self.engine.store;
        let link_id = envelope.link_id.as_str();
        let link_code = match (&envelope.webhook_type, &envelope.webhook_code) {
            (_, WebhookCode::LinkDeleted) => Some(link_pb::LinkEventCode::LinkDeleted),
            (WebhookType::Link, WebhookCode::InvalidCredentials) => {
                Some(link_pb::LinkEventCode::InvalidCredentials)
            }
            (WebhookType::Link, WebhookCode::TokenRequired) => {
                Some(link_pb::LinkEventCode::TokenRequired)
            }
            (WebhookType::Link, _) => return Ok(Outcome::Ignored),
            _ => None,
        };
        if let Some(code) = link_code {
            return self.link_event(envelope, region, code).await;
        }

        let Some(pull) = pull_of(envelope) else {
            return Ok(Outcome::Ignored);
        };
        match store.link(link_id).await? {
            // Purged: Belvo deleted the link; a late webhook brings nothing to keep.
            Some(link) if link.purged_at.is_some() => return Ok(Outcome::Ignored),
            Some(_) => {}
            None if self.adopt(envelope, region).await? => {}
            None => return Ok(Outcome::Held),
        }
        let now = now_ms();
        store
            .enqueue_job(
                link_id,
                pull.resource,
                pull.mode,
                belvo::Priority::Update,
                pull.expected_rows,
                now,
            )
            .await?;
        store.touch_link(link_id, now).await?;
        self.engine.wake.notify_waiters();
        self.engine.changed(link_id);
        Ok(Outcome::Processed)
    }

    /// A `LINK` webhook. Its body is not trusted (Belvo's webhooks carry no signature):
    /// link-service applies it only once Belvo confirms it, and a `link_deleted` purges the
    /// link's data only when the link is then deleted. Without link-service, a deletion is
    /// confirmed at Belvo here and the other codes wait.
    async fn link_event(
        &self,
        envelope: &WebhookEnvelope,
        region: &str,
        code: link_pb::LinkEventCode,
    ) -> Result<Outcome, ActError> {
        let deleting = code == link_pb::LinkEventCode::LinkDeleted;
        let Some(mut links) = self.links.clone() else {
            if !deleting {
                return Ok(Outcome::Held);
            }
            if !self.gone_at_belvo(region, &envelope.link_id).await? {
                return Ok(Outcome::Ignored);
            }
            self.purge(&envelope.link_id).await?;
            return Ok(Outcome::Processed);
        };
        let error = match envelope.data() {
            WebhookData::LinkError(error) => error,
            _ => LinkError::default(),
        };
        let request = link_pb::ApplyLinkEventRequest {
            link_id: envelope.link_id.clone(),
            code: code as i32,
            webhook_id: envelope.webhook_id.clone(),
            received_at: Some(timestamp(now_ms())),
            error_code: error.error_code.unwrap_or_default(),
            error_message: error.error_message.unwrap_or_default(),
        };
        let applied = match links.apply_link_event(request).await {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == Code::NotFound => return Ok(Outcome::Held),
            Err(status) => return Err(ActError::LinkService(status)),
        };
        if !applied.confirmed {
            return Ok(Outcome::Ignored);
        }
        let deleted = applied
            .link
            .is_some_and(|l| l.status() == link_pb::LinkStatus::Deleted);
        if deleting && deleted {
            self.purge(&envelope.link_id).await?;
        }
        Ok(Outcome::Processed)
    }

    async fn purge(&self, link_id: &str) -> Result<(), StoreError> {
        let purged = self.engine.store.purge_link(link_id, false).await?;
        tracing::info!(link_id, purged, "link deleted at Belvo; data purged");
        self.engine.changed(link_id);
        Ok(())
    }

    /// Whether Belvo no longer has the link (`GET` answers 404).
    async fn gone_at_belvo(&self, region: &str, link_id: &str) -> Result<bool, ActError> {
        let (Some(client), Ok(id)) = (self.engine.belvo.get(region), link_id.parse()) else {
            return Ok(false);
        };
        match client.links().get(id).await {
            Ok(_) => Ok(false),
            Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => Ok(true),
            Err(e) => Err(ActError::Belvo(e)),
        }
    }

    /// Asks link-service to adopt a link first seen in a webhook. True when it did (the link is
    /// then recorded here too).
    async fn adopt(&self, envelope: &WebhookEnvelope, region: &str) -> Result<bool, ActError> {
        let (Some(mut links), Some(external_id)) =
            (self.links.clone(), envelope.external_id.clone())
        else {
            return Ok(false);
        };
        let request = link_pb::AdoptLinkRequest {
            region: region.to_owned(),
            link_id: envelope.link_id.clone(),
            external_id,
        };
        let link = match links.adopt_link(request).await {
            Ok(response) => response.into_inner().link,
            Err(status) if matches!(status.code(), Code::NotFound | Code::PermissionDenied) => {
                return Ok(false);
            }
            Err(status) => return Err(ActError::LinkService(status)),
        };
        let Some(link) = link else { return Ok(false) };
        self.engine
            .store
            .upsert_link(&LinkRow {
                link_id: link.link_id,
                region: region.to_owned(),
                owner: link.owner,
                fetch_resources: link.fetch_resources,
                refresh_rate: link.refresh_rate,
                registered_at: now_ms(),
                last_webhook_at: None,
                last_reconciled_at: None,
                purged_at: None,
            })
            .await?;
        Ok(true)
    }

    /// Records a link link-service registered and processes the webhooks held for it.
    pub async fn link_registered(&self, link: LinkRow) -> Result<usize, IngestError> {
        let link_id = link.link_id.clone();
        self.engine.store.upsert_link(&link).await?;
        let held = self.engine.store.held_webhooks(&link_id).await?;
        for event in &held {
            self.reprocess(event).await?;
        }
        self.engine.changed(&link_id);
        Ok(held.len())
    }

    /// Processes webhooks left `received` (a crash or an unavailable link-service). Recent ones
    /// are left to the ingest that is processing them right now.
    pub async fn retry_unprocessed(&self) -> Result<usize, IngestError> {
        let settled = now_ms() - RETRY_AFTER_MS;
        let pending = self.engine.store.unprocessed_webhooks(settled, 100).await?;
        for event in &pending {
            self.reprocess(event).await?;
        }
        Ok(pending.len())
    }
}

#[derive(Debug, thiserror::Error)]
enum ActError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("link-service: {0}")]
    LinkService(tonic::Status),
    #[error("Belvo: {0}")]
    Belvo(belvo::Error),
}

/// The pull a data webhook asks for (`None`: not a data webhook this version acts on):
/// `historical_update` and the updates and deletions of existing objects pull everything,
/// `new_*_available` only what is new where the resource allows it.
fn pull_of(envelope: &WebhookEnvelope) -> Option<Pull<'_>> {
    if envelope.webhook_type == WebhookType::Link {
        return None;
    }
    let resource = Resource::from_name(envelope.webhook_type.as_str())?;
    let mode = match &envelope.webhook_code {
        WebhookCode::HistoricalUpdate
        | WebhookCode::TransactionsUpdated
        | WebhookCode::TransactionsDeleted
        | WebhookCode::InitialInflowUpdate
        | WebhookCode::InitialOutflowUpdate
        | WebhookCode::HistoricalInflowUpdate
        | WebhookCode::HistoricalOutflowUpdate
        | WebhookCode::EmploymentChanges => JobMode::Full,
        code if code.as_str().starts_with("new_") && code.as_str().ends_with("_available") => {
            if resource.incremental {
                JobMode::Incremental
            } else {
                JobMode::Full
            }
        }
        _ => return None,
    };
    let expected_rows = match envelope.data() {
        WebhookData::Resource(counts) => {
            (resource.expected)(&counts).and_then(|n| i64::try_from(n).ok())
        }
        _ => None,
    };
    Some(Pull {
        link_id: &envelope.link_id,
        resource,
        mode,
        expected_rows,
    })
}

/// Answers every request of a batch that could not be stored.
fn fail(answers: Vec<Answer>, error: &StoreError) {
    tracing::warn!(error = %error, webhooks = answers.len(), "storing webhooks failed");
    let unavailable = error.is_unavailable();
    for answer in answers {
        let _ = answer.send(Stored::Failed { unavailable });
    }
}

fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Aborted
    )
}

/// Epoch milliseconds as a protobuf timestamp.
pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}
