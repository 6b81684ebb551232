//! Redis store, on one server or on a Cluster, over one shared link
//! (`link`: reconnects, fail-fast while down) that every request uses.
//! Every operation runs under one deadline (`[store] timeout_ms`) that covers
//! all of it: waiting for a connection, each round trip, script loading.
//!
//! Two key layouts (see README "Redis key layout"): on one server, multi-key
//! invariants (unique username/email, single redemption) are Lua scripts or
//! single atomic commands (`single`); on a Cluster, where a script may only
//! touch keys of one slot, a user's own keys share the `{u:ID}` hash tag and
//! the username/email claims, which cannot, follow a claim protocol
//! (`claims`, `cluster`). Both pass the same conformance suite.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::{AsyncCommands, RedisError};

mod claims;
mod cluster;
mod driver;
mod import;
mod keys;
mod limits;
mod link;
mod mailq;
mod records;
mod scripts;
mod single;

use super::direct::Direct;
use super::{
    AttemptEnd, AttemptStart, ClaimedMail, ImportOutcome, MailStatus, OneTimeRecord, Purpose, Settle, Store,
    StoreError, ThrottleHit, TokenKind, TokenRecord, UniqueField, UserRecord, UserUpdate,
};
use crate::deadline::Deadlines;
use link::{cluster_nodes, Conn, Link};
use records::{conflict, parse_one_time, user_fields, user_from_reply};
use scripts::call;

pub struct RedisStore {
    link: Link,
    prefix: String,
    /// Bound on one whole store operation, so a stalled Redis fails requests instead of hanging them.
    deadlines: Deadlines,
    /// Which key layout: the Cluster one (claim protocol) or the single-server one (scripts).
    cluster: bool,
    /// How old a claim that no user backs must be before another may take it
    /// over: longer than any claim protocol can run (it runs under `timeout`).
    orphan_grace: Duration,
}

impl From<RedisError> for StoreError {
    fn from(e: RedisError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

fn secs(ttl: Duration) -> u64 {
    ttl.as_secs().max(1)
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Self, StoreError> {
        Self::connect_with_ca(url, prefix, timeout, None).await
    }

    /// `connect`; with `ca_pem`, a `rediss://` server is verified against that CA (a private one).
    pub async fn connect_with_ca(
        url: &str,
        prefix: &str,
        timeout: Duration,
        ca_pem: Option<Vec<u8>>,
    ) -> Result<Self, StoreError> {
        if cluster_nodes(url).is_some() && prefix.contains(['{', '}']) {
            return Err(StoreError::Unavailable(
                "store.key_prefix must not contain '{' or '}' on a Cluster (they pick the slot)".into(),
            ));
        }
        let link = tokio::time::timeout(timeout * 2, Link::open(url, timeout, ca_pem))
            .await
            .map_err(|_| StoreError::Unavailable("connect timed out".into()))??;
        let cluster = matches!(link, Link::Cluster(_));
        let orphan_grace = (timeout * 3).max(Duration::from_secs(30));
        Ok(Self { link, prefix: prefix.to_owned(), deadlines: Deadlines::new(timeout), cluster, orphan_grace })
    }

    /// Runs one whole store operation under the deadline.
    async fn op<T>(&self, fut: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        match self.deadlines.run(fut).await {
            Some(r) => r,
            None => {
                self.link.timed_out();
                Err(StoreError::Unavailable("store operation timed out".into()))
            }
        }
    }

    async fn conn(&self) -> Result<Conn, StoreError> {
        Ok(self.link.conn().await?)
    }

    // The token check's reads, callable without the trait (`store::direct`).

    pub(super) async fn read_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError> {
        self.op(async {
            let reply: redis::Value = self.conn().await?.hgetall(self.user_key(id, "user")).await?;
            user_from_reply(id, reply)
        })
        .await
    }

    pub(super) async fn read_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        let v: Option<String> = self.op(async { Ok(self.conn().await?.get(self.token_key(digest)).await?) }).await?;
        let Some(v) = v else { return Ok(None) };
        let (uid, kind) = v.split_once(':').ok_or_else(|| StoreError::Corrupt("token record".into()))?;
        let user_id = uid.parse().map_err(|_| StoreError::Corrupt("token user id".into()))?;
        let kind = TokenKind::parse(kind).ok_or_else(|| StoreError::Corrupt("token kind".into()))?;
        Ok(Some(TokenRecord { user_id, kind }))
    }

    pub(super) async fn read_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let key = format!("{}:bl:{jti}", self.prefix);
        self.op(async { Ok(self.conn().await?.exists(key).await?) }).await
    }
}

#[async_trait]
impl Store for RedisStore {
    fn direct(self: Arc<Self>) -> Option<Direct> {
        Some(Direct::Redis(self))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.op(async {
            match self.conn().await? {
                // Any node answering is a reachable store: a master that is down
                // fails only its slots, and failing every replica's readiness
                // over it would turn a partial outage into a whole one.
                Conn::Cluster(mut c) => {
                    let random = redis::cluster_routing::RoutingInfo::SingleNode(
                        redis::cluster_routing::SingleNodeRoutingInfo::Random,
                    );
                    c.route_command(&redis::cmd("PING"), random).await.map(drop)?;
                }
                mut c => redis::cmd("PING").query_async::<String>(&mut c).await.map(drop)?,
            }
            Ok(())
        })
        .await
    }

    async fn create_user(&self, user: UserRecord) -> Result<UserRecord, StoreError> {
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.cluster_create_user(&mut c, user).await
            } else {
                self.single_create_user(&mut c, user).await
            }
        })
        .await
    }

    async fn import_user(&self, user: &UserRecord) -> Result<ImportOutcome, StoreError> {
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.cluster_import_user(&mut c, user).await
            } else {
                self.single_import_user(&mut c, user).await
            }
        })
        .await
    }

    async fn find_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError> {
        self.read_user(id).await
    }

    async fn find_user_id_by_username(&self, username: &str) -> Result<Option<u64>, StoreError> {
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.find_claim(&mut c, UniqueField::Username, username).await
            } else {
                Ok(c.get(self.username_key(username)).await?)
            }
        })
        .await
    }

    async fn find_user_id_by_email(&self, email_key: &str) -> Result<Option<u64>, StoreError> {
        if email_key.is_empty() {
            return Ok(None);
        }
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.find_claim(&mut c, UniqueField::Email, email_key).await
            } else {
                Ok(c.get(self.email_claim(email_key)).await?)
            }
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.list_users_after(0, usize::MAX).await
    }

    async fn list_users_after(&self, after: u64, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        self.list_users_after_impl(after, limit).await
    }

    async fn update_user(&self, id: u64, update: &UserUpdate) -> Result<Option<UserRecord>, StoreError> {
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.cluster_update_user(&mut c, id, update).await
            } else {
                self.single_update_user(&mut c, id, update).await
            }
        })
        .await
    }

    async fn delete_user(&self, id: u64, if_password_hash: Option<&str>) -> Result<bool, StoreError> {
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.cluster_delete_user(&mut c, id, if_password_hash).await
            } else {
                self.single_delete_user(&mut c, id, if_password_hash).await
            }
        })
        .await
    }

    async fn create_token(&self, digest: &str, record: TokenRecord, ttl: Duration) -> Result<(), StoreError> {
        let value = format!("{}:{}", record.user_id, record.kind.as_str());
        let (key, set) = (self.token_key(digest), self.user_key(record.user_id, "tokens"));
        self.op(async { self.add_indexed(&mut self.conn().await?, &key, &value, &set, digest, ttl).await }).await
    }

    async fn find_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.read_token(digest).await
    }

    async fn delete_token(&self, digest: &str) -> Result<bool, StoreError> {
        // The user's digest set is cleaned lazily by delete_user_tokens.
        let n: i64 = self.op(async { Ok(self.conn().await?.del(self.token_key(digest)).await?) }).await?;
        Ok(n == 1)
    }

    async fn delete_user_tokens(&self, user_id: u64, kind: Option<TokenKind>) -> Result<u64, StoreError> {
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.cluster_delete_user_tokens(&mut c, user_id, kind).await
            } else {
                self.single_delete_user_tokens(&mut c, user_id, kind).await
            }
        })
        .await
    }

    async fn claim_slot(&self, user_id: u64, name: &str, value: &str, ttl: Duration) -> Result<String, StoreError> {
        // Both keys carry the user's hash tag: one slot, so one script on a Cluster too.
        let script = call(&scripts::CLAIM_SLOT)
            .key(self.user_key(user_id, &format!("slot:{name}")))
            .key(self.user_key(user_id, "slots"))
            .arg(value)
            .arg(secs(ttl))
            .arg(name);
        self.op(async { Ok(script.run(&mut self.conn().await?).await?) }).await
    }

    async fn create_slot_token(
        &self,
        digest: &str,
        record: TokenRecord,
        slot_name: &str,
        slot_value: &str,
    ) -> Result<bool, StoreError> {
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                return self.cluster_create_slot_token(&mut c, digest, record, slot_name, slot_value).await;
            }
            let n: i64 = call(&scripts::CREATE_SLOT_TOKEN)
                .key(self.user_key(record.user_id, &format!("slot:{slot_name}")))
                .key(self.token_key(digest))
                .key(self.user_key(record.user_id, "tokens"))
                .arg(slot_value)
                .arg(format!("{}:{}", record.user_id, record.kind.as_str()))
                .arg(digest)
                .run(&mut c)
                .await?;
            Ok(n == 1)
        })
        .await
    }

    async fn find_slot(&self, user_id: u64, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.user_key(user_id, &format!("slot:{name}"));
        self.op(async { Ok(self.conn().await?.get(key).await?) }).await
    }

    async fn delete_slot(&self, user_id: u64, name: &str) -> Result<(), StoreError> {
        let key = self.user_key(user_id, &format!("slot:{name}"));
        self.op(async { Ok(self.conn().await?.del::<_, ()>(key).await?) }).await
    }

    async fn delete_slot_if(&self, user_id: u64, name: &str, value: &str) -> Result<bool, StoreError> {
        let script = call(&scripts::DELETE_SLOT_IF).key(self.user_key(user_id, &format!("slot:{name}"))).arg(value);
        let n: i64 = self.op(async { Ok(script.run(&mut self.conn().await?).await?) }).await?;
        Ok(n == 1)
    }

    async fn create_one_time(
        &self,
        purpose: Purpose,
        digest: &str,
        record: OneTimeRecord,
        ttl: Duration,
        keep: usize,
    ) -> Result<(), StoreError> {
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.cluster_create_one_time(&mut c, purpose, digest, &record, ttl, keep).await
            } else {
                let value = format!("{}:{}", record.user_id, record.stamp);
                let script = call(&scripts::CREATE_ONE_TIME)
                    .key(self.one_time_key(purpose, digest))
                    .key(self.user_key(record.user_id, &format!("ot:{}", purpose.as_str())))
                    .arg(&value)
                    .arg(secs(ttl))
                    .arg(digest)
                    .arg(keep.max(1))
                    .arg(format!("{}:ot:{}", self.prefix, purpose.as_str()));
                Ok(script.run::<i64>(&mut c).await.map(drop)?)
            }
        })
        .await
    }

    async fn find_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        let key = self.one_time_key(purpose, digest);
        parse_one_time(self.op(async { Ok(self.conn().await?.get(key).await?) }).await?)
    }

    async fn take_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        let key = self.one_time_key(purpose, digest);
        parse_one_time(self.op(async { Ok(self.conn().await?.get_del(key).await?) }).await?)
    }

    async fn delete_user_one_time(&self, user_id: u64, purpose: Purpose) -> Result<(), StoreError> {
        let set = self.user_key(user_id, &format!("ot:{}", purpose.as_str()));
        let prefix = format!("{}:ot:{}:", self.prefix, purpose.as_str());
        self.op(async {
            let mut c = self.conn().await?;
            if self.cluster {
                self.cluster_delete_indexed(&mut c, &set, &prefix).await
            } else {
                Ok(call(&scripts::DELETE_INDEXED).key(set.clone()).arg(&prefix).run::<i64>(&mut c).await.map(drop)?)
            }
        })
        .await
    }

    async fn blacklist_jti(&self, jti: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut set = redis::cmd("SET");
        set.arg(format!("{}:bl:{jti}", self.prefix)).arg("1").arg("NX").arg("EX").arg(secs(ttl));
        let done: Option<String> = self.op(async { Ok(set.query_async(&mut self.conn().await?).await?) }).await?;
        Ok(done.is_some())
    }

    async fn is_jti_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        self.read_blacklisted(jti).await
    }

    async fn enqueue_mail(&self, id: &str, payload: &str) -> Result<(), StoreError> {
        self.mq_enqueue(id, payload).await
    }

    async fn claim_mail(&self, lease: Duration, lease_id: &str) -> Result<Option<ClaimedMail>, StoreError> {
        self.mq_claim(lease, lease_id).await
    }

    async fn settle_mail(
        &self,
        id: &str,
        lease_id: &str,
        outcome: &Settle,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        self.mq_settle(id, lease_id, outcome, keep).await
    }

    async fn find_mail_status(&self, ids: &[String]) -> Result<Vec<Option<MailStatus>>, StoreError> {
        self.mq_status(ids).await
    }

    async fn mail_queue_depth(&self) -> Result<u64, StoreError> {
        self.mq_depth().await
    }

    async fn begin_attempt(
        &self,
        subject: &str,
        limit: u32,
        window: Duration,
        ban: Duration,
    ) -> Result<AttemptStart, StoreError> {
        self.begin_attempt_impl(subject, limit, window, ban).await
    }

    async fn end_attempt(&self, subject: &str, end: AttemptEnd, last: bool, ban: Duration) -> Result<(), StoreError> {
        self.end_attempt_impl(subject, end, last, ban).await
    }

    async fn find_lockout(&self, subject: &str) -> Result<Option<Duration>, StoreError> {
        self.find_lockout_impl(subject).await
    }

    async fn delete_lockout(&self, subject: &str) -> Result<bool, StoreError> {
        self.delete_lockout_impl(subject).await
    }

    async fn throttle_hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        member: &str,
    ) -> Result<ThrottleHit, StoreError> {
        self.throttle_hit_impl(key, limit, window, member).await
    }
}
