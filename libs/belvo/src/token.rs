//! `POST /api/token/`: widget access tokens, for every documented body variant: the
//! multi-region widget (Mexico), update mode for an existing link, and Brazil's Open Finance
//! (OFDA) consent flow.

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::client::Client;
use crate::error::Error;
use crate::retry::RetryClass;

/// Scopes to create links (Belvo's current default).
pub const SCOPES_CREATE_LINKS: &str = "read_institutions,write_links";
/// Scopes for update mode (re-authenticating an existing link).
pub const SCOPES_UPDATE_LINK: &str = "read_institutions,write_links,read_links";
/// Scopes for Brazil's Open Finance link creation.
pub const SCOPES_OFDA: &str = "read_institutions,write_links,read_consents,write_consents,write_consent_callback,delete_consents";

/// The body of a widget token request, without the keys (the client adds them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WidgetTokenRequest {
    /// Comma-separated scopes, exactly as Belvo lists them.
    pub scopes: String,
    /// Update mode: the link to re-authenticate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_id: Option<Uuid>,
    /// Resources Belvo loads after the link is created (one `historical_update` webhook each).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fetch_resources: Vec<String>,
    /// How long Belvo keeps data of links not updated (`^\d{1,3}d$`, default `365d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_in: Option<String>,
    /// `store`, `nostore` or `Nd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_storage: Option<String>,
    /// Your id for the user (normally a widget start-up parameter instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Widget settings: branding, callback URLs, theme, OFDA consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget: Option<Widget>,
}

impl WidgetTokenRequest {
    /// A token to create links.
    pub fn create_links() -> Self {
        Self {
            scopes: SCOPES_CREATE_LINKS.to_owned(),
            ..Self::default()
        }
    }

    /// A token for update mode on `link_id`.
    pub fn update_link(link_id: Uuid) -> Self {
        Self {
            scopes: SCOPES_UPDATE_LINK.to_owned(),
            link_id: Some(link_id),
            ..Self::default()
        }
    }

    /// A token for Brazil's Open Finance consent flow.
    pub fn ofda(consent: Consent) -> Self {
        Self {
            scopes: SCOPES_OFDA.to_owned(),
            widget: Some(Widget {
                openfinance_feature: Some("consent_link_creation".to_owned()),
                consent: Some(consent),
                ..Widget::default()
            }),
            ..Self::default()
        }
    }
}

/// `widget` in the token body.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Widget {
    /// `consent_link_creation` or `consent_management` (OFDA only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openfinance_feature: Option<String>,
    /// Redirects of the hosted widget (required for it, and for OFDA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_urls: Option<CallbackUrls>,
    /// Your company's branding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
    /// CSS variables (`--color-primary-base`, ...; append `-dark` for dark mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theme: Option<Vec<ThemeEntry>>,
    /// `LIGHT` or `DARK`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_scheme: Option<String>,
    /// The OFDA consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

/// `widget.callback_urls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackUrls {
    /// Redirect after a link is created (`?link=…&institution=…`).
    pub success: String,
    /// Redirect when the user leaves.
    pub exit: String,
    /// Redirect on an error event.
    pub event: String,
}

/// `widget.branding`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// Icon URL (SVG).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_icon: Option<String>,
    /// Logo URL (SVG).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_logo: Option<String>,
    /// "ACME uses Belvo to connect your account".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Terms and privacy URL on the first screen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_terms_url: Option<String>,
    /// Version of the terms, e.g. `20260323`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_terms_version: Option<String>,
    /// Desktop overlay colour (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlay_background_color: Option<String>,
    /// `false` hides the social-proof banner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub social_proof: Option<bool>,
    /// OFDA only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_belvo_middle_logo: Option<bool>,
}

/// One entry of `widget.theme`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeEntry {
    /// A CSS variable name.
    pub css_key: String,
    /// Its value.
    pub value: String,
}

/// `widget.consent` (Brazil OFDA).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Why the data is requested.
    pub purpose: String,
    /// Your terms and conditions.
    pub terms_and_conditions_url: String,
    /// Exactly `REGISTER, ACCOUNTS, CREDIT_CARDS, CREDIT_OPERATIONS`.
    pub permissions: Vec<String>,
    /// The user's CPF (and the company's CNPJ for a business).
    pub identification_info: Vec<IdentificationInfo>,
    /// 92, 183, 275 or 366.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_consent_duration_days: Option<u16>,
}

/// The permissions an OFDA consent must request.
pub const OFDA_PERMISSIONS: [&str; 4] =
    ["REGISTER", "ACCOUNTS", "CREDIT_CARDS", "CREDIT_OPERATIONS"];

/// A document that identifies the consenting person or company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentificationInfo {
    /// `CPF` or `CNPJ`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The document number.
    pub number: String,
    /// The holder's name.
    pub name: String,
}

/// Belvo's answer: the `access` token for the widget (valid for 10 minutes, invalidated once a
/// link is created) and a `refresh` token Belvo documents no use for.
#[derive(Debug, Clone, Deserialize)]
pub struct WidgetToken {
    /// Give this one to the widget.
    pub access: SecretString,
    /// Opaque; unused.
    pub refresh: SecretString,
}

#[derive(Serialize)]
struct TokenBody<'a> {
    id: &'a str,
    password: &'a str,
    #[serde(flatten)]
    request: &'a WidgetTokenRequest,
}

impl Client {
    /// `POST /api/token/`: a widget access token. The keys go both in the Basic header and in
    /// the body, as Belvo requires.
    pub async fn create_widget_token(
        &self,
        request: &WidgetTokenRequest,
    ) -> Result<WidgetToken, Error> {
        let body = TokenBody {
            id: self.credentials().id(),
            password: self.credentials().password(),
            request,
        };
        // Minting a token has no side effect beyond the token, so it may be repeated.
        let call = self.with_body(Method::POST, "api/token/", &body, RetryClass::Idempotent)?;
        self.call_json(call).await
    }
}
