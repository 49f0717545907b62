//! Conversions between Belvo's link object, the stored row and the `connect.link.v1`
//! messages: statuses, access modes, epoch-millisecond times and protobuf timestamps, and
//! the opaque ListLinks page token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connect_proto::common::v1::AccessMode;
use connect_proto::link::v1 as pb;
use serde::{Deserialize, Serialize};

use crate::store::{After, BelvoFields, LinkRow, Origin, Status};

/// Now, in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Epoch milliseconds as a protobuf timestamp.
pub(crate) fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        // In 0..1000 ms, so the product fits.
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// A protobuf timestamp as epoch milliseconds; `None` when it is out of range.
pub(crate) fn millis(ts: &prost_types::Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    ts.seconds
        .checked_mul(1000)?
        .checked_add(i64::from(ts.nanos / 1_000_000))
}

impl Status {
    pub(crate) fn to_proto(self) -> pb::LinkStatus {
        match self {
            Status::Valid => pb::LinkStatus::Valid,
            Status::Invalid => pb::LinkStatus::Invalid,
            Status::Unconfirmed => pb::LinkStatus::Unconfirmed,
            Status::TokenRequired => pb::LinkStatus::TokenRequired,
            Status::Deleted => pb::LinkStatus::Deleted,
            Status::Unknown => pb::LinkStatus::Unspecified,
        }
    }

    /// A request's status filter value; `None` for UNSPECIFIED or an unknown number.
    pub(crate) fn from_proto(value: i32) -> Option<Self> {
        match pb::LinkStatus::try_from(value).ok()? {
            pb::LinkStatus::Unspecified => None,
            pb::LinkStatus::Valid => Some(Status::Valid),
            pb::LinkStatus::Invalid => Some(Status::Invalid),
            pb::LinkStatus::Unconfirmed => Some(Status::Unconfirmed),
            pb::LinkStatus::TokenRequired => Some(Status::TokenRequired),
            pb::LinkStatus::Deleted => Some(Status::Deleted),
        }
    }

    pub(crate) fn from_belvo(status: Option<&belvo::models::LinkStatus>) -> Self {
        use belvo::models::LinkStatus as B;
        match status {
            Some(B::Valid) => Status::Valid,
            Some(B::Invalid) => Status::Invalid,
            Some(B::Unconfirmed) => Status::Unconfirmed,
            Some(B::TokenRequired) => Status::TokenRequired,
            Some(B::Unrecognized(_)) | None => Status::Unknown,
        }
    }
}

/// The stored fields of what Belvo reported: the typed link's, and Belvo's JSON as it came
/// (with any field Belvo adds later).
pub(crate) fn belvo_fields(link: &belvo::models::Link, json: String) -> BelvoFields {
    BelvoFields {
        institution: link.institution.clone().unwrap_or_default(),
        access_mode: link.access_mode.as_ref().map(|m| m.as_str().to_owned()),
        status: Status::from_belvo(link.status.as_ref()),
        refresh_rate: link.refresh_rate.as_ref().map(|r| r.as_str().to_owned()),
        fetch_resources: link.fetch_resources.clone().unwrap_or_default(),
        external_id: link.external_id.clone(),
        institution_user_id: link.institution_user_id.clone(),
        belvo_created_at: link.created_at.map(|t| t.timestamp_millis()),
        last_accessed_at: link.last_accessed_at.map(|t| t.timestamp_millis()),
        json,
    }
}

/// A stored link as the API's message.
pub(crate) fn link_message(row: &LinkRow) -> pb::Link {
    let access_mode = match row.access_mode.as_deref() {
        Some("single") => AccessMode::Single,
        Some("recurrent") => AccessMode::Recurrent,
        _ => AccessMode::Unspecified,
    };
    pb::Link {
        link_id: row.link_id.clone(),
        owner: row.owner.clone(),
        region: row.region.clone(),
        institution: row.institution.clone(),
        access_mode: access_mode.into(),
        status: row.status.to_proto().into(),
        refresh_rate: row.refresh_rate.clone().unwrap_or_default(),
        fetch_resources: row.fetch_resources.clone(),
        external_id: row.external_id.clone().unwrap_or_default(),
        institution_user_id: row.institution_user_id.clone().unwrap_or_default(),
        origin: match row.origin {
            Origin::Registered => pb::LinkOrigin::Registered,
            Origin::Adopted => pb::LinkOrigin::Adopted,
        }
        .into(),
        belvo_created_at: row.belvo_created_at.map(timestamp),
        last_accessed_at: row.last_accessed_at.map(timestamp),
        registered_at: Some(timestamp(row.registered_at)),
        updated_at: Some(timestamp(row.updated_at)),
        status_changed_at: Some(timestamp(row.status_changed_at)),
        last_refresh_requested_at: row.last_refresh_requested_at.map(timestamp),
        deleted_at: row.deleted_at.map(timestamp),
    }
}

/// The content of a ListLinks page token: the last row of the page and the filter it was
/// made for.
#[derive(Debug, Serialize, Deserialize)]
struct PageToken {
    /// `registered_at` of the last row.
    r: i64,
    /// `link_id` of the last row.
    l: String,
    /// The filter (statuses) the token belongs to.
    f: String,
}

/// Encodes the position after `last` for `filter`.
pub(crate) fn encode_page_token(last: &LinkRow, filter: &str) -> String {
    let token = PageToken {
        r: last.registered_at,
        l: last.link_id.clone(),
        f: filter.to_owned(),
    };
    // Serializing a struct of integers and strings cannot fail.
    let json = serde_json::to_vec(&token).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a page token; `None` when it is malformed or was made for another filter.
pub(crate) fn decode_page_token(token: &str, filter: &str) -> Option<After> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let token: PageToken = serde_json::from_slice(&bytes).ok()?;
    (token.f == filter).then_some(After {
        registered_at: token.r,
        link_id: token.l,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1] {
            assert_eq!(millis(&timestamp(ms)), Some(ms));
        }
        assert_eq!(
            millis(&prost_types::Timestamp {
                seconds: 1,
                nanos: -5
            }),
            None
        );
    }

    #[test]
    fn page_tokens_are_bound_to_their_filter() {
        let row = LinkRow {
            link_id: "l1".into(),
            owner: "o".into(),
            region: "mx".into(),
            institution: "i".into(),
            access_mode: None,
            status: Status::Valid,
            refresh_rate: None,
            fetch_resources: vec![],
            external_id: None,
            institution_user_id: None,
            origin: Origin::Registered,
            belvo_created_at: None,
            last_accessed_at: None,
            registered_at: 42,
            updated_at: 42,
            status_changed_at: 42,
            last_refresh_requested_at: None,
            deleted_at: None,
        };
        let token = encode_page_token(&row, "valid");
        assert_eq!(
            decode_page_token(&token, "valid"),
            Some(After {
                registered_at: 42,
                link_id: "l1".into()
            })
        );
        assert_eq!(decode_page_token(&token, "invalid"), None);
        assert_eq!(decode_page_token("not a token!", "valid"), None);
    }
}
