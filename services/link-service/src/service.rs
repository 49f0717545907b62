//! The `connect.link.v1.LinkService` handlers: request validation, the calls to Belvo and
//! token-service, and the store operations. Each handler returns a [`ServiceError`] that is
//! mapped to a status in one place ([`ServiceError::into_status`]).

use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context as _;
use connect_proto::link::v1 as pb;
use connect_proto::link::v1::link_service_server::LinkService;
use database::Feed;
use grpc_runtime::status::{FieldViolations, request_id};
use grpc_runtime::{Admits, Gate, Shutdown};
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::{
    belvo_fields, decode_page_token, encode_page_token, link_message, millis, now_ms, timestamp,
};
use crate::data_service::DataService;
use crate::error::ServiceError;
use crate::owners::ExternalIds;
use crate::removals::{Erasure, Removals};
use crate::store::{LinkEvent, LinkRow, Origin, Status as LinkStatus, Store};
use crate::turns::Turns;
use belvo_accounts::BelvoAccounts;

/// ListLinks page size when the request gives none.
const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest ListLinks page.
const MAX_PAGE_SIZE: i32 = 200;
/// The callers of the user-facing RPCs, and of the webhook-driven ones.
const GATEWAY: &[&str] = &["gateway"];
const DATA_SERVICE: &[&str] = &["data-service"];

/// Longest owner, external id or webhook id accepted.
const MAX_ID_LEN: usize = 256;

/// The service's state: the store, the per-region Belvo clients, token-service and
/// (optionally) data-service; the shutdown ends open `WatchLink` streams.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    store: Store,
    belvo: BelvoAccounts,
    external_ids: ExternalIds,
    data: DataService,
    removals: Removals,
    /// Who may call what; records operator calls.
    gate: Gate,
    shutdown: Shutdown,
    /// One adoption of a link at a time in this process.
    adoptions: Arc<Turns>,
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchLinkResponse, Status>> + Send>>;

type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl Links {
    pub(crate) fn new(
        store: Store,
        belvo: BelvoAccounts,
        external_ids: ExternalIds,
        data: DataService,
        removals: Removals,
        gate: Gate,
        shutdown: Shutdown,
    ) -> Self {
        Self {
            store,
            belvo,
            external_ids,
            data,
            removals,
            gate,
            shutdown,
            adoptions: Arc::default(),
        }
    }

    async fn register(&self, req: pb::RegisterLinkRequest) -> Result<pb::RegisterLinkResponse> {
        let mut v = FieldViolations::new();
        check_id(&mut v, "owner", &req.owner);
        let link_id = check_uuid(&mut v, "link_id", &req.link_id);
        if !req.region.is_empty() && self.belvo.get(&req.region).is_none() {
            v.add("region", format!("unknown region `{}`", req.region));
        }
        let link_id = valid(v, link_id)?;
        if let Some(link) = self.just_adopted(link_id, &req).await? {
            // Idempotent; repairs a notice the adoption could not give.
            self.data.link_registered(&link).await;
            return Ok(pb::RegisterLinkResponse {
                link: Some(link_message(&link)),
                created: false,
            });
        }
        let (region, belvo_link, belvo_json) = self.find_at_belvo(link_id, &req.region).await?;
        let Some(owner) = self
            .owner_of(belvo_link.external_id.as_deref())
            .await?
            .filter(|owner| *owner == req.owner)
        else {
            return Err(ServiceError::ExternalIdMismatch);
        };
        let fields = belvo_fields(&belvo_link, belvo_json);
        let id = link_id.to_string();
        let now = now_ms();
        let created = self
            .store
            .insert(&id, &owner, &region, Origin::Registered, &fields, now)
            .await?;
        if !created {
            let existing = self.stored(&id).await?;
            if existing.owner != owner {
                return Err(ServiceError::OwnedByAnotherOwner);
            }
            self.store
                .update_belvo_fields(&id, &owner, &fields, now)
                .await?;
        }
        let link = self.stored(&id).await?;
        tracing::info!(link_id = %id, region = %link.region, created, "link registered");
        // Awaited (bounded by the client's request timeout), so the webhooks data-service
        // held for the link are scheduled by the time the caller hears back. Idempotent, so
        // a repeated registration repeats it (and repairs an earlier failed notice).
        self.data.link_registered(&link).await;
        Ok(pb::RegisterLinkResponse {
            link: Some(link_message(&link)),
            created,
        })
    }

    /// The link, when its webhook had it adopted for this owner moments ago and it is valid
    /// still: adoption looked it up at Belvo then and found this owner's external id, so the
    /// registration from the owner's page that follows spends none of link-service's share
    /// of Belvo's budget on the same lookup (a share that one linking session would otherwise
    /// use twice per link). A link in another status is looked up: a registration after the
    /// widget's update mode is how its new status is read.
    async fn just_adopted(
        &self,
        link_id: Uuid,
        req: &pb::RegisterLinkRequest,
    ) -> Result<Option<LinkRow>> {
        const FRESH_MS: i64 = 120_000;
        let link = self.store.get(&link_id.to_string()).await?;
        Ok(link.filter(|l| {
            l.origin == Origin::Adopted
                && l.status == LinkStatus::Valid
                && l.owner == req.owner
                && (req.region.is_empty() || l.region == req.region)
                && l.deleted_at.is_none()
                && now_ms() - l.registered_at < FRESH_MS
        }))
    }

    /// The link now, then whenever a replica changed it (a change that leaves the message as
    /// it was is not sent).
    async fn watch(&self, req: pb::WatchLinkRequest) -> Result<WatchStream> {
        let mut v = FieldViolations::new();
        let link_id = check_uuid(&mut v, "link_id", &req.link_id);
        let link_id = valid(v, link_id)?;
        // Subscribed before the first read: a change in between is sent, not lost.
        let mut changes = self.store.changes();
        let link = self.owned(link_id, &req.owner).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let (store, stop) = (self.store.clone(), self.shutdown.clone());
        tokio::spawn(async move {
            let mut last = link_message(&link);
            let mut send = Some(last.clone());
            loop {
                if let Some(link) = send.take() {
                    let update = pb::WatchLinkResponse { link: Some(link) };
                    if tx.send(Ok(update)).await.is_err() {
                        return;
                    }
                }
                let changed = tokio::select! {
                    () = tx.closed() => return,
                    () = stop.triggered() => return,
                    changed = changes.recv() => changed,
                };
                match changed.as_deref() {
                    // Changes may have been missed: read the link again.
                    Ok(key) if key == link.link_id || key == Feed::EVERYTHING => {}
                    Err(RecvError::Lagged(_)) => {}
                    Ok(_) => continue,
                    Err(RecvError::Closed) => return,
                }
                if let Ok(Some(row)) = store.get(&link.link_id).await {
                    let current = link_message(&row);
                    if current != last {
                        last = current.clone();
                        send = Some(current);
                    }
                }
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn get(&self, req: pb::GetLinkRequest) -> Result<pb::GetLinkResponse> {
        let mut v = FieldViolations::new();
        let link_id = check_uuid(&mut v, "link_id", &req.link_id);
        let link_id = valid(v, link_id)?;
        let link = self.owned(link_id, &req.owner).await?;
        Ok(pb::GetLinkResponse {
            link: Some(link_message(&link)),
        })
    }

    async fn list(&self, req: pb::ListLinksRequest) -> Result<pb::ListLinksResponse> {
        let mut v = FieldViolations::new();
        check_id(&mut v, "owner", &req.owner);
        if !(0..=MAX_PAGE_SIZE).contains(&req.page_size) {
            v.add(
                "page_size",
                format!("must be between 0 and {MAX_PAGE_SIZE}"),
            );
        }
        let mut statuses = Vec::new();
        for (i, value) in req.statuses.iter().enumerate() {
            match LinkStatus::from_proto(*value) {
                Some(status) if !statuses.contains(&status) => statuses.push(status),
                Some(_) => {}
                None => {
                    v.add(
                        format!("statuses[{i}]"),
                        "must be a known, specified status",
                    );
                }
            }
        }
        statuses.sort_by_key(|s| s.as_str());
        let filter = if !statuses.is_empty() {
            statuses
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        } else if req.include_deleted {
            "*".to_owned()
        } else {
            "live".to_owned()
        };
        let after = if req.page_token.is_empty() {
            None
        } else {
            let after = decode_page_token(&req.page_token, &filter);
            if after.is_none() {
                v.add(
                    "page_token",
                    "is not a token of this listing (the filters must not change between pages)",
                );
            }
            after
        };
        if !v.is_empty() {
            return Err(v.into());
        }
        if statuses.is_empty() && !req.include_deleted {
            statuses = LinkStatus::ALL
                .into_iter()
                .filter(|s| *s != LinkStatus::Deleted)
                .collect();
        }
        let page_size = if req.page_size == 0 {
            DEFAULT_PAGE_SIZE
        } else {
            i64::from(req.page_size)
        };
        let mut rows = self
            .store
            .list(&req.owner, &statuses, after.as_ref(), page_size + 1)
            .await?;
        let more = rows.len() as i64 > page_size;
        rows.truncate(usize::try_from(page_size).unwrap_or(usize::MAX));
        let next_page_token = match rows.last() {
            Some(last) if more => encode_page_token(last, &filter),
            _ => String::new(),
        };
        Ok(pb::ListLinksResponse {
            links: rows.iter().map(link_message).collect(),
            next_page_token,
        })
    }

    async fn delete(&self, req: pb::DeleteLinkRequest) -> Result<pb::DeleteLinkResponse> {
        let mut v = FieldViolations::new();
        let link_id = check_uuid(&mut v, "link_id", &req.link_id);
        let link_id = valid(v, link_id)?;
        let link = self.owned(link_id, &req.owner).await?;
        if link.status == LinkStatus::Deleted {
            return Ok(pb::DeleteLinkResponse {
                link: Some(link_message(&link)),
            });
        }
        // Asynchronously, as Belvo recommends (synchronous deletes are limited to 5 a minute):
        // Belvo answers 202 and sends `link_deleted` when done. A 404 counts as deleted, so a
        // retried DeleteLink completes.
        let belvo_request_id = match self
            .region_client(&link)?
            .links()
            .delete_async(link_id)
            .await
        {
            Ok(accepted) => Some(accepted.request_id),
            Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => None,
            Err(e) => return Err(belvo_failed(&link.region)(e)),
        };
        // DELETED here and the purge recorded in one transaction, then tried at once: a
        // data-service that cannot purge now is asked again until it confirms.
        self.removals
            .deleted_at_belvo(&link.link_id, &link.region)
            .await?;
        let link = self.stored(&link.link_id).await?;
        tracing::info!(link_id = %link.link_id, region = %link.region, ?belvo_request_id,
            "link deleted");
        Ok(pb::DeleteLinkResponse {
            link: Some(link_message(&link)),
        })
    }

    async fn refresh(&self, req: pb::RefreshLinkRequest) -> Result<pb::RefreshLinkResponse> {
        let mut v = FieldViolations::new();
        let link_id = check_uuid(&mut v, "link_id", &req.link_id);
        for (i, resource) in req.fetch_resources.iter().enumerate() {
            if resource.trim().is_empty() {
                v.add(format!("fetch_resources[{i}]"), "must not be empty");
            }
        }
        let link_id = valid(v, link_id)?;
        let link = self.owned(link_id, &req.owner).await?;
        if link.status == LinkStatus::Deleted {
            return Err(ServiceError::LinkDeleted);
        }
        if !link.fetch_resources.is_empty() {
            let mut v = FieldViolations::new();
            for (i, resource) in req.fetch_resources.iter().enumerate() {
                if !link.fetch_resources.contains(resource) {
                    v.add(
                        format!("fetch_resources[{i}]"),
                        format!("`{resource}` is not one of the link's fetch_resources"),
                    );
                }
            }
            if !v.is_empty() {
                return Err(v.into());
            }
        }
        let resources = (!req.fetch_resources.is_empty()).then_some(req.fetch_resources.as_slice());
        let accepted = self
            .region_client(&link)?
            .links()
            .refresh(link_id, resources)
            .await
            .map_err(belvo_failed(&link.region))?;
        let now = now_ms();
        self.store.set_refreshed(&link.link_id, now).await?;
        Ok(pb::RefreshLinkResponse {
            belvo_request_id: accepted.request_id,
            requested_at: Some(timestamp(now)),
        })
    }

    async fn apply_event(
        &self,
        req: pb::ApplyLinkEventRequest,
    ) -> Result<pb::ApplyLinkEventResponse> {
        let mut v = FieldViolations::new();
        let link_id = check_uuid(&mut v, "link_id", &req.link_id);
        let code = match pb::LinkEventCode::try_from(req.code) {
            Ok(pb::LinkEventCode::InvalidCredentials) => {
                Some(("invalid_credentials", LinkStatus::Invalid))
            }
            Ok(pb::LinkEventCode::TokenRequired) => {
                Some(("token_required", LinkStatus::TokenRequired))
            }
            Ok(pb::LinkEventCode::LinkDeleted) => Some(("link_deleted", LinkStatus::Deleted)),
            Ok(pb::LinkEventCode::Unspecified) | Err(_) => {
                v.add("code", "must be a specified LINK event code");
                None
            }
        };
        check_id(&mut v, "webhook_id", &req.webhook_id);
        let received_at = match req.received_at.as_ref() {
            None => {
                v.add("received_at", "required");
                None
            }
            Some(ts) => {
                let ms = millis(ts);
                if ms.is_none() {
                    v.add("received_at", "is not a valid timestamp");
                }
                ms
            }
        };
        let (Some(link_id), Some((code, new_status)), Some(received_at), true) =
            (link_id, code, received_at, v.is_empty())
        else {
            return Err(v.into());
        };
        let id = link_id.to_string();
        let stored = self
            .store
            .get(&id)
            .await?
            .ok_or(ServiceError::LinkNotFound)?;
        // The body is not trusted: Belvo must say the same (DELETED is final, nothing to ask).
        if stored.status != LinkStatus::Deleted
            && !self
                .confirmed_at_belvo(&stored.region, link_id, new_status)
                .await?
        {
            tracing::warn!(link_id = %id, webhook_id = %req.webhook_id, code,
                "a LINK webhook Belvo does not confirm; nothing changed");
            return Ok(pb::ApplyLinkEventResponse {
                link: Some(link_message(&stored)),
                previous_status: stored.status.to_proto().into(),
                changed: false,
                confirmed: false,
            });
        }
        let event = LinkEvent {
            link_id: &id,
            webhook_id: &req.webhook_id,
            code,
            new_status,
            received_at,
            error_code: non_empty(&req.error_code),
            error_message: non_empty(&req.error_message),
        };
        let outcome = self
            .store
            .apply_event(&event, now_ms())
            .await?
            .ok_or(ServiceError::LinkNotFound)?;
        if outcome.changed {
            tracing::info!(
                link_id = %id,
                webhook_id = %req.webhook_id,
                from = outcome.previous.as_str(),
                to = outcome.link.status.as_str(),
                "link status changed"
            );
        }
        Ok(pb::ApplyLinkEventResponse {
            link: Some(link_message(&outcome.link)),
            previous_status: outcome.previous.to_proto().into(),
            changed: outcome.changed,
            confirmed: true,
        })
    }

    /// Whether Belvo's link agrees with a `LINK` webhook's `status`: the same status, or, for
    /// a deletion, no link at all.
    async fn confirmed_at_belvo(
        &self,
        region: &str,
        link_id: Uuid,
        status: LinkStatus,
    ) -> Result<bool> {
        let client = self
            .belvo
            .get(region)
            .with_context(|| format!("region {region} has no Belvo client"))?;
        match client.links().get(link_id).await {
            Ok(link) => Ok(status != LinkStatus::Deleted
                && LinkStatus::from_belvo(link.status.as_ref()) == status),
            Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => {
                Ok(status == LinkStatus::Deleted)
            }
            Err(e) => Err(belvo_failed(region)(e)),
        }
    }

    async fn adopt(&self, req: pb::AdoptLinkRequest) -> Result<pb::AdoptLinkResponse> {
        let mut v = FieldViolations::new();
        if req.region.is_empty() {
            v.add("region", "required");
        } else if self.belvo.get(&req.region).is_none() {
            v.add("region", format!("unknown region `{}`", req.region));
        }
        let link_id = check_uuid(&mut v, "link_id", &req.link_id);
        check_id(&mut v, "external_id", &req.external_id);
        let link_id = valid(v, link_id)?;
        let id = link_id.to_string();
        // A link's first webhooks ask at once: the first adopts it, the others find it stored.
        let _turn = self.adoptions.take(&id).await;
        if let Some(existing) = self.store.get(&id).await? {
            // Registered already: the webhook must name the link's own external id.
            if existing.external_id.as_deref() != Some(req.external_id.as_str()) {
                return Err(ServiceError::ExternalIdMismatch);
            }
            return Ok(pb::AdoptLinkResponse {
                link: Some(link_message(&existing)),
                created: false,
            });
        }
        let owner = self
            .external_ids
            .owner_of(&req.external_id)
            .await
            .map_err(ServiceError::TokenService)?
            .ok_or(ServiceError::ExternalIdUnknown)?;
        let (region, belvo_link, belvo_json) = self.find_at_belvo(link_id, &req.region).await?;
        if belvo_link.external_id.as_deref() != Some(req.external_id.as_str()) {
            return Err(ServiceError::ExternalIdMismatch);
        }
        // Belvo's widget takes the external id from the page: the link is its owner's only if
        // they were linking at the time (a token was minted for them then), not whenever
        // someone who learnt the external id set it in their own widget.
        let created_at = belvo_link
            .created_at
            .map(|t| prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: t.timestamp_subsec_nanos() as i32,
            })
            .ok_or(ServiceError::NotLinkingThen)?;
        let owner_then = self
            .external_ids
            .owner_at_creation(&req.external_id, &region, created_at)
            .await
            .map_err(ServiceError::TokenService)?;
        if owner_then.as_deref() != Some(owner.as_str()) {
            return Err(ServiceError::NotLinkingThen);
        }
        let fields = belvo_fields(&belvo_link, belvo_json);
        let created = self
            .store
            .insert(&id, &owner, &region, Origin::Adopted, &fields, now_ms())
            .await?;
        let link = self.stored(&id).await?;
        tracing::info!(link_id = %id, region = %link.region, created, "link adopted");
        if created {
            // Not awaited: data-service calls AdoptLink while it processes a webhook, and
            // answering that call must not wait on data-service handling a notice about the
            // same link (it records the adopted link itself from our answer).
            let data = self.data.clone();
            let notified = link.clone();
            tokio::spawn(async move { data.link_registered(&notified).await });
        }
        Ok(pb::AdoptLinkResponse {
            link: Some(link_message(&link)),
            created,
        })
    }

    /// The link at Belvo, typed and as Belvo's JSON: in `region`, or in the first configured
    /// region that has it.
    async fn find_at_belvo(
        &self,
        link_id: Uuid,
        region: &str,
    ) -> Result<(String, belvo::models::Link, String)> {
        if !region.is_empty() {
            let client = self
                .belvo
                .get(region)
                .with_context(|| format!("region {region} has no Belvo client"))?;
            let (link, json) = client
                .links()
                .get_verbatim(link_id)
                .await
                .map_err(belvo_failed(region))?;
            return Ok((region.to_owned(), link, json));
        }
        let mut failure = None;
        for (region, client) in self.belvo.iter() {
            match client.links().get_verbatim(link_id).await {
                Ok((link, json)) => return Ok((region.to_owned(), link, json)),
                Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => {}
                Err(e) => {
                    tracing::warn!(region, error = %e, "cannot look the link up in a region");
                    failure.get_or_insert_with(|| belvo_failed(region)(e));
                }
            }
        }
        // A region that failed might have had it: say so rather than "not found".
        Err(failure.unwrap_or(ServiceError::NotAtBelvo))
    }

    /// The owner token-service minted `external_id` for; `None` for none or an unknown one.
    async fn owner_of(&self, external_id: Option<&str>) -> Result<Option<String>> {
        match external_id.filter(|e| !e.is_empty()) {
            None => Ok(None),
            Some(external_id) => self
                .external_ids
                .owner_of(external_id)
                .await
                .map_err(ServiceError::TokenService),
        }
    }

    /// A registered link that must exist (just written).
    async fn erase(&self, req: pb::EraseOwnerRequest) -> Result<pb::EraseOwnerResponse> {
        check_owner(&req.owner)?;
        let erasure = self.removals.erase(&req.owner).await?;
        tracing::info!(links = erasure.links, "an owner's erasure was asked for");
        Ok(pb::EraseOwnerResponse {
            erasure: Some(erasure_message(&erasure)),
        })
    }

    async fn erasure(&self, req: pb::GetErasureRequest) -> Result<pb::GetErasureResponse> {
        check_owner(&req.owner)?;
        match self.removals.erasure(&req.owner).await? {
            Some(erasure) => Ok(pb::GetErasureResponse {
                erasure: Some(erasure_message(&erasure)),
            }),
            None => Err(ServiceError::NoErasure),
        }
    }

    async fn stored(&self, id: &str) -> Result<LinkRow> {
        Ok(self
            .store
            .get(id)
            .await?
            .with_context(|| format!("link {id} is missing right after it was written"))?)
    }

    /// A registered link, of `owner` when one is given.
    async fn owned(&self, link_id: Uuid, owner: &str) -> Result<LinkRow> {
        match self.store.get(&link_id.to_string()).await? {
            Some(link) if owner.is_empty() || link.owner == owner => Ok(link),
            _ => Err(ServiceError::LinkNotFound),
        }
    }

    fn region_client(&self, link: &LinkRow) -> Result<&belvo::Client> {
        Ok(self.belvo.get(&link.region).with_context(|| {
            format!(
                "link {} is in region {}, which is no longer configured",
                link.link_id, link.region
            )
        })?)
    }
}

/// A failed Belvo call to `region`.
fn belvo_failed(region: &str) -> impl FnOnce(belvo::Error) -> ServiceError + '_ {
    move |source| ServiceError::Belvo {
        region: region.to_owned(),
        source,
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Checks a required opaque id (owner, external id, webhook id).
fn check_id(v: &mut FieldViolations, field: &str, value: &str) {
    if value.trim().is_empty() {
        v.add(field, "required");
    } else if value.len() > MAX_ID_LEN {
        v.add(field, format!("must be at most {MAX_ID_LEN} characters"));
    }
}

/// Checks a required UUID field.
fn check_uuid(v: &mut FieldViolations, field: &str, value: &str) -> Option<Uuid> {
    if value.is_empty() {
        v.add(field, "required");
        return None;
    }
    match Uuid::try_parse(value) {
        Ok(id) => Some(id),
        Err(_) => {
            v.add(field, "must be a UUID");
            None
        }
    }
}

/// A required owner, of a sensible length.
fn check_owner(owner: &str) -> Result<()> {
    let mut v = FieldViolations::new();
    check_id(&mut v, "owner", owner);
    if v.is_empty() { Ok(()) } else { Err(v.into()) }
}

fn erasure_message(e: &Erasure) -> pb::Erasure {
    pb::Erasure {
        requested_at: Some(timestamp(e.requested_at)),
        finished_at: e.finished_at.map(timestamp),
        links: e.links as i32,
        links_deleted_at_belvo: e.links_deleted_at_belvo as i32,
        links_purged: e.links_purged as i32,
        token_service_erased: e.token_service_erased,
        last_error: e.last_error.clone().unwrap_or_default(),
    }
}

/// The parsed link id when there were no violations.
fn valid(v: FieldViolations, link_id: Option<Uuid>) -> Result<Uuid> {
    match link_id {
        Some(id) if v.is_empty() => Ok(id),
        _ => Err(v.into()),
    }
}

/// Runs a handler and maps its error, with the call's request id.
async fn answer<Req, Resp, F>(
    request: Request<Req>,
    handler: impl FnOnce(Req) -> F,
) -> std::result::Result<Response<Resp>, Status>
where
    F: Future<Output = Result<Resp>>,
{
    let request_id = request_id(&request).map(str::to_owned);
    handler(request.into_inner())
        .await
        .map(Response::new)
        .map_err(|e| e.into_status(request_id.as_deref()))
}

#[tonic::async_trait]
impl LinkService for Links {
    async fn register_link(
        &self,
        request: Request<pb::RegisterLinkRequest>,
    ) -> std::result::Result<Response<pb::RegisterLinkResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id)
            .await?;
        answer(request, |r| self.register(r)).await
    }

    async fn get_link(
        &self,
        request: Request<pb::GetLinkRequest>,
    ) -> std::result::Result<Response<pb::GetLinkResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(
                &request,
                Admits::user(&["gateway", "token-service"], &req.owner),
                &req.link_id,
            )
            .await?;
        answer(request, |r| self.get(r)).await
    }

    type WatchLinkStream = WatchStream;

    async fn watch_link(
        &self,
        request: Request<pb::WatchLinkRequest>,
    ) -> std::result::Result<Response<WatchStream>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id)
            .await?;
        answer(request, |r| self.watch(r)).await
    }

    async fn list_links(
        &self,
        request: Request<pb::ListLinksRequest>,
    ) -> std::result::Result<Response<pb::ListLinksResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.owner)
            .await?;
        answer(request, |r| self.list(r)).await
    }

    async fn delete_link(
        &self,
        request: Request<pb::DeleteLinkRequest>,
    ) -> std::result::Result<Response<pb::DeleteLinkResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id)
            .await?;
        answer(request, |r| self.delete(r)).await
    }

    async fn refresh_link(
        &self,
        request: Request<pb::RefreshLinkRequest>,
    ) -> std::result::Result<Response<pb::RefreshLinkResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.link_id)
            .await?;
        answer(request, |r| self.refresh(r)).await
    }

    async fn apply_link_event(
        &self,
        request: Request<pb::ApplyLinkEventRequest>,
    ) -> std::result::Result<Response<pb::ApplyLinkEventResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::Services(DATA_SERVICE), &req.link_id)
            .await?;
        answer(request, |r| self.apply_event(r)).await
    }

    async fn erase_owner(
        &self,
        request: Request<pb::EraseOwnerRequest>,
    ) -> std::result::Result<Response<pb::EraseOwnerResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.owner)
            .await?;
        answer(request, |r| self.erase(r)).await
    }

    async fn get_erasure(
        &self,
        request: Request<pb::GetErasureRequest>,
    ) -> std::result::Result<Response<pb::GetErasureResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::user(GATEWAY, &req.owner), &req.owner)
            .await?;
        answer(request, |r| self.erasure(r)).await
    }

    async fn adopt_link(
        &self,
        request: Request<pb::AdoptLinkRequest>,
    ) -> std::result::Result<Response<pb::AdoptLinkResponse>, Status> {
        let req = request.get_ref();
        self.gate
            .admit(&request, Admits::Services(DATA_SERVICE), &req.link_id)
            .await?;
        answer(request, |r| self.adopt(r)).await
    }
}
