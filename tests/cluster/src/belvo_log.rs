//! What the services asked of Belvo, from the emulator's request log: each request's arrival,
//! path and link, for the budget's checks (the busiest window, who went first, what a pull cost).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// The address the services' requests come from (the test's own come from
/// [`crate::api::TEST_ADDRESS`]).
const SERVICES_ADDRESS: &str = "127.0.0.1";

/// A request to Belvo's API the services made.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: DateTime<Utc>,
    pub path: String,
    /// The `link` filter of a list request.
    pub link: Option<Uuid>,
}

impl Sent {
    /// Whether it lists a link's data (`/api/accounts/`, `/api/transactions/`, …), as a sync
    /// does; not links, tokens or institutions.
    pub fn lists_data(&self) -> bool {
        self.link.is_some() && self.path != "/api/links/"
    }
}

/// The services' requests to Belvo's API in the emulator's log (`/_emulator/requests`),
/// oldest first.
pub fn services_requests(log: &[Value]) -> anyhow::Result<Vec<Sent>> {
    let mut sent = Vec::new();
    for r in log {
        let (Some(source), Some(path)) = (r["source"].as_str(), r["path"].as_str()) else {
            continue;
        };
        if source != SERVICES_ADDRESS || !path.starts_with("/api/") {
            continue;
        }
        let at = r["at"].as_str().context("a request without its time")?;
        let link = r["query"]
            .as_str()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("link=")))
            .and_then(|l| l.parse().ok());
        sent.push(Sent {
            at: DateTime::parse_from_rfc3339(at)?.with_timezone(&Utc),
            path: path.to_owned(),
            link,
        });
    }
    sent.sort_by_key(|s| s.at);
    Ok(sent)
}

/// The most requests any window of `window` holds.
pub fn busiest(sent: &[Sent], window: chrono::Duration) -> usize {
    let Some(first) = sent.first() else {
        return 0;
    };
    let times: Vec<std::time::Duration> = sent
        .iter()
        .map(|s| (s.at - first.at).to_std().unwrap_or_default())
        .collect();
    belvo::busiest_window(&times, window.to_std().unwrap_or_default())
}

/// How many data requests of other links arrived from `since` until `link`'s first one (the
/// budget slots it waited), and that first one; `None` when `link` had none.
pub fn slots_before(sent: &[Sent], link: Uuid, since: DateTime<Utc>) -> Option<(usize, &Sent)> {
    let first = sent
        .iter()
        .find(|s| s.lists_data() && s.link == Some(link))?;
    let ahead = sent
        .iter()
        .filter(|s| s.lists_data() && s.at >= since && s.at < first.at && s.link != Some(link))
        .count();
    Some((ahead, first))
}
