//! Who may call what (issue 14), checked first thing in every handler with [`Gate::admit`]:
//! each RPC admits the services of its flow and operators ([`Admits`]); a call made for a user
//! must name its owner, and only an operator may act across owners (an owner-less read, a
//! purge, a replay). Anything else is `PERMISSION_DENIED`. Every operator call is recorded in
//! the service's own database before it acts ([`OperatorLog`]) and listed by
//! `connect.audit.v1.OperatorAuditService`, which every service serves.
//!
//! Without internal authentication (no `auth_tokens`: development, the embedded defaults) the
//! caller is unknown: every call is admitted, and the calls only an operator could make are
//! recorded as `unauthenticated`.

use chrono::{DateTime, Utc};
use connect_proto::audit::v1 as proto;
use connect_proto::audit::v1::operator_audit_service_server::{
    OperatorAuditService, OperatorAuditServiceServer,
};
use database::Database;
use tonic::{Code, Request, Response, Status};
use uuid::Uuid;

use crate::layers::auth::{CalledMethod, Caller};
use crate::status::{FieldViolations, internal, platform_error, request_id};

/// The caller recorded when the service runs without internal authentication.
pub const UNAUTHENTICATED: &str = "unauthenticated";

/// Who an RPC admits, besides operators (who are admitted to every RPC, and recorded).
#[derive(Debug, Clone, Copy)]
pub enum Admits<'a> {
    /// A call one of `callers` makes for a user, naming that user as `owner`.
    User {
        /// The services that call it.
        callers: &'static [&'static str],
        /// The request's owner; empty (every user's data) only for an operator.
        owner: &'a str,
    },
    /// A call one of these services makes for the platform itself.
    Services(&'static [&'static str]),
    /// Operators only.
    Operators,
}

impl<'a> Admits<'a> {
    /// A call `callers` make for the user `owner`.
    pub fn user(callers: &'static [&'static str], owner: &'a str) -> Self {
        Self::User { callers, owner }
    }
}

/// What [`decide`] concluded.
#[derive(Debug, PartialEq, Eq)]
enum Decision<'a> {
    Admit,
    /// Admitted, as an operator call by this caller: recorded first.
    Record(&'a str),
    Deny {
        message: &'static str,
        reason: &'static str,
    },
}

fn decide<'a>(caller: Option<&'a Caller>, admits: &Admits<'_>) -> Decision<'a> {
    let Some(caller) = caller else {
        return match admits {
            Admits::User { owner, .. } if !owner.is_empty() => Decision::Admit,
            Admits::Services(_) => Decision::Admit,
            _ => Decision::Record(UNAUTHENTICATED),
        };
    };
    if caller.is_operator() {
        return Decision::Record(&caller.0);
    }
    let denied = Decision::Deny {
        message: "this caller may not call this method",
        reason: "CALLER_NOT_ADMITTED",
    };
    match admits {
        Admits::User { callers, owner } if callers.contains(&caller.0.as_str()) => {
            if owner.is_empty() {
                Decision::Deny {
                    message: "a call for a user must name its owner",
                    reason: "OWNER_REQUIRED",
                }
            } else {
                Decision::Admit
            }
        }
        Admits::Services(callers) if callers.contains(&caller.0.as_str()) => Decision::Admit,
        _ => denied,
    }
}

/// The access check of a service's handlers, with its operator log.
#[derive(Debug, Clone)]
pub struct Gate {
    log: OperatorLog,
}

impl Gate {
    /// Records operator calls in `db` (which must hold the `operator_calls` table).
    pub fn new(db: Database) -> Self {
        Self {
            log: OperatorLog { db },
        }
    }

    /// Admits `request` as `admits` says, or answers `PERMISSION_DENIED` (with a
    /// `google.rpc.ErrorInfo` reason `CALLER_NOT_ADMITTED` or `OWNER_REQUIRED`). An operator
    /// call is recorded before it is admitted, with `target` (what it names: a link id, an
    /// owner, a webhook id); when it cannot be recorded it is refused (`UNAVAILABLE`).
    pub async fn admit<T>(
        &self,
        request: &Request<T>,
        admits: Admits<'_>,
        target: &str,
    ) -> Result<(), Status> {
        let method = request
            .extensions()
            .get::<CalledMethod>()
            .map_or("", |m| m.0.as_str());
        match decide(request.extensions().get::<Caller>(), &admits) {
            Decision::Admit => Ok(()),
            Decision::Record(caller) => {
                let call = Recorded {
                    caller,
                    method,
                    target,
                    request_id: request_id(request).unwrap_or_default(),
                };
                self.log.record(&call).await.map_err(|error| {
                    tracing::error!(%error, method, "could not record an operator call");
                    Status::unavailable("the operator audit could not be written; retry")
                })
            }
            Decision::Deny { message, reason } => {
                let caller = request.extensions().get::<Caller>().map(|c| c.0.as_str());
                tracing::warn!(caller, method, reason, "refused a call");
                Err(platform_error(Code::PermissionDenied, message, reason))
            }
        }
    }

    /// `connect.audit.v1.OperatorAuditService` over this gate's records, for the service's server.
    pub fn audit_service(&self) -> OperatorAuditServiceServer<Self> {
        OperatorAuditServiceServer::new(self.clone())
    }
}

/// One operator call, as recorded.
#[derive(Debug)]
struct Recorded<'a> {
    caller: &'a str,
    method: &'a str,
    target: &'a str,
    request_id: &'a str,
}

/// The `operator_calls` table of a service's database.
#[derive(Debug, Clone)]
struct OperatorLog {
    db: Database,
}

type Row = (String, i64, String, String, String, String);

impl OperatorLog {
    async fn record(&self, call: &Recorded<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO operator_calls (id, called_at_ms, caller, method, target, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(Utc::now().timestamp_millis())
        .bind(call.caller)
        .bind(call.method)
        .bind(call.target)
        .bind(call.request_id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Up to `limit` calls older than the call `before` (ids grow with time), newest first.
    async fn list(&self, caller: &str, before: &str, limit: i64) -> Result<Vec<Row>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, called_at_ms, caller, method, target, request_id FROM operator_calls \
             WHERE ($1 = '' OR caller = $1) AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(caller)
        .bind(before)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await
    }
}

/// Largest page of [`OperatorAuditService::list_operator_calls`], and the page when none is asked.
const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 100;

#[tonic::async_trait]
impl OperatorAuditService for Gate {
    async fn list_operator_calls(
        &self,
        request: Request<proto::ListOperatorCallsRequest>,
    ) -> Result<Response<proto::ListOperatorCallsResponse>, Status> {
        self.admit(&request, Admits::Operators, &request.get_ref().caller)
            .await?;
        let req = request.get_ref();
        let mut violations = FieldViolations::new();
        violations
            .check(req.page_size <= MAX_PAGE, "page_size", "at most 500")
            .check(
                req.page_token.is_empty() || Uuid::parse_str(&req.page_token).is_ok(),
                "page_token",
                "not a token this method returned",
            );
        violations.into_result()?;
        let size = if req.page_size == 0 {
            DEFAULT_PAGE
        } else {
            req.page_size
        };
        let mut rows = self
            .log
            .list(&req.caller, &req.page_token, i64::from(size) + 1)
            .await
            .map_err(|e| internal(request_id(&request), &e))?;
        let more = rows.len() > size as usize;
        rows.truncate(size as usize);
        let next_page_token = match rows.last() {
            Some(last) if more => last.0.clone(),
            _ => String::new(),
        };
        let calls = rows
            .into_iter()
            .map(
                |(id, at_ms, caller, method, target, request_id)| proto::OperatorCall {
                    id,
                    called_at: DateTime::from_timestamp_millis(at_ms).map(|at| {
                        prost_types::Timestamp {
                            seconds: at.timestamp(),
                            nanos: at.timestamp_subsec_nanos() as i32,
                        }
                    }),
                    caller,
                    method,
                    target,
                    request_id,
                },
            )
            .collect();
        Ok(Response::new(proto::ListOperatorCallsResponse {
            calls,
            next_page_token,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATEWAY: &[&str] = &["gateway"];

    fn caller(name: &str) -> Caller {
        Caller(name.to_owned())
    }

    #[test]
    fn services_call_only_what_their_flow_needs() {
        let gateway = caller("gateway");
        let link = caller("link-service");
        assert_eq!(
            decide(Some(&gateway), &Admits::user(GATEWAY, "u1")),
            Decision::Admit
        );
        assert!(matches!(
            decide(Some(&gateway), &Admits::user(GATEWAY, "")),
            Decision::Deny {
                reason: "OWNER_REQUIRED",
                ..
            }
        ));
        assert!(matches!(
            decide(Some(&link), &Admits::user(GATEWAY, "u1")),
            Decision::Deny {
                reason: "CALLER_NOT_ADMITTED",
                ..
            }
        ));
        assert_eq!(
            decide(Some(&link), &Admits::Services(&["link-service"])),
            Decision::Admit
        );
        assert!(matches!(
            decide(Some(&gateway), &Admits::Services(&["link-service"])),
            Decision::Deny { .. }
        ));
        assert!(matches!(
            decide(Some(&gateway), &Admits::Operators),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn operators_may_call_anything_and_are_recorded() {
        for name in ["operator", "operator-alice"] {
            let op = caller(name);
            for admits in [
                Admits::user(GATEWAY, ""),
                Admits::user(GATEWAY, "u1"),
                Admits::Services(&["link-service"]),
                Admits::Operators,
            ] {
                assert_eq!(decide(Some(&op), &admits), Decision::Record(name));
            }
        }
        // A name that only starts like one is not an operator.
        assert!(matches!(
            decide(Some(&caller("operatorx")), &Admits::Operators),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn without_authentication_operator_only_calls_are_recorded() {
        assert_eq!(decide(None, &Admits::user(GATEWAY, "u1")), Decision::Admit);
        assert_eq!(
            decide(None, &Admits::Services(&["gateway"])),
            Decision::Admit
        );
        assert_eq!(
            decide(None, &Admits::user(GATEWAY, "")),
            Decision::Record(UNAUTHENTICATED)
        );
        assert_eq!(
            decide(None, &Admits::Operators),
            Decision::Record(UNAUTHENTICATED)
        );
    }
}
