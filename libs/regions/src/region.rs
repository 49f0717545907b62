//! The validated configuration: `RegionsConfig` (every region, in file order, and the default
//! one) and `Region` (everything a service needs to talk to Belvo for one region and to build
//! its widget tokens), with the lookups services use. Values here have passed validation, so
//! their fields are read-only.

use std::fmt;

use belvo::Environment;
use secrecy::SecretString;
use serde::Serialize;
use url::Url;

use crate::error::{ProductNotOffered, UnknownRegion};
use crate::types::{
    AccessMode, CountryCode, CredentialsStorage, FetchResource, InstitutionType, Locale, Product,
    RateBudget, StaleIn, WidgetFamily,
};

/// Every configured region, in file order, and the default one.
#[derive(Debug, Clone)]
pub struct RegionsConfig {
    pub(crate) regions: Vec<Region>,
    pub(crate) default: usize,
}

impl RegionsConfig {
    /// The region with this id.
    pub fn region(&self, id: &str) -> Result<&Region, UnknownRegion> {
        self.regions
            .iter()
            .find(|region| region.id.as_str() == id)
            .ok_or_else(|| UnknownRegion {
                id: id.to_owned(),
                known: self.ids().map(str::to_owned).collect(),
            })
    }

    /// The default region: `default_region` (file or `REGIONS_DEFAULT_REGION`), else the first
    /// region in the file.
    pub fn default_region(&self) -> &Region {
        // Invariant: `default < regions.len()`. The loader, the only constructor, refuses an
        // empty region list and resolves `default` to the index of a region it keeps.
        &self.regions[self.default]
    }

    /// Every region, in file order.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Every region id, in file order.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.regions.iter().map(|region| region.id.as_str())
    }
}

/// A region id: lowercase letters, digits, `_` and `-` (it appears in URLs such as
/// `/webhooks/belvo/{region}`, in stored rows, and upper-cased in variable names).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionId(pub(crate) String);

impl RegionId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used in environment variable names: `mx-north` → `MX_NORTH`.
    pub fn env_key(&self) -> String {
        settings::env_key_part(&self.0)
    }
}

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RegionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// One region: where Belvo is, the keys for it, and how the widget is set up. `Debug` shows
/// secrets as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct Region {
    pub(crate) id: RegionId,
    pub(crate) display_name: String,
    pub(crate) environment: Environment,
    pub(crate) secret_id: SecretString,
    pub(crate) secret_password: SecretString,
    pub(crate) widget: WidgetFamily,
    pub(crate) locale: Locale,
    pub(crate) country_codes: Vec<CountryCode>,
    pub(crate) access_mode: AccessMode,
    pub(crate) stale_in: StaleIn,
    pub(crate) credentials_storage: Option<CredentialsStorage>,
    pub(crate) widget_script_url: Url,
    pub(crate) hosted_widget_url: Url,
    pub(crate) webhook_authorization: Option<SecretString>,
    pub(crate) webhook_authorization_next: Option<SecretString>,
    pub(crate) rate_budget: RateBudget,
    pub(crate) branding: Branding,
    pub(crate) theme: Vec<ThemeEntry>,
    pub(crate) callback_urls: Option<CallbackUrls>,
    pub(crate) consent: Option<OfdaConsent>,
    /// In `Product` order.
    pub(crate) products: Vec<ProductConfig>,
}

impl Region {
    /// The id (`mx`).
    pub fn id(&self) -> &RegionId {
        &self.id
    }

    /// A human name (`Mexico`); the id when the file gives none.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Belvo's environment, or the emulator's base URL.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The base URL of Belvo's API for this region, ending in `/`.
    pub fn base_url(&self) -> Url {
        self.environment.base_url()
    }

    /// Belvo's Secret Key ID (empty unless loaded with [`crate::SecretsUsed::BelvoKeys`] or
    /// `All`).
    pub fn secret_id(&self) -> &SecretString {
        &self.secret_id
    }

    /// Belvo's Secret Key password (empty unless loaded with the keys, as [`Self::secret_id`]).
    pub fn secret_password(&self) -> &SecretString {
        &self.secret_password
    }

    /// Which widget: multi-region or OFDA.
    pub fn widget(&self) -> WidgetFamily {
        self.widget
    }

    /// The widget's language (`pt` for OFDA).
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The countries whose institutions the widget lists (`["BR"]` for OFDA).
    pub fn country_codes(&self) -> &[CountryCode] {
        &self.country_codes
    }

    /// Single or recurrent links.
    pub fn access_mode(&self) -> AccessMode {
        self.access_mode
    }

    /// Belvo's data retention for links not updated (`stale_in`).
    pub fn stale_in(&self) -> StaleIn {
        self.stale_in
    }

    /// Belvo's credential retention. `None` for OFDA, whose token takes no such field
    /// (consent-based links store no credentials).
    pub fn credentials_storage(&self) -> Option<CredentialsStorage> {
        self.credentials_storage
    }

    /// The web SDK script the frontend loads (multi-region widget).
    pub fn widget_script_url(&self) -> &Url {
        &self.widget_script_url
    }

    /// The hosted widget's address (`?access_token=…` is appended by the caller).
    pub fn hosted_widget_url(&self) -> &Url {
        &self.hosted_widget_url
    }

    /// The exact `Authorization` header value Belvo sends with webhooks (`Bearer …` or
    /// `Basic …`), compare in constant time. `None`: the region accepts unauthenticated webhooks
    /// (refused in production), or it was loaded without it ([`crate::SecretsUsed::BelvoKeys`]).
    pub fn webhook_authorization(&self) -> Option<&SecretString> {
        self.webhook_authorization.as_ref()
    }

    /// Every `Authorization` value a webhook may carry: [`Self::webhook_authorization`], and
    /// during a rotation the value it moves to (`webhook_authorization_next`), so that no
    /// webhook is refused while Belvo switches. Empty when the region accepts unauthenticated
    /// webhooks.
    pub fn webhook_authorizations(&self) -> impl Iterator<Item = &SecretString> {
        self.webhook_authorization
            .iter()
            .chain(&self.webhook_authorization_next)
    }

    /// How many Belvo requests this region's callers may make per window.
    pub fn rate_budget(&self) -> RateBudget {
        self.rate_budget
    }

    /// The widget's branding (`widget.branding` in the token request).
    pub fn branding(&self) -> &Branding {
        &self.branding
    }

    /// Widget CSS variables (`widget.theme`), in file order; often empty.
    pub fn theme(&self) -> &[ThemeEntry] {
        &self.theme
    }

    /// Redirect targets for the hosted widget (always present for OFDA).
    pub fn callback_urls(&self) -> Option<&CallbackUrls> {
        self.callback_urls.as_ref()
    }

    /// OFDA consent settings (present exactly when the widget is OFDA).
    pub fn consent(&self) -> Option<&OfdaConsent> {
        self.consent.as_ref()
    }

    /// The products offered, in `Product` order.
    pub fn products(&self) -> &[ProductConfig] {
        &self.products
    }

    /// Whether the region offers a product.
    pub fn offers(&self, product: Product) -> bool {
        self.products.iter().any(|p| p.product == product)
    }

    /// One product's settings.
    pub fn product(&self, product: Product) -> Result<&ProductConfig, ProductNotOffered> {
        self.products
            .iter()
            .find(|p| p.product == product)
            .ok_or_else(|| ProductNotOffered {
                region: self.id.0.clone(),
                product,
                offered: self.products.iter().map(|p| p.product).collect(),
            })
    }

    /// The `fetch_resources` for a widget token covering these products: the union, each once,
    /// in `FetchResource` declaration order whatever the order asked (so equal requests give
    /// equal token bodies).
    pub fn fetch_resources_for(
        &self,
        products: &[Product],
    ) -> Result<Vec<FetchResource>, ProductNotOffered> {
        let mut wanted = Vec::new();
        for product in products {
            wanted.extend_from_slice(&self.product(*product)?.fetch_resources);
        }
        Ok(FetchResource::ALL
            .iter()
            .copied()
            .filter(|r| wanted.contains(r))
            .collect())
    }

    /// The institution types for a widget covering these products: the union, each once, in
    /// `InstitutionType` declaration order.
    pub fn institution_types_for(
        &self,
        products: &[Product],
    ) -> Result<Vec<InstitutionType>, ProductNotOffered> {
        let mut wanted = Vec::new();
        for product in products {
            wanted.extend_from_slice(&self.product(*product)?.institution_types);
        }
        Ok(InstitutionType::ALL
            .iter()
            .copied()
            .filter(|t| wanted.contains(t))
            .collect())
    }
}

/// A product's settings in a region.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProductConfig {
    /// Which product.
    pub product: Product,
    /// What Belvo loads after link creation, in the file's order, each once.
    pub fetch_resources: Vec<FetchResource>,
    /// Which institution types the widget lists for it.
    pub institution_types: Vec<InstitutionType>,
}

/// The widget's branding, serialized as Belvo's `widget.branding` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Branding {
    /// "ACME uses Belvo to connect your account".
    pub company_name: String,
    /// Icon (SVG).
    pub company_icon: Url,
    /// Logo (SVG).
    pub company_logo: Url,
    /// Privacy policy or terms, linked on the first screen.
    pub company_terms_url: Url,
    /// Version of those terms (multi-region only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_terms_version: Option<String>,
    /// Desktop overlay colour, `#RGB` or `#RRGGBB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlay_background_color: Option<String>,
    /// `false` hides Belvo's "millions of users" banner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub social_proof: Option<bool>,
    /// Shows Belvo's logo in the middle (OFDA only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_belvo_middle_logo: Option<bool>,
}

/// One widget CSS variable, serialized as Belvo's `{css_key, value}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ThemeEntry {
    /// A CSS custom property, such as `--color-primary-base`.
    pub css_key: String,
    /// Its value.
    pub value: String,
}

/// Where the hosted widget redirects, serialized as Belvo's `widget.callback_urls`. Deep links
/// (`myapp://success`) are URLs too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CallbackUrls {
    /// After a link was created (`?link=…&institution=…`).
    pub success: Url,
    /// When the user leaves the widget.
    pub exit: Url,
    /// When an error occurs.
    pub event: Url,
}

/// The region-wide part of the OFDA `widget.consent` object. The user's `identification_info`
/// (CPF/CNPJ) is per request, so it is not here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OfdaConsent {
    /// Why the data is collected, shown to the user (at most 140 characters).
    pub purpose: String,
    /// The company's terms for the consent.
    pub terms_and_conditions_url: Url,
    /// 92, 183, 275 or 366; `None` leaves Belvo's default.
    pub default_consent_duration_days: Option<u16>,
}

impl OfdaConsent {
    /// `widget.openfinance_feature` for link creation. Fixed by Belvo for this flow, so it is a
    /// constant rather than a setting (the other value, `consent_management`, is the My Belvo
    /// Portal's, a different flow).
    pub const OPENFINANCE_FEATURE: &'static str = "consent_link_creation";

    /// `widget.consent.permissions`: Belvo requires exactly these four.
    pub const PERMISSIONS: [&'static str; 4] =
        ["REGISTER", "ACCOUNTS", "CREDIT_CARDS", "CREDIT_OPERATIONS"];

    /// The durations Belvo accepts for `default_consent_duration_days`.
    pub const DURATIONS_DAYS: [u16; 4] = [92, 183, 275, 366];
}
