//! The cluster: the Belvo emulator, 2 gateways, 2 token-, 2 link- and 3 data-service
//! replicas as processes of the real binaries, each service on a PostgreSQL database of its
//! own that its replicas share. Gateway `i` and link-service `i` call replica `i` of what they
//! call (data-service replica 3 is reached only through the database: it runs sync jobs);
//! data-service replica `i` calls link-service `i % 2`.
//!
//! Ports: the services can listen on port 0 (they log `gRPC server listening addr=…`), but
//! token- and link-service and link- and data-service call each other, and a restarted
//! replica must come back where its callers look for it, so every serving port is chosen
//! before the start ([`crate::process::free_port`]) and kept across restarts; admin ports
//! are port 0. Readiness is polled (gRPC health, the gateway's `/readyz`) with a deadline.
//! The schema is migrated once per service before the replicas start, as production's
//! migrate Job does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use connect_proto::data::v1 as pb;
use database::testing::TestDatabase;
use futures::{StreamExt as _, TryStreamExt as _};
use uuid::Uuid;

use crate::api::{Api, RESOURCES, SECRET_ID, SECRET_PASSWORD, User};
use crate::process::{Probe, Proc, binary, free_addr};

/// How long a process may take to become ready.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sync workers of data-service replicas 1, 2 and 3.
    pub data_workers: [usize; 3],
    /// Transactions of every new link at the emulator.
    pub transactions: u64,
    /// Objects per Belvo page that data-service asks for.
    pub page_size: u32,
    /// Database URLs of token-, link- and data-service; unset: fresh databases on the
    /// machine's PostgreSQL (`TEST_POSTGRES_URL`).
    pub databases: Option<[String; 3]>,
    /// Most database connections of each data-service replica (its workers + 2, the change
    /// feed's listener apart). On the machine's shared PostgreSQL (100 connections, and two
    /// clusters at once under nextest) a cluster holds at most 2×2 + 2×2 + 3×(5+1) = 26.
    pub data_connections: u32,
    /// Every client spreads its calls over every replica of what it calls (comma-separated
    /// URLs, as a headless Service's name resolves in Kubernetes); unset, client i calls
    /// replica i only (a scenario that must know which replica serves what).
    pub balanced: bool,
    /// More environment for every process.
    pub env: Vec<(String, String)>,
    /// Belvo's budget for the region: requests per window of seconds, shared as the
    /// region's defaults share it. Unset: lifted (most scenarios measure sync, not Belvo's
    /// firewall).
    pub budget: Option<(u32, u32)>,
    /// The emulator's firewall: requests per source address in a window of seconds. Unset: off.
    pub firewall: Option<(u32, u64)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            data_workers: [3, 3, 3],
            transactions: 25,
            page_size: 10,
            databases: None,
            data_connections: 5,
            balanced: true,
            env: Vec::new(),
            budget: None,
            firewall: None,
        }
    }
}

/// How many times a cluster is started when a port it picked was taken meanwhile.
const START_ATTEMPTS: u32 = 3;
/// What a process logs when its port was taken.
const PORT_TAKEN: &str = "Address already in use";

/// A running cluster. Dropping it kills every process, then drops the databases.
#[derive(Debug)]
pub struct Cluster {
    pub emulator: Proc,
    pub tokens: Vec<Proc>,
    pub links: Vec<Proc>,
    pub datas: Vec<Proc>,
    pub gateways: Vec<Proc>,
    pub api: Api,
    /// Dropped after the processes (fields drop in order).
    databases: Vec<TestDatabase>,
    dir: Option<tempfile::TempDir>,
}

/// What Belvo has for each link: the ids of each of [`RESOURCES`], in that order.
pub type Expected = BTreeMap<Uuid, Vec<Vec<String>>>;

impl Cluster {
    /// Starts everything and waits until every process is ready; `None` when the machine's
    /// PostgreSQL is unreachable outside CI (the test is skipped, saying why).
    ///
    /// # Panics
    /// When something does not start, with the processes' logs.
    pub async fn start(options: Options) -> Option<Self> {
        let (urls, databases) = match &options.databases {
            Some(urls) => (urls.clone(), Vec::new()),
            None => {
                let mut dbs = Vec::new();
                for _ in 0..3 {
                    let db = TestDatabase::postgres().await?;
                    // Only its name is needed: its connections go back to the server.
                    db.close().await;
                    dbs.push(db);
                }
                (
                    [
                        dbs[0].url().to_owned(),
                        dbs[1].url().to_owned(),
                        dbs[2].url().to_owned(),
                    ],
                    dbs,
                )
            }
        };
        let mut databases = databases;
        for attempt in 1..=START_ATTEMPTS {
            let mut cluster = match Self::prepare(&options, urls.clone(), databases) {
                Ok(c) => c,
                Err(e) => panic!("cannot prepare the cluster: {e:#}"),
            };
            match cluster.boot().await {
                Ok(()) => return Some(cluster),
                // A port picked free was taken before its process bound it (the race
                // `free_addr` documents): start again on other ports, same databases.
                Err(_) if attempt < START_ATTEMPTS && cluster.logs(5).contains(PORT_TAKEN) => {
                    databases = std::mem::take(&mut cluster.databases);
                }
                Err(e) => cluster.fail(&format!("the cluster did not start: {e:#}")),
            }
        }
        unreachable!("the last attempt returns or fails")
    }

    fn prepare(
        options: &Options,
        urls: [String; 3],
        databases: Vec<TestDatabase>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("cluster-test-")
            .tempdir()
            .context("temp dir")?;
        let logs = dir.path().to_path_buf();
        let regions_file = logs.join("regions.toml");
        std::fs::write(&regions_file, regions::shipped::LOCAL).context("write regions.toml")?;

        let emulator_addr = free_addr()?;
        let emulator_url = format!("http://{emulator_addr}");
        let emulator = Proc::new(
            "belvo-emulator",
            binary("belvo-emulator")?,
            emulator_addr,
            Probe::Emulator,
            &logs,
        )
        .args([
            "--listen".to_owned(),
            emulator_addr.to_string(),
            "--mode".to_owned(),
            "sandbox".to_owned(),
            "--account".to_owned(),
            format!("id={SECRET_ID},password={SECRET_PASSWORD}"),
            "--transactions".to_owned(),
            options.transactions.to_string(),
            "--refresh-cooldown-secs".to_owned(),
            "0".to_owned(),
            "--delete-rate-per-minute".to_owned(),
            "0".to_owned(),
            "--firewall-requests".to_owned(),
            options.firewall.map_or(0, |f| f.0).to_string(),
            "--firewall-window-secs".to_owned(),
            options.firewall.map_or(30, |f| f.1).to_string(),
        ])
        .envs([("RUST_LOG", "warn")])
        .envs(options.env.clone());

        let addrs = |n: usize| {
            (0..n)
                .map(|_| free_addr())
                .collect::<anyhow::Result<Vec<_>>>()
        };
        let (token_addrs, link_addrs, data_addrs, gateway_addrs) =
            (addrs(2)?, addrs(2)?, addrs(3)?, addrs(2)?);
        let url = |a: &std::net::SocketAddr| format!("http://{a}");
        // What client `i` calls among `replicas`: all of them when balanced, else one.
        let balanced = options.balanced;
        let reach = move |replicas: &[std::net::SocketAddr], i: usize| {
            if balanced {
                replicas.iter().map(url).collect::<Vec<_>>().join(",")
            } else {
                url(&replicas[i % replicas.len()])
            }
        };

        let budget = options.budget.unwrap_or((1_000_000, 1));
        let common = |prefix: &str, listen: std::net::SocketAddr| {
            let mut env = vec![
                (
                    "REGIONS_FILE".to_owned(),
                    regions_file.display().to_string(),
                ),
                ("REGION_MX_ENVIRONMENT".to_owned(), emulator_url.clone()),
                (
                    "REGION_MX_WIDGET_SCRIPT_URL".to_owned(),
                    format!("{emulator_url}/belvo-widget-1-stable.js"),
                ),
                (
                    "REGION_MX_HOSTED_WIDGET_URL".to_owned(),
                    format!("{emulator_url}/widget/"),
                ),
                (
                    "REGION_MX_RATE_BUDGET_REQUESTS".to_owned(),
                    budget.0.to_string(),
                ),
                (
                    "REGION_MX_RATE_BUDGET_PER_SECONDS".to_owned(),
                    budget.1.to_string(),
                ),
                ("NO_COLOR".to_owned(), "1".to_owned()),
            ];
            for (k, v) in [
                ("SERVER__LISTEN_ADDR", listen.to_string()),
                ("SERVER__ADMIN_ADDR", "127.0.0.1:0".to_owned()),
                ("SERVER__SHUTDOWN_GRACE", "3s".to_owned()),
                ("BELVO__RETRY_BASE_DELAY", "10ms".to_owned()),
                ("BELVO__RETRY_MAX_DELAY", "100ms".to_owned()),
            ] {
                if prefix == "GATEWAY" && k.starts_with("BELVO") {
                    continue;
                }
                env.push((format!("{prefix}__{k}"), v));
            }
            env
        };
        let db = |prefix: &str, url: &str, max: u32| {
            vec![
                (format!("{prefix}__DATABASE__URL"), url.to_owned()),
                (
                    format!("{prefix}__DATABASE__MAX_CONNECTIONS"),
                    max.to_string(),
                ),
                (
                    format!("{prefix}__DATABASE__ACQUIRE_TIMEOUT"),
                    "2s".to_owned(),
                ),
            ]
        };

        let mut tokens = Vec::new();
        for (i, addr) in token_addrs.iter().enumerate() {
            let p = "TOKEN_SERVICE";
            tokens.push(
                Proc::new(
                    format!("token-service-{}", i + 1),
                    binary("token-service")?,
                    *addr,
                    Probe::Grpc,
                    &logs,
                )
                .envs(common(p, *addr))
                .envs(db(p, &urls[0], 2))
                .envs([
                    (
                        format!("{p}__EXTERNAL_ID_KEY"),
                        "cluster-external-id-key-0123456789-0123456789".to_owned(),
                    ),
                    (
                        format!("{p}__CLIENTS__LINK_SERVICE__URL"),
                        reach(&link_addrs, i),
                    ),
                ])
                .envs(options.env.clone()),
            );
        }
        let mut links = Vec::new();
        for (i, addr) in link_addrs.iter().enumerate() {
            let p = "LINK_SERVICE";
            links.push(
                Proc::new(
                    format!("link-service-{}", i + 1),
                    binary("link-service")?,
                    *addr,
                    Probe::Grpc,
                    &logs,
                )
                .envs(common(p, *addr))
                .envs(db(p, &urls[1], 2))
                .envs([
                    (
                        format!("{p}__CLIENTS__TOKEN_SERVICE__URL"),
                        reach(&token_addrs, i),
                    ),
                    (
                        format!("{p}__CLIENTS__DATA_SERVICE__URL"),
                        reach(&data_addrs, i),
                    ),
                ])
                .envs(options.env.clone()),
            );
        }
        let mut datas = Vec::new();
        for (i, addr) in data_addrs.iter().enumerate() {
            let p = "DATA_SERVICE";
            datas.push(
                Proc::new(
                    format!("data-service-{}", i + 1),
                    binary("data-service")?,
                    *addr,
                    Probe::Grpc,
                    &logs,
                )
                .envs(common(p, *addr))
                .envs(db(p, &urls[2], options.data_connections))
                .envs([
                    (
                        format!("{p}__CLIENTS__LINK_SERVICE__URL"),
                        reach(&link_addrs, i),
                    ),
                    (
                        format!("{p}__SYNC__WORKERS"),
                        options.data_workers[i].to_string(),
                    ),
                    (format!("{p}__SYNC__LEASE"), "2s".to_owned()),
                    (format!("{p}__SYNC__POLL_INTERVAL"), "200ms".to_owned()),
                    (format!("{p}__SYNC__RETRY_BASE"), "100ms".to_owned()),
                    (format!("{p}__SYNC__RETRY_MAX"), "1s".to_owned()),
                    (format!("{p}__SYNC__MAX_ATTEMPTS"), "30".to_owned()),
                    (
                        format!("{p}__SYNC__PAGE_SIZE"),
                        options.page_size.to_string(),
                    ),
                ])
                .envs(options.env.clone()),
            );
        }
        let mut gateways = Vec::new();
        for (i, addr) in gateway_addrs.iter().enumerate() {
            let p = "GATEWAY";
            gateways.push(
                Proc::new(
                    format!("gateway-{}", i + 1),
                    binary("gateway")?,
                    *addr,
                    Probe::Gateway,
                    &logs,
                )
                .envs(common(p, *addr))
                .envs([
                    (format!("{p}__AUTH__MODE"), "dev".to_owned()),
                    // One secret and one pseudonym key for both: a user's token works at either.
                    (
                        format!("{p}__AUTH__DEV_SECRET"),
                        "cluster-dev-secret-0123456789-0123456789".to_owned(),
                    ),
                    (
                        format!("{p}__AUTH__USER_PSEUDONYM_KEY"),
                        "cluster-pseudonym-key-0123456789-0123456789".to_owned(),
                    ),
                    (format!("{p}__LIMITS__TOKEN_MINTS"), "10000".to_owned()),
                    (
                        format!("{p}__CLIENTS__TOKEN_SERVICE__URL"),
                        reach(&token_addrs, i),
                    ),
                    (
                        format!("{p}__CLIENTS__LINK_SERVICE__URL"),
                        reach(&link_addrs, i),
                    ),
                    (
                        format!("{p}__CLIENTS__DATA_SERVICE__URL"),
                        reach(&data_addrs, i),
                    ),
                ])
                .envs(options.env.clone()),
            );
        }
        let api = Api::new(
            emulator_url,
            gateway_addrs.iter().map(url).collect(),
            &data_addrs.iter().map(url).collect::<Vec<_>>(),
            match options.firewall {
                Some((requests, secs)) => {
                    belvo::RateBudget::new(requests, Duration::from_secs(secs))
                }
                None => belvo::RateBudget::unlimited(),
            },
        )?;
        Ok(Self {
            emulator,
            tokens,
            links,
            datas,
            gateways,
            api,
            databases,
            dir: Some(dir),
        })
    }

    async fn boot(&mut self) -> anyhow::Result<()> {
        self.emulator.start()?;
        self.emulator.wait_ready(READY_WITHIN).await?;
        // The schema first, once per service, as production's migrate Job does: replicas
        // that all migrate an empty database at once can deadlock (a `CREATE INDEX
        // CONCURRENTLY` waits for the other replicas' `pg_advisory_lock` calls, which wait
        // for it). Replicas still run the (then empty) migrations at every start.
        // `migrate` reads only the database and telemetry sections.
        let migrate = |p: &'static str| {
            move |k: &str| {
                !k.starts_with(p)
                    || k.starts_with(&format!("{p}DATABASE__"))
                    || k.starts_with(&format!("{p}TELEMETRY__"))
            }
        };
        futures::future::try_join_all([
            self.tokens[0].run_once(&["migrate"], migrate("TOKEN_SERVICE__"), READY_WITHIN),
            self.links[0].run_once(&["migrate"], migrate("LINK_SERVICE__"), READY_WITHIN),
            self.datas[0].run_once(&["migrate"], migrate("DATA_SERVICE__"), READY_WITHIN),
        ])
        .await?;
        for p in self
            .tokens
            .iter_mut()
            .chain(self.links.iter_mut())
            .chain(self.datas.iter_mut())
        {
            p.start()?;
        }
        futures::future::try_join_all(
            self.tokens
                .iter_mut()
                .chain(self.links.iter_mut())
                .chain(self.datas.iter_mut())
                .map(|p| p.wait_ready(READY_WITHIN)),
        )
        .await?;
        for p in &mut self.gateways {
            p.start()?;
        }
        futures::future::try_join_all(self.gateways.iter_mut().map(|p| p.wait_ready(READY_WITHIN)))
            .await?;
        Ok(())
    }

    /// Every service process, gateways last.
    pub fn services(&mut self) -> impl Iterator<Item = &mut Proc> {
        self.tokens
            .iter_mut()
            .chain(self.links.iter_mut())
            .chain(self.datas.iter_mut())
            .chain(self.gateways.iter_mut())
    }

    /// The directory holding the logs.
    pub fn dir(&self) -> PathBuf {
        self.dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default()
    }

    /// The last lines of every process's log.
    pub fn logs(&self, lines: usize) -> String {
        let mut out = String::new();
        for p in std::iter::once(&self.emulator)
            .chain(&self.tokens)
            .chain(&self.links)
            .chain(&self.datas)
            .chain(&self.gateways)
        {
            out.push_str(&format!("\n----- {} (last {lines} lines) -----\n", p.name));
            out.push_str(&p.log_tail(lines));
            out.push('\n');
        }
        out
    }

    /// Panics with `message` and the logs, keeping the log directory.
    pub fn fail(&mut self, message: &str) -> ! {
        let logs = self.logs(40);
        let kept = self.dir.take().map(tempfile::TempDir::keep);
        panic!("{message}\n(logs kept in {kept:?}){logs}");
    }

    /// Ends a scenario: on an error, panics with it and the logs; otherwise stops everything.
    pub async fn finish(mut self, result: anyhow::Result<()>) {
        if let Err(e) = result {
            self.fail(&format!("{e:#}"));
        }
        let mut procs: Vec<&mut Proc> = self.services().collect();
        for p in &mut procs {
            let _ = p.kill().await;
        }
        let _ = self.emulator.kill().await;
    }

    /// Signs in `n` users named `<prefix>-<i>`.
    pub async fn users(&self, prefix: &str, n: usize) -> anyhow::Result<Vec<User>> {
        let mut users = Vec::new();
        for i in 0..n {
            users.push(self.api.user(&format!("{prefix}-{i}")).await?);
        }
        Ok(users)
    }

    /// Creates `n` links at the emulator, spread over `users` (user of link `i`:
    /// `users[i % len]`), 16 at a time.
    pub async fn create_links(
        &self,
        users: &[User],
        prefix: &str,
        n: usize,
    ) -> anyhow::Result<Vec<(Uuid, User)>> {
        futures::stream::iter(0..n)
            .map(|i| {
                let user = users[i % users.len()].clone();
                let api = self.api.clone();
                let username = format!("{prefix}-{i}");
                async move {
                    let link = api.create_link(&username, &user.external_id).await?;
                    Ok::<_, anyhow::Error>((link, user))
                }
            })
            .buffered(16)
            .try_collect()
            .await
    }

    /// Registers links through the gateways (alternating), 16 at a time.
    pub async fn register_links(&self, links: &[(Uuid, User)]) -> anyhow::Result<()> {
        futures::stream::iter(links.iter().enumerate())
            .map(|(i, (link, user))| {
                self.api
                    .register_link(user, *link, i, Duration::from_secs(60))
            })
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// What Belvo (the emulator) has now for each link.
    pub async fn expected(&self, links: &[Uuid]) -> anyhow::Result<Expected> {
        futures::stream::iter(links.iter().copied())
            .map(|link| async move {
                let mut per = Vec::new();
                for (_, _, path) in RESOURCES {
                    per.push(self.api.belvo_ids(link, path).await?);
                }
                Ok::<_, anyhow::Error>((link, per))
            })
            .buffer_unordered(16)
            .try_collect()
            .await
    }

    /// The links of `links` whose resources have not all succeeded with as many rows as
    /// Belvo has, each with why.
    pub async fn unsynced(&self, expected: &Expected, links: &[Uuid]) -> Vec<(Uuid, String)> {
        let api = &self.api;
        futures::stream::iter(links.iter().copied())
            .map(|link| async move {
                let why = match api.sync_status(link).await {
                    Err(e) => Some(format!("{e:#}")),
                    Ok(status) => not_synced(&status, &expected[&link]),
                };
                why.map(|w| (link, w))
            })
            .buffer_unordered(8)
            .filter_map(|x| async move { x })
            .collect()
            .await
    }

    /// Waits until every resource of every link has succeeded with as many rows as Belvo
    /// has.
    pub async fn wait_synced(&self, expected: &Expected, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let mut pending: Vec<Uuid> = expected.keys().copied().collect();
        loop {
            let still = self.unsynced(expected, &pending).await;
            if still.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let shown: Vec<String> = still
                    .iter()
                    .take(5)
                    .map(|(l, w)| format!("{l}: {w}"))
                    .collect();
                bail!(
                    "{} of {} links not synced within {within:?}, e.g. {shown:#?}",
                    still.len(),
                    expected.len()
                );
            }
            pending = still.into_iter().map(|(l, _)| l).collect();
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// For every link and resource: the stored ids equal Belvo's, none missing, none
    /// twice; the resource's last pull succeeded, was a full one, and left no full-pull
    /// error.
    pub async fn assert_exact(&self, expected: &Expected) -> anyhow::Result<()> {
        let api = &self.api;
        let problems: Vec<String> = futures::stream::iter(expected.iter())
            .map(|(link, per)| async move {
                let mut problems = Vec::new();
                let status = match api.sync_status(*link).await {
                    Ok(s) => s,
                    Err(e) => return vec![format!("{link}: {e:#}")],
                };
                for ((name, resource, _), belvo) in RESOURCES.iter().zip(per) {
                    let stored = match api.stored_ids(*link, *resource).await {
                        Ok(s) => s,
                        Err(e) => {
                            problems.push(format!("{link} {name}: {e:#}"));
                            continue;
                        }
                    };
                    problems.extend(
                        compare(belvo, &stored)
                            .into_iter()
                            .map(|p| format!("{link} {name}: {p}")),
                    );
                    match status
                        .resources
                        .iter()
                        .find(|r| r.resource == *resource as i32)
                    {
                        None => problems.push(format!("{link} {name}: no sync status")),
                        Some(r) => {
                            if r.state != pb::SyncState::Succeeded as i32 {
                                problems.push(format!("{link} {name}: state {}", r.state));
                            }
                            if !r.full_pull_error.is_empty() {
                                problems.push(format!(
                                    "{link} {name}: full_pull_error {:?}",
                                    r.full_pull_error
                                ));
                            }
                            if r.last_full_pull_at.is_none() {
                                problems.push(format!("{link} {name}: no last_full_pull_at"));
                            }
                            if r.records != belvo.len() as i64 {
                                problems.push(format!(
                                    "{link} {name}: status counts {} rows, Belvo has {}",
                                    r.records,
                                    belvo.len()
                                ));
                            }
                        }
                    }
                }
                problems
            })
            .buffer_unordered(8)
            .flat_map(futures::stream::iter)
            .collect()
            .await;
        if !problems.is_empty() {
            bail!(
                "{} problems with the stored data, e.g. {:#?}",
                problems.len(),
                &problems[..problems.len().min(20)]
            );
        }
        Ok(())
    }
}

/// Why a link's status is not "synced as Belvo has it", or `None`.
fn not_synced(status: &pb::LinkSync, expected: &[Vec<String>]) -> Option<String> {
    for ((name, resource, _), ids) in RESOURCES.iter().zip(expected) {
        let Some(r) = status
            .resources
            .iter()
            .find(|r| r.resource == *resource as i32)
        else {
            return Some(format!("{name}: no status yet"));
        };
        if r.state != pb::SyncState::Succeeded as i32 || r.records != ids.len() as i64 {
            return Some(format!(
                "{name}: state {:?}, {} of {} rows, last error {:?}",
                pb::SyncState::try_from(r.state).unwrap_or(pb::SyncState::Unspecified),
                r.records,
                ids.len(),
                r.last_error
            ));
        }
    }
    None
}

/// What differs between Belvo's ids and the stored ones.
pub fn compare(belvo: &[String], stored: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in stored {
        *counts.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    if !twice.is_empty() {
        problems.push(format!("stored more than once: {twice:?}"));
    }
    let belvo_set: std::collections::BTreeSet<&str> = belvo.iter().map(String::as_str).collect();
    let missing: Vec<_> = belvo_set
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("{} missing: {missing:?}", missing.len()));
    }
    let extra: Vec<_> = counts
        .keys()
        .filter(|id| !belvo_set.contains(*id))
        .collect();
    if !extra.is_empty() {
        problems.push(format!(
            "{} stored but not at Belvo: {extra:?}",
            extra.len()
        ));
    }
    problems
}

impl Cluster {
    /// `n` links of `users` new users (named after `prefix`), created at the emulator and
    /// registered through the gateways. Their webhooks are recorded at the emulator, not
    /// delivered yet.
    pub async fn new_links(
        &self,
        prefix: &str,
        users: usize,
        n: usize,
    ) -> anyhow::Result<Vec<(Uuid, User)>> {
        let users = self.users(prefix, users).await?;
        let links = self.create_links(&users, prefix, n).await?;
        self.register_links(&links).await?;
        Ok(links)
    }

    /// `n` links as [`Self::new_links`], their webhooks delivered and their data synced;
    /// returns them with what Belvo has.
    pub async fn synced_links(
        &self,
        prefix: &str,
        users: usize,
        n: usize,
    ) -> anyhow::Result<(Vec<(Uuid, User)>, Expected)> {
        let links = self.new_links(prefix, users, n).await?;
        let ids = ids(&links);
        let events = self.api.webhooks_of(&ids).await?;
        self.api
            .deliver_all(&events, 8, Duration::from_secs(60))
            .await?;
        let expected = self.expected(&ids).await?;
        self.wait_synced(&expected, Duration::from_secs(60)).await?;
        Ok((links, expected))
    }
}

/// The link ids.
pub fn ids(links: &[(Uuid, User)]) -> Vec<Uuid> {
    links.iter().map(|(l, _)| *l).collect()
}
