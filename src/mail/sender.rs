//! The sender: `concurrency` workers that claim due mails from the store's
//! queue, deliver them over SMTP and settle them, with exponential backoff
//! (and jitter) while the server is down or answers 4xx, and a final `failed`
//! for a 5xx, an unreadable mail, or one older than `max_age`. Every attempt
//! ends in one log event (`message: "mail delivery"`) without body or token.
//!
//! Stopping (after the listeners have drained, so no request can queue more):
//! workers finish the mail in hand and claim no more, except on the memory
//! store, where the queue dies with the process: there they keep delivering,
//! retries included, until the queue is empty or the deadline passes. Mails
//! left then stay queued on Redis (delivered by another replica or the next
//! start), and are lost on the memory store (counted in a warning).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::smtp::{self, Attempt};
use crate::engine::mailq::{now_ms, Claim};
use crate::engine::Engine;
use crate::store::Settle;

/// How the sender works; from `[mail]`.
pub struct SenderSettings {
    pub from: Mailbox,
    pub transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Bound on one attempt.
    pub timeout: Duration,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub max_age: Duration,
    pub concurrency: usize,
    pub poll_interval: Duration,
    /// The queue is in this process only (memory store): drain it on stop.
    pub drain_on_stop: bool,
}

impl SenderSettings {
    /// A claim outlives any attempt (bounded by `timeout`) with room to settle it,
    /// so no other sender takes a mail while one is still sending it.
    fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(5)
    }

    fn backoff(&self, attempts: u32) -> Duration {
        backoff(self.retry_initial, self.retry_max, attempts)
    }
}

/// `initial · 2^(attempts-1)`, at most `max`, ±10 % so that mails that
/// failed together do not all come back at once.
fn backoff(initial: Duration, max: Duration, attempts: u32) -> Duration {
    let exp = initial.saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(30)));
    exp.min(max).mul_f64(rand::thread_rng().gen_range(0.9..=1.1))
}

/// The running workers.
pub struct Sender {
    engine: Engine,
    settings: Arc<SenderSettings>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the workers.
pub fn start(engine: Engine, settings: SenderSettings) -> Sender {
    let settings = Arc::new(settings);
    let (stop, stop_rx) = watch::channel(false);
    let tasks = (0..settings.concurrency)
        .map(|_| tokio::spawn(worker(engine.clone(), settings.clone(), stop_rx.clone())))
        .collect();
    tracing::info!(workers = settings.concurrency, "mail sender started");
    Sender { engine, settings, stop, tasks }
}

impl Sender {
    /// Stops the workers (see the module doc); cuts them off at `deadline`.
    pub async fn shutdown(self, deadline: Instant) {
        if self.settings.drain_on_stop {
            if let Ok(n @ 1..) = self.engine.mail_queue_depth().await {
                tracing::info!(pending = n, "memory store: delivering the queued mails before exit");
            }
        }
        let _ = self.stop.send(true);
        let timeout = deadline.saturating_duration_since(Instant::now());
        for mut t in self.tasks {
            if tokio::time::timeout_at(tokio::time::Instant::now() + timeout, &mut t).await.is_err() {
                t.abort();
            }
        }
        match self.engine.mail_queue_depth().await {
            Ok(0) => {}
            Ok(n) if self.settings.drain_on_stop => {
                tracing::warn!(pending = n, "mail sender stopped: mails still queued in memory are lost")
            }
            Ok(n) => tracing::info!(pending = n, "mail sender stopped: mails stay queued in the store"),
            Err(e) => tracing::warn!(error = %e, "mail sender stopped; queue depth unknown"),
        }
    }
}

async fn worker(engine: Engine, s: Arc<SenderSettings>, mut stop: watch::Receiver<bool>) {
    // A store outage is logged when it starts and when it ends, not at every poll.
    let mut store_down = false;
    loop {
        // A dropped `Sender` (the gateway gone without a shutdown) stops the workers too.
        let stopping = *stop.borrow() || stop.has_changed().is_err();
        if stopping && !s.drain_on_stop {
            return;
        }
        let claimed = engine.claim_mail(s.lease()).await;
        if claimed.is_ok() && std::mem::take(&mut store_down) {
            tracing::info!("mail sender: the store answers again");
        }
        match claimed {
            Ok(Some(claim)) => {
                deliver(&engine, &s, claim).await;
                continue;
            }
            // Draining the memory store: done once nothing is left, retries included.
            Ok(None) if stopping && engine.mail_queue_depth().await.unwrap_or(0) == 0 => return,
            Ok(None) => {}
            Err(e) if !store_down => {
                store_down = true;
                tracing::warn!(error = %e, "mail sender: cannot claim from the store; mails wait in it");
            }
            Err(_) => {}
        }
        if let Ok(depth) = engine.mail_queue_depth().await {
            engine.metrics().mail_queue_depth(depth);
        }
        tokio::select! {
            _ = engine.mail_queued().notified() => {}
            _ = tokio::time::sleep(s.poll_interval) => {}
            _ = stop.changed(), if !stopping => {}
        }
    }
}

/// One attempt at one claimed mail, settled and logged.
async fn deliver(engine: &Engine, s: &SenderSettings, claim: Claim) {
    let started = Instant::now();
    let now_ms = now_ms();
    let age = Duration::from_millis(now_ms.saturating_sub(claim.queued_at_ms).max(0) as u64);
    // How long the mail is still worth sending: `max_age`, or less when the token it carries dies first.
    let token_left = claim.mail.as_ref().ok().and_then(|m| m.useless_after_ms).map(|t| t.saturating_sub(now_ms));
    let left = match token_left {
        Some(ms) => s.max_age.saturating_sub(age).min(Duration::from_millis(ms.max(0) as u64)),
        None => s.max_age.saturating_sub(age),
    };
    let (dialect, kind) = match &claim.mail {
        Ok(m) => (m.dialect.clone(), m.kind.clone()),
        Err(_) => ("-".to_owned(), "-".to_owned()),
    };
    let m = engine.metrics();
    let (outcome, code, error, settle) = match &claim.mail {
        Err(e) => {
            m.mail_failed(&dialect, &kind, "unreadable");
            ("failed", None, e.clone(), Settle::Failed(e.clone()))
        }
        Ok(_) if left.is_zero() => {
            let e = match token_left {
                Some(ms) if ms <= 0 => "not delivered before its token expired".to_owned(),
                _ => format!("not delivered within max_age_secs ({} s)", s.max_age.as_secs()),
            };
            m.mail_failed(&dialect, &kind, "expired");
            ("failed", None, e.clone(), Settle::Failed(e))
        }
        Ok(mail) => match smtp::message(&s.from, &claim.id, mail) {
            Err(e) => {
                m.mail_failed(&dialect, &kind, "unreadable");
                ("failed", None, e.clone(), Settle::Failed(e))
            }
            Ok(msg) => match smtp::send(&s.transport, msg, s.timeout).await {
                Attempt::Sent => {
                    m.mail_sent(&dialect, &kind);
                    ("sent", None, String::new(), Settle::Sent)
                }
                Attempt::Refused { code, error } => {
                    m.mail_failed(&dialect, &kind, "refused");
                    ("failed", code, error.clone(), Settle::Failed(error))
                }
                Attempt::Temporary { code, error } => {
                    let after = s.backoff(claim.attempts);
                    if after >= left {
                        m.mail_failed(&dialect, &kind, "expired");
                        let e = format!("{error}; not retried: its token or max_age_secs runs out first");
                        ("failed", code, e.clone(), Settle::Failed(e))
                    } else {
                        m.mail_retried(&dialect, &kind);
                        ("retry", code, error.clone(), Settle::Retry { after, reason: error })
                    }
                }
            },
        },
    };
    let retry_in_ms = match &settle {
        Settle::Retry { after, .. } => Some(after.as_millis() as u64),
        _ => None,
    };
    let held = match engine.settle_mail(&claim, settle, s.max_age).await {
        Ok(held) => held,
        Err(e) => {
            // The lease runs out and another attempt follows: nothing is lost.
            tracing::warn!(mail_id = %claim.id, error = %e, "mail sender: cannot record the attempt in the store");
            true
        }
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    let error = Some(error.as_str()).filter(|e| !e.is_empty());
    macro_rules! attempt_event {
        ($level:ident) => {
            tracing::$level!(
                mail_id = %claim.id, dialect = %dialect, kind = %kind, attempt = claim.attempts, outcome,
                smtp_code = code, error, retry_in_ms, lease_lost = !held, latency_ms, "mail delivery"
            )
        };
    }
    match outcome {
        "sent" => attempt_event!(info),
        _ => attempt_event!(warn),
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let (initial, max) = (Duration::from_millis(1000), Duration::from_millis(10_000));
        for (attempts, expected) in [(1, 1000), (2, 2000), (3, 4000), (4, 8000), (5, 10_000), (60, 10_000)] {
            let d = backoff(initial, max, attempts).as_millis() as u64;
            assert!((expected * 9 / 10..=expected * 11 / 10).contains(&d), "attempt {attempts}: {d} ms");
        }
    }
}
