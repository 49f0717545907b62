//! Outbound webhooks: Belvo's envelope, the `data` counts of each resource (computed from the
//! same collections the API serves, so they always agree), and delivery to the account's URL
//! with its Authorization header, redelivering non-2xx answers five times with linear backoff.
//! Every attempt is recorded for the control API.

use std::time::Instant;

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::collection::Segment;
use crate::data::{self, Resource, fmt_ts};
use crate::state::{Attempt, Shared, WebhookRecord};

/// Redeliveries after the first attempt (Belvo: "repeated five times").
pub(crate) const REDELIVERIES: u32 = 5;

/// An event to send.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub webhook_type: String,
    pub webhook_code: String,
    pub process_type: Option<String>,
    pub link_id: Uuid,
    pub request_id: Option<String>,
    pub data: Value,
}

/// `data` of the `historical_update` webhooks of `res` for a link, matching what
/// `GET /api/<res>/?link=<id>` returns: one payload, except for tax returns (one per type,
/// yearly then monthly, as Belvo sends them). Empty for an unknown link.
pub(crate) fn historical_data(shared: &Shared, link_id: &Uuid, res: Resource) -> Vec<Value> {
    let (ctx, overlay) = {
        let store = shared.store();
        let Some(link) = store.link(link_id) else {
            return Vec::new();
        };
        (
            link.ctx(shared.as_of),
            store
                .overlays
                .get(&(*link_id, res))
                .cloned()
                .unwrap_or_default(),
        )
    };
    let seg = Segment::new(ctx.clone(), res, overlay.clone(), &[]);
    let total = seg.count();
    vec![match res {
        Resource::Transactions => {
            // Counting types over every object costs one pass of cheap hashing.
            let (mut inflow, mut outflow) =
                if overlay.deleted.is_empty() && overlay.modified.is_empty() {
                    data::transaction_type_counts(&ctx)
                } else {
                    let mut generated = overlay.clone();
                    generated.added.clear();
                    let inflow = crate::filters::Filter {
                        path: vec!["type".into()],
                        op: crate::filters::Op::Eq,
                        values: vec!["INFLOW".into()],
                        typed: crate::filters::Values::Text,
                    };
                    let all = Segment::new(ctx.clone(), res, generated.clone(), &[]).count();
                    let i = Segment::new(ctx.clone(), res, generated, &[inflow]).count();
                    (i, all - i)
                };
            for v in &overlay.added {
                if v["type"] == "INFLOW" {
                    inflow += 1;
                } else {
                    outflow += 1;
                }
            }
            let n = data::len(&ctx, res);
            let first = (n > 0).then(|| data::date_of(ctx.as_of, n - 1, n).to_string());
            let last = (n > 0).then(|| data::date_of(ctx.as_of, 0, n).to_string());
            json!({"total_transactions": total, "total_inflow_transactions": inflow,
                   "total_outflow_transactions": outflow,
                   "first_transaction_date": first, "last_transaction_date": last})
        }
        Resource::Accounts => json!({"total_accounts": total}),
        Resource::Owners => json!({"total_owners": total}),
        Resource::Balances => json!({"total_balances": total}),
        Resource::Incomes => {
            json!({"total_incomes": total, "number_of_income_streams": if total > 0 { 1 } else { 0 }})
        }
        Resource::RecurringExpenses => json!({"total_recurring_expenses": total}),
        Resource::RiskInsights => json!({"total_risk_insights": total}),
        Resource::EmploymentRecords => json!({"total_employment_record_profiles": total}),
        Resource::Invoices => {
            let n = data::len(&ctx, res);
            let first = (n > 0).then(|| data::date_of(ctx.as_of, n - 1, n).to_string());
            let last = (n > 0).then(|| data::date_of(ctx.as_of, 0, n).to_string());
            json!({"total_invoices": total, "first_invoice_date": first, "last_invoice_date": last})
        }
        Resource::TaxReturns => {
            // Both types, counted over what the list serves (edits included).
            let all = seg.count();
            let values = crate::collection::Listing {
                segments: vec![seg],
            }
            .values(0, all);
            let per_type = |monthly: bool| {
                let years: Vec<i64> = values
                    .iter()
                    .filter(|v| (v["type"] == "monthly") == monthly)
                    .filter_map(|v| v.pointer("/informacion_general/ejercicio"))
                    .filter_map(Value::as_i64)
                    .collect();
                let n = values
                    .iter()
                    .filter(|v| (v["type"] == "monthly") == monthly)
                    .count();
                json!({"type": if monthly { "monthly" } else { "yearly" },
                       "total_tax_returns": n,
                       "first_tax_return_year": years.iter().min(),
                       "last_tax_return_year": years.iter().max()})
            };
            return vec![per_type(false), per_type(true)];
        }
        Resource::TaxStatus => json!({"total_tax_status": total}),
        Resource::TaxComplianceStatus => json!({"total_tax_compliance_status": total}),
        Resource::TaxRetentions => json!({"total_tax_retentions": total}),
    }]
}

/// `data` of `new_<res>_available`.
pub(crate) fn new_data(res: Resource, n: u64) -> Value {
    let key = match res {
        Resource::Transactions => "new_transactions".to_owned(),
        other => format!("new_{}", other.path().replace('-', "_")),
    };
    json!({ key: n })
}

/// `new_<res>_available`, Belvo's code for fresh data after a refresh.
pub(crate) fn new_code(res: Resource) -> String {
    format!("new_{}_available", res.path().replace('-', "_"))
}

/// Historical updates for each of `resources` (after link creation, a credentials update or a
/// refresh, whose `request_id` they carry).
pub(crate) fn send_historical(
    shared: &Shared,
    link_id: Uuid,
    resources: &[String],
    request_id: Option<String>,
) {
    for name in resources {
        let Some(res) = Resource::from_fetch_name(name) else {
            continue;
        };
        for data in historical_data(shared, &link_id, res) {
            send(
                shared,
                Event {
                    webhook_type: res.fetch_name().to_owned(),
                    webhook_code: "historical_update".to_owned(),
                    process_type: Some("historical_update".to_owned()),
                    link_id,
                    request_id: request_id.clone(),
                    data,
                },
            );
        }
    }
}

/// Records the event and, if the link's account has a webhook URL, delivers it in the
/// background. Returns the event's `webhook_id`.
pub(crate) fn send(shared: &Shared, ev: Event) -> Option<String> {
    let (account, external_id, webhook_id, index) = {
        let mut store = shared.store();
        let (account, external_id) = match store.link(&ev.link_id) {
            Some(l) => (l.account, l.external_id.clone()),
            None => return None,
        };
        let webhook_id = store.next_hex();
        let acct = &shared.config.accounts[account];
        let envelope = json!({
            "webhook_id": webhook_id,
            "webhook_type": ev.webhook_type,
            "webhook_code": ev.webhook_code,
            "process_type": ev.process_type,
            "link_id": ev.link_id,
            "request_id": ev.request_id,
            "external_id": external_id,
            "data": ev.data,
        });
        store.webhooks.push(WebhookRecord {
            account,
            url: acct.webhook_url.clone(),
            state: if acct.webhook_url.is_some() {
                "pending"
            } else {
                "not_configured"
            }
            .to_owned(),
            event: envelope,
            attempts: Vec::new(),
        });
        (account, external_id, webhook_id, store.webhooks.len() - 1)
    };
    let _ = external_id;
    if shared.config.accounts[account].webhook_url.is_some() {
        let shared = shared.clone();
        tokio::spawn(async move { deliver(shared, index).await });
    }
    Some(webhook_id)
}

/// Delivers record `index`: first attempt plus up to five redeliveries, attempt n+1 waiting
/// n × the configured interval.
async fn deliver(shared: Shared, index: usize) {
    let (url, auth, body) = {
        let store = shared.store();
        let Some(rec) = store.webhooks.get(index) else {
            return;
        };
        let acct = &shared.config.accounts[rec.account];
        let Some(url) = acct.webhook_url.clone() else {
            return;
        };
        (url, acct.webhook_authorization.clone(), rec.event.clone())
    };
    for attempt in 1..=(REDELIVERIES + 1) {
        if attempt > 1 {
            tokio::time::sleep(shared.config.webhook_retry_interval * (attempt - 1)).await;
        }
        let started = Instant::now();
        let at = fmt_ts(Utc::now());
        let mut req = shared.http.post(&url).json(&body);
        if let Some(a) = &auth {
            req = req.header(http::header::AUTHORIZATION, a);
        }
        let result = req.send().await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, error) = match &result {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(error_text(e))),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        {
            let mut store = shared.store();
            if let Some(rec) = store.webhooks.get_mut(index) {
                rec.attempts.push(Attempt {
                    attempt,
                    at,
                    status,
                    error,
                    duration_ms,
                });
                if ok {
                    rec.state = "delivered".to_owned();
                } else if attempt == REDELIVERIES + 1 {
                    rec.state = "failed".to_owned();
                }
            }
        }
        if ok {
            tracing::debug!(%url, attempt, "webhook delivered");
            return;
        }
        tracing::debug!(%url, attempt, ?status, "webhook not acknowledged");
    }
}

fn error_text(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_owned()
    } else if e.is_connect() {
        "connect error".to_owned()
    } else {
        "request error".to_owned()
    }
}
