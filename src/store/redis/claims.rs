//! The Cluster layout's user writes: the claim protocol that keeps usernames
//! and email keys unique when their claims live in other slots than the user.
//!
//! Create: claim the username and the email key (each SET NX `p:0:MS`, or a
//! takeover of an orphaned claim), reserve an id (INCR), point the claims at
//! it (`p:ID:MS`), write the user's hash, commit the claims (`p:…` → `ID`). Any failure releases what was
//! claimed. Rename: claim the new value, demote the old claim (`ID` → `l:ID:MS`),
//! write the record only if its username/email are still those the claims
//! were moved from, then commit the new claim and delete the old. Delete:
//! demote the claims, delete the user's slot, then the claims. Every step
//! that changes a claim is a compare-and-set on its exact value, so a claim
//! never names a user whose record does not hold it once committed, and a
//! crash between steps leaves claims in flux that readers check against the
//! record and that become reclaimable after `orphan_grace`.

use redis::AsyncCommands;

use super::cluster::now_ms;
use super::link::Conn;
use super::single::user_or_code;
use super::{call, scripts, user_fields, RedisStore};
use crate::store::{email_key, Purpose, StoreError, UniqueField, UserRecord, UserUpdate};

/// Attempts at a rename or delete that a concurrent change of the same user keeps invalidating.
const ATTEMPTS: usize = 3;

/// A claim this operation changed: its key and the value it wrote.
pub(super) struct Held {
    key: String,
    value: String,
}

impl RedisStore {
    async fn cas(&self, c: &mut Conn, key: &str, expected: &str, new: &str) -> Result<bool, StoreError> {
        let done: i64 = call(&scripts::CLAIM_CAS).key(key.to_owned()).arg(expected).arg(new).run(c).await?;
        Ok(done == 1)
    }

    /// Claims `value` of `field` for user `id` (pending): SET NX, or the
    /// takeover of an orphaned claim. `Conflict` when another user holds it.
    pub(super) async fn claim(
        &self,
        c: &mut Conn,
        field: UniqueField,
        value: &str,
        id: u64,
    ) -> Result<Held, StoreError> {
        let key = self.claim_key(field, value);
        let mine = format!("p:{id}:{}", now_ms());
        for _ in 0..ATTEMPTS {
            let set: Option<String> = redis::cmd("SET").arg(&key).arg(&mine).arg("NX").query_async(c).await?;
            if set.is_some() {
                return Ok(Held { key, value: mine });
            }
            let Some(current) = c.get::<_, Option<String>>(&key).await? else { continue };
            if !self.is_orphan(c, field, value, &current).await? {
                return Err(StoreError::Conflict(field));
            }
            tracing::info!(claim = %key, "taking over an orphaned claim");
            if self.cas(c, &key, &current, &mine).await? {
                return Ok(Held { key, value: mine });
            }
        }
        Err(StoreError::Conflict(field))
    }

    /// Releases claims this operation wrote (best effort: a claim left behind
    /// is an orphan, reclaimable after the grace period).
    pub(super) async fn release(&self, c: &mut Conn, held: &[Held]) {
        for h in held {
            if let Err(e) = self.cas(c, &h.key, &h.value, "").await {
                tracing::warn!(claim = %h.key, error = %e, "could not release a claim; it becomes reclaimable");
            }
        }
    }

    /// Commits pending claims to `ID` (best effort: a pending claim that the
    /// record agrees with is already true for readers).
    pub(super) async fn commit(&self, c: &mut Conn, held: &[Held], id: u64) {
        for h in held {
            if let Err(e) = self.cas(c, &h.key, &h.value, &id.to_string()).await {
                tracing::warn!(claim = %h.key, error = %e, "could not commit a claim; readers check it");
            }
        }
    }

    /// Demotes user `id`'s claim on `value` to leaving, if it names that user.
    async fn demote(&self, c: &mut Conn, field: UniqueField, value: &str, id: u64) -> Result<Option<Held>, StoreError> {
        let key = self.claim_key(field, value);
        let Some(current) = c.get::<_, Option<String>>(&key).await? else { return Ok(None) };
        if super::cluster::Claim::parse(&current).map(|cl| cl.user_id()) != Some(id) {
            return Ok(None);
        }
        let leaving = format!("l:{id}:{}", now_ms());
        Ok(self.cas(c, &key, &current, &leaving).await?.then_some(Held { key, value: leaving }))
    }

    /// Settles claims this operation demoted when its own write did not
    /// happen: committed again if the record still holds the value, deleted if
    /// not (another write moved it, whose own clean-up our demotion defeated).
    /// Either only while the claim still holds our value.
    async fn restore(&self, c: &mut Conn, demoted: &[(UniqueField, String, Held)], id: u64) -> Result<(), StoreError> {
        for (field, value, h) in demoted {
            let now = if self.record_holds(c, id, *field, value).await? { id.to_string() } else { String::new() };
            self.cas(c, &h.key, &h.value, &now).await?;
        }
        Ok(())
    }

    /// The username and email key as stored, or None when there is no user.
    async fn stored_claims(&self, c: &mut Conn, id: u64) -> Result<Option<(String, String)>, StoreError> {
        let (u, e): (Option<String>, Option<String>) =
            redis::cmd("HMGET").arg(self.user_key(id, "user")).arg("username").arg("email").query_async(c).await?;
        Ok(u.map(|u| (u, email_key(&e.unwrap_or_default()))))
    }

    pub(super) async fn cluster_create_user(
        &self,
        c: &mut Conn,
        mut user: UserRecord,
    ) -> Result<UserRecord, StoreError> {
        let email = email_key(&user.email);
        // Claimed for "user 0" (no such user) first, so that a name taken
        // costs no id: as in Django, a refused registration leaves no gap.
        let mut held = vec![self.claim(c, UniqueField::Username, &user.username, 0).await?];
        let written = async {
            if !email.is_empty() {
                held.push(self.claim(c, UniqueField::Email, &email, 0).await?);
            }
            let id: u64 = c.incr(format!("{}:next_user_id", self.prefix), 1).await?;
            // The claims name the id before its record exists: were this
            // process to die after writing it, readers would find the user.
            for h in &mut held {
                let named = format!("p:{id}:{}", now_ms());
                if !self.cas(c, &h.key, &h.value, &named).await? {
                    return Err(StoreError::Unavailable(format!("claim {} was taken over meanwhile", h.key)));
                }
                h.value = named;
            }
            let created: i64 = call(&scripts::CLUSTER_CREATE_USER)
                .key(self.user_key(id, "user"))
                .args(user_fields(&user))
                .run(c)
                .await?;
            if created != 1 {
                return Err(StoreError::Corrupt(format!("user {id} existed before its id was reserved")));
            }
            Ok(id)
        }
        .await;
        match written {
            Ok(id) => {
                self.commit(c, &held, id).await;
                user.id = id;
                Ok(user)
            }
            Err(e) => {
                self.release(c, &held).await;
                Err(e)
            }
        }
    }

    pub(super) async fn cluster_update_user(
        &self,
        c: &mut Conn,
        id: u64,
        update: &UserUpdate,
    ) -> Result<Option<UserRecord>, StoreError> {
        let mut fields: Vec<String> = update.fields().into_iter().flat_map(|(f, v)| [f.to_owned(), v]).collect();
        if let Some(h) = &update.if_password_hash {
            fields.extend(["if_password_hash".to_owned(), h.clone()]);
        }
        let write = |check: bool, old: &(String, String)| {
            call(&scripts::CLUSTER_UPDATE_USER)
                .key(self.user_key(id, "user"))
                .arg(if check { "1" } else { "0" })
                .arg(&old.0)
                .arg(&old.1)
                .args(fields.iter())
        };
        if update.username.is_none() && update.email.is_none() {
            // No claim moves: one script in the user's slot.
            return user_or_code(id, write(false, &Default::default()).run(c).await?);
        }
        for _ in 0..ATTEMPTS {
            let Some(old) = self.stored_claims(c, id).await? else { return Ok(None) };
            let new_username = update.username.as_deref().filter(|u| *u != old.0);
            let new_email = update.email.as_deref().map(email_key).filter(|e| *e != old.1);
            let mut held = Vec::new();
            let claimed = async {
                if let Some(u) = new_username {
                    held.push(self.claim(c, UniqueField::Username, u, id).await?);
                }
                if let Some(e) = new_email.as_deref().filter(|e| !e.is_empty()) {
                    held.push(self.claim(c, UniqueField::Email, e, id).await?);
                }
                Ok::<_, StoreError>(())
            }
            .await;
            if let Err(e) = claimed {
                self.release(c, &held).await;
                return Err(e);
            }
            let mut demoted = Vec::new();
            let leaving = [
                new_username.map(|_| (UniqueField::Username, old.0.clone())),
                new_email.as_ref().map(|_| (UniqueField::Email, old.1.clone())).filter(|(_, e)| !e.is_empty()),
            ];
            for (field, value) in leaving.into_iter().flatten() {
                if let Some(h) = self.demote(c, field, &value, id).await? {
                    demoted.push((field, value, h));
                }
            }
            let answer: redis::Value = write(true, &old).run(c).await?;
            match answer {
                redis::Value::Int(-5) => {
                    // Renamed meanwhile by another request: start again from the record as stored.
                    self.release(c, &held).await;
                    self.restore(c, &demoted, id).await?;
                    continue;
                }
                redis::Value::Int(code) => {
                    self.release(c, &held).await;
                    self.restore(c, &demoted, id).await?;
                    return user_or_code(id, redis::Value::Int(code));
                }
                v => {
                    self.commit(c, &held, id).await;
                    let gone: Vec<Held> = demoted.into_iter().map(|(_, _, h)| h).collect();
                    self.release(c, &gone).await;
                    return user_or_code(id, v);
                }
            }
        }
        Err(StoreError::Changed)
    }

    pub(super) async fn cluster_delete_user(
        &self,
        c: &mut Conn,
        id: u64,
        if_password_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        for _ in 0..ATTEMPTS {
            let Some(old) = self.stored_claims(c, id).await? else { return Ok(false) };
            let mut demoted = Vec::new();
            for (field, value) in [(UniqueField::Username, &old.0), (UniqueField::Email, &old.1)] {
                if value.is_empty() {
                    continue;
                }
                if let Some(h) = self.demote(c, field, value, id).await? {
                    demoted.push((field, value.clone(), h));
                }
            }
            let mut script = call(&scripts::CLUSTER_DELETE_USER)
                .key(self.user_key(id, "user"))
                .key(self.user_key(id, "tokens"))
                .key(self.user_key(id, "slots"))
                .arg(&old.0)
                .arg(&old.1)
                .arg(&self.prefix)
                .arg(id)
                .arg(if_password_hash.unwrap_or_default());
            for p in Purpose::ALL {
                script = script.key(self.user_key(id, &format!("ot:{}", p.as_str())));
            }
            let answer: redis::Value = script.run(c).await?;
            let gone: Vec<Held> =
                demoted.iter().map(|(_, _, h)| Held { key: h.key.clone(), value: h.value.clone() }).collect();
            match answer {
                redis::Value::Int(-5) => {
                    self.restore(c, &demoted, id).await?;
                    continue;
                }
                redis::Value::Int(-4) => {
                    // The password changed since the deletion was authorised: nothing deleted.
                    self.restore(c, &demoted, id).await?;
                    return Err(StoreError::Changed);
                }
                redis::Value::Int(_) => {
                    self.release(c, &gone).await;
                    return Ok(false);
                }
                v => {
                    let sets: Vec<Vec<String>> =
                        redis::from_redis_value(&v).map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?;
                    let mut sets = sets.into_iter();
                    let tokens = sets.next().unwrap_or_default();
                    let mut keys: Vec<String> = tokens.iter().map(|d| self.token_key(d)).collect();
                    for (p, digests) in Purpose::ALL.into_iter().zip(sets) {
                        keys.extend(digests.iter().map(|d| self.one_time_key(p, d)));
                    }
                    for key in keys {
                        c.del::<_, ()>(key).await?;
                    }
                    self.release(c, &gone).await;
                    return Ok(true);
                }
            }
        }
        Err(StoreError::Changed)
    }
}
