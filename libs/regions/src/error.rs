//! What can go wrong: loading the configuration (a `settings::SettingsError`, one report listing
//! every problem found, each naming its region and field and the variable that sets it), and
//! looking up a region or product that is not configured. No message ever carries a secret's
//! value.

use crate::types::Product;

/// Why the region configuration could not be loaded: the `settings` error every configuration
/// shares, so that a service can report its own problems and its regions' in one list
/// ([`settings::combine`], [`crate::RegionsConfig::load_alongside`]). Its violations are keyed
/// from the file's root (`regions.mx.locale`), or name the variable at fault
/// (`REGION_MX_LOCAL`).
pub type ConfigError = settings::SettingsError;

/// A region id that is not configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown region `{id}`; configured regions: {}", known.join(", "))]
pub struct UnknownRegion {
    /// The id asked for.
    pub id: String,
    /// The configured ids, in file order.
    pub known: Vec<String>,
}

/// A product that a region does not offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "region `{region}` does not offer {product}; it offers {}",
    list(offered)
)]
pub struct ProductNotOffered {
    /// The region.
    pub region: String,
    /// The product asked for.
    pub product: Product,
    /// What the region offers.
    pub offered: Vec<Product>,
}

fn list(products: &[Product]) -> String {
    products
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
