//! Persistence for the engine: one trait, two implementations with the same
//! behaviour (`memory` for a single process, `redis` for shared state).
//! The store holds no plaintext token: token keys are SHA-256 hex digests.
//! It knows nothing of HTTP, dialects or passwords (it stores hashes as opaque strings).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub mod direct;
pub mod instrumented;
pub mod limits;
pub mod mailq;
pub mod memory;
pub mod redis;

pub use limits::{AttemptEnd, AttemptStart, ThrottleHit};
pub use mailq::{ClaimedMail, DeliveryState, MailStatus, Settle};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint lost: the named field's value is taken.
    #[error("{0:?} already taken")]
    Conflict(UniqueField),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// A compare-and-set precondition failed: the record changed meanwhile.
    #[error("record changed meanwhile")]
    Changed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    Username,
    Email,
}

/// A user as stored. `email_key` is the normalised email used for uniqueness.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: u64,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub is_active: bool,
    pub email_verified: bool,
    /// Django's `is_staff`: Djoser lets staff see and change other users.
    pub is_staff: bool,
    /// Unix seconds.
    pub date_joined: i64,
    pub last_login: Option<i64>,
    /// Unix seconds of the last "revoke every token" (admin): JWTs issued at or
    /// before it are refused. Records written before the field existed have none.
    pub tokens_revoked_at: Option<i64>,
}

impl std::fmt::Debug for UserRecord {
    // The hash is left out: it is a credential in the eyes of an offline attacker.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

/// The fields an update writes; `None` leaves a field as stored. A store
/// writes exactly these fields (never a whole record read earlier), so two
/// concurrent updates of different fields cannot undo each other.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub is_active: Option<bool>,
    pub email_verified: Option<bool>,
    pub is_staff: Option<bool>,
    pub last_login: Option<i64>,
    pub tokens_revoked_at: Option<i64>,
    /// Compare-and-set: apply only while the stored password hash is still this
    /// one (else `StoreError::Changed`), so of concurrent password changes that
    /// each started from the same password, exactly one wins.
    pub if_password_hash: Option<String>,
}

impl std::fmt::Debug for UserUpdate {
    // Hashes are left out, as in `UserRecord`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserUpdate")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "…"))
            .field("is_active", &self.is_active)
            .field("email_verified", &self.email_verified)
            .field("is_staff", &self.is_staff)
            .field("last_login", &self.last_login)
            .field("tokens_revoked_at", &self.tokens_revoked_at)
            .field("if_password_hash", &self.if_password_hash.as_ref().map(|_| "…"))
            .finish()
    }
}

impl UserUpdate {
    /// Field/value pairs as the Redis hash stores them (the compare-and-set excluded).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(v) = &self.username {
            out.push(("username", v.clone()));
        }
        if let Some(v) = &self.email {
            out.push(("email", v.clone()));
        }
        if let Some(v) = &self.password_hash {
            out.push(("password_hash", v.clone()));
        }
        if let Some(v) = self.is_active {
            out.push(("is_active", (v as u8).to_string()));
        }
        if let Some(v) = self.email_verified {
            out.push(("email_verified", (v as u8).to_string()));
        }
        if let Some(v) = self.is_staff {
            out.push(("is_staff", (v as u8).to_string()));
        }
        if let Some(v) = self.last_login {
            out.push(("last_login", v.to_string()));
        }
        if let Some(v) = self.tokens_revoked_at {
            out.push(("tokens_revoked_at", v.to_string()));
        }
        out
    }

    /// Applies the update to a record in memory.
    pub fn apply(&self, user: &mut UserRecord) {
        if let Some(v) = &self.username {
            user.username = v.clone();
        }
        if let Some(v) = &self.email {
            user.email = v.clone();
        }
        if let Some(v) = &self.password_hash {
            user.password_hash = v.clone();
        }
        if let Some(v) = self.is_active {
            user.is_active = v;
        }
        if let Some(v) = self.email_verified {
            user.email_verified = v;
        }
        if let Some(v) = self.is_staff {
            user.is_staff = v;
        }
        if let Some(v) = self.last_login {
            user.last_login = Some(v);
        }
        if let Some(v) = self.tokens_revoked_at {
            user.tokens_revoked_at = Some(v);
        }
    }
}

/// The key under which an email is unique: trimmed and lower-cased, ASCII only.
/// Django's EmailValidator takes an ASCII local part and `normalize_email`
/// lowers the domain; a Unicode case fold here would let a look-alike address
/// (the Kelvin sign `\u{212A}` folds to `k`) claim or log into another's account.
/// Redis's Lua `string.lower` folds the same way, so both stores agree.
pub fn email_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// Django's `BaseUserManager.normalize_email`: trimmed, with the domain part
/// lower-cased and the local part kept as typed. Users are stored this way on
/// creation, as Django's `create_user` does; uniqueness and lookups use
/// `email_key` (the whole address lower-cased), so the stored case never
/// makes two accounts of one mailbox.
pub fn normalize_email(email: &str) -> String {
    let email = email.trim();
    match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => email.to_owned(),
    }
}

/// What `Store::import_user` did with a record written under its own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Written, with its username/email claims; the id counter is past it.
    Created,
    /// The id holds this very record already (a re-import): nothing written.
    Unchanged,
    /// The id holds the same username with other fields (e.g. a login since):
    /// kept as stored, nothing merged.
    Differs,
    /// The id holds another user: nothing written.
    IdTaken,
}

/// What kind of opaque token a digest stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// DRF-style auth token: one per user, re-derived on each login while it lives.
    AuthToken,
    /// Session token: a new one per login, many per user.
    Session,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::AuthToken => "authtoken",
            TokenKind::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authtoken" => Some(TokenKind::AuthToken),
            "session" => Some(TokenKind::Session),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRecord {
    pub user_id: u64,
    pub kind: TokenKind,
}

/// What a one-time token is for; tokens of one purpose never redeem another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
    /// Djoser's account activation (`SEND_ACTIVATION_EMAIL`).
    Activation,
    /// Djoser's username reset.
    UsernameReset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "reset",
            Purpose::EmailVerification => "verify",
            Purpose::Activation => "activate",
            Purpose::UsernameReset => "username",
        }
    }

    /// Every purpose (a deleted user's tokens of each are removed).
    pub const ALL: [Purpose; 4] =
        [Purpose::PasswordReset, Purpose::EmailVerification, Purpose::Activation, Purpose::UsernameReset];
}

/// A redeemed one-time token: who it was for and the password stamp when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeRecord {
    pub user_id: u64,
    pub stamp: String,
}

pub type SharedStore = Arc<dyn Store>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// This store as its own type, for the token check's reads (`direct`);
    /// None for any other (a wrapper), which is then called through the trait.
    fn direct(self: Arc<Self>) -> Option<direct::Direct> {
        None
    }

    /// Cheap liveness check for readiness probes.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Allocates the next id and creates the user, atomically claiming the
    /// username and (when not empty) the email key.
    async fn create_user(&self, user: UserRecord) -> Result<UserRecord, StoreError>;
    /// Writes a record under its own id (an import from another backend),
    /// atomically claiming its username and (when not empty) email key as
    /// `create_user` does, and moving the id counter past it first, so a
    /// registration never takes an imported id. Never overwrites: an existing
    /// id answers `Unchanged`, `Differs` or `IdTaken`; a claim held by another
    /// user is `Conflict`, with nothing written.
    async fn import_user(&self, user: &UserRecord) -> Result<ImportOutcome, StoreError>;
    async fn find_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError>;
    async fn find_user_id_by_username(&self, username: &str) -> Result<Option<u64>, StoreError>;
    async fn find_user_id_by_email(&self, email_key: &str) -> Result<Option<u64>, StoreError>;
    /// Every user, by ascending id (Djoser's user list for staff or with `HIDE_USERS` off).
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Up to `limit` users with ids above `after`, by ascending id: a page of
    /// `list_users`, so an export of any size holds one page at a time.
    async fn list_users_after(&self, after: u64, limit: usize) -> Result<Vec<UserRecord>, StoreError>;
    /// Writes the update's fields (and only those), moving the username/email
    /// claims atomically; returns the record as stored afterwards, or None when
    /// the user does not exist. `Conflict` when a new username/email is taken,
    /// `Changed` when `if_password_hash` no longer holds.
    async fn update_user(&self, id: u64, update: &UserUpdate) -> Result<Option<UserRecord>, StoreError>;
    /// Removes the user, its claims (as stored now), its tokens and its slots.
    /// False if it did not exist; `Changed` when `if_password_hash` is given
    /// and no longer the stored hash (the deletion was authorised by a
    /// password that a reset has replaced meanwhile).
    async fn delete_user(&self, id: u64, if_password_hash: Option<&str>) -> Result<bool, StoreError>;

    async fn create_token(&self, digest: &str, record: TokenRecord, ttl: Duration) -> Result<(), StoreError>;
    async fn find_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// False if the token did not exist (already revoked or expired).
    async fn delete_token(&self, digest: &str) -> Result<bool, StoreError>;
    /// Revokes every token of the user (of one kind, or all); returns how many.
    async fn delete_user_tokens(&self, user_id: u64, kind: Option<TokenKind>) -> Result<u64, StoreError>;

    /// Sets a per-user named value unless one is set; returns the value in force.
    async fn claim_slot(&self, user_id: u64, name: &str, value: &str, ttl: Duration) -> Result<String, StoreError>;
    /// Creates the token derived from a slot's value, atomically with a check
    /// that the slot still holds `slot_value` (false, nothing written, when a
    /// revocation ended or replaced it meanwhile). An existing token is kept
    /// as it is; a new one expires with the slot, never after it.
    async fn create_slot_token(
        &self,
        digest: &str,
        record: TokenRecord,
        slot_name: &str,
        slot_value: &str,
    ) -> Result<bool, StoreError>;
    async fn find_slot(&self, user_id: u64, name: &str) -> Result<Option<String>, StoreError>;
    async fn delete_slot(&self, user_id: u64, name: &str) -> Result<(), StoreError>;
    /// Deletes the slot only while it still holds `value` (compare-and-delete).
    async fn delete_slot_if(&self, user_id: u64, name: &str, value: &str) -> Result<bool, StoreError>;

    /// Stores a one-time token; of the user's tokens for the purpose only the
    /// newest `keep` stay live (older ones end in the same atomic step).
    async fn create_one_time(
        &self,
        purpose: Purpose,
        digest: &str,
        record: OneTimeRecord,
        ttl: Duration,
        keep: usize,
    ) -> Result<(), StoreError>;
    /// Reads without redeeming (to validate a request before spending the token).
    async fn find_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError>;
    /// Atomically reads and deletes: a token is redeemed at most once.
    async fn take_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError>;
    /// Deletes every one-time token of the user for a purpose.
    async fn delete_user_one_time(&self, user_id: u64, purpose: Purpose) -> Result<(), StoreError>;

    /// Blacklists a JWT id until `ttl` passes. True if this call blacklisted it
    /// (false: it was already), so two concurrent rotations cannot both win.
    async fn blacklist_jti(&self, jti: &str, ttl: Duration) -> Result<bool, StoreError>;
    async fn is_jti_blacklisted(&self, jti: &str) -> Result<bool, StoreError>;

    // ---- abuse protection (see `limits`) ----

    /// Starts a password attempt against a lockout subject: `Locked` while it is
    /// banned; otherwise counts it (the count expires `window` after its first
    /// attempt) and, when the count reaches `limit`, bans the subject for `ban`
    /// provisionally (`last`); refusals under a provisional ban suggest a 1 s
    /// wait (it is settled within one hash). Atomic, so replicas share one count.
    async fn begin_attempt(
        &self,
        subject: &str,
        limit: u32,
        window: Duration,
        ban: Duration,
    ) -> Result<AttemptStart, StoreError>;
    /// Ends an attempt that `begin_attempt` allowed (`last` as it answered).
    async fn end_attempt(&self, subject: &str, end: AttemptEnd, last: bool, ban: Duration) -> Result<(), StoreError>;
    /// The time left on the subject's ban, if it is banned (a provisional ban
    /// is an attempt in flight, not a lockout: None).
    async fn find_lockout(&self, subject: &str) -> Result<Option<Duration>, StoreError>;
    /// Lifts the subject's ban and forgets its count. True if it was banned.
    async fn delete_lockout(&self, subject: &str) -> Result<bool, StoreError>;

    /// Records a request under `key` unless `limit` requests are already in the
    /// last `window` (DRF's history, dropping entries at least `window` old);
    /// `member` makes the entry unique. The clock is the store's, so replicas agree.
    async fn throttle_hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        member: &str,
    ) -> Result<ThrottleHit, StoreError>;
    // ---- the mail queue (see `mailq`) ----

    /// Queues a mail, due at once. Ids are unique (the caller makes them random).
    async fn enqueue_mail(&self, id: &str, payload: &str) -> Result<(), StoreError>;
    /// Takes the oldest due mail for `lease` under the holder's `lease_id`: no
    /// other claim gets it until the lease runs out or it is settled.
    async fn claim_mail(&self, lease: Duration, lease_id: &str) -> Result<Option<ClaimedMail>, StoreError>;
    /// Records how an attempt ended, if `lease_id` still holds the mail (false
    /// otherwise: the lease ran out and another sender may hold it). A final
    /// outcome drops the payload and keeps the state for `keep`.
    async fn settle_mail(&self, id: &str, lease_id: &str, outcome: &Settle, keep: Duration)
        -> Result<bool, StoreError>;
    /// The state of each mail (None: unknown, or forgotten after `keep`).
    async fn find_mail_status(&self, ids: &[String]) -> Result<Vec<Option<MailStatus>>, StoreError>;
    /// Mails not yet settled (waiting, retrying or being sent).
    async fn mail_queue_depth(&self) -> Result<u64, StoreError>;
}

/// Opens the store named by a URL (`memory://`, `redis://`, `rediss://`,
/// `redis+cluster://host:port,…`, `rediss+cluster://…`).
pub async fn open(url: &str, key_prefix: &str, timeout: Duration) -> Result<SharedStore, StoreError> {
    open_with_ca(url, key_prefix, timeout, None).await
}

/// `open`, trusting `ca_pem` (PEM) for `rediss://` servers instead of the system roots.
pub async fn open_with_ca(
    url: &str,
    key_prefix: &str,
    timeout: Duration,
    ca_pem: Option<Vec<u8>>,
) -> Result<SharedStore, StoreError> {
    if url == "memory://" {
        Ok(Arc::new(memory::MemoryStore::new()))
    } else {
        Ok(Arc::new(redis::RedisStore::connect_with_ca(url, key_prefix, timeout, ca_pem).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::{email_key, normalize_email};

    #[test]
    fn emails_keep_the_local_part_and_lower_the_domain() {
        assert_eq!(normalize_email("  Alice.B@Example.COM "), "Alice.B@example.com");
        assert_eq!(normalize_email("a@b@EXAMPLE.com"), "a@b@example.com");
        assert_eq!(normalize_email("u@EXÄMPLE.com"), "u@exämple.com");
        assert_eq!(normalize_email("no-at-sign"), "no-at-sign");
        assert_eq!(email_key(&normalize_email("Alice@Example.com")), email_key("ALICE@example.COM"));
    }
}
