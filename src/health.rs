//! Liveness and readiness, as the admin listener's probes report them.
//! Live: the process serves. Ready: not shutting down, every listener is
//! accepting, and the store answers a ping in time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::store::SharedStore;

/// Shared by the listeners (which report themselves up), the shutdown
/// sequence (which turns readiness off) and the probes (which read it).
pub struct Health {
    /// Set at the first termination signal; readiness answers 503 from then on.
    draining: AtomicBool,
    /// One flag per dialect listener: up while its accept loop runs.
    listeners: Vec<(SocketAddr, AtomicBool)>,
    store: SharedStore,
    ping_timeout: Duration,
}

/// Holds a listener's flag up; clears it when the listener task ends (or panics).
pub struct Listening {
    health: Arc<Health>,
    index: usize,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.health.listeners[self.index].1.store(false, Ordering::SeqCst);
    }
}

impl Health {
    pub fn new(listeners: Vec<SocketAddr>, store: SharedStore, ping_timeout: Duration) -> Self {
        Self {
            draining: AtomicBool::new(false),
            listeners: listeners.into_iter().map(|a| (a, AtomicBool::new(false))).collect(),
            store,
            ping_timeout,
        }
    }

    /// Marks listener `index` (in the order given to `new`) as accepting while the guard lives.
    pub fn listening(self: &Arc<Self>, index: usize) -> Listening {
        self.listeners[index].1.store(true, Ordering::SeqCst);
        Listening { health: self.clone(), index }
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Ok when ready; otherwise why not (a short sentence with no secret in it).
    pub async fn readiness(&self) -> Result<(), String> {
        if self.is_draining() {
            return Err("shutting down".into());
        }
        if let Some((addr, _)) = self.listeners.iter().find(|(_, up)| !up.load(Ordering::SeqCst)) {
            return Err(format!("listener {addr} is not accepting connections"));
        }
        match tokio::time::timeout(self.ping_timeout, self.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "readiness: store ping failed");
                Err("store unavailable".into())
            }
            Err(_) => Err(format!("store did not answer a ping within {} ms", self.ping_timeout.as_millis())),
        }
    }
}
