//! In-process store: the default, so the gateway runs with nothing else
//! installed. A `std::sync::Mutex` guards plain maps; it is never held across
//! an `.await`. Expired entries are dropped when read and swept on writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::direct::Direct;
use super::{
    AttemptEnd, AttemptStart, ClaimedMail, ImportOutcome, MailStatus, OneTimeRecord, Purpose, Settle, Store,
    StoreError, ThrottleHit, TokenKind, TokenRecord, UniqueField, UserRecord, UserUpdate,
};

mod limits;
mod mailq;

#[derive(Default)]
struct Maps {
    next_id: u64,
    users: HashMap<u64, UserRecord>,
    by_username: HashMap<String, u64>,
    by_email: HashMap<String, u64>,
    tokens: HashMap<String, (TokenRecord, Instant)>,
    slots: HashMap<(u64, String), (String, Instant)>,
    one_time: HashMap<(Purpose, String), (OneTimeRecord, Instant)>,
    blacklist: HashMap<String, Instant>,
    /// Lockout counters and bans, throttle histories.
    limits: limits::Limits,
    /// Writes since the last sweep of expired entries.
    writes: u64,
}

impl Maps {
    fn sweep(&mut self) {
        self.writes += 1;
        if self.writes % 1024 != 0 {
            return;
        }
        let now = Instant::now();
        self.tokens.retain(|_, (_, exp)| *exp > now);
        self.slots.retain(|_, (_, exp)| *exp > now);
        self.one_time.retain(|_, (_, exp)| *exp > now);
        self.blacklist.retain(|_, exp| *exp > now);
        self.limits.sweep(now);
    }
}

#[derive(Default)]
pub struct MemoryStore {
    maps: Mutex<Maps>,
    /// The mail queue, under its own lock: senders never wait on user lookups.
    mail: Mutex<mailq::MailQueue>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        // A panic while holding the lock cannot leave the maps half-written in a
        // way that matters more than refusing all service, so recover the guard.
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mail(&self) -> std::sync::MutexGuard<'_, mailq::MailQueue> {
        self.mail.lock().unwrap_or_else(|e| e.into_inner())
    }

    // The token check's reads, callable without the trait (`store::direct`).

    pub(super) fn read_user(&self, id: u64) -> Option<UserRecord> {
        self.lock().users.get(&id).cloned()
    }

    pub(super) fn read_token(&self, digest: &str) -> Option<TokenRecord> {
        live(self.lock().tokens.get(digest)).copied()
    }

    pub(super) fn read_blacklisted(&self, jti: &str) -> bool {
        self.lock().blacklist.get(jti).is_some_and(|exp| *exp > Instant::now())
    }
}

fn live<T>(entry: Option<&(T, Instant)>) -> Option<&T> {
    entry.filter(|(_, exp)| *exp > Instant::now()).map(|(v, _)| v)
}

#[async_trait]
impl Store for MemoryStore {
    fn direct(self: Arc<Self>) -> Option<Direct> {
        Some(Direct::Memory(self))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn create_user(&self, mut user: UserRecord) -> Result<UserRecord, StoreError> {
        let mut m = self.lock();
        if m.by_username.contains_key(&user.username) {
            return Err(StoreError::Conflict(UniqueField::Username));
        }
        let key = super::email_key(&user.email);
        if !key.is_empty() && m.by_email.contains_key(&key) {
            return Err(StoreError::Conflict(UniqueField::Email));
        }
        m.next_id += 1;
        user.id = m.next_id;
        m.by_username.insert(user.username.clone(), user.id);
        if !key.is_empty() {
            m.by_email.insert(key, user.id);
        }
        m.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn import_user(&self, user: &UserRecord) -> Result<ImportOutcome, StoreError> {
        let mut m = self.lock();
        m.next_id = m.next_id.max(user.id);
        if let Some(stored) = m.users.get(&user.id) {
            return Ok(match stored {
                s if s == user => ImportOutcome::Unchanged,
                s if s.username == user.username => ImportOutcome::Differs,
                _ => ImportOutcome::IdTaken,
            });
        }
        if m.by_username.contains_key(&user.username) {
            return Err(StoreError::Conflict(UniqueField::Username));
        }
        let key = super::email_key(&user.email);
        if !key.is_empty() && m.by_email.contains_key(&key) {
            return Err(StoreError::Conflict(UniqueField::Email));
        }
        m.by_username.insert(user.username.clone(), user.id);
        if !key.is_empty() {
            m.by_email.insert(key, user.id);
        }
        m.users.insert(user.id, user.clone());
        Ok(ImportOutcome::Created)
    }

    async fn find_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.read_user(id))
    }

    async fn find_user_id_by_username(&self, username: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.lock().by_username.get(username).copied())
    }

    async fn find_user_id_by_email(&self, email_key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.lock().by_email.get(email_key).copied())
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut users: Vec<UserRecord> = self.lock().users.values().cloned().collect();
        users.sort_by_key(|u| u.id);
        Ok(users)
    }

    async fn list_users_after(&self, after: u64, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        let m = self.lock();
        let mut ids: Vec<u64> = m.users.keys().copied().filter(|id| *id > after).collect();
        ids.sort_unstable();
        Ok(ids.into_iter().take(limit).filter_map(|id| m.users.get(&id).cloned()).collect())
    }

    async fn update_user(&self, id: u64, update: &UserUpdate) -> Result<Option<UserRecord>, StoreError> {
        let mut m = self.lock();
        let Some(current) = m.users.get(&id).cloned() else {
            return Ok(None);
        };
        if update.if_password_hash.as_ref().is_some_and(|h| *h != current.password_hash) {
            return Err(StoreError::Changed);
        }
        let new_username = update.username.as_ref().filter(|u| **u != current.username);
        if new_username.is_some_and(|u| m.by_username.contains_key(u)) {
            return Err(StoreError::Conflict(UniqueField::Username));
        }
        let old_key = super::email_key(&current.email);
        let new_key = update.email.as_ref().map(|e| super::email_key(e)).filter(|k| *k != old_key);
        if new_key.as_ref().is_some_and(|k| !k.is_empty() && m.by_email.contains_key(k)) {
            return Err(StoreError::Conflict(UniqueField::Email));
        }
        if let Some(u) = new_username {
            m.by_username.remove(&current.username);
            m.by_username.insert(u.clone(), id);
        }
        if let Some(k) = new_key {
            m.by_email.remove(&old_key);
            if !k.is_empty() {
                m.by_email.insert(k, id);
            }
        }
        let user = m.users.get_mut(&id).ok_or_else(|| StoreError::Corrupt(format!("user {id} vanished")))?;
        update.apply(user);
        Ok(Some(user.clone()))
    }

    async fn delete_user(&self, id: u64, if_password_hash: Option<&str>) -> Result<bool, StoreError> {
        let mut m = self.lock();
        match m.users.get(&id) {
            None => return Ok(false),
            Some(u) if if_password_hash.is_some_and(|h| h != u.password_hash) => return Err(StoreError::Changed),
            Some(_) => {}
        }
        let Some(stored) = m.users.remove(&id) else {
            return Ok(false);
        };
        m.by_username.remove(&stored.username);
        m.by_email.remove(&super::email_key(&stored.email));
        m.tokens.retain(|_, (rec, _)| rec.user_id != id);
        m.slots.retain(|(uid, _), _| *uid != id);
        m.one_time.retain(|_, (rec, _)| rec.user_id != id);
        Ok(true)
    }

    async fn create_token(&self, digest: &str, record: TokenRecord, ttl: Duration) -> Result<(), StoreError> {
        let mut m = self.lock();
        m.sweep();
        m.tokens.insert(digest.to_owned(), (record, Instant::now() + ttl));
        Ok(())
    }

    async fn find_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.read_token(digest))
    }

    async fn delete_token(&self, digest: &str) -> Result<bool, StoreError> {
        let removed = self.lock().tokens.remove(digest);
        Ok(live(removed.as_ref()).is_some())
    }

    async fn delete_user_tokens(&self, user_id: u64, kind: Option<TokenKind>) -> Result<u64, StoreError> {
        let mut m = self.lock();
        let before = m.tokens.len();
        m.tokens.retain(|_, (rec, _)| !(rec.user_id == user_id && kind.is_none_or(|k| k == rec.kind)));
        Ok((before - m.tokens.len()) as u64)
    }

    async fn claim_slot(&self, user_id: u64, name: &str, value: &str, ttl: Duration) -> Result<String, StoreError> {
        let mut m = self.lock();
        m.sweep();
        let key = (user_id, name.to_owned());
        if let Some(current) = live(m.slots.get(&key)) {
            return Ok(current.clone());
        }
        m.slots.insert(key, (value.to_owned(), Instant::now() + ttl));
        Ok(value.to_owned())
    }

    async fn create_slot_token(
        &self,
        digest: &str,
        record: TokenRecord,
        slot_name: &str,
        slot_value: &str,
    ) -> Result<bool, StoreError> {
        let mut m = self.lock();
        let now = Instant::now();
        let slot_expiry = match m.slots.get(&(record.user_id, slot_name.to_owned())) {
            Some((v, exp)) if *exp > now && v == slot_value => *exp,
            _ => return Ok(false),
        };
        if live(m.tokens.get(digest)).is_none() {
            m.sweep();
            m.tokens.insert(digest.to_owned(), (record, slot_expiry));
        }
        Ok(true)
    }

    async fn find_slot(&self, user_id: u64, name: &str) -> Result<Option<String>, StoreError> {
        Ok(live(self.lock().slots.get(&(user_id, name.to_owned()))).cloned())
    }

    async fn delete_slot(&self, user_id: u64, name: &str) -> Result<(), StoreError> {
        self.lock().slots.remove(&(user_id, name.to_owned()));
        Ok(())
    }

    async fn delete_slot_if(&self, user_id: u64, name: &str, value: &str) -> Result<bool, StoreError> {
        let mut m = self.lock();
        let key = (user_id, name.to_owned());
        if live(m.slots.get(&key)).is_some_and(|v| v == value) {
            m.slots.remove(&key);
            return Ok(true);
        }
        Ok(false)
    }

    async fn create_one_time(
        &self,
        purpose: Purpose,
        digest: &str,
        record: OneTimeRecord,
        ttl: Duration,
        keep: usize,
    ) -> Result<(), StoreError> {
        let mut m = self.lock();
        m.sweep();
        let (now, user_id) = (Instant::now(), record.user_id);
        m.one_time.insert((purpose, digest.to_owned()), (record, now + ttl));
        // Newest wins: every token has the same lifetime, so the earliest expiry is the oldest.
        let mut mine: Vec<(Instant, String)> = m
            .one_time
            .iter()
            .filter(|((p, _), (r, exp))| *p == purpose && r.user_id == user_id && *exp > now)
            .map(|((_, d), (_, exp))| (*exp, d.clone()))
            .collect();
        if mine.len() > keep.max(1) {
            mine.sort();
            for (_, d) in &mine[..mine.len() - keep.max(1)] {
                m.one_time.remove(&(purpose, d.clone()));
            }
        }
        Ok(())
    }

    async fn find_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        Ok(live(self.lock().one_time.get(&(purpose, digest.to_owned()))).cloned())
    }

    async fn take_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        let removed = self.lock().one_time.remove(&(purpose, digest.to_owned()));
        Ok(live(removed.as_ref()).cloned())
    }

    async fn delete_user_one_time(&self, user_id: u64, purpose: Purpose) -> Result<(), StoreError> {
        self.lock().one_time.retain(|(p, _), (rec, _)| !(*p == purpose && rec.user_id == user_id));
        Ok(())
    }

    async fn blacklist_jti(&self, jti: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut m = self.lock();
        m.sweep();
        let now = Instant::now();
        match m.blacklist.get(jti) {
            Some(exp) if *exp > now => Ok(false),
            _ => {
                m.blacklist.insert(jti.to_owned(), now + ttl);
                Ok(true)
            }
        }
    }

    async fn is_jti_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self.read_blacklisted(jti))
    }

    async fn begin_attempt(
        &self,
        subject: &str,
        limit: u32,
        window: Duration,
        ban: Duration,
    ) -> Result<AttemptStart, StoreError> {
        let mut m = self.lock();
        m.sweep();
        Ok(m.limits.begin_attempt(subject, limit, window, ban))
    }

    async fn end_attempt(&self, subject: &str, end: AttemptEnd, last: bool, ban: Duration) -> Result<(), StoreError> {
        self.lock().limits.end_attempt(subject, end, last, ban);
        Ok(())
    }

    async fn find_lockout(&self, subject: &str) -> Result<Option<Duration>, StoreError> {
        Ok(self.lock().limits.find_lockout(subject))
    }

    async fn delete_lockout(&self, subject: &str) -> Result<bool, StoreError> {
        Ok(self.lock().limits.delete_lockout(subject))
    }

    async fn throttle_hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        _member: &str,
    ) -> Result<ThrottleHit, StoreError> {
        let mut m = self.lock();
        m.sweep();
        Ok(m.limits.throttle_hit(key, limit, window))
    }

    async fn enqueue_mail(&self, id: &str, payload: &str) -> Result<(), StoreError> {
        self.mail().enqueue(id, payload);
        Ok(())
    }

    async fn claim_mail(&self, lease: Duration, lease_id: &str) -> Result<Option<ClaimedMail>, StoreError> {
        Ok(self.mail().claim(lease, lease_id))
    }

    async fn settle_mail(
        &self,
        id: &str,
        lease_id: &str,
        outcome: &Settle,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        Ok(self.mail().settle(id, lease_id, outcome, keep))
    }

    async fn find_mail_status(&self, ids: &[String]) -> Result<Vec<Option<MailStatus>>, StoreError> {
        Ok(self.mail().status(ids))
    }

    async fn mail_queue_depth(&self) -> Result<u64, StoreError> {
        Ok(self.mail().depth())
    }
}
