//! belvo-emulator: an offline Belvo for every test, demo and benchmark of the Connect platform.
//! It owns an independent implementation of Belvo's HTTP API (same paths, Basic auth, error
//! arrays, pagination, Django-style filters), the sandbox's institutions and credentials (MFA,
//! duplicates, link statuses), widget tokens, a Connect Widget script and hosted page,
//! deterministic banking/employment/fiscal data at any scale, webhooks with redelivery, fault
//! injection, Belvo's per-address firewall (HTML 403 above 80 requests in 30 s), and a control
//! API (`/_emulator/`) with an in-process handle for tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), belvo_emulator::StartError> {
//! let emu = belvo_emulator::Emulator::start(belvo_emulator::Config::for_tests()).await?;
//! let base = emu.url(); // http://127.0.0.1:<port>
//! let links = emu.control().links();
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod collection;
pub mod config;
pub mod control;
mod data;
mod error;
pub mod faults;
mod filters;
pub mod firewall;
mod ids;
mod institutions;
mod links;
mod server;
mod state;
mod webhooks;
mod widget;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Account, Config, ConfigError, DEFAULT_PORT, Mode, Scale};
pub use control::{Control, ControlError, WebhookTrigger};
pub use data::Profile;
pub use error::StartError;
pub use faults::{Fault, FaultSpec, FaultView};
pub use firewall::{FirewallLimit, FirewallView};
pub use state::{Attempt, LinkStatus, RequestRecord, WebhookRecord};

/// Builds the whole HTTP app (Belvo API, widget, control API) over shared state.
fn app(shared: state::Shared) -> Router {
    Router::new()
        .merge(api::router())
        .merge(control::router())
        .merge(widget::router())
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(api::not_found)
        .with_state(shared)
}

/// Entry point: start an emulator.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Validates `config`, binds `config.listen` (port 0 picks a free port) and serves in the
    /// background until [`EmulatorHandle::shutdown`].
    pub async fn start(config: Config) -> Result<EmulatorHandle, StartError> {
        config.validate()?;
        let addr = config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let shared = Arc::new(state::Inner::new(config)?);
        let (tx, rx) = watch::channel(false);
        let router = app(shared.clone());
        let task = tokio::spawn(server::serve(listener, shared.clone(), router, rx));
        Ok(EmulatorHandle {
            addr: local,
            url: format!("http://{local}"),
            control: Control::new(shared),
            shutdown: tx,
            task,
        })
    }
}

/// A running emulator.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    url: String,
    control: Control,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl EmulatorHandle {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`; Belvo's paths go after
    /// it (`/api/links/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The control operations, in process.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops accepting, drains open connections (at most 5 s) and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops (it stops only through [`Self::shutdown`] or an error).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    /// A sender whose `true` stops the server (for signal handlers).
    pub fn shutdown_sender(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}
