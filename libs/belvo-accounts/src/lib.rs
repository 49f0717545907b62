//! The platform's one boundary with Belvo, shared by token-, link- and data-service: the
//! `[belvo]` settings section ([`BelvoConfig`]: timeouts and retries), the factory that
//! builds one client per region from the regions configuration and those settings
//! ([`BelvoAccounts`]; a region's clones share its connection pool and rate budget: the
//! service's share of the region's, shared by its replicas through its database), and the one
//! decision per Belvo failure of what gRPC status a caller gets ([`status`]).

mod budget;
mod config;
mod metrics;
mod status;

use std::fmt;

use std::sync::Arc;

use database::Database;
use regions::{BelvoCaller, RegionsConfig};

pub use config::BelvoConfig;
pub use metrics::BelvoMetrics;
pub use status::status;

/// One Belvo client per configured region, built once at start-up.
#[derive(Clone, Default)]
pub struct BelvoAccounts {
    clients: Vec<(String, belvo::Client)>,
}

impl fmt::Debug for BelvoAccounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.clients.iter().map(|(id, _)| id))
            .finish()
    }
}

/// A region's client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Belvo client of region {region}: {source}")]
pub struct BuildError {
    /// The region.
    pub region: String,
    /// Why.
    #[source]
    pub source: belvo::Error,
}

impl BelvoAccounts {
    /// A client for every region: the region's environment and keys, `caller`'s share of its
    /// rate budget (kept in `db` on PostgreSQL, so that the service's replicas share it), with
    /// the timeouts and retries of `config`, each call reported to `metrics`.
    pub fn build(
        regions: &RegionsConfig,
        config: &BelvoConfig,
        metrics: &BelvoMetrics,
        caller: BelvoCaller,
        db: &Database,
    ) -> Result<Self, BuildError> {
        let observer: Arc<dyn belvo::Observer> = Arc::new(metrics.clone());
        let clients = regions
            .regions()
            .iter()
            .map(|region| {
                let budget = region.rate_budget();
                let (share, window) = (budget.share(caller).get(), budget.window());
                let rate = match budget::DatabaseLedger::new(db, region.id().as_str()) {
                    Some(ledger) => belvo::RateBudget::shared(share, window, Arc::new(ledger)),
                    None => belvo::RateBudget::new(share, window),
                };
                let client = belvo::Client::builder(
                    region.environment().clone(),
                    belvo::Credentials::new(
                        region.secret_id().clone(),
                        region.secret_password().clone(),
                    ),
                )
                .region(region.id().as_str())
                .rate_budget(rate)
                .retry_policy(config.retry_policy())
                .observer(observer.clone())
                .timeout(config.timeout)
                .retrieve_timeout(config.retrieve_timeout)
                .connect_timeout(config.connect_timeout)
                .build()
                .map_err(|source| BuildError {
                    region: region.id().as_str().to_owned(),
                    source,
                })?;
                Ok((region.id().as_str().to_owned(), client))
            })
            .collect::<Result<_, BuildError>>()?;
        Ok(Self { clients })
    }

    /// The client of one region.
    pub fn get(&self, region: &str) -> Option<&belvo::Client> {
        self.clients
            .iter()
            .find(|(id, _)| id == region)
            .map(|(_, client)| client)
    }

    /// Whether the region is configured.
    pub fn has(&self, region: &str) -> bool {
        self.get(region).is_some()
    }

    /// Every region and its client, in the configured order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &belvo::Client)> {
        self.clients.iter().map(|(id, c)| (id.as_str(), c))
    }
}

impl From<BuildError> for grpc_runtime::StartError {
    fn from(err: BuildError) -> Self {
        Self::Setup(Box::new(err))
    }
}
