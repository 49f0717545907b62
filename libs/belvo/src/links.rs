//! Links: register (with the MFA challenge and its resume), list, get, change options, update
//! credentials, delete (sync or async) and refresh.

use futures::stream::BoxStream;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::client::Client;
use crate::error::Error;
use crate::models::Link;
use crate::pagination::Filters;
use crate::retry::RetryClass;

const LINKS: &str = "api/links/";

/// `POST /api/links/`: every documented field of both API generations. Credentials are
/// secrets and never print.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegisterLink {
    /// The institution's name, e.g. `erebor_mx_retail`.
    pub institution: String,
    /// The user's login (CURP for IMSS, RFC for SAT).
    pub username: String,
    /// The user's password (not used by IMSS).
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<SecretString>,
    /// Second username (some institutions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username2: Option<String>,
    /// Third username (some institutions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username3: Option<String>,
    /// Second password or PIN.
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub password2: Option<SecretString>,
    /// An MFA token, when the user already has one.
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub token: Option<SecretString>,
    /// Document type code for institutions that need one (see `form_fields`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_type: Option<String>,
    /// Base64 e.firma certificate (SAT).
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub certificate: Option<SecretString>,
    /// Base64 e.firma private key (SAT).
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_key: Option<SecretString>,
    /// Your opaque id for the user (3-256 characters, no PII).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `single` or `recurrent` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<String>,
    /// Resources to load after creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_resources: Option<Vec<String>>,
    /// Legacy: load historical data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_historical: Option<bool>,
    /// `store`, `nostore` or `Nd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_storage: Option<String>,
    /// `Nd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_in: Option<String>,
}

/// The PATCH that resumes a session after `428 token_required`.
#[derive(Debug, Clone, Serialize)]
pub struct MfaResume {
    /// The session from the challenge.
    pub session: String,
    /// The link from the challenge.
    pub link: Uuid,
    /// The user's token.
    #[serde(serialize_with = "crate::serde_secret::expose")]
    pub token: Option<SecretString>,
    /// Persist the data (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_data: Option<bool>,
}

impl MfaResume {
    /// Resume `challenge` with the user's `token`.
    pub fn new(challenge: &crate::TokenRequired, token: impl Into<SecretString>) -> Option<Self> {
        Some(Self {
            session: challenge.session.clone(),
            link: challenge.link?,
            token: Some(token.into()),
            save_data: None,
        })
    }
}

/// `PATCH /api/links/{id}/`: change how Belvo keeps the link's data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkOptions {
    /// `single` or `recurrent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<String>,
    /// `Nd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_in: Option<String>,
    /// Resources to load on updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_resources: Option<Vec<String>>,
}

/// `PUT /api/links/{id}/`: new credentials for an invalid link.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateCredentials {
    /// The new password.
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<SecretString>,
    /// The new second password.
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub password2: Option<SecretString>,
    /// An MFA token.
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub token: Option<SecretString>,
    /// Document type code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_type: Option<String>,
    /// Base64 e.firma certificate.
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub certificate: Option<SecretString>,
    /// Base64 e.firma private key.
    #[serde(
        serialize_with = "crate::serde_secret::expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_key: Option<SecretString>,
}

/// `{"request_id": …}` of a 202 Accepted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Accepted {
    /// Correlates with the webhook Belvo sends when the work is done.
    pub request_id: String,
}

#[derive(Serialize)]
struct RefreshBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    fetch_resources: Option<&'a [String]>,
}

/// The link endpoints, from [`Client::links`].
#[derive(Debug, Clone, Copy)]
pub struct Links<'c> {
    client: &'c Client,
}

impl Client {
    /// Link endpoints.
    pub fn links(&self) -> Links<'_> {
        Links { client: self }
    }
}

impl Links<'_> {
    /// `GET /api/links/` with filters (`external_id`, `status__in`, `institution`, ...).
    pub fn list(&self, filters: &Filters) -> BoxStream<'static, Result<Link, Error>> {
        self.client.list(LINKS, filters)
    }

    /// `POST /api/links/`. Never repeated, whatever the failure (429, the firewall's 403, a
    /// broken connection): once the request may have reached Belvo, a repeat could create a
    /// second link or lock the user out. `428` comes back as [`Error::TokenRequired`]; resume
    /// with [`Links::resume`].
    pub async fn register(&self, body: &RegisterLink) -> Result<Link, Error> {
        let call = self
            .client
            .with_body(Method::POST, LINKS, body, RetryClass::NeverRepeat)?;
        self.client.call_json(call).await
    }

    /// `PATCH /api/links/`: resume a registration with the user's MFA token. A wrong token
    /// gives another [`Error::TokenRequired`]; an expired session `session_expired`. Never
    /// repeated: the token and the session are spent by the first attempt.
    pub async fn resume(&self, body: &MfaResume) -> Result<Link, Error> {
        let call = self
            .client
            .with_body(Method::PATCH, LINKS, body, RetryClass::NeverRepeat)?;
        self.client.call_json(call).await
    }

    /// `GET /api/links/{id}/`.
    pub async fn get(&self, id: Uuid) -> Result<Link, Error> {
        let call = self.detail_call(id)?;
        self.client.call_json(call).await
    }

    /// `GET /api/links/{id}/`, keeping Belvo's JSON: the typed link and the body exactly as
    /// Belvo sent it (one request), so a caller can store Belvo's own JSON rather than a
    /// re-serialised [`Link`] (which would drop fields this client does not model).
    pub async fn get_verbatim(&self, id: Uuid) -> Result<(Link, String), Error> {
        let call = self.detail_call(id)?;
        self.client
            .send(call, |answer| Ok((answer.json::<Link>()?, answer.text()?)))
            .await
    }

    fn detail_call(&self, id: Uuid) -> Result<crate::client::Call<'static>, Error> {
        self.client.request(
            Method::GET,
            &format!("{LINKS}{id}/"),
            RetryClass::Idempotent,
        )
    }

    /// `PATCH /api/links/{id}/`: access mode, `stale_in`, `fetch_resources`. Setting the same
    /// options twice changes nothing, so it retries like a read.
    pub async fn update_options(&self, id: Uuid, options: &LinkOptions) -> Result<Link, Error> {
        let path = format!("{LINKS}{id}/");
        let call = self
            .client
            .with_body(Method::PATCH, &path, options, RetryClass::Idempotent)?;
        self.client.call_json(call).await
    }

    /// `PUT /api/links/{id}/`: new credentials. May answer 428. Never repeated: each attempt
    /// is a login at the institution.
    pub async fn update_credentials(
        &self,
        id: Uuid,
        body: &UpdateCredentials,
    ) -> Result<Link, Error> {
        let path = format!("{LINKS}{id}/");
        let call = self
            .client
            .with_body(Method::PUT, &path, body, RetryClass::NeverRepeat)?;
        self.client.call_json(call).await
    }

    /// `DELETE /api/links/{id}/` (204). A link already gone (404) counts as deleted, so a
    /// retried delete is idempotent. Belvo allows 5 synchronous deletes per minute.
    pub async fn delete(&self, id: Uuid) -> Result<(), Error> {
        let call = self.client.request(
            Method::DELETE,
            &format!("{LINKS}{id}/"),
            RetryClass::Idempotent,
        )?;
        match self.client.call_empty(call).await {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /api/links/{id}/` in async mode: 202 with a request id; Belvo sends a
    /// `link_deleted` webhook when done.
    pub async fn delete_async(&self, id: Uuid) -> Result<Accepted, Error> {
        let mut call = self.client.request(
            Method::DELETE,
            &format!("{LINKS}{id}/"),
            RetryClass::Idempotent,
        )?;
        call.async_mode = true;
        self.client.call_json(call).await
    }

    /// `POST /api/links/{id}/refresh/`: 202 and `historical_update` webhooks follow. Within
    /// the 10-minute cooldown Belvo answers `409 link_refreshed`; see
    /// [`Error::refresh_cooldown`]. `None` refreshes every resource the link supports. Never
    /// repeated: a second refresh only meets the cooldown.
    pub async fn refresh(
        &self,
        id: Uuid,
        fetch_resources: Option<&[String]>,
    ) -> Result<Accepted, Error> {
        let path = format!("{LINKS}{id}/refresh/");
        let body = RefreshBody { fetch_resources };
        let call = self
            .client
            .with_body(Method::POST, &path, &body, RetryClass::NeverRepeat)?;
        self.client.call_json(call).await
    }
}
