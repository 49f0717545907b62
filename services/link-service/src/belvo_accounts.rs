//! One Belvo client per configured region, built once at start-up from the region's
//! environment, secret keys and rate budget, so every call to a region shares one
//! connection pool and one rate budget.

use std::fmt;

use regions::RegionsConfig;

use crate::config::BelvoSettings;

/// The Belvo clients, in the order the regions are configured.
#[derive(Clone)]
pub(crate) struct BelvoAccounts {
    regions: Vec<(String, belvo::Client)>,
}

impl fmt::Debug for BelvoAccounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.regions.iter().map(|(id, _)| id))
            .finish()
    }
}

impl BelvoAccounts {
    /// Builds a client for every region.
    pub(crate) fn build(
        regions: &RegionsConfig,
        settings: &BelvoSettings,
    ) -> Result<Self, belvo::Error> {
        let mut clients = Vec::new();
        for region in regions.regions() {
            let budget = region.rate_budget();
            let retry = belvo::RetryPolicy {
                max_retries: settings.max_retries,
                max_unexpected_error_retries: settings.max_retries,
                base_delay: settings.retry_base_delay,
                ..belvo::RetryPolicy::default()
            };
            let client = belvo::Client::builder(
                region.environment().clone(),
                belvo::Credentials::new(
                    region.secret_id().clone(),
                    region.secret_password().clone(),
                ),
            )
            .rate_budget(belvo::RateBudget::new(
                budget.requests.get(),
                budget.window(),
            ))
            .retry_policy(retry)
            .timeout(settings.timeout)
            .build()?;
            clients.push((region.id().as_str().to_owned(), client));
        }
        Ok(Self { regions: clients })
    }

    /// The client of one region.
    pub(crate) fn get(&self, region: &str) -> Option<&belvo::Client> {
        self.regions
            .iter()
            .find(|(id, _)| id == region)
            .map(|(_, client)| client)
    }

    /// Every region and its client.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &belvo::Client)> {
        self.regions.iter().map(|(id, c)| (id.as_str(), c))
    }
}
