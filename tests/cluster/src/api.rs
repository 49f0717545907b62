//! What the test does to the cluster from outside, as Belvo, a user and an operator would:
//! the emulator's control API (`/_emulator/`) and its Belvo API (with the account's keys),
//! the gateways' public API (dev sign-in, link registration, webhooks, the event stream) and
//! data-service's gRPC API (sync status, stored rows, the webhook inbox). Cheap to clone, so
//! that deliveries run beside restarts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use belvo::{Client as BelvoClient, Credentials, Filters, RateBudget, RegisterLink, RetryPolicy};
use belvo_emulator::{FaultSpec, WebhookTrigger};
use connect_proto::data::v1 as pb;
use connect_proto::data::v1::data_service_client::DataServiceClient;
use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};
use tonic::transport::{Channel, Endpoint};
use uuid::Uuid;

/// Belvo keys of the emulator account (the inline values of `mx` in
/// `libs/regions/config/local.toml`, which the services load).
pub const SECRET_ID: &str = "local-secret-id";
pub const SECRET_PASSWORD: &str = "local-secret-password";
/// The webhook Authorization value of `mx` in `local.toml`.
pub const WEBHOOK_AUTHORIZATION: &str = "Bearer local-webhook-token";
/// The region every link is in.
pub const REGION: &str = "mx";

/// The resources every test link fetches: Belvo's name, data-service's enum, Belvo's path.
pub const RESOURCES: [(&str, pb::Resource, &str); 2] = [
    ("ACCOUNTS", pb::Resource::Accounts, "api/accounts/"),
    (
        "TRANSACTIONS",
        pb::Resource::Transactions,
        "api/transactions/",
    ),
];

/// A signed-in user of the platform.
#[derive(Debug, Clone)]
pub struct User {
    /// The dev sign-in subject.
    pub name: String,
    /// Bearer token (valid at both gateways: they share the dev secret).
    pub token: String,
    /// The opaque id token-service gives Belvo for this user.
    pub external_id: String,
}

/// The outcome of one webhook POST.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The gateway's HTTP status, or `None` when no response came.
    pub status: Option<u16>,
    /// `accepted` or `duplicate` on 200.
    pub outcome: Option<String>,
}

/// Where the test's own Belvo calls come from (the loopback network is all of 127/8).
pub const TEST_ADDRESS: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// Clients of everything the test talks to.
#[derive(Debug, Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub emulator_url: String,
    pub gateway_urls: Vec<String>,
    pub data: Vec<DataServiceClient<Channel>>,
    pub belvo: BelvoClient,
}

impl Api {
    /// Clients of an emulator, gateways and data-service replicas at these URLs; the test's
    /// own Belvo calls keep within `belvo_budget` (the emulator's firewall counts them too).
    pub fn new(
        emulator_url: String,
        gateway_urls: Vec<String>,
        data_urls: &[String],
        belvo_budget: RateBudget,
    ) -> anyhow::Result<Self> {
        let belvo = BelvoClient::builder(
            emulator_url.parse().context("emulator URL")?,
            Credentials::new(SECRET_ID.to_owned(), SECRET_PASSWORD.to_owned()),
        )
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
        .rate_budget(belvo_budget)
        // Apart from the services' address (127.0.0.1), so that Belvo's firewall counts the
        // test's own calls apart.
        .local_address(TEST_ADDRESS)
        .build()?;
        let data = data_urls
            .iter()
            .map(|url| {
                Ok(DataServiceClient::new(
                    Endpoint::from_shared(url.clone())?
                        .connect_timeout(Duration::from_secs(1))
                        .timeout(Duration::from_secs(10))
                        .connect_lazy(),
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()?,
            emulator_url,
            gateway_urls,
            data,
            belvo,
        })
    }

    // ----- the emulator's control API -----

    fn control(&self, path: &str) -> String {
        format!("{}/_emulator/{path}", self.emulator_url)
    }

    /// Every webhook the emulator generated, oldest first (the `event` bodies).
    pub async fn emulator_webhooks(&self) -> anyhow::Result<Vec<Value>> {
        let records: Vec<Value> = ok_json(self.http.get(self.control("webhooks")).send().await?)
            .await?
            .as_array()
            .cloned()
            .context("webhooks: not an array")?;
        Ok(records.into_iter().map(|mut r| r["event"].take()).collect())
    }

    /// The webhooks the emulator generated for each of `links`.
    pub async fn webhooks_of(&self, links: &[Uuid]) -> anyhow::Result<Vec<Value>> {
        let wanted: std::collections::HashSet<String> =
            links.iter().map(ToString::to_string).collect();
        Ok(self
            .emulator_webhooks()
            .await?
            .into_iter()
            .filter(|e| e["link_id"].as_str().is_some_and(|l| wanted.contains(l)))
            .collect())
    }

    /// Makes the emulator generate a webhook for `link`; returns its body.
    pub async fn trigger(
        &self,
        link: Uuid,
        webhook_type: &str,
        code: &str,
    ) -> anyhow::Result<Value> {
        let body = ok_json(
            self.http
                .post(self.control(&format!("links/{link}/webhooks")))
                .json(&WebhookTrigger {
                    webhook_type: webhook_type.into(),
                    webhook_code: code.into(),
                    data: None,
                    process_type: None,
                    request_id: None,
                })
                .send()
                .await?,
        )
        .await?;
        let id = body["webhook_id"].as_str().context("no webhook_id")?;
        self.emulator_webhooks()
            .await?
            .into_iter()
            .find(|e| e["webhook_id"] == id)
            .with_context(|| format!("webhook {id} not listed"))
    }

    /// The requests the emulator received (Belvo API only; the control API is not logged).
    pub async fn emulator_requests(&self) -> anyhow::Result<Vec<Value>> {
        self.control_list("requests").await
    }

    /// The emulator's firewall: its limit and the requests it refused, by source address.
    pub async fn firewall(&self) -> anyhow::Result<Value> {
        ok_json(self.http.get(self.control("firewall")).send().await?).await
    }

    /// Forgets the received requests.
    pub async fn clear_emulator_requests(&self) -> anyhow::Result<()> {
        ok(self.http.delete(self.control("requests")).send().await?).await
    }

    /// Installs a fault rule; returns its id.
    pub async fn add_fault(&self, spec: &FaultSpec) -> anyhow::Result<u64> {
        let body = ok_json(
            self.http
                .post(self.control("faults"))
                .json(spec)
                .send()
                .await?,
        )
        .await?;
        body["id"].as_u64().context("no fault id")
    }

    /// The fault rules, with how often each fired.
    pub async fn faults(&self) -> anyhow::Result<Vec<Value>> {
        self.control_list("faults").await
    }

    /// A list the emulator's control API serves at `what`.
    async fn control_list(&self, what: &str) -> anyhow::Result<Vec<Value>> {
        ok_json(self.http.get(self.control(what)).send().await?)
            .await?
            .as_array()
            .cloned()
            .with_context(|| format!("{what}: not an array"))
    }

    /// Removes every fault rule.
    pub async fn clear_faults(&self) -> anyhow::Result<()> {
        ok(self.http.delete(self.control("faults")).send().await?).await
    }

    /// Deletes one object of a link at Belvo.
    pub async fn delete_object(&self, link: Uuid, resource: &str, id: &str) -> anyhow::Result<()> {
        ok(self
            .http
            .delete(self.control(&format!("links/{link}/data/{resource}/{id}")))
            .send()
            .await?)
        .await
    }

    /// Adds `n` generated objects to a link at Belvo; returns their ids.
    pub async fn add_objects(
        &self,
        link: Uuid,
        resource: &str,
        n: usize,
    ) -> anyhow::Result<Vec<String>> {
        let items: Vec<Value> = (0..n).map(|_| json!({})).collect();
        let added = ok_json(
            self.http
                .post(self.control(&format!("links/{link}/data/{resource}")))
                .json(&json!({ "items": items }))
                .send()
                .await?,
        )
        .await?;
        added
            .as_array()
            .context("added: not an array")?
            .iter()
            .map(|v| v["id"].as_str().map(str::to_owned).context("no id"))
            .collect()
    }

    /// Sets how much data one link has.
    pub async fn set_link_scale(&self, link: Uuid, transactions: u64) -> anyhow::Result<()> {
        ok(self
            .http
            .put(self.control(&format!("links/{link}/scale")))
            .json(&json!({"transactions": transactions, "invoices": 1}))
            .send()
            .await?)
        .await
    }

    // ----- Belvo's API, at the emulator -----

    /// Creates a banking link at Belvo for `external_id` that fetches [`RESOURCES`] (Belvo
    /// records one `historical_update` webhook per resource).
    pub async fn create_link(&self, username: &str, external_id: &str) -> anyhow::Result<Uuid> {
        let link = self
            .belvo
            .links()
            .register(&RegisterLink {
                institution: "erebor_mx_retail".into(),
                username: username.into(),
                password: Some("full".to_owned().into()),
                external_id: Some(external_id.into()),
                access_mode: Some("recurrent".into()),
                fetch_resources: Some(RESOURCES.iter().map(|r| r.0.to_owned()).collect()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("create link {username} at the emulator"))?;
        link.id.context("no link id")
    }

    /// Every id Belvo has for `link` at `path` (`api/transactions/`, ...).
    pub async fn belvo_ids(&self, link: Uuid, path: &str) -> anyhow::Result<Vec<String>> {
        let ids: Vec<String> = self
            .belvo
            .list::<Value>(path, &Filters::new().link(link).page_size(1000))
            .map_ok(|v| v["id"].as_str().unwrap_or_default().to_owned())
            .try_collect()
            .await
            .with_context(|| format!("list {path} of {link} at the emulator"))?;
        Ok(ids)
    }

    // ----- the gateways -----

    /// Signs `name` in (dev mode) and mints a widget token to learn its external id.
    pub async fn user(&self, name: &str) -> anyhow::Result<User> {
        let gw = &self.gateway_urls[0];
        let login = ok_json(
            self.http
                .post(format!("{gw}/v1/dev/login"))
                .json(&json!({"user": name}))
                .send()
                .await?,
        )
        .await?;
        let token = login["access_token"]
            .as_str()
            .context("no access_token")?
            .to_owned();
        let minted = ok_json(
            self.http
                .post(format!("{gw}/v1/widget-token"))
                .bearer_auth(&token)
                .json(&json!({}))
                .send()
                .await?,
        )
        .await?;
        let external_id = minted["widget"]["external_id"]
            .as_str()
            .context("no widget.external_id")?
            .to_owned();
        Ok(User {
            name: name.to_owned(),
            token,
            external_id,
        })
    }

    /// Registers `link` for `user` (`POST /v1/links`), starting at gateway `first` and
    /// moving to the other on a 5xx or no answer (a gateway or service restarting), until
    /// `within`.
    pub async fn register_link(
        &self,
        user: &User,
        link: Uuid,
        first: usize,
        within: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let mut gateway = first;
        loop {
            let gw = &self.gateway_urls[gateway % self.gateway_urls.len()];
            let last = match self
                .http
                .post(format!("{gw}/v1/links"))
                .bearer_auth(&user.token)
                .json(&json!({"link_id": link, "institution": "erebor_mx_retail"}))
                .send()
                .await
            {
                // 409: registered by an earlier attempt whose answer was lost.
                Ok(r) if r.status().is_success() || r.status().as_u16() == 409 => return Ok(()),
                Ok(r) if r.status().is_server_error() => {
                    format!("{}: {}", r.status(), r.text().await.unwrap_or_default())
                }
                Ok(r) => bail!(
                    "registering {link} at {gw}: {}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                bail!("registering {link}: no success within {within:?}: {last}");
            }
            gateway += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// POSTs one webhook body to gateway `gateway` once, as Belvo does.
    pub async fn deliver_once(&self, gateway: usize, event: &Value) -> Delivery {
        let gw = &self.gateway_urls[gateway % self.gateway_urls.len()];
        match self
            .http
            .post(format!("{gw}/webhooks/belvo/{REGION}"))
            .header("authorization", WEBHOOK_AUTHORIZATION)
            .json(event)
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                Delivery {
                    status: Some(status),
                    outcome: body["status"].as_str().map(str::to_owned),
                }
            }
            Err(_) => Delivery {
                status: None,
                outcome: None,
            },
        }
    }

    /// Delivers one webhook as Belvo would: again after a 5xx or no answer (to the other
    /// gateway, as a load balancer would), until a 200 or `within`. Any 4xx is an error.
    pub async fn deliver(
        &self,
        first: usize,
        event: &Value,
        within: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let mut gateway = first;
        loop {
            let delivery = self.deliver_once(gateway, event).await;
            match delivery.status {
                Some(200) => return Ok(()),
                Some(s) if (400..500).contains(&s) => {
                    bail!("webhook {} refused with {s}", event["webhook_id"])
                }
                _ => {}
            }
            if Instant::now() > deadline {
                bail!(
                    "webhook {} not accepted within {within:?} (last: {:?})",
                    event["webhook_id"],
                    delivery.status
                );
            }
            gateway += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Delivers every webhook, `parallel` at a time, spread over the gateways.
    pub async fn deliver_all(
        &self,
        events: &[Value],
        parallel: usize,
        within: Duration,
    ) -> anyhow::Result<()> {
        futures::stream::iter(events.iter().cloned().enumerate())
            .map(|(i, event)| {
                let api = self.clone();
                async move { api.deliver(i, &event, within).await }
            })
            .buffer_unordered(parallel)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    // ----- data-service -----

    /// Runs `call` on the first data-service replica that answers (replicas restart).
    async fn on_data<T, F, Fut>(&self, call: F) -> anyhow::Result<T>
    where
        F: Fn(DataServiceClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let mut errors = Vec::new();
        for client in &self.data {
            match call(client.clone()).await {
                Ok(v) => return Ok(v),
                Err(status) => errors.push(format!("{:?}: {}", status.code(), status.message())),
            }
        }
        bail!("no data-service replica answered: {errors:?}")
    }

    /// A link's sync status.
    pub async fn sync_status(&self, link: Uuid) -> anyhow::Result<pb::LinkSync> {
        self.on_data(|mut c| async move {
            c.get_sync_status(pb::GetSyncStatusRequest {
                link_id: link.to_string(),
                owner: String::new(),
            })
            .await
            .map(|r| r.into_inner().link.unwrap_or_default())
        })
        .await
    }

    /// One resource's sync status, if the link has it.
    pub async fn resource_status(
        &self,
        link: Uuid,
        resource: pb::Resource,
    ) -> anyhow::Result<Option<pb::ResourceSync>> {
        Ok(self
            .sync_status(link)
            .await?
            .resources
            .into_iter()
            .find(|r| r.resource == resource as i32))
    }

    /// Every id data-service stores for a link's resource, in the order served (duplicates
    /// kept, so that the caller can see them).
    pub async fn stored_ids(
        &self,
        link: Uuid,
        resource: pb::Resource,
    ) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .on_data(|mut c| {
                    let token = token.clone();
                    async move {
                        c.list_records(pb::ListRecordsRequest {
                            link_id: link.to_string(),
                            resource: resource as i32,
                            page: Some(pb::PageRequest {
                                page_size: 500,
                                page_token: token,
                            }),
                            ..Default::default()
                        })
                        .await
                        .map(tonic::Response::into_inner)
                    }
                })
                .await?;
            out.extend(page.records.into_iter().map(|r| r.id));
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }

    /// The changes of a link after `cursor`, following `next_cursor` until `has_more` is
    /// false, and the cursor to go on from.
    pub async fn changes_since(
        &self,
        link: Uuid,
        cursor: &str,
    ) -> anyhow::Result<(Vec<pb::Change>, String)> {
        let mut out = Vec::new();
        let mut cursor = cursor.to_owned();
        loop {
            let page = self
                .on_data(|mut c| {
                    let cursor = cursor.clone();
                    async move {
                        c.list_changes(pb::ListChangesRequest {
                            link_id: link.to_string(),
                            cursor,
                            page_size: 100,
                            ..Default::default()
                        })
                        .await
                        .map(tonic::Response::into_inner)
                    }
                })
                .await?;
            out.extend(page.changes);
            cursor = page.next_cursor;
            if !page.has_more {
                return Ok((out, cursor));
            }
        }
    }

    /// Every stored webhook event (all links), by webhook id.
    pub async fn webhook_events(&self) -> anyhow::Result<BTreeMap<String, pb::WebhookEvent>> {
        let mut out = BTreeMap::new();
        let mut token = String::new();
        loop {
            let page = self
                .on_data(|mut c| {
                    let token = token.clone();
                    async move {
                        c.list_webhook_events(pb::ListWebhookEventsRequest {
                            page: Some(pb::PageRequest {
                                page_size: 500,
                                page_token: token,
                            }),
                            ..Default::default()
                        })
                        .await
                        .map(tonic::Response::into_inner)
                    }
                })
                .await?;
            for event in page.events {
                out.insert(event.webhook_id.clone(), event);
            }
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }
}

/// Checks a 2xx.
pub async fn ok(response: reqwest::Response) -> anyhow::Result<()> {
    let status = response.status();
    if !status.is_success() {
        bail!("{status}: {}", response.text().await.unwrap_or_default());
    }
    Ok(())
}

/// The JSON body of a 2xx response, or an error with the status and body.
pub async fn ok_json(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let url = response.url().clone();
    let text = response.text().await.context("response body")?;
    if !status.is_success() {
        bail!("{url}: {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{url}: not JSON: {text}"))
}
