//! The credential and session engine: users, passwords, opaque tokens, JWTs,
//! one-time tokens, mail (outbox and queue), over a `Store`. It knows nothing of
//! HTTP or dialects: callers get values or an `EngineError`.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::store::instrumented::{HotReads, InstrumentedStore};
use crate::store::{self, OneTimeRecord, Purpose, SharedStore, StoreError, TokenKind, TokenRecord, UniqueField};

pub mod crypto;
pub mod export;
pub mod import;
pub mod jwt;
mod jwt_ops;
pub mod lockout;
pub mod mailq;
mod one_time;
mod opaque;
mod operator;
pub mod outbox;
pub mod passwords;
pub mod validators;

pub use jwt::{JwtOptions, JwtPolicy, TokenError, TokenType};
pub use jwt_ops::Rotation;
pub use lockout::LockoutSettings;
pub use opaque::TokenImport;
pub use operator::UserRef;
pub use store::UserRecord as User;
pub use store::UserUpdate;

/// Why an engine operation refused. Dialects choose status and wording.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("username taken")]
    UsernameTaken,
    #[error("email taken")]
    EmailTaken,
    #[error("token rejected: {0:?}")]
    Token(TokenError),
    /// The token's user no longer exists.
    #[error("user not found")]
    UserNotFound,
    #[error("user inactive")]
    UserInactive,
    /// An opaque token that is unknown, revoked or expired.
    #[error("invalid opaque token")]
    OpaqueTokenInvalid,
    /// A one-time token that is unknown, used, expired or outdated by a password change.
    #[error("invalid one-time token")]
    OneTimeInvalid,
    /// An access token issued under another password (SimpleJWT's `CHECK_REVOKE_TOKEN`).
    #[error("password changed since the token was issued")]
    PasswordChanged,
    /// A compare-and-set lost: the record changed since it was read.
    #[error("changed meanwhile")]
    Changed,
    /// Password checks for this account or client address are locked out (see `lockout`).
    #[error("locked out for {retry_after:?}")]
    Locked { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] passwords::HashError),
}

impl From<TokenError> for EngineError {
    fn from(e: TokenError) -> Self {
        EngineError::Token(e)
    }
}

/// How a login names its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifyBy {
    Username,
    Email,
    /// Username first, then email: how users born in email dialects log in elsewhere.
    UsernameOrEmail,
}

pub struct EngineSettings {
    pub bcrypt_cost: u32,
    pub max_concurrent_hashes: usize,
    /// Hashes that may wait for a slot; more are refused at once (`HashError::Busy`).
    pub max_queued_hashes: usize,
    /// Login lockout limits (`LockoutSettings::OFF` for none).
    pub lockout: LockoutSettings,
    pub signing_key: Secret,
    pub access_lifetime_secs: u64,
    pub refresh_lifetime_secs: u64,
    pub opaque_ttl: Duration,
    pub one_time_ttl: Duration,
    /// Outstanding one-time tokens kept per user and purpose (newest win).
    pub one_time_per_user: usize,
    pub outbox_capacity: usize,
    /// Mails kept per recipient in the outbox (newest win), so one address
    /// cannot push everyone else's mail out.
    pub outbox_per_recipient: usize,
    /// Queue mails in the store for an SMTP sender (else they only reach the outbox).
    pub mail_delivery: bool,
    /// Where logins, tokens and hashing are counted (the engine holds counters, never HTTP).
    pub metrics: Metrics,
}

/// Cheap to clone: every clone shares one engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    /// The token check's reads, on the same store (see `HotReads`).
    hot: HotReads,
    hasher: passwords::Hasher,
    jwt: jwt::JwtCodec,
    /// The policy of callers that name none: `[jwt]` alone, SimpleJWT's defaults.
    default_jwt: JwtPolicy,
    outbox: outbox::Outbox,
    /// Key for deriving auth tokens; separate from the JWT key by domain separation.
    derive_key: Vec<u8>,
    opaque_ttl: Duration,
    one_time_ttl: Duration,
    lockout: LockoutSettings,
    one_time_per_user: usize,
    metrics: Metrics,
    mail_delivery: bool,
    /// Seals imported auth-token keys in their slot (see `opaque`).
    token_seal_key: [u8; 32],
    /// Seals queued mails (see `mailq`).
    mail_key: [u8; 32],
    mail_wake: tokio::sync::Notify,
}

const AUTH_TOKEN_SLOT: &str = "authtoken";

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Changes whenever the password does: one-time tokens carry it, so a reset
/// token dies once the password changes (as Django's token generator).
/// Activation and username-reset tokens are Django's own: they also die with a
/// login or an email change (the generator hashes `last_login` and the email),
/// which is what makes a used activation link "stale" rather than unknown.
fn one_time_stamp(user: &User, purpose: Purpose) -> String {
    let material = match purpose {
        Purpose::PasswordReset | Purpose::EmailVerification => user.password_hash.clone(),
        Purpose::Activation | Purpose::UsernameReset => {
            format!("{}\0{}\0{}", user.password_hash, user.last_login.unwrap_or_default(), user.email)
        }
    };
    hex::encode(&Sha256::digest(material.as_bytes())[..8])
}

impl Engine {
    pub fn new(store: SharedStore, s: EngineSettings) -> Result<Self, EngineError> {
        Self::with_hot_reads(HotReads::plain(store), s)
    }

    /// An engine over a timed store whose token-check reads skip the wrapper's
    /// own boxed future (the serving path's engine).
    pub fn instrumented(store: Arc<InstrumentedStore>, s: EngineSettings) -> Result<Self, EngineError> {
        Self::with_hot_reads(HotReads::timed(store), s)
    }

    fn with_hot_reads(hot: HotReads, s: EngineSettings) -> Result<Self, EngineError> {
        let store = hot.store();
        let derive_key = Sha256::digest(format!("polyauth-authtoken:{}", s.signing_key.expose())).to_vec();
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                hot,
                hasher: passwords::Hasher::new(
                    s.bcrypt_cost,
                    s.max_concurrent_hashes,
                    s.max_queued_hashes,
                    s.metrics.clone(),
                )?,
                jwt: jwt::JwtCodec::new(&s.signing_key, s.access_lifetime_secs as i64, s.refresh_lifetime_secs as i64),
                default_jwt: JwtPolicy::default(),
                outbox: outbox::Outbox::new(s.outbox_capacity, s.outbox_per_recipient),
                derive_key,
                opaque_ttl: s.opaque_ttl,
                one_time_ttl: s.one_time_ttl,
                lockout: s.lockout,
                one_time_per_user: s.one_time_per_user,
                metrics: s.metrics,
                mail_delivery: s.mail_delivery,
                mail_key: mailq::mail_key(&s.signing_key),
                token_seal_key: Sha256::digest(format!("polyauth-authtoken-seal:{}", s.signing_key.expose())).into(),
                mail_wake: tokio::sync::Notify::new(),
            }),
        })
    }

    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    pub fn outbox(&self) -> &outbox::Outbox {
        &self.inner.outbox
    }

    pub fn hash_stats(&self) -> &passwords::HashStats {
        &self.inner.hasher.stats
    }

    /// The metrics handle, for callers that count by dialect (logins).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    // ---- users ----

    /// Creates an active user. Uniqueness is decided atomically by the store.
    pub async fn create_user(&self, username: &str, email: &str, password: &Secret) -> Result<User, EngineError> {
        self.create_user_as(username, email, password, true).await
    }

    /// Creates a user, active or waiting for activation (Djoser's `SEND_ACTIVATION_EMAIL`).
    pub async fn create_user_as(
        &self,
        username: &str,
        email: &str,
        password: &Secret,
        is_active: bool,
    ) -> Result<User, EngineError> {
        let password_hash = self.inner.hasher.hash(password).await?;
        let user = User {
            id: 0,
            username: username.to_owned(),
            email: store::normalize_email(email),
            password_hash,
            is_active,
            email_verified: false,
            is_staff: false,
            date_joined: now(),
            last_login: None,
            tokens_revoked_at: None,
        };
        self.inner.store.create_user(user).await.map_err(|e| match e {
            StoreError::Conflict(UniqueField::Username) => EngineError::UsernameTaken,
            StoreError::Conflict(UniqueField::Email) => EngineError::EmailTaken,
            other => other.into(),
        })
    }

    pub async fn find_user(&self, id: u64) -> Result<Option<User>, EngineError> {
        Ok(self.inner.hot.find_user(id).await?)
    }

    pub async fn find_user_by(&self, by: IdentifyBy, identifier: &str) -> Result<Option<User>, EngineError> {
        let s = &self.inner.store;
        let id = match by {
            IdentifyBy::Username => s.find_user_id_by_username(identifier).await?,
            IdentifyBy::Email => s.find_user_id_by_email(&store::email_key(identifier)).await?,
            IdentifyBy::UsernameOrEmail => match s.find_user_id_by_username(identifier).await? {
                Some(id) => Some(id),
                None => s.find_user_id_by_email(&store::email_key(identifier)).await?,
            },
        };
        match id {
            Some(id) => self.find_user(id).await,
            None => Ok(None),
        }
    }

    pub async fn username_taken(&self, username: &str) -> Result<bool, EngineError> {
        Ok(self.inner.store.find_user_id_by_username(username).await?.is_some())
    }

    pub async fn email_taken(&self, email: &str) -> Result<bool, EngineError> {
        Ok(self.inner.store.find_user_id_by_email(&store::email_key(email)).await?.is_some())
    }

    /// Sets a new password, whatever the current one. One-time tokens issued
    /// before die with the old hash.
    pub async fn set_password(&self, user: &User, password: &Secret) -> Result<User, EngineError> {
        let hash = self.inner.hasher.hash(password).await?;
        self.update_user(user.id, UserUpdate { password_hash: Some(hash), ..UserUpdate::default() }).await
    }

    /// Replaces the password `user` was read with; `Changed` when another change
    /// landed first (of concurrent resets that started from one password, one wins).
    pub async fn replace_password(&self, user: &User, password: &Secret) -> Result<User, EngineError> {
        let hash = self.inner.hasher.hash(password).await?;
        let update = UserUpdate {
            password_hash: Some(hash),
            if_password_hash: Some(user.password_hash.clone()),
            ..UserUpdate::default()
        };
        self.update_user(user.id, update).await
    }

    /// Writes the update's fields, and only those; returns the user as stored afterwards.
    pub async fn update_user(&self, id: u64, update: UserUpdate) -> Result<User, EngineError> {
        match self.inner.store.update_user(id, &update).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(EngineError::UserNotFound),
            Err(StoreError::Conflict(UniqueField::Username)) => Err(EngineError::UsernameTaken),
            Err(StoreError::Conflict(UniqueField::Email)) => Err(EngineError::EmailTaken),
            Err(StoreError::Changed) => Err(EngineError::Changed),
            Err(other) => Err(other.into()),
        }
    }

    /// Every user, by id.
    pub async fn list_users(&self) -> Result<Vec<User>, EngineError> {
        Ok(self.inner.store.list_users().await?)
    }

    /// Deletes the user as read: `Changed` when its password was replaced
    /// since (the caller checked the password it had then).
    pub async fn delete_user(&self, user: &User) -> Result<bool, EngineError> {
        match self.inner.store.delete_user(user.id, Some(&user.password_hash)).await {
            Err(StoreError::Changed) => Err(EngineError::Changed),
            other => Ok(other?),
        }
    }

    async fn active_user(&self, id: u64) -> Result<User, EngineError> {
        let user = self.find_user(id).await?.ok_or(EngineError::UserNotFound)?;
        if !user.is_active {
            return Err(EngineError::UserInactive);
        }
        Ok(user)
    }

    /// Records a request against a sliding-window rate (DRF throttles; see `Store::throttle_hit`).
    pub async fn throttle_hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        member: &str,
    ) -> Result<store::ThrottleHit, EngineError> {
        Ok(self.inner.store.throttle_hit(key, limit, window, member).await?)
    }
}
