//! A `Store` decorator that times every operation and counts failures into
//! `Metrics`, so both stores are measured the same way without either knowing.
//! A lost race (`Conflict`, `Changed`) is an answer, not an error: it is not counted.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::direct::Direct;
use super::{
    AttemptEnd, AttemptStart, ClaimedMail, ImportOutcome, MailStatus, OneTimeRecord, Purpose, Settle, SharedStore,
    Store, StoreError, ThrottleHit, TokenKind, TokenRecord, UserRecord, UserUpdate,
};
use crate::metrics::{Metrics, StoreSeries};

pub struct InstrumentedStore {
    inner: SharedStore,
    metrics: Metrics,
    /// The series of the reads a token check makes (`HOT`), each resolved on
    /// its first use and kept (as a route's series are): the others are looked
    /// up by label per call.
    hot: [OnceLock<StoreSeries>; 3],
}

/// The store reads of the per-request paths (a JWT's user, an opaque token, the blacklist).
const HOT: [&str; 3] = ["find_user", "find_token", "is_jti_blacklisted"];
const FIND_USER: usize = 0;
const FIND_TOKEN: usize = 1;
const IS_JTI_BLACKLISTED: usize = 2;

impl InstrumentedStore {
    pub fn new(inner: SharedStore, metrics: Metrics) -> Self {
        Self { inner, metrics, hot: Default::default() }
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let start = Instant::now();
        let out = fut.await;
        self.metrics.store_op(op, start.elapsed(), failure(&out));
        out
    }

    /// `timed`, for one of the `HOT` reads.
    async fn timed_hot<T>(
        &self,
        hot: usize,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let start = Instant::now();
        let out = fut.await;
        let series = self.hot[hot].get_or_init(|| self.metrics.store_series(HOT[hot]));
        series.observe(start.elapsed().as_secs_f64());
        self.metrics.store_failed(HOT[hot], failure(&out));
        out
    }
}

/// The reads of a token check (`HOT`), for the engine to call on the store
/// itself (`Direct`: no indirect call, and no boxed future on memory), timed
/// as the wrapper times them when there is one.
#[derive(Clone)]
pub struct HotReads {
    /// The store every other operation goes through (the wrapper, when timed).
    store: SharedStore,
    /// The store underneath any wrapper, for the reads themselves.
    direct: Direct,
    timed: Option<Arc<InstrumentedStore>>,
}

impl HotReads {
    /// Untimed: the store's own reads.
    pub fn plain(store: SharedStore) -> Self {
        Self { direct: Direct::of(store.clone()), store, timed: None }
    }

    /// The reads of the store under `timed`, timed into its metrics.
    pub fn timed(timed: Arc<InstrumentedStore>) -> Self {
        Self { direct: Direct::of(timed.inner.clone()), store: timed.clone(), timed: Some(timed) }
    }

    pub fn store(&self) -> SharedStore {
        self.store.clone()
    }

    pub async fn find_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError> {
        match &self.timed {
            None => self.direct.find_user(id).await,
            Some(t) => t.timed_hot(FIND_USER, self.direct.find_user(id)).await,
        }
    }

    pub async fn find_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        match &self.timed {
            None => self.direct.find_token(digest).await,
            Some(t) => t.timed_hot(FIND_TOKEN, self.direct.find_token(digest)).await,
        }
    }

    pub async fn is_jti_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        match &self.timed {
            None => self.direct.is_jti_blacklisted(jti).await,
            Some(t) => t.timed_hot(IS_JTI_BLACKLISTED, self.direct.is_jti_blacklisted(jti)).await,
        }
    }
}

/// The failure class an operation's result counts as, if any.
fn failure<T>(out: &Result<T, StoreError>) -> Option<&'static str> {
    match out {
        Err(StoreError::Unavailable(_)) => Some("unavailable"),
        Err(StoreError::Corrupt(_)) => Some("corrupt"),
        Ok(_) | Err(StoreError::Conflict(_) | StoreError::Changed) => None,
    }
}

#[async_trait]
impl Store for InstrumentedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn create_user(&self, user: UserRecord) -> Result<UserRecord, StoreError> {
        self.timed("create_user", self.inner.create_user(user)).await
    }

    async fn import_user(&self, user: &UserRecord) -> Result<ImportOutcome, StoreError> {
        self.timed("import_user", self.inner.import_user(user)).await
    }

    async fn find_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError> {
        self.timed_hot(FIND_USER, self.inner.find_user(id)).await
    }

    async fn find_user_id_by_username(&self, username: &str) -> Result<Option<u64>, StoreError> {
        self.timed("find_user_id_by_username", self.inner.find_user_id_by_username(username)).await
    }

    async fn find_user_id_by_email(&self, email_key: &str) -> Result<Option<u64>, StoreError> {
        self.timed("find_user_id_by_email", self.inner.find_user_id_by_email(email_key)).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.timed("list_users", self.inner.list_users()).await
    }

    async fn list_users_after(&self, after: u64, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        self.timed("list_users_after", self.inner.list_users_after(after, limit)).await
    }

    async fn update_user(&self, id: u64, update: &UserUpdate) -> Result<Option<UserRecord>, StoreError> {
        self.timed("update_user", self.inner.update_user(id, update)).await
    }

    async fn delete_user(&self, id: u64, if_password_hash: Option<&str>) -> Result<bool, StoreError> {
        self.timed("delete_user", self.inner.delete_user(id, if_password_hash)).await
    }

    async fn create_token(&self, digest: &str, record: TokenRecord, ttl: Duration) -> Result<(), StoreError> {
        self.timed("create_token", self.inner.create_token(digest, record, ttl)).await
    }

    async fn find_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.timed_hot(FIND_TOKEN, self.inner.find_token(digest)).await
    }

    async fn delete_token(&self, digest: &str) -> Result<bool, StoreError> {
        self.timed("delete_token", self.inner.delete_token(digest)).await
    }

    async fn delete_user_tokens(&self, user_id: u64, kind: Option<TokenKind>) -> Result<u64, StoreError> {
        self.timed("delete_user_tokens", self.inner.delete_user_tokens(user_id, kind)).await
    }

    async fn claim_slot(&self, user_id: u64, name: &str, value: &str, ttl: Duration) -> Result<String, StoreError> {
        self.timed("claim_slot", self.inner.claim_slot(user_id, name, value, ttl)).await
    }

    async fn create_slot_token(
        &self,
        digest: &str,
        record: TokenRecord,
        slot_name: &str,
        slot_value: &str,
    ) -> Result<bool, StoreError> {
        self.timed("create_slot_token", self.inner.create_slot_token(digest, record, slot_name, slot_value)).await
    }

    async fn find_slot(&self, user_id: u64, name: &str) -> Result<Option<String>, StoreError> {
        self.timed("find_slot", self.inner.find_slot(user_id, name)).await
    }

    async fn delete_slot(&self, user_id: u64, name: &str) -> Result<(), StoreError> {
        self.timed("delete_slot", self.inner.delete_slot(user_id, name)).await
    }

    async fn delete_slot_if(&self, user_id: u64, name: &str, value: &str) -> Result<bool, StoreError> {
        self.timed("delete_slot_if", self.inner.delete_slot_if(user_id, name, value)).await
    }

    async fn create_one_time(
        &self,
        purpose: Purpose,
        digest: &str,
        record: OneTimeRecord,
        ttl: Duration,
        keep: usize,
    ) -> Result<(), StoreError> {
        self.timed("create_one_time", self.inner.create_one_time(purpose, digest, record, ttl, keep)).await
    }

    async fn find_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        self.timed("find_one_time", self.inner.find_one_time(purpose, digest)).await
    }

    async fn take_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        self.timed("take_one_time", self.inner.take_one_time(purpose, digest)).await
    }

    async fn delete_user_one_time(&self, user_id: u64, purpose: Purpose) -> Result<(), StoreError> {
        self.timed("delete_user_one_time", self.inner.delete_user_one_time(user_id, purpose)).await
    }

    async fn blacklist_jti(&self, jti: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.timed("blacklist_jti", self.inner.blacklist_jti(jti, ttl)).await
    }

    async fn is_jti_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        self.timed_hot(IS_JTI_BLACKLISTED, self.inner.is_jti_blacklisted(jti)).await
    }

    async fn begin_attempt(
        &self,
        subject: &str,
        limit: u32,
        window: Duration,
        ban: Duration,
    ) -> Result<AttemptStart, StoreError> {
        self.timed("begin_attempt", self.inner.begin_attempt(subject, limit, window, ban)).await
    }

    async fn end_attempt(&self, subject: &str, end: AttemptEnd, last: bool, ban: Duration) -> Result<(), StoreError> {
        self.timed("end_attempt", self.inner.end_attempt(subject, end, last, ban)).await
    }

    async fn find_lockout(&self, subject: &str) -> Result<Option<Duration>, StoreError> {
        self.timed("find_lockout", self.inner.find_lockout(subject)).await
    }

    async fn delete_lockout(&self, subject: &str) -> Result<bool, StoreError> {
        self.timed("delete_lockout", self.inner.delete_lockout(subject)).await
    }

    async fn throttle_hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        member: &str,
    ) -> Result<ThrottleHit, StoreError> {
        self.timed("throttle_hit", self.inner.throttle_hit(key, limit, window, member)).await
    }

    async fn enqueue_mail(&self, id: &str, payload: &str) -> Result<(), StoreError> {
        self.timed("enqueue_mail", self.inner.enqueue_mail(id, payload)).await
    }

    async fn claim_mail(&self, lease: Duration, lease_id: &str) -> Result<Option<ClaimedMail>, StoreError> {
        self.timed("claim_mail", self.inner.claim_mail(lease, lease_id)).await
    }

    async fn settle_mail(
        &self,
        id: &str,
        lease_id: &str,
        outcome: &Settle,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        self.timed("settle_mail", self.inner.settle_mail(id, lease_id, outcome, keep)).await
    }

    async fn find_mail_status(&self, ids: &[String]) -> Result<Vec<Option<MailStatus>>, StoreError> {
        self.timed("find_mail_status", self.inner.find_mail_status(ids)).await
    }

    async fn mail_queue_depth(&self) -> Result<u64, StoreError> {
        self.timed("mail_queue_depth", self.inner.mail_queue_depth()).await
    }
}
