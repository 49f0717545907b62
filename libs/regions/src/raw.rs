//! The file as written: every table refuses unknown keys, but scalar values stay strings (and
//! numbers stay wide) so that validation can report every bad value at once, with its field,
//! instead of stopping at serde's first error. Environment overrides are applied to this form.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use crate::secret::SecretRef;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub(crate) default_region: Option<String>,
    #[serde(default)]
    pub(crate) regions: Ordered<RawRegion>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegion {
    pub(crate) display_name: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) secret_id: Option<SecretRef>,
    pub(crate) secret_password: Option<SecretRef>,
    pub(crate) widget: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) country_codes: Option<Vec<String>>,
    pub(crate) access_mode: Option<String>,
    pub(crate) stale_in: Option<String>,
    pub(crate) credentials_storage: Option<String>,
    pub(crate) widget_script_url: Option<String>,
    pub(crate) hosted_widget_url: Option<String>,
    pub(crate) webhook_authorization: Option<SecretRef>,
    pub(crate) rate_budget: Option<RawRateBudget>,
    pub(crate) branding: Option<RawBranding>,
    pub(crate) theme: Option<Ordered<String>>,
    pub(crate) callback_urls: Option<RawCallbackUrls>,
    pub(crate) consent: Option<RawConsent>,
    #[serde(default)]
    pub(crate) products: Ordered<RawProduct>,
    /// Field key (`locale`, `rate_budget.requests`) → the environment variable that set it.
    #[serde(skip)]
    pub(crate) origins: BTreeMap<&'static str, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateBudget {
    pub(crate) requests: Option<i64>,
    pub(crate) per_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBranding {
    pub(crate) company_name: Option<String>,
    pub(crate) company_icon: Option<String>,
    pub(crate) company_logo: Option<String>,
    pub(crate) company_terms_url: Option<String>,
    pub(crate) company_terms_version: Option<String>,
    pub(crate) overlay_background_color: Option<String>,
    pub(crate) social_proof: Option<bool>,
    pub(crate) show_belvo_middle_logo: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallbackUrls {
    pub(crate) success: Option<String>,
    pub(crate) exit: Option<String>,
    pub(crate) event: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConsent {
    pub(crate) purpose: Option<String>,
    pub(crate) terms_and_conditions_url: Option<String>,
    pub(crate) default_consent_duration_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProduct {
    pub(crate) fetch_resources: Option<Vec<String>>,
    pub(crate) institution_types: Option<Vec<String>>,
}

/// A TOML table as `(key, value)` pairs in file order (with toml's `preserve_order`).
#[derive(Debug)]
pub(crate) struct Ordered<V>(pub(crate) Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, V>()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }

        d.deserialize_map(OrderedVisitor(PhantomData))
    }
}
