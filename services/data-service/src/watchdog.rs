//! The freshness watchdog: a recurrent link whose expected update did not come within its
//! refresh rate plus a margin gets a reconciliation pull of every resource it fetches.

use std::time::Duration;

use crate::resource::stored_resources;
use crate::store::{JobMode, LinkRow, StoreError, now_ms};
use crate::sync::Engine;

/// Belvo's refresh rate (`6h`, `12h`, `24h`, `7d`, `30d`) as a duration.
pub(crate) fn refresh_interval(rate: &str) -> Option<Duration> {
    let (number, unit) = rate.split_at(rate.len().checked_sub(1)?);
    let n: u64 = number.parse().ok()?;
    match unit {
        "h" => Some(Duration::from_secs(n * 3600)),
        "d" => Some(Duration::from_secs(n * 86_400)),
        _ => None,
    }
}

/// Whether a recurrent link's data is overdue at `now`: no webhook (or reconciliation) within
/// its refresh rate plus `margin` since the last one, or since registration.
pub(crate) fn is_stale(link: &LinkRow, now: i64, margin: Duration) -> bool {
    let Some(interval) = refresh_interval(&link.refresh_rate) else {
        return false;
    };
    let last = [
        Some(link.registered_at),
        link.last_webhook_at,
        link.last_reconciled_at,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(link.registered_at);
    now - last > (interval + margin).as_millis() as i64
}

/// Links the watchdog reads at a time.
const PAGE: i64 = 500;

/// Schedules a reconciliation for every overdue link; returns how many. Reads only the links
/// past their due time, a page at a time (each reconciled link's due time moves a refresh
/// rate ahead, so it leaves the next page); purged links are not among them.
pub(crate) async fn reconcile_overdue(engine: &Engine) -> Result<usize, StoreError> {
    let now = now_ms();
    let before = now - engine.config.freshness_margin.as_millis() as i64;
    let mut scheduled = 0;
    loop {
        let due = engine.store.due_links(before, PAGE).await?;
        for link in &due {
            for resource in stored_resources(&link.fetch_resources) {
                engine
                    .store
                    .enqueue_job(
                        &link.link_id,
                        resource,
                        JobMode::Full,
                        belvo::Priority::Reconcile,
                        None,
                        now,
                    )
                    .await?;
            }
            engine.store.mark_reconciled(&link.link_id, now).await?;
            tracing::info!(link_id = %link.link_id, refresh_rate = %link.refresh_rate,
                "expected Belvo update overdue; reconciling");
            engine.changed(&link.link_id);
        }
        scheduled += due.len();
        if (due.len() as i64) < PAGE {
            break;
        }
    }
    if scheduled > 0 {
        engine.wake.notify_waiters();
    }
    Ok(scheduled)
}

/// Removes finished jobs, webhooks and the change log's removals past their retention.
pub(crate) async fn delete_expired(engine: &Engine) -> Result<(), StoreError> {
    let now = now_ms();
    let (jobs, webhooks) = engine
        .store
        .delete_expired(
            now - engine.config.job_retention.as_millis() as i64,
            now - engine.config.webhook_retention.as_millis() as i64,
        )
        .await?;
    let removals = engine
        .store
        .compact_changes(now - engine.config.change_retention.as_millis() as i64)
        .await?;
    if jobs + webhooks + removals > 0 {
        tracing::info!(
            jobs,
            webhooks,
            removals,
            "removed finished jobs, webhooks and logged removals past retention"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(rate: &str, registered_at: i64, last_webhook_at: Option<i64>) -> LinkRow {
        LinkRow {
            link_id: "l".into(),
            region: "mx".into(),
            owner: "o".into(),
            fetch_resources: vec![],
            refresh_rate: rate.into(),
            registered_at,
            last_webhook_at,
            last_reconciled_at: None,
            purged_at: None,
        }
    }

    #[test]
    fn refresh_rates_parse() {
        assert_eq!(refresh_interval("6h"), Some(Duration::from_secs(21_600)));
        assert_eq!(refresh_interval("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(refresh_interval(""), None);
        assert_eq!(refresh_interval("weekly"), None);
    }

    #[test]
    fn only_recurrent_links_past_rate_plus_margin_are_stale() {
        let hour = 3_600_000;
        let margin = Duration::from_secs(3600);
        assert!(!is_stale(&link("6h", 0, None), 7 * hour - 1, margin));
        assert!(is_stale(&link("6h", 0, None), 7 * hour + 1, margin));
        assert!(!is_stale(
            &link("6h", 0, Some(5 * hour)),
            7 * hour + 1,
            margin
        ));
        assert!(!is_stale(&link("", 0, None), 1000 * hour, margin));
    }
}
