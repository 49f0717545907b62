//! JSON shapes of what the services return, as the frontend sees them: snake_case keys,
//! enums as lower-case words (`valid`, `recurrent`, `succeeded`), timestamps as RFC 3339, and
//! stored Belvo objects as Belvo's own JSON.

use connect_proto::common::v1::AccessMode;
use connect_proto::data::v1::{Change, ChangeKind, LinkSync, Record, ResourceSync, SyncState};
use connect_proto::link::v1::{Link, LinkOrigin, LinkStatus};
use connect_proto::token::v1::{WidgetConfig, WidgetFamily};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::error::ApiError;

/// `LINK_STATUS_TOKEN_REQUIRED` with prefix `LINK_STATUS_` → `token_required`.
fn word(name: &str, prefix: &str) -> Value {
    let word = name
        .strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase();
    if word == "unspecified" {
        Value::Null
    } else {
        Value::String(word)
    }
}

/// RFC 3339, or null.
/// An erasure's progress, as the browser sees it (without the operators' error text).
pub fn erasure(e: Option<&connect_proto::link::v1::Erasure>) -> Value {
    let Some(e) = e else { return Value::Null };
    json!({
        "state": if e.finished_at.is_some() { "done" } else { "in_progress" },
        "requested_at": timestamp(e.requested_at.as_ref()),
        "finished_at": timestamp(e.finished_at.as_ref()),
        "links": e.links,
        "links_deleted_at_belvo": e.links_deleted_at_belvo,
        "links_purged": e.links_purged,
        "widget_mappings_forgotten": e.token_service_erased,
    })
}

pub fn timestamp(ts: Option<&prost_types::Timestamp>) -> Value {
    ts.and_then(|ts| {
        let nanos = u32::try_from(ts.nanos).ok()?;
        chrono::DateTime::from_timestamp(ts.seconds, nanos)
    })
    .map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    })
}

fn access_mode(value: i32) -> Value {
    word(
        AccessMode::try_from(value)
            .unwrap_or(AccessMode::Unspecified)
            .as_str_name(),
        "ACCESS_MODE_",
    )
}

/// A link.
pub fn link(link: &Link) -> Value {
    json!({
        "link_id": link.link_id,
        "region": link.region,
        "institution": link.institution,
        "access_mode": access_mode(link.access_mode),
        "status": word(
            LinkStatus::try_from(link.status).unwrap_or(LinkStatus::Unspecified).as_str_name(),
            "LINK_STATUS_",
        ),
        "refresh_rate": (!link.refresh_rate.is_empty()).then_some(&link.refresh_rate),
        "fetch_resources": link.fetch_resources,
        "origin": word(
            LinkOrigin::try_from(link.origin).unwrap_or(LinkOrigin::Unspecified).as_str_name(),
            "LINK_ORIGIN_",
        ),
        "belvo_created_at": timestamp(link.belvo_created_at.as_ref()),
        "last_accessed_at": timestamp(link.last_accessed_at.as_ref()),
        "registered_at": timestamp(link.registered_at.as_ref()),
        "updated_at": timestamp(link.updated_at.as_ref()),
        "status_changed_at": timestamp(link.status_changed_at.as_ref()),
        "last_refresh_requested_at": timestamp(link.last_refresh_requested_at.as_ref()),
        "deleted_at": timestamp(link.deleted_at.as_ref()),
    })
}

/// The URL segment of a resource (`RESOURCE_RECURRING_EXPENSES` → `recurring-expenses`), from
/// the resource table; null for one the table does not have.
pub fn resource_name(value: i32) -> Value {
    resources::Resource::from_proto(value).map_or(Value::Null, |r| Value::String(r.segment.into()))
}

fn resource_sync(sync: &ResourceSync) -> Value {
    json!({
        "resource": resource_name(sync.resource),
        "state": word(
            SyncState::try_from(sync.state).unwrap_or(SyncState::Unspecified).as_str_name(),
            "SYNC_STATE_",
        ),
        "records": sync.records,
        "records_this_pull": sync.records_this_pull,
        // Not Belvo's announced count (`expected_records`): a webhook's body is a hint, not
        // something to show as the total.
        "last_success_at": timestamp(sync.last_success_at.as_ref()),
        "last_attempt_at": timestamp(sync.last_attempt_at.as_ref()),
        "next_attempt_at": timestamp(sync.next_attempt_at.as_ref()),
        "attempts": sync.attempts,
        // The code only: data-service's error texts (Belvo's messages, ours) are for operators.
        "error_code": (!sync.error_code.is_empty()).then_some(&sync.error_code),
        "last_full_pull_at": timestamp(sync.last_full_pull_at.as_ref()),
        "full_pull_failed": !sync.full_pull_error.is_empty(),
    })
}

/// A link's sync status.
pub fn link_sync(sync: &LinkSync) -> Value {
    json!({
        "link_id": sync.link_id,
        "resources": sync.resources.iter().map(resource_sync).collect::<Vec<_>>(),
        "last_webhook_at": timestamp(sync.last_webhook_at.as_ref()),
        "stale": sync.stale,
    })
}

/// The widget's start-up configuration.
pub fn widget(config: &WidgetConfig) -> Value {
    json!({
        "region": config.region,
        "family": word(
            WidgetFamily::try_from(config.family).unwrap_or(WidgetFamily::Unspecified).as_str_name(),
            "WIDGET_FAMILY_",
        ),
        "script_url": (!config.script_url.is_empty()).then_some(&config.script_url),
        "hosted_url": config.hosted_url,
        "locale": config.locale,
        "country_codes": config.country_codes,
        "institution_types": config.institution_types,
        "institutions": config.institutions,
        "external_id": config.external_id,
        "access_mode": access_mode(config.access_mode),
        "fetch_resources": config.fetch_resources,
        "link_id": config.link_id,
    })
}

/// Belvo's objects of a page, as the stored JSON text: checked to be JSON, then written
/// out verbatim (no tree is built and serialized again, which dominated the read path).
pub fn records(records: &[Record]) -> Result<Vec<&RawValue>, ApiError> {
    records.iter().map(record).collect()
}

/// One Belvo object, as [`records`] writes it.
fn record(record: &Record) -> Result<&RawValue, ApiError> {
    serde_json::from_str::<&RawValue>(&record.belvo_json).map_err(|e| {
        ApiError::Internal(format!(
            "data-service returned invalid JSON for record {}: {e}",
            record.id
        ))
    })
}

/// A page of Belvo objects: `{"data": [...], "has_more", "next_cursor"}`.
#[derive(Debug, serde::Serialize)]
pub struct Page<'a> {
    /// The objects, verbatim.
    pub data: Vec<&'a RawValue>,
    /// Whether another page follows.
    pub has_more: bool,
    /// The cursor of the next page.
    pub next_cursor: Option<String>,
}

/// One change of a link's objects: `{"kind", "resource", "id", "record"?}`.
#[derive(Debug, serde::Serialize)]
pub struct ChangeView<'a> {
    /// `added`, `modified` or `removed`.
    pub kind: &'static str,
    /// The resource's URL segment.
    pub resource: &'static str,
    /// Belvo's id of the object.
    pub id: &'a str,
    /// The object now, verbatim; absent for a removal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<&'a RawValue>,
}

/// A page of changes: `{"changes": [...], "next_cursor", "has_more"}`.
#[derive(Debug, serde::Serialize)]
pub struct ChangePage<'a> {
    /// Oldest first.
    pub changes: Vec<ChangeView<'a>>,
    /// Where the next call starts; kept after the last page, it lists what changes next.
    pub next_cursor: String,
    /// Whether more changes are listed from `next_cursor` now.
    pub has_more: bool,
}

/// A change as the client sees it; `None` for a resource this gateway does not serve (a
/// data-service newer than the gateway), which the client could not read either.
pub fn change(change: &Change) -> Result<Option<ChangeView<'_>>, ApiError> {
    let Some(resource) = resources::Resource::from_proto(change.resource) else {
        return Ok(None);
    };
    let kind = match ChangeKind::try_from(change.kind) {
        Ok(ChangeKind::Added) => "added",
        Ok(ChangeKind::Modified) => "modified",
        Ok(ChangeKind::Removed) => "removed",
        Ok(ChangeKind::Unspecified) | Err(_) => {
            return Err(ApiError::Internal(format!(
                "data-service returned change kind {} for {} {}",
                change.kind, resource.segment, change.id
            )));
        }
    };
    let record = match (&change.record, kind) {
        (_, "removed") => None,
        (Some(stored), _) => Some(record(stored)?),
        (None, _) => {
            return Err(ApiError::Internal(format!(
                "data-service returned a {kind} change without its record ({} {})",
                resource.segment, change.id
            )));
        }
    };
    Ok(Some(ChangeView {
        kind,
        resource: resource.segment,
        id: &change.id,
        record,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_become_words() {
        let value = link(&Link {
            status: LinkStatus::TokenRequired as i32,
            access_mode: AccessMode::Recurrent as i32,
            ..Link::default()
        });
        assert_eq!(value["status"], "token_required");
        assert_eq!(value["access_mode"], "recurrent");
        assert_eq!(value["origin"], Value::Null);
        assert_eq!(
            resource_name(connect_proto::data::v1::Resource::RecurringExpenses as i32),
            "recurring-expenses"
        );
        assert_eq!(resource_name(0), Value::Null);
        assert_eq!(resource_name(999), Value::Null);
    }

    #[test]
    fn changes_name_their_resource_and_kind() {
        use connect_proto::data::v1::Resource;
        let removed = Change {
            kind: ChangeKind::Removed as i32,
            resource: Resource::RecurringExpenses as i32,
            id: "re-1".into(),
            record: None,
        };
        let view = change(&removed).unwrap().unwrap();
        assert_eq!(
            (view.kind, view.resource, view.id, view.record.is_none()),
            ("removed", "recurring-expenses", "re-1", true)
        );
        // A resource this gateway does not serve is left out; a broken change is an error.
        let unknown = Change {
            resource: 999,
            ..removed.clone()
        };
        assert!(change(&unknown).unwrap().is_none());
        let without_record = Change {
            kind: ChangeKind::Added as i32,
            ..removed.clone()
        };
        assert!(matches!(
            change(&without_record),
            Err(ApiError::Internal(_))
        ));
        let unspecified = Change {
            kind: ChangeKind::Unspecified as i32,
            ..removed
        };
        assert!(matches!(change(&unspecified), Err(ApiError::Internal(_))));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let ts = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        };
        assert_eq!(timestamp(Some(&ts)), "2023-11-14T22:13:20.000Z");
        assert_eq!(timestamp(None), Value::Null);
    }
}
