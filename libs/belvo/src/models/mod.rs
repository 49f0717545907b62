//! Belvo's objects with Belvo's exact field names. Every field is optional: Belvo's "required"
//! means the key is present, not that the value is non-null, and fields come and go between API
//! generations. Unknown fields are ignored, enums keep unknown values, money is a `Decimal`.
//!
//! Banking follows the multi-region (Mexico) shapes of Belvo's 1.35.0 spec; employment, fiscal and
//! enrichment follow the union of 1.35.0 and 1.223.0. The spec-examples test in this crate checks
//! that every field of those specs' examples is known here.

pub mod serde_lenient;

mod banking;
mod employment;
mod enrichment;
mod fiscal;
mod links;

pub use banking::*;
pub use employment::*;
pub use enrichment::*;
pub use fiscal::*;
pub use links::*;

/// A Belvo timestamp (always UTC on the wire: `Z` or `+00:00`, 3 to 6 fractional digits).
pub type Timestamp = chrono::DateTime<chrono::Utc>;
