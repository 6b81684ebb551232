//! The Cluster key layout's reads and token indexes, and the claim values
//! the claim protocol (`claims`) writes.
//!
//! A claim (`pa:username:NAME`, `pa:email:KEY`) holds `ID` once committed,
//! `p:ID:MS` while a registration or rename is putting it in place (`p:0:MS`
//! before a registration has reserved its id) and
//! `l:ID:MS` while one is taking it away (MS: Unix milliseconds when it was
//! written). A committed claim is true by construction (it is committed only
//! after the user's record holds the name, and demoted before the record
//! changes); any other is true only while the record agrees, which readers check.

use std::time::Duration;

use redis::AsyncCommands;

use super::link::Conn;
use super::{call, scripts, RedisStore};
use crate::store::{email_key, OneTimeRecord, Purpose, StoreError, TokenKind, TokenRecord, UniqueField};

/// A claim's value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Claim {
    Committed(u64),
    /// Pending or leaving: (user id, written at, Unix ms).
    InFlux(u64, u128),
}

impl Claim {
    pub(super) fn parse(v: &str) -> Option<Claim> {
        if let Ok(id) = v.parse() {
            return Some(Claim::Committed(id));
        }
        let mut parts = v.splitn(3, ':');
        let (state, id, ms) = (parts.next()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
        matches!(state, "p" | "l").then_some(Claim::InFlux(id, ms))
    }

    pub(super) fn user_id(&self) -> u64 {
        match self {
            Claim::Committed(id) | Claim::InFlux(id, _) => *id,
        }
    }
}

pub(super) fn now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

impl RedisStore {
    /// Whether user `id`'s record, as stored now, holds `value` in `field`.
    pub(super) async fn record_holds(
        &self,
        c: &mut Conn,
        id: u64,
        field: UniqueField,
        value: &str,
    ) -> Result<bool, StoreError> {
        let name = match field {
            UniqueField::Username => "username",
            UniqueField::Email => "email",
        };
        if id == 0 {
            // A registration's claim before its id is reserved: no record yet.
            return Ok(false);
        }
        let stored: Option<String> = c.hget(self.user_key(id, "user"), name).await?;
        Ok(match (field, stored) {
            (_, None) => false,
            (UniqueField::Username, Some(s)) => s == value,
            (UniqueField::Email, Some(s)) => email_key(&s) == value,
        })
    }

    /// The user a claim names, when the claim is true: one round trip for a
    /// committed claim, two for one in flux.
    pub(super) async fn find_claim(
        &self,
        c: &mut Conn,
        field: UniqueField,
        value: &str,
    ) -> Result<Option<u64>, StoreError> {
        let v: Option<String> = c.get(self.claim_key(field, value)).await?;
        match v.as_deref().map(Claim::parse) {
            None => Ok(None),
            Some(None) => Err(StoreError::Corrupt(format!("claim {:?}", self.claim_key(field, value)))),
            Some(Some(Claim::Committed(id))) => Ok(Some(id)),
            Some(Some(Claim::InFlux(id, _))) => Ok(self.record_holds(c, id, field, value).await?.then_some(id)),
        }
    }

    /// Whether a claim whose value is `v` may be taken over: no user's record
    /// holds it, and it is committed (its user was lost, e.g. in a failover)
    /// or older than the grace period (the process writing it is gone).
    pub(super) async fn is_orphan(
        &self,
        c: &mut Conn,
        field: UniqueField,
        value: &str,
        v: &str,
    ) -> Result<bool, StoreError> {
        let Some(claim) = Claim::parse(v) else { return Ok(false) };
        if self.record_holds(c, claim.user_id(), field, value).await? {
            return Ok(false);
        }
        Ok(match claim {
            Claim::Committed(_) => true,
            Claim::InFlux(_, ms) => now_ms().saturating_sub(ms) > self.orphan_grace.as_millis(),
        })
    }

    /// Writes a token (or one-time token) key and lists its digest in the user's set.
    /// On one server, atomically; on a Cluster (two slots) the digest is
    /// listed first, so no token ever exists that "revoke all" cannot find.
    pub(super) async fn add_indexed(
        &self,
        c: &mut Conn,
        key: &str,
        value: &str,
        set: &str,
        digest: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let ttl = super::secs(ttl);
        let mut index = redis::pipe();
        // The set outlives no token it lists by more than one token lifetime.
        index.atomic().sadd(set, digest).ignore().expire(set, ttl as i64).ignore();
        if self.cluster {
            index.query_async::<()>(c).await?;
            c.set_ex::<_, _, ()>(key, value, ttl).await?;
        } else {
            index.set_ex(key, value, ttl).ignore().query_async::<()>(c).await?;
        }
        Ok(())
    }

    /// An auth token derived from a slot's value: listed in the user's set
    /// while the slot still holds the value (one script, the user's slot), then
    /// written with the slot's remaining lifetime (kept if it exists), then
    /// the slot checked again: a logout that ended the slot in between makes
    /// this login give up the token (false) and claim a new one.
    pub(super) async fn cluster_create_slot_token(
        &self,
        c: &mut Conn,
        digest: &str,
        record: TokenRecord,
        slot_name: &str,
        slot_value: &str,
    ) -> Result<bool, StoreError> {
        let slot = self.user_key(record.user_id, &format!("slot:{slot_name}"));
        let ttl: i64 = call(&scripts::CLUSTER_SLOT_TOKEN_INDEX)
            .key(slot.clone())
            .key(self.user_key(record.user_id, "tokens"))
            .arg(slot_value)
            .arg(digest)
            .run(c)
            .await?;
        if ttl <= 0 {
            return Ok(false);
        }
        let key = self.token_key(digest);
        let value = format!("{}:{}", record.user_id, record.kind.as_str());
        redis::cmd("SET").arg(&key).arg(value).arg("PX").arg(ttl).arg("NX").query_async::<()>(c).await?;
        if c.get::<_, Option<String>>(&slot).await?.as_deref() != Some(slot_value) {
            c.del::<_, ()>(&key).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// A one-time token: listed, written, then of the user's live tokens for
    /// the purpose only the newest `keep` are kept (the others, nearest
    /// expiry, deleted one key at a time; lapsed digests leave the set).
    pub(super) async fn cluster_create_one_time(
        &self,
        c: &mut Conn,
        purpose: Purpose,
        digest: &str,
        record: &OneTimeRecord,
        ttl: Duration,
        keep: usize,
    ) -> Result<(), StoreError> {
        let value = format!("{}:{}", record.user_id, record.stamp);
        let set = self.user_key(record.user_id, &format!("ot:{}", purpose.as_str()));
        let own_key = self.one_time_key(purpose, digest);
        self.add_indexed(c, &own_key, &value, &set, digest, ttl).await?;
        // Expiries are compared as absolute times (PEXPIRETIME), never as
        // remaining lifetimes: each key is read at its own moment, possibly
        // on its own node, and two lifetimes read a millisecond apart can tie
        // (or invert) for tokens whose expiries differ by one, so the sort
        // below would evict by digest order rather than by age.
        let mut live = Vec::new();
        for d in c.smembers::<_, Vec<String>>(&set).await? {
            if d == digest {
                continue;
            }
            let at: i64 = redis::cmd("PEXPIRETIME").arg(self.one_time_key(purpose, &d)).query_async(c).await?;
            if at > 0 {
                live.push((at, d));
            } else {
                c.srem::<_, _, ()>(&set, &d).await?;
            }
        }
        // As on one server (`CREATE_ONE_TIME`): the new token ends after every
        // other, so a token made in the same millisecond as the one before is
        // not left to chance. `GT`: moved only if that is later than its own.
        if let Some(latest) = live.iter().map(|(t, _)| *t).max() {
            redis::cmd("PEXPIREAT").arg(&own_key).arg(latest + 1).arg("GT").query_async::<()>(c).await?;
        }
        live.sort();
        // The new token is the newest: only others make room for it.
        let excess = (live.len() + 1).saturating_sub(keep.max(1));
        for (_, d) in live.into_iter().take(excess) {
            c.del::<_, ()>(self.one_time_key(purpose, &d)).await?;
            c.srem::<_, _, ()>(&set, &d).await?;
        }
        Ok(())
    }

    /// Revokes a user's tokens one key at a time (each in its own slot).
    /// A token created meanwhile may survive: it came after the revocation.
    pub(super) async fn cluster_delete_user_tokens(
        &self,
        c: &mut Conn,
        user_id: u64,
        kind: Option<TokenKind>,
    ) -> Result<u64, StoreError> {
        let set = self.user_key(user_id, "tokens");
        let digests: Vec<String> = c.smembers(&set).await?;
        let mut n = 0;
        for d in digests {
            let key = self.token_key(&d);
            let v: Option<String> = c.get(&key).await?;
            let matches = match (&v, kind) {
                (None, _) => true,
                (Some(_), None) => true,
                (Some(v), Some(k)) => v.ends_with(&format!(":{}", k.as_str())),
            };
            if matches {
                if v.is_some() {
                    n += c.del::<_, u64>(&key).await?;
                }
                c.srem::<_, _, ()>(&set, &d).await?;
            }
        }
        Ok(n)
    }

    /// Deletes every key a user's digest set names (`key_prefix` + digest), then the set.
    pub(super) async fn cluster_delete_indexed(
        &self,
        c: &mut Conn,
        set: &str,
        key_prefix: &str,
    ) -> Result<(), StoreError> {
        let digests: Vec<String> = c.smembers(set).await?;
        for d in digests {
            c.del::<_, ()>(format!("{key_prefix}{d}")).await?;
        }
        Ok(c.del::<_, ()>(set).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::Claim;

    #[test]
    fn claims_parse() {
        assert_eq!(Claim::parse("42"), Some(Claim::Committed(42)));
        assert_eq!(Claim::parse("p:42:1700000000000"), Some(Claim::InFlux(42, 1_700_000_000_000)));
        assert_eq!(Claim::parse("l:7:1"), Some(Claim::InFlux(7, 1)));
        assert_eq!(Claim::parse("x:7:1"), None);
        assert_eq!(Claim::parse("p:7"), None);
    }
}
