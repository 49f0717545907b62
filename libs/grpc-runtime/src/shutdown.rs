//! The one shutdown path every service shares. A [`Shutdown`] is a cloneable trigger: the
//! OS signal listener, a test, or the service itself fires it, and everything that waits
//! on it (the server, workers) starts stopping. The server then flips health to
//! NOT_SERVING and drains within its grace period (see [`crate::serve`]); the service's
//! `main` closes pools and flushes telemetry after [`crate::RunningServer::wait`] returns.

use tokio_util::sync::CancellationToken;

use crate::ServerError;

/// Exit status when a second signal cuts the drain short (128 + SIGINT, as shells report).
const FORCED_EXIT_STATUS: i32 = 130;

/// A cloneable shutdown trigger.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A trigger that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the shutdown. Idempotent.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether the shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once the shutdown has started.
    pub async fn triggered(&self) {
        self.token.cancelled().await;
    }

    /// Spawns a task that fires this trigger on the first SIGTERM or SIGINT, and exits the
    /// process at once (status 130) on a second one, for an operator who will not wait for
    /// the drain. Call once, from `main`, inside the Tokio runtime.
    pub fn listen_for_signals(&self) -> Result<(), ServerError> {
        let mut signals = Signals::new().map_err(ServerError::Signals)?;
        let shutdown = self.clone();
        tokio::spawn(async move {
            let first = signals.next().await;
            tracing::info!(
                signal = first,
                "shutdown requested; a second signal exits at once"
            );
            shutdown.trigger();
            let second = signals.next().await;
            tracing::warn!(signal = second, "second signal: exiting without draining");
            std::process::exit(FORCED_EXIT_STATUS);
        });
        Ok(())
    }
}

#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "ctrl-c"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_share_one_trigger() {
        let shutdown = Shutdown::new();
        let waiter = shutdown.clone();
        assert!(!waiter.is_triggered());
        let waiting = tokio::spawn(async move { waiter.triggered().await });
        shutdown.trigger();
        shutdown.trigger();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("waiter woke up")
            .unwrap();
        assert!(shutdown.is_triggered());
    }
}
