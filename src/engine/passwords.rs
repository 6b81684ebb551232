//! Password hashing: bcrypt, always on tokio's blocking pool behind a
//! semaphore, so a burst of logins queues instead of stalling the reactor.
//! The queue is bounded: when `max_queued` hashes already wait for a slot, new
//! work is refused at once (`HashError::Busy`) instead of waiting behind a
//! flood for tens of seconds.
//!
//! bcrypt reads at most 72 bytes. A longer password is never truncated: it is
//! pre-hashed as Django's `bcrypt_sha256` does (hex SHA-256, then bcrypt) and
//! stored with the `bcrypt_sha256$` prefix. Hashes imported from Django in
//! that format verify too.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, TryAcquireError};

use crate::metrics::Metrics;
use crate::secret::Secret;

const PREHASHED: &str = "bcrypt_sha256$";
const BCRYPT_MAX: usize = 72;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Failed(String),
    /// Every slot is busy and the queue is full: try again shortly.
    #[error("password hashing queue full")]
    Busy,
}

/// Counters for callers in-process; operators get the same through `Metrics`.
#[derive(Debug, Default)]
pub struct HashStats {
    /// Hashes waiting for or holding a permit.
    pub queued: AtomicI64,
    /// Total time spent hashing, in microseconds.
    pub busy_micros: AtomicI64,
    pub count: AtomicI64,
}

#[derive(Clone)]
pub struct Hasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// Hashes waiting for a slot (not holding one), and the most that may.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    pub stats: Arc<HashStats>,
    /// A hash of a fixed password: verified against when a user is unknown, so
    /// "no such user" costs as much as "wrong password" (no user enumeration by timing).
    /// Made on a thread of its own at start (one hash at the configured cost,
    /// ~200 ms at 12), so it does not delay readiness; a verification that
    /// needs it sooner waits for it.
    dummy: Arc<OnceLock<String>>,
    metrics: Metrics,
}

fn prehash(password: &str) -> String {
    hex::encode(Sha256::digest(password.as_bytes()))
}

fn hash_now(password: &str, cost: u32) -> Result<String, HashError> {
    if password.len() > BCRYPT_MAX {
        let h = bcrypt::hash(prehash(password), cost).map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(format!("{PREHASHED}{h}"))
    } else {
        bcrypt::hash(password, cost).map_err(|e| HashError::Failed(e.to_string()))
    }
}

/// The hash unknown users are verified against (the cost was checked in `Hasher::new`).
fn dummy_hash(cost: u32) -> String {
    hash_now("polyauth-dummy-password-for-timing", cost).unwrap_or_default()
}

fn verify_now(password: &str, stored: &str) -> bool {
    verify_with(password, stored, |pw, hash| bcrypt::verify(pw, hash).unwrap_or(false))
}

/// Every path runs exactly one bcrypt verification, so the answer's timing
/// tells neither whether a user exists nor how its hash is stored.
fn verify_with(password: &str, stored: &str, bcrypt_verify: impl Fn(&str, &str) -> bool) -> bool {
    match stored.strip_prefix(PREHASHED) {
        Some(h) => bcrypt_verify(&prehash(password), h),
        // A plain bcrypt hash cannot hold a >72-byte password: refused rather
        // than truncated, after the same work as any other verification.
        None if password.len() > BCRYPT_MAX => {
            bcrypt_verify(&prehash(password), stored);
            false
        }
        None => bcrypt_verify(password, stored),
    }
}

/// One hash in the queue (waiting for or holding a permit) while it lives.
struct Queued<'a>(&'a Hasher);

impl<'a> Queued<'a> {
    fn enter(h: &'a Hasher) -> Self {
        h.stats.queued.fetch_add(1, Ordering::Relaxed);
        h.metrics.hash_queue(1);
        Queued(h)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.stats.queued.fetch_sub(1, Ordering::Relaxed);
        self.0.metrics.hash_queue(-1);
    }
}

/// One hash waiting for a slot while it lives (a guard, as `Queued`).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hasher {
    /// At most `max_concurrent` hashes run at once and `max_queued` wait for a slot.
    pub fn new(cost: u32, max_concurrent: usize, max_queued: usize, metrics: Metrics) -> Result<Self, HashError> {
        // The one way hashing fails is a cost bcrypt refuses: refused here, at once.
        if !(4..=31).contains(&cost) {
            return Err(HashError::Failed(format!("bcrypt cost must be 4..=31, got {cost}")));
        }
        let dummy = Arc::new(OnceLock::new());
        let making = dummy.clone();
        std::thread::spawn(move || making.get_or_init(|| dummy_hash(cost)).len());
        Ok(Self {
            cost,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            waiting: Arc::default(),
            max_waiting: max_queued,
            stats: Arc::default(),
            dummy,
            metrics,
        })
    }

    async fn blocking<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        // A guard, so a request dropped while queued (client gone) still leaves the queue.
        let _queued = Queued::enter(self);
        // The semaphore is fair: a free slot goes to waiters first, so trying
        // first never jumps the queue.
        let _permit = match self.permits.try_acquire() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => return Err(HashError::Failed("hashing slots closed".into())),
            Err(TryAcquireError::NoPermits) => {
                let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
                let _waiting = Waiting(&self.waiting);
                if ahead >= self.max_waiting {
                    self.metrics.hash_refused();
                    return Err(HashError::Busy);
                }
                self.permits.acquire().await.map_err(|e| HashError::Failed(e.to_string()))?
            }
        };
        let start = Instant::now();
        let out = tokio::task::spawn_blocking(job).await.map_err(|e| HashError::Failed(e.to_string()));
        let elapsed = start.elapsed();
        self.metrics.hash_done(elapsed);
        let micros = elapsed.min(Duration::from_secs(3600)).as_micros() as i64;
        self.stats.busy_micros.fetch_add(micros, Ordering::Relaxed);
        self.stats.count.fetch_add(1, Ordering::Relaxed);
        out
    }

    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let (pw, cost) = (password.clone(), self.cost);
        self.blocking(move || hash_now(pw.expose(), cost)).await?
    }

    /// Constant-time by construction: bcrypt compares its own output.
    pub async fn verify(&self, password: &Secret, stored: &str) -> Result<bool, HashError> {
        let (pw, stored) = (password.clone(), stored.to_owned());
        self.blocking(move || verify_now(pw.expose(), &stored)).await
    }

    /// Spends one verification's time for an unknown user.
    pub async fn verify_dummy(&self, password: &Secret) -> Result<(), HashError> {
        let (dummy, cost) = (self.dummy.clone(), self.cost);
        let pw = password.clone();
        self.blocking(move || verify_now(pw.expose(), dummy.get_or_init(|| dummy_hash(cost)))).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_passwords_are_not_truncated() {
        let base = "x".repeat(72);
        let h = hash_now(&format!("{base}A"), 4).unwrap();
        assert!(h.starts_with(PREHASHED));
        assert!(verify_now(&format!("{base}A"), &h));
        assert!(!verify_now(&format!("{base}B"), &h), "a different 73rd byte must not verify");
        assert!(!verify_now(&base, &h));
    }

    #[test]
    fn short_passwords_are_plain_bcrypt() {
        let h = hash_now("correct horse", 4).unwrap();
        assert!(h.starts_with("$2"));
        assert!(verify_now("correct horse", &h));
        assert!(!verify_now("correct horsE", &h));
    }

    /// One bcrypt run per verification on every path: short or long password,
    /// plain or pre-hashed stored hash, known user or the dummy.
    #[test]
    fn every_verification_costs_one_bcrypt() {
        let plain = hash_now("short", 4).unwrap();
        let pre = hash_now(&"y".repeat(100), 4).unwrap();
        let dummy = hash_now("polyauth-dummy-password-for-timing", 4).unwrap();
        for stored in [&plain, &pre, &dummy] {
            for pw in ["short".to_string(), "z".repeat(73), "y".repeat(100)] {
                let runs = std::cell::Cell::new(0);
                verify_with(&pw, stored, |a, b| {
                    runs.set(runs.get() + 1);
                    bcrypt::verify(a, b).unwrap_or(false)
                });
                assert_eq!(runs.get(), 1, "{} bytes against {}", pw.len(), &stored[..4]);
            }
        }
        assert!(!verify_now(&"z".repeat(73), &plain));
    }
}
