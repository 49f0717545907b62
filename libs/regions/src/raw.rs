//! The configuration as layered by `settings` (file, then environment): every table refuses
//! unknown keys, but scalar values stay strings (and numbers stay wide) so that validation can
//! report every bad value at once, with its field, instead of stopping at serde's first error.
//!
//! These types are also the source of the environment overrides: `settings` reads their keys
//! from their `Deserialize` implementations, so every scalar key of a region (through its
//! struct-valued keys, such as `rate_budget.requests`) is settable by
//! `REGION_<ID>_<KEY>` without a list to keep. Open maps (`theme`, `products`) are the file's.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use settings::SecretSource;

/// `Serialize` and `Default` make the (empty) defaults layer; the regions are the file's.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub(crate) default_region: Option<String>,
    #[serde(default, skip_serializing)]
    pub(crate) regions: Ordered<RawRegion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegion {
    pub(crate) display_name: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) secret_id: Option<SecretSource>,
    pub(crate) secret_password: Option<SecretSource>,
    pub(crate) widget: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) country_codes: Option<Vec<String>>,
    pub(crate) access_mode: Option<String>,
    pub(crate) stale_in: Option<String>,
    pub(crate) credentials_storage: Option<String>,
    pub(crate) widget_script_url: Option<String>,
    pub(crate) hosted_widget_url: Option<String>,
    pub(crate) webhook_authorization: Option<SecretSource>,
    pub(crate) webhook_authorization_next: Option<SecretSource>,
    pub(crate) rate_budget: Option<RawRateBudget>,
    pub(crate) branding: Option<RawBranding>,
    pub(crate) theme: Option<Ordered<String>>,
    pub(crate) callback_urls: Option<RawCallbackUrls>,
    pub(crate) consent: Option<RawConsent>,
    #[serde(default)]
    pub(crate) products: Ordered<RawProduct>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateBudget {
    pub(crate) requests: Option<i64>,
    pub(crate) per_seconds: Option<i64>,
    pub(crate) shares: Option<RawShares>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawShares {
    pub(crate) token_service: Option<i64>,
    pub(crate) link_service: Option<i64>,
    pub(crate) data_service: Option<i64>,
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

/// A table as `(key, value)` pairs in file order (`settings` keeps the file's order).
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
