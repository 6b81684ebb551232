//! A running gateway: its addresses, health, metrics and TLS handles, and the
//! two ways to stop it (at once, or Kubernetes-style with a delay).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::engine::Engine;
use crate::health::Health;
use crate::mail::Sender;
use crate::metrics::Metrics;
use crate::server::{self, tls::ReloadingTls};

/// A running gateway: where it listens, and how to stop it.
pub struct Running {
    pub engine: Engine,
    /// Bound address of each mount, in config order of listeners (dialect name → address).
    pub addrs: Vec<(String, SocketAddr)>,
    pub admin_addr: Option<SocketAddr>,
    pub health: Arc<Health>,
    pub metrics: Metrics,
    /// Every TLS listener's certificate, for reloads (SIGHUP).
    pub tls: Vec<Arc<ReloadingTls>>,
    /// How long listeners keep accepting after readiness turned 503.
    pub(super) shutdown_delay: Duration,
    /// What is left of `shutdown_timeout_secs` after the delay: the listeners'
    /// drain and then the mail sender's stop share it.
    pub(super) shutdown_budget: Duration,
    pub(super) stop: watch::Sender<bool>,
    pub(super) tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The SMTP sender, when `[mail] smtp_url` is set.
    pub(super) mailer: Option<Sender>,
}

impl Running {
    pub fn addr_of(&self, dialect: &str) -> Option<SocketAddr> {
        self.addrs.iter().find(|(d, _)| d == dialect).map(|(_, a)| *a)
    }

    /// Stops accepting at once, drains in-flight requests, waits for the
    /// listeners, then stops the mail sender (no request can queue a mail by
    /// then; see `mail::sender` for what happens to mails still queued).
    pub async fn shutdown(self) {
        let deadline = std::time::Instant::now() + self.shutdown_budget;
        self.health.start_draining();
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(m) = self.mailer {
            m.shutdown(deadline).await;
        }
    }

    /// The shutdown Kubernetes expects: readiness turns 503 at once, listeners
    /// keep accepting for `server.shutdown_delay_secs` (while endpoints are
    /// removed), then stop accepting and drain in-flight requests.
    pub async fn drain(self) {
        self.health.start_draining();
        tracing::info!(
            delay_secs = self.shutdown_delay.as_secs(),
            "shutting down: not ready; accepting until the delay ends"
        );
        tokio::time::sleep(self.shutdown_delay).await;
        tracing::info!("shutting down: stopped accepting; finishing in-flight requests");
        self.shutdown().await;
    }

    /// A handle that triggers shutdown without consuming `self`.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Waits until the listeners have stopped (after a stop signal), then stops the mail sender.
    pub async fn wait(self) {
        let deadline = std::time::Instant::now() + self.shutdown_budget;
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(m) = self.mailer {
            m.shutdown(deadline).await;
        }
    }

    /// Re-reads every TLS certificate and key now (what SIGHUP does).
    pub fn reload_tls(&self) {
        for t in &self.tls {
            t.reload_logged();
        }
    }
}

/// Re-reads certificate files every `every` until the listeners stop.
pub(super) async fn poll_tls(tls: Vec<Arc<ReloadingTls>>, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => tls.iter().for_each(|t| t.reload_logged()),
            _ = server::stopped(&mut stop) => return,
        }
    }
}
