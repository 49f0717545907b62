//! The `connect.token.v1.TokenService` handlers. `CreateWidgetToken`: check the request,
//! in update mode ask link-service whether the owner has the link, derive and record the
//! owner's external id, ask the region's Belvo account for a token, audit it, and answer
//! with the token and the widget's start-up configuration. `ResolveExternalId`: look the
//! id up among those handed out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use connect_proto::common::v1 as common;
use connect_proto::token::v1 as proto;
use connect_proto::token::v1::token_service_server::TokenService;
use grpc_runtime::status::{FieldViolations, request_id};
use grpc_runtime::{Admits, Caller, Gate};
use regions::{AccessMode, RegionsConfig, WidgetFamily};
use secrecy::ExposeSecret as _;
use tonic::{Request, Response, Status};

use crate::body;
use crate::error::ServiceError;
use crate::external_id::{self, ExternalIdKey};
use crate::links::{LinkDirectory, Ownership};
use crate::metrics::{BelvoOutcome, Metrics};
use crate::request::{self, WidgetTokenOrder};
use crate::store::{AuditRecord, Store};

/// How long Belvo documents a widget access token to be valid: the expiry shown when the
/// token itself does not say.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// How long after its token expires a widget session may still create a link (the user is
/// in the middle of it), for `ResolveExternalId` with `link_created_at`.
const ADOPTION_MARGIN: Duration = Duration::from_secs(300);

/// How far Belvo's clock may be behind ours.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The `exp` claim of Belvo's access token, a JWT (whose signature only Belvo can check):
/// when the widget stops accepting it. `None` when the token is not a JWT with an `exp`.
fn token_expiry(access: &str) -> Option<DateTime<Utc>> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct Claims {
        exp: i64,
    }
    let payload = access.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Claims = serde_json::from_slice(&json).ok()?;
    DateTime::from_timestamp(claims.exp, 0)
}

/// The handlers' shared state, built once at start-up.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) regions: RegionsConfig,
    /// One Belvo client per region key, each with the region's keys and rate budget.
    pub(crate) belvo: belvo_accounts::BelvoAccounts,
    pub(crate) store: Store,
    pub(crate) key: ExternalIdKey,
    pub(crate) links: Option<LinkDirectory>,
    pub(crate) metrics: Metrics,
    /// Who may call what; records operator calls.
    pub(crate) gate: Gate,
}

/// The gRPC service.
#[derive(Debug, Clone)]
pub(crate) struct TokenHandlers {
    state: Arc<State>,
}

impl TokenHandlers {
    pub(crate) fn new(state: State) -> Self {
        Self {
            state: Arc::new(state),
        }
    }

    async fn create(
        &self,
        request: &proto::CreateWidgetTokenRequest,
        request_id: Option<&str>,
        caller: Option<&str>,
    ) -> Result<proto::CreateWidgetTokenResponse, ServiceError> {
        let state = &*self.state;
        let order = request::check(&state.regions, request).map_err(ServiceError::Invalid)?;
        let region_id = order.region.id().as_str();

        if let Some(link_id) = order.link_id {
            let links = state
                .links
                .as_ref()
                .ok_or(ServiceError::LinkServiceNotConfigured)?;
            match links
                .ownership(&link_id.to_string(), &order.owner)
                .await
                .map_err(ServiceError::LinkLookup)?
            {
                Ownership::NotOwned => return Err(ServiceError::LinkNotFound),
                Ownership::Owned { region } if region != region_id => {
                    let mut violations = FieldViolations::new();
                    violations.add(
                        "link_id",
                        format!("the link is in region `{region}`, not `{region_id}`"),
                    );
                    return Err(ServiceError::Invalid(violations));
                }
                Ownership::Owned { .. } => {}
            }
        }

        let external_id = state.key.external_id(region_id, &order.owner);
        debug_assert!(external_id::is_valid(&external_id));
        let now = Utc::now();

        // Every configured region gets a client at start-up; a miss is a bug.
        let client = state
            .belvo
            .get(region_id)
            .ok_or_else(|| ServiceError::MissingClient(region_id.to_owned()))?;
        let body = body::token_request(&order, &external_id);
        let started = Instant::now();
        // The external id is recorded while Belvo mints the token: no link can carry it
        // before the caller has the token, and both are done before we answer. Both always
        // run to the end (a Belvo failure does not cancel the insert).
        let (recorded, result) = tokio::join!(
            state
                .store
                .record_external_id(&external_id, &order.owner, region_id, now),
            client.create_widget_token(&body),
        );
        state
            .metrics
            .belvo_call(region_id, BelvoOutcome::of(&result), started.elapsed());
        let token = result.map_err(|source| ServiceError::Belvo {
            region: region_id.to_owned(),
            source,
        })?;
        recorded?;

        state
            .store
            .audit(&AuditRecord {
                issued_at: now,
                owner: &order.owner,
                region: region_id,
                external_id: &external_id,
                link_id: order.link_id.map(|id| id.to_string()),
                products: order.products.iter().map(|p| p.as_str()).collect(),
                fetch_resources: order.fetch_resources.iter().map(|r| r.as_str()).collect(),
                caller,
                request_id,
            })
            .await?;
        state.metrics.issued(region_id);
        tracing::info!(
            request_id,
            region = region_id,
            update_mode = order.link_id.is_some(),
            "widget token issued"
        );

        let expires_at = token_expiry(token.access.expose_secret()).unwrap_or_else(|| {
            now + chrono::Duration::from_std(TOKEN_LIFETIME).unwrap_or(chrono::Duration::zero())
        });
        Ok(proto::CreateWidgetTokenResponse {
            access_token: token.access.expose_secret().to_owned(),
            expires_at: Some(timestamp(expires_at)),
            widget: Some(widget_config(&order, external_id)),
        })
    }

    async fn resolve(
        &self,
        request: &proto::ResolveExternalIdRequest,
    ) -> Result<proto::ResolveExternalIdResponse, ServiceError> {
        if request.external_id.is_empty() {
            let mut violations = FieldViolations::new();
            violations.add("external_id", "is required");
            return Err(ServiceError::Invalid(violations));
        }
        if !external_id::is_valid(&request.external_id) {
            let mut violations = FieldViolations::new();
            violations.add(
                "external_id",
                "must be 3 to 256 characters of A-Z, a-z, 0-9, `_` and `-`",
            );
            return Err(ServiceError::Invalid(violations));
        }
        let found = self
            .state
            .store
            .resolve_external_id(&request.external_id)
            .await?
            .ok_or(ServiceError::ExternalIdNotFound)?;
        if let Some(created) = &request.link_created_at {
            if request.region.is_empty() {
                let mut violations = FieldViolations::new();
                violations.add("region", "is required with link_created_at");
                return Err(ServiceError::Invalid(violations));
            }
            let created_ms = created.seconds * 1000 + i64::from(created.nanos) / 1_000_000;
            let earliest = created_ms - (TOKEN_LIFETIME + ADOPTION_MARGIN).as_millis() as i64;
            let latest = created_ms + CLOCK_SKEW.as_millis() as i64;
            let minted = self
                .state
                .store
                .minted_between(
                    &found.owner,
                    &request.external_id,
                    &request.region,
                    earliest,
                    latest,
                )
                .await?;
            if !minted {
                return Err(ServiceError::NoTokenAtLinkCreation);
            }
        }
        Ok(proto::ResolveExternalIdResponse {
            owner: found.owner,
            first_issued_at: Some(timestamp(found.first_issued_at)),
        })
    }
}

#[tonic::async_trait]
impl TokenService for TokenHandlers {
    async fn create_widget_token(
        &self,
        request: Request<proto::CreateWidgetTokenRequest>,
    ) -> Result<Response<proto::CreateWidgetTokenResponse>, Status> {
        let req = request.get_ref();
        self.state
            .gate
            .admit(&request, Admits::user(&["gateway"], &req.owner), &req.owner)
            .await?;
        let id = request_id(&request).map(str::to_owned);
        let caller = request.extensions().get::<Caller>().map(|c| c.0.clone());
        self.create(request.get_ref(), id.as_deref(), caller.as_deref())
            .await
            .map(Response::new)
            .map_err(|e| e.into_status(id.as_deref()))
    }

    async fn resolve_external_id(
        &self,
        request: Request<proto::ResolveExternalIdRequest>,
    ) -> Result<Response<proto::ResolveExternalIdResponse>, Status> {
        let target = &request.get_ref().external_id;
        self.state
            .gate
            .admit(&request, Admits::Services(&["link-service"]), target)
            .await?;
        let id = request_id(&request).map(str::to_owned);
        self.resolve(request.get_ref())
            .await
            .map(Response::new)
            .map_err(|e| e.into_status(id.as_deref()))
    }

    async fn erase_owner(
        &self,
        request: Request<proto::EraseOwnerRequest>,
    ) -> Result<Response<proto::EraseOwnerResponse>, Status> {
        let owner = &request.get_ref().owner;
        self.state
            .gate
            .admit(&request, Admits::Services(&["link-service"]), owner)
            .await?;
        let mut violations = FieldViolations::new();
        violations.check(!owner.is_empty(), "owner", "required");
        violations.into_result()?;
        let rows_erased = self
            .state
            .store
            .erase_owner(owner)
            .await
            .map_err(|e| grpc_runtime::status::internal(request_id(&request), &e))?;
        Ok(Response::new(proto::EraseOwnerResponse {
            rows_erased: rows_erased as i64,
        }))
    }
}

/// The widget's start-up configuration for `order`.
fn widget_config(order: &WidgetTokenOrder<'_>, external_id: String) -> proto::WidgetConfig {
    let region = order.region;
    let family = region.widget();
    proto::WidgetConfig {
        region: region.id().as_str().to_owned(),
        family: match family {
            WidgetFamily::MultiRegion => proto::WidgetFamily::MultiRegion,
            WidgetFamily::Ofda => proto::WidgetFamily::Ofda,
        } as i32,
        script_url: match family {
            WidgetFamily::MultiRegion => region.widget_script_url().to_string(),
            WidgetFamily::Ofda => String::new(),
        },
        hosted_url: region.hosted_widget_url().to_string(),
        locale: order.locale.as_str().to_owned(),
        country_codes: order
            .country_codes
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        institution_types: order
            .institution_types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        institutions: order.institutions.clone(),
        external_id,
        access_mode: match order.access_mode {
            AccessMode::Single => common::AccessMode::Single,
            AccessMode::Recurrent => common::AccessMode::Recurrent,
        } as i32,
        fetch_resources: order
            .fetch_resources
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        link_id: order.link_id.map(|id| id.to_string()),
    }
}

fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn the_expiry_is_the_tokens_own_exp() {
        // The claims of the access token in Belvo's spec (`WidgetToken` example).
        let claims = URL_SAFE_NO_PAD.encode(
            br#"{"token_type":"access","exp":1727360195,"iat":1727358995,"scopes":["write_links"]}"#,
        );
        let token = format!("eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.{claims}.c2ln");
        assert_eq!(
            token_expiry(&token),
            DateTime::from_timestamp(1_727_360_195, 0)
        );
        for opaque in [
            "opaque",
            "a.%%%.c",
            &format!("a.{}.c", URL_SAFE_NO_PAD.encode(b"{}")),
        ] {
            assert_eq!(token_expiry(opaque), None, "{opaque}");
        }
    }
}
