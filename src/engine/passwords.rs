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
//!
//! Every hasher Django has shipped verifies as well (`django.rs`), so a user
//! table imported from Django logs in unchanged; a successful login then
//! rewrites the hash with the current hasher (`is_current`, used by
//! `engine::lockout`). Every failed check costs at least one bcrypt
//! verification at the configured cost: unusable (`!…`) and unreadable hashes
//! and the fast legacy digests (MD5, SHA-1) are padded with a dummy one.

mod django;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, TryAcquireError};

use crate::metrics::Metrics;
use crate::secret::Secret;

const PREHASHED: &str = "bcrypt_sha256$";
/// Django's `BCryptPasswordHasher` prefix in front of a plain bcrypt hash.
const DJANGO_BCRYPT: &str = "bcrypt$";
/// Django's `UNUSABLE_PASSWORD_PREFIX` (`make_password(None)`).
const UNUSABLE: char = '!';
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

fn verify_now(password: &str, stored: &str, dummy: &str) -> bool {
    verify_with(password, stored, dummy, |pw, hash| bcrypt::verify(pw, hash).unwrap_or(false))
}

/// The cost of a well-formed bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$`).
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let b = hash.as_bytes();
    let well_formed = b.len() == 60
        && b.starts_with(b"$2")
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[6] == b'$'
        && b[4..6].iter().all(u8::is_ascii_digit);
    well_formed.then(|| hash[4..6].parse().ok()).flatten()
}

/// At least one bcrypt verification on every path, so the answer's timing
/// tells neither whether a user exists nor that a hash is unusable or
/// unreadable. Django's slow hashers (PBKDF2, argon2, scrypt) cost their own
/// stored work factor, as in Django; the fast legacy digests are padded.
fn verify_with(password: &str, stored: &str, dummy: &str, bcrypt_verify: impl Fn(&str, &str) -> bool) -> bool {
    // A >72-byte password is pre-hashed even for the dummy, as for a real check.
    let bcrypt_input = |pw: &str| if pw.len() > BCRYPT_MAX { prehash(pw) } else { pw.to_owned() };
    if let Some(h) = stored.strip_prefix(PREHASHED) {
        return bcrypt_verify(&prehash(password), h);
    }
    let plain = stored.strip_prefix(DJANGO_BCRYPT).unwrap_or(stored);
    if bcrypt_cost(plain).is_some() {
        // A plain bcrypt hash cannot hold a >72-byte password: refused rather
        // than truncated, after the same work as any other verification.
        let ok = bcrypt_verify(&bcrypt_input(password), plain);
        return ok && password.len() <= BCRYPT_MAX;
    }
    let found = if stored.starts_with(UNUSABLE) { None } else { django::verify(password, stored) };
    match (found, django::algorithm(stored)) {
        (Some(ok), Some("pbkdf2_sha256" | "pbkdf2_sha1" | "argon2" | "scrypt")) => ok,
        (Some(ok), _) => {
            bcrypt_verify(&bcrypt_input(password), dummy);
            ok
        }
        (None, _) => {
            bcrypt_verify(&bcrypt_input(password), dummy);
            false
        }
    }
}

/// Whether a stored hash is one Django's `check_password` could ever accept
/// (false for `make_password(None)`'s `!…`).
pub fn is_usable(hash: &str) -> bool {
    !hash.starts_with(UNUSABLE)
}

/// The Django algorithm name of a stored hash (`pbkdf2_sha256`, `argon2`,
/// `bcrypt`, `bcrypt_sha256`, `scrypt`, `md5`, `sha1`, `unsalted_md5`,
/// `unsalted_sha1`, `pbkdf2_sha1`); polyauth's own plain bcrypt is `bcrypt`.
/// `None` for unusable and unrecognised hashes. A bounded set: fit for metric labels.
pub fn algorithm(hash: &str) -> Option<&'static str> {
    if !is_usable(hash) {
        return None;
    }
    if let Some(h) = hash.strip_prefix(PREHASHED) {
        return bcrypt_cost(h).map(|_| "bcrypt_sha256");
    }
    if bcrypt_cost(hash.strip_prefix(DJANGO_BCRYPT).unwrap_or(hash)).is_some() {
        return Some("bcrypt");
    }
    django::algorithm(hash)
}

/// A stored hash as Django stores it, for export: polyauth's plain bcrypt
/// `$2b$…` becomes `bcrypt$$2b$…` (Django's `BCryptPasswordHasher`); every
/// other stored form already is Django's own string and is returned unchanged.
pub fn to_django(hash: &str) -> String {
    if bcrypt_cost(hash).is_some() {
        format!("{DJANGO_BCRYPT}{hash}")
    } else {
        hash.to_owned()
    }
}

/// What polyauth stores for a Django `password` column, for import: Django's
/// `bcrypt$$2b$…` becomes polyauth's own `$2b$…` (the same bcrypt hash);
/// every other recognised or unusable (`!…`) string is kept verbatim, and
/// verifies as Django would. `None` when the string is no format Django ever
/// wrote (the caller reports it rather than storing an account no password opens).
pub fn from_django(encoded: &str) -> Option<String> {
    if !is_usable(encoded) {
        return Some(encoded.to_owned());
    }
    algorithm(encoded)?;
    Some(encoded.strip_prefix(DJANGO_BCRYPT).unwrap_or(encoded).to_owned())
}

/// Whether a stored hash is on the configured hasher: polyauth's bcrypt
/// (plain, or `bcrypt_sha256$` as written for >72-byte passwords) at
/// `cost` or more. Anything else is rewritten after a successful login.
pub fn is_current(hash: &str, cost: u32) -> bool {
    bcrypt_cost(hash.strip_prefix(PREHASHED).unwrap_or(hash)).is_some_and(|c| c >= cost)
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

/// Hashing runs in Linux's idle scheduling class (`SCHED_IDLE`) on its
/// (blocking-pool) thread, set once for the thread's life: a worker that wakes
/// takes the core from a hash at once, so token checks keep answering in
/// milliseconds while logins keep every core busy hashing, and hashes still get
/// every moment the workers leave (README, Benchmarks: with nice 10, the
/// scheduler let a hash finish its slice first, and the p99 of token checks
/// doubled). Entering the idle class needs no privilege; where it is refused
/// (a seccomp profile), nice 10; where that is refused too, the thread stays as it was.
fn lower_priority() {
    thread_local!(static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    LOWERED.with(|done| {
        if !done.replace(true) {
            #[cfg(target_os = "linux")]
            {
                use thread_priority::{
                    set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy, ThreadPriority,
                    ThreadSchedulePolicy,
                };
                let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
                if set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle).is_err() {
                    // Linux keeps the nice value per thread: `None` is the calling thread.
                    let _ = rustix::process::setpriority_process(None, HASH_NICE);
                }
            }
        }
    });
}

/// The nice value of hashing threads where the idle class is refused (async workers keep 0).
#[cfg(target_os = "linux")]
const HASH_NICE: i32 = 10;

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
        let job = move || {
            lower_priority();
            job()
        };
        let out = tokio::task::spawn_blocking(job).await.map_err(|e| HashError::Failed(e.to_string()));
        let elapsed = start.elapsed();
        self.metrics.hash_done(elapsed);
        let micros = elapsed.min(Duration::from_secs(3600)).as_micros() as i64;
        self.stats.busy_micros.fetch_add(micros, Ordering::Relaxed);
        self.stats.count.fetch_add(1, Ordering::Relaxed);
        out
    }

    /// Whether a hash that just verified should be rewritten (`is_current`).
    pub fn needs_upgrade(&self, stored: &str) -> bool {
        !is_current(stored, self.cost)
    }

    /// Counts one stored hash rewritten after a login, by its old algorithm.
    pub fn upgraded(&self, old_hash: &str) {
        self.metrics.password_upgraded(algorithm(old_hash).unwrap_or("unknown"));
    }

    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let (pw, cost) = (password.clone(), self.cost);
        self.blocking(move || hash_now(pw.expose(), cost)).await?
    }

    /// Constant-time: bcrypt compares its own output, `django.rs` uses `subtle`.
    pub async fn verify(&self, password: &Secret, stored: &str) -> Result<bool, HashError> {
        let (pw, stored, dummy, cost) = (password.clone(), stored.to_owned(), self.dummy.clone(), self.cost);
        self.blocking(move || verify_now(pw.expose(), &stored, dummy.get_or_init(|| dummy_hash(cost)))).await
    }

    /// Spends one verification's time for an unknown user.
    pub async fn verify_dummy(&self, password: &Secret) -> Result<(), HashError> {
        let (dummy, cost) = (self.dummy.clone(), self.cost);
        let pw = password.clone();
        self.blocking(move || {
            let dummy = dummy.get_or_init(|| dummy_hash(cost));
            verify_now(pw.expose(), dummy, dummy)
        })
        .await
        .map(drop)
    }
}
