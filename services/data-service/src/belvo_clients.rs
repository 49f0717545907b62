//! One Belvo client per configured region, built once; clones share the region's connection
//! pool and rate budget, so every worker stays within the region's Belvo budget together.

use std::collections::HashMap;
use std::time::Duration;

use belvo::{Client, Credentials, RateBudget};
use regions::RegionsConfig;
use secrecy::ExposeSecret as _;

/// The clients, by region key.
#[derive(Debug, Clone, Default)]
pub struct BelvoClients {
    clients: HashMap<String, Client>,
}

impl BelvoClients {
    /// A client for each region of `regions`.
    pub fn from_regions(regions: &RegionsConfig) -> Result<Self, belvo::Error> {
        let mut clients = HashMap::new();
        for region in regions.regions() {
            let budget = region.rate_budget();
            let client = Client::builder(
                region.environment().clone(),
                Credentials::new(
                    region.secret_id().expose_secret().to_owned(),
                    region.secret_password().expose_secret().to_owned(),
                ),
            )
            .rate_budget(RateBudget::new(
                budget.requests.get(),
                Duration::from_secs(u64::from(budget.per_seconds.get())),
            ))
            .build()?;
            clients.insert(region.id().as_str().to_owned(), client);
        }
        Ok(Self { clients })
    }

    /// Explicit clients (tests).
    pub fn from_clients(clients: impl IntoIterator<Item = (String, Client)>) -> Self {
        Self {
            clients: clients.into_iter().collect(),
        }
    }

    /// The region's client.
    pub fn get(&self, region: &str) -> Option<&Client> {
        self.clients.get(region)
    }

    /// Whether the region is configured.
    pub fn has(&self, region: &str) -> bool {
        self.clients.contains_key(region)
    }
}
