//! A store that passes every call through, except that it can hold one
//! `claim_slot` after it returned until the test says go: a race between a
//! login and a logout, made to happen every time instead of now and then.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use polyauth::store::{
    AttemptEnd, AttemptStart, ClaimedMail, ImportOutcome, MailStatus, OneTimeRecord, Purpose, Settle, SharedStore,
    Store, StoreError, ThrottleHit, TokenKind, TokenRecord, UserRecord, UserUpdate,
};
use tokio::sync::Notify;

pub struct PausingStore {
    inner: SharedStore,
    /// Armed: the next `claim_slot` waits for `go` after it claimed.
    armed: AtomicBool,
    pub claimed: Notify,
    pub go: Notify,
}

impl PausingStore {
    pub fn new(inner: SharedStore) -> Arc<Self> {
        Arc::new(Self { inner, armed: AtomicBool::new(false), claimed: Notify::new(), go: Notify::new() })
    }

    pub fn pause_next_claim(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Store for PausingStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn create_user(&self, user: UserRecord) -> Result<UserRecord, StoreError> {
        self.inner.create_user(user).await
    }
    async fn import_user(&self, user: &UserRecord) -> Result<ImportOutcome, StoreError> {
        self.inner.import_user(user).await
    }
    async fn find_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError> {
        self.inner.find_user(id).await
    }
    async fn find_user_id_by_username(&self, username: &str) -> Result<Option<u64>, StoreError> {
        self.inner.find_user_id_by_username(username).await
    }
    async fn find_user_id_by_email(&self, email_key: &str) -> Result<Option<u64>, StoreError> {
        self.inner.find_user_id_by_email(email_key).await
    }
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.inner.list_users().await
    }
    async fn list_users_after(&self, after: u64, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        self.inner.list_users_after(after, limit).await
    }
    async fn update_user(&self, id: u64, update: &UserUpdate) -> Result<Option<UserRecord>, StoreError> {
        self.inner.update_user(id, update).await
    }
    async fn delete_user(&self, id: u64, if_password_hash: Option<&str>) -> Result<bool, StoreError> {
        self.inner.delete_user(id, if_password_hash).await
    }
    async fn create_token(&self, digest: &str, record: TokenRecord, ttl: Duration) -> Result<(), StoreError> {
        self.inner.create_token(digest, record, ttl).await
    }
    async fn find_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.find_token(digest).await
    }
    async fn delete_token(&self, digest: &str) -> Result<bool, StoreError> {
        self.inner.delete_token(digest).await
    }
    async fn delete_user_tokens(&self, user_id: u64, kind: Option<TokenKind>) -> Result<u64, StoreError> {
        self.inner.delete_user_tokens(user_id, kind).await
    }
    async fn claim_slot(&self, user_id: u64, name: &str, value: &str, ttl: Duration) -> Result<String, StoreError> {
        let current = self.inner.claim_slot(user_id, name, value, ttl).await;
        if self.armed.swap(false, Ordering::SeqCst) {
            self.claimed.notify_one();
            self.go.notified().await;
        }
        current
    }
    async fn create_slot_token(
        &self,
        digest: &str,
        record: TokenRecord,
        slot_name: &str,
        slot_value: &str,
    ) -> Result<bool, StoreError> {
        self.inner.create_slot_token(digest, record, slot_name, slot_value).await
    }
    async fn find_slot(&self, user_id: u64, name: &str) -> Result<Option<String>, StoreError> {
        self.inner.find_slot(user_id, name).await
    }
    async fn delete_slot(&self, user_id: u64, name: &str) -> Result<(), StoreError> {
        self.inner.delete_slot(user_id, name).await
    }
    async fn delete_slot_if(&self, user_id: u64, name: &str, value: &str) -> Result<bool, StoreError> {
        self.inner.delete_slot_if(user_id, name, value).await
    }
    async fn create_one_time(
        &self,
        purpose: Purpose,
        digest: &str,
        record: OneTimeRecord,
        ttl: Duration,
        keep: usize,
    ) -> Result<(), StoreError> {
        self.inner.create_one_time(purpose, digest, record, ttl, keep).await
    }
    async fn find_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        self.inner.find_one_time(purpose, digest).await
    }
    async fn take_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        self.inner.take_one_time(purpose, digest).await
    }
    async fn delete_user_one_time(&self, user_id: u64, purpose: Purpose) -> Result<(), StoreError> {
        self.inner.delete_user_one_time(user_id, purpose).await
    }
    async fn blacklist_jti(&self, jti: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.inner.blacklist_jti(jti, ttl).await
    }
    async fn is_jti_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        self.inner.is_jti_blacklisted(jti).await
    }
    async fn enqueue_mail(&self, id: &str, payload: &str) -> Result<(), StoreError> {
        self.inner.enqueue_mail(id, payload).await
    }
    async fn claim_mail(&self, lease: Duration, lease_id: &str) -> Result<Option<ClaimedMail>, StoreError> {
        self.inner.claim_mail(lease, lease_id).await
    }
    async fn settle_mail(
        &self,
        id: &str,
        lease_id: &str,
        outcome: &Settle,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        self.inner.settle_mail(id, lease_id, outcome, keep).await
    }
    async fn find_mail_status(&self, ids: &[String]) -> Result<Vec<Option<MailStatus>>, StoreError> {
        self.inner.find_mail_status(ids).await
    }
    async fn begin_attempt(
        &self,
        subject: &str,
        limit: u32,
        window: Duration,
        ban: Duration,
    ) -> Result<AttemptStart, StoreError> {
        self.inner.begin_attempt(subject, limit, window, ban).await
    }
    async fn end_attempt(&self, subject: &str, end: AttemptEnd, last: bool, ban: Duration) -> Result<(), StoreError> {
        self.inner.end_attempt(subject, end, last, ban).await
    }
    async fn find_lockout(&self, subject: &str) -> Result<Option<Duration>, StoreError> {
        self.inner.find_lockout(subject).await
    }
    async fn delete_lockout(&self, subject: &str) -> Result<bool, StoreError> {
        self.inner.delete_lockout(subject).await
    }
    async fn throttle_hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        member: &str,
    ) -> Result<ThrottleHit, StoreError> {
        self.inner.throttle_hit(key, limit, window, member).await
    }
    async fn mail_queue_depth(&self) -> Result<u64, StoreError> {
        self.inner.mail_queue_depth().await
    }
}
