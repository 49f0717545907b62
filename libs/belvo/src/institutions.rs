//! Institutions: the banks, tax authorities and social-security institutes Belvo connects to.

use futures::stream::BoxStream;
use reqwest::Method;

use crate::client::Client;
use crate::error::Error;
use crate::models::Institution;
use crate::pagination::Filters;
use crate::retry::RetryClass;

/// The institution endpoints, from [`Client::institutions`].
#[derive(Debug, Clone, Copy)]
pub struct Institutions<'c> {
    client: &'c Client,
}

impl Client {
    /// Institution endpoints.
    pub fn institutions(&self) -> Institutions<'_> {
        Institutions { client: self }
    }
}

impl Institutions<'_> {
    /// `GET /api/institutions/` with filters (`country_code`, `type`, `name__in`, `status`,
    /// `resources__allin`, ...).
    pub fn list(&self, filters: &Filters) -> BoxStream<'static, Result<Institution, Error>> {
        self.client.list("api/institutions/", filters)
    }

    /// `GET /api/institutions/{id}/` (institutions have integer ids).
    pub async fn get(&self, id: i64) -> Result<Institution, Error> {
        let call = self.client.request(
            Method::GET,
            &format!("api/institutions/{id}/"),
            RetryClass::Idempotent,
        )?;
        self.client.call_json(call).await
    }
}
