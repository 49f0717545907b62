//! Typed async client for Belvo's API: widget access tokens, institutions, links (with the MFA
//! flow), every Banking, Employment and Fiscal data resource as a paginated stream, webhook
//! payloads, and Belvo's errors. Retries follow Belvo's published policy, per kind of call
//! (reads, bank-login retrievals, never-repeated link writes), and a rate budget keeps callers
//! under Belvo's firewall threshold.
//!
//! ```no_run
//! # async fn demo() -> Result<(), belvo::Error> {
//! use futures::TryStreamExt;
//! let keys = belvo::Credentials::new("secret-id", "secret-password");
//! let belvo = belvo::Client::builder(belvo::Environment::Sandbox, keys).build()?;
//! let link: uuid::Uuid = "30cb4806-6e00-48a4-91c9-ca55968576c8".parse().unwrap();
//! let mut txs = belvo.transactions().list(&belvo::Filters::new().link(link).page_size(1000));
//! while let Some(tx) = txs.try_next().await? {
//!     println!("{:?} {:?}", tx.value_date, tx.amount);
//! }
//! # Ok(()) }
//! ```

#[macro_use]
mod string_enum;

mod client;
mod environment;
mod error;
mod institutions;
mod links;
pub mod models;
pub mod observe;
mod pagination;
mod rate;
mod resources;
mod retry;
mod serde_secret;
mod token;
pub mod webhook;

pub use client::{Client, ClientBuilder, Credentials};
pub use environment::{Environment, ParseEnvironmentError};
pub use error::{ApiError, Error, ErrorCode, Reachability, TokenGenerationData, TokenRequired};
pub use institutions::Institutions;
pub use links::{Accepted, LinkOptions, Links, MfaResume, RegisterLink, UpdateCredentials};
pub use observe::{Attempt, Observer};
pub use pagination::{Filters, Page};
pub use rate::{
    Ledger, LedgerError, Limits, Priority, RateBudget, SharedLedger, Taking, busiest_window,
};
pub use resources::*;
pub use retry::{MAX_UNEXPECTED_ERROR_RETRIES, RetryPolicy};
pub use token::*;
