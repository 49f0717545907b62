//! data-service: the heart of the platform. Belvo's webhooks come in through
//! `IngestWebhook` and are stored once per `webhook_id`; each one schedules a durable pull job
//! for its link and resource; workers claim jobs with a lease, pull every page from Belvo
//! (committing each page with its checkpoint, so a crash resumes rather than restarts), upsert
//! Belvo's objects keyed on their ids and sweep what a full pull no longer saw. The stored data
//! is served back by keyset-paged list RPCs, with each link's sync status (streamed too).

mod api;
mod app;
pub mod config;
pub mod inbox;
pub mod metrics;
pub mod resource;
pub mod store;
pub mod sync;
mod watchdog;

pub use app::{Application, MIGRATOR};
