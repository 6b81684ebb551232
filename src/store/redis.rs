//! Redis store: one multiplexed, auto-reconnecting connection
//! (`ConnectionManager`) shared by every request. Multi-key invariants
//! (unique username/email, single redemption) are Lua scripts or single
//! atomic commands, so concurrent gateways cannot race each other.
//!
//! Key layout (prefix `pa` by default; `{u:ID}` is a hash tag, so one user's
//! own keys share a Cluster slot): see README "Redis key layout".

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

mod limits;
mod mailq;
mod scripts;

use super::{
    AttemptEnd, AttemptStart, ClaimedMail, MailStatus, OneTimeRecord, Purpose, Settle, Store, StoreError, ThrottleHit,
    TokenKind, TokenRecord, UniqueField, UserRecord, UserUpdate,
};
use scripts::{
    CLAIM_SLOT, CREATE_ONE_TIME, CREATE_SLOT_TOKEN, CREATE_USER, DELETE_SLOT_IF, DELETE_USER, DELETE_USER_ONE_TIME,
    DELETE_USER_TOKENS, UPDATE_USER,
};

pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    /// Bound on one round trip, so a stalled Redis fails requests instead of hanging them.
    timeout: Duration,
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
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
        let client = match ca_pem {
            None => redis::Client::open(url),
            Some(root_cert) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates { client_tls: None, root_cert: Some(root_cert) },
            ),
        }
        .map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(2);
        let conn = tokio::time::timeout(timeout * 2, ConnectionManager::new_with_config(client, config))
            .await
            .map_err(|_| StoreError::Unavailable("connect timed out".into()))?
            .map_err(unavailable)?;
        Ok(Self { conn, prefix: prefix.to_owned(), timeout })
    }

    fn user_key(&self, id: u64, what: &str) -> String {
        format!("{}:{{u:{id}}}:{what}", self.prefix)
    }

    fn username_key(&self, username: &str) -> String {
        format!("{}:username:{username}", self.prefix)
    }

    fn email_claim(&self, key: &str) -> String {
        format!("{}:email:{key}", self.prefix)
    }

    fn token_key(&self, digest: &str) -> String {
        format!("{}:tok:{digest}", self.prefix)
    }

    fn one_time_key(&self, purpose: Purpose, digest: &str) -> String {
        format!("{}:ot:{}:{digest}", self.prefix, purpose.as_str())
    }

    async fn run<T>(&self, fut: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| StoreError::Unavailable("store operation timed out".into()))?
            .map_err(unavailable)
    }
}

fn user_fields(u: &UserRecord) -> Vec<String> {
    vec![
        "username".into(),
        u.username.clone(),
        "email".into(),
        u.email.clone(),
        "password_hash".into(),
        u.password_hash.clone(),
        "is_active".into(),
        (u.is_active as u8).to_string(),
        "email_verified".into(),
        (u.email_verified as u8).to_string(),
        "is_staff".into(),
        (u.is_staff as u8).to_string(),
        "date_joined".into(),
        u.date_joined.to_string(),
        "last_login".into(),
        u.last_login.map(|t| t.to_string()).unwrap_or_default(),
        "tokens_revoked_at".into(),
        u.tokens_revoked_at.map(|t| t.to_string()).unwrap_or_default(),
    ]
}

fn parse_user(id: u64, mut h: HashMap<String, String>) -> Result<UserRecord, StoreError> {
    // Optional: records written before the field existed lack it.
    let revoked = h.remove("tokens_revoked_at").filter(|s| !s.is_empty());
    let h_is_staff = h.remove("is_staff").unwrap_or_default();
    let mut take = |k: &str| h.remove(k).ok_or_else(|| StoreError::Corrupt(format!("user {id}: no {k}")));
    let num = |s: String| s.parse::<i64>().map_err(|_| StoreError::Corrupt(format!("user {id}: bad number")));
    Ok(UserRecord {
        id,
        username: take("username")?,
        email: take("email")?,
        password_hash: take("password_hash")?,
        is_active: take("is_active")? == "1",
        email_verified: take("email_verified")? == "1",
        // Records written before the field existed are not staff.
        is_staff: h_is_staff == "1",
        date_joined: num(take("date_joined")?)?,
        last_login: match take("last_login")? {
            s if s.is_empty() => None,
            s => Some(num(s)?),
        },
        tokens_revoked_at: revoked.map(num).transpose()?,
    })
}

fn parse_one_time(v: Option<String>) -> Result<Option<OneTimeRecord>, StoreError> {
    let Some(v) = v else { return Ok(None) };
    let (uid, stamp) = v.split_once(':').ok_or_else(|| StoreError::Corrupt("one-time record".into()))?;
    let user_id = uid.parse().map_err(|_| StoreError::Corrupt("one-time user id".into()))?;
    Ok(Some(OneTimeRecord { user_id, stamp: stamp.to_owned() }))
}

fn conflict(code: i64) -> StoreError {
    match code {
        -1 => StoreError::Conflict(UniqueField::Username),
        _ => StoreError::Conflict(UniqueField::Email),
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        self.run(redis::cmd("PING").query_async::<String>(&mut c)).await.map(drop)
    }

    async fn create_user(&self, mut user: UserRecord) -> Result<UserRecord, StoreError> {
        let mut c = self.conn.clone();
        let email = super::email_key(&user.email);
        let script = Script::new(CREATE_USER);
        let mut inv = script.prepare_invoke();
        inv.key(self.username_key(&user.username))
            .key(self.email_claim(&email))
            .key(format!("{}:next_user_id", self.prefix))
            .arg(&self.prefix)
            .arg(if email.is_empty() { "0" } else { "1" });
        for f in user_fields(&user) {
            inv.arg(f);
        }
        let id: i64 = self.run(inv.invoke_async(&mut c)).await?;
        if id < 0 {
            return Err(conflict(id));
        }
        user.id = id as u64;
        Ok(user)
    }

    async fn find_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError> {
        let mut c = self.conn.clone();
        let h: HashMap<String, String> = self.run(c.hgetall(self.user_key(id, "user"))).await?;
        if h.is_empty() {
            return Ok(None);
        }
        parse_user(id, h).map(Some)
    }

    async fn find_user_id_by_username(&self, username: &str) -> Result<Option<u64>, StoreError> {
        let mut c = self.conn.clone();
        self.run(c.get(self.username_key(username))).await
    }

    async fn find_user_id_by_email(&self, email_key: &str) -> Result<Option<u64>, StoreError> {
        if email_key.is_empty() {
            return Ok(None);
        }
        let mut c = self.conn.clone();
        self.run(c.get(self.email_claim(email_key))).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut c = self.conn.clone();
        let last: Option<u64> = self.run(c.get(format!("{}:next_user_id", self.prefix))).await?;
        let mut users = Vec::new();
        // Ids are never reused: read them all, in pipelined batches; deleted ones are empty hashes.
        let ids: Vec<u64> = (1..=last.unwrap_or(0)).collect();
        for batch in ids.chunks(500) {
            let mut pipe = redis::pipe();
            for id in batch {
                pipe.hgetall(self.user_key(*id, "user"));
            }
            let hashes: Vec<HashMap<String, String>> = self.run(pipe.query_async(&mut c)).await?;
            for (id, h) in batch.iter().zip(hashes) {
                if !h.is_empty() {
                    users.push(parse_user(*id, h)?);
                }
            }
        }
        Ok(users)
    }

    async fn update_user(&self, id: u64, update: &UserUpdate) -> Result<Option<UserRecord>, StoreError> {
        let mut c = self.conn.clone();
        let script = Script::new(UPDATE_USER);
        let mut inv = script.prepare_invoke();
        inv.key(self.user_key(id, "user")).arg(&self.prefix).arg(id);
        for (f, v) in update.fields() {
            inv.arg(f).arg(v);
        }
        if let Some(h) = &update.if_password_hash {
            inv.arg("if_password_hash").arg(h);
        }
        match self.run(inv.invoke_async::<redis::Value>(&mut c)).await? {
            redis::Value::Int(-3) => Ok(None),
            redis::Value::Int(-4) => Err(StoreError::Changed),
            redis::Value::Int(code) => Err(conflict(code)),
            v => {
                let h: HashMap<String, String> =
                    redis::from_redis_value(&v).map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?;
                parse_user(id, h).map(Some)
            }
        }
    }

    async fn delete_user(&self, id: u64, if_password_hash: Option<&str>) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let script = Script::new(DELETE_USER);
        let mut inv = script.prepare_invoke();
        inv.key(self.user_key(id, "user"))
            .key(self.user_key(id, "tokens"))
            .key(self.user_key(id, "slots"))
            .arg(&self.prefix)
            .arg(id);
        // ARGV[3]: the compare-and-set hash ('' for none); then one purpose per one-time set.
        inv.arg(if_password_hash.unwrap_or_default());
        for p in Purpose::ALL {
            inv.key(self.user_key(id, &format!("ot:{}", p.as_str()))).arg(p.as_str());
        }
        match self.run(inv.invoke_async::<i64>(&mut c)).await? {
            -4 => Err(StoreError::Changed),
            n => Ok(n == 1),
        }
    }

    async fn create_token(&self, digest: &str, record: TokenRecord, ttl: Duration) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let set = self.user_key(record.user_id, "tokens");
        let mut pipe = redis::pipe();
        pipe.atomic()
            .set_ex(self.token_key(digest), format!("{}:{}", record.user_id, record.kind.as_str()), secs(ttl))
            .ignore()
            .sadd(&set, digest)
            .ignore()
            // The set outlives no token it lists by more than one token lifetime.
            .expire(&set, secs(ttl) as i64)
            .ignore();
        self.run(pipe.query_async::<()>(&mut c)).await
    }

    async fn find_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        let mut c = self.conn.clone();
        let v: Option<String> = self.run(c.get(self.token_key(digest))).await?;
        let Some(v) = v else { return Ok(None) };
        let (uid, kind) = v.split_once(':').ok_or_else(|| StoreError::Corrupt("token record".into()))?;
        let user_id = uid.parse().map_err(|_| StoreError::Corrupt("token user id".into()))?;
        let kind = TokenKind::parse(kind).ok_or_else(|| StoreError::Corrupt("token kind".into()))?;
        Ok(Some(TokenRecord { user_id, kind }))
    }

    async fn delete_token(&self, digest: &str) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        // The user's digest set is cleaned lazily by DELETE_USER_TOKENS.
        let n: i64 = self.run(c.del(self.token_key(digest))).await?;
        Ok(n == 1)
    }

    async fn delete_user_tokens(&self, user_id: u64, kind: Option<TokenKind>) -> Result<u64, StoreError> {
        let mut c = self.conn.clone();
        let script = Script::new(DELETE_USER_TOKENS);
        let mut inv = script.prepare_invoke();
        inv.key(self.user_key(user_id, "tokens"))
            .arg(&self.prefix)
            .arg(kind.map(|k| format!(":{}", k.as_str())).unwrap_or_default());
        self.run(inv.invoke_async(&mut c)).await
    }

    async fn claim_slot(&self, user_id: u64, name: &str, value: &str, ttl: Duration) -> Result<String, StoreError> {
        let mut c = self.conn.clone();
        let script = Script::new(CLAIM_SLOT);
        let mut inv = script.prepare_invoke();
        inv.key(self.user_key(user_id, &format!("slot:{name}")))
            .key(self.user_key(user_id, "slots"))
            .arg(value)
            .arg(secs(ttl))
            .arg(name);
        self.run(inv.invoke_async(&mut c)).await
    }

    async fn create_slot_token(
        &self,
        digest: &str,
        record: TokenRecord,
        slot_name: &str,
        slot_value: &str,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let script = Script::new(CREATE_SLOT_TOKEN);
        let mut inv = script.prepare_invoke();
        inv.key(self.user_key(record.user_id, &format!("slot:{slot_name}")))
            .key(self.token_key(digest))
            .key(self.user_key(record.user_id, "tokens"))
            .arg(slot_value)
            .arg(format!("{}:{}", record.user_id, record.kind.as_str()))
            .arg(digest);
        let n: i64 = self.run(inv.invoke_async(&mut c)).await?;
        Ok(n == 1)
    }

    async fn find_slot(&self, user_id: u64, name: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        self.run(c.get(self.user_key(user_id, &format!("slot:{name}")))).await
    }

    async fn delete_slot(&self, user_id: u64, name: &str) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        self.run(c.del::<_, ()>(self.user_key(user_id, &format!("slot:{name}")))).await
    }

    async fn delete_slot_if(&self, user_id: u64, name: &str, value: &str) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let script = Script::new(DELETE_SLOT_IF);
        let mut inv = script.prepare_invoke();
        inv.key(self.user_key(user_id, &format!("slot:{name}"))).arg(value);
        let n: i64 = self.run(inv.invoke_async(&mut c)).await?;
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
        let mut c = self.conn.clone();
        let script = Script::new(CREATE_ONE_TIME);
        let mut inv = script.prepare_invoke();
        inv.key(self.one_time_key(purpose, digest))
            .key(self.user_key(record.user_id, &format!("ot:{}", purpose.as_str())))
            .arg(format!("{}:{}", record.user_id, record.stamp))
            .arg(secs(ttl))
            .arg(digest)
            .arg(keep.max(1))
            .arg(format!("{}:ot:{}", self.prefix, purpose.as_str()));
        self.run(inv.invoke_async::<i64>(&mut c)).await.map(drop)
    }

    async fn find_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        let mut c = self.conn.clone();
        let v: Option<String> = self.run(c.get(self.one_time_key(purpose, digest))).await?;
        parse_one_time(v)
    }

    async fn take_one_time(&self, purpose: Purpose, digest: &str) -> Result<Option<OneTimeRecord>, StoreError> {
        let mut c = self.conn.clone();
        let v: Option<String> = self.run(c.get_del(self.one_time_key(purpose, digest))).await?;
        parse_one_time(v)
    }

    async fn delete_user_one_time(&self, user_id: u64, purpose: Purpose) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let script = Script::new(DELETE_USER_ONE_TIME);
        let mut inv = script.prepare_invoke();
        inv.key(self.user_key(user_id, &format!("ot:{}", purpose.as_str()))).arg(format!(
            "{}:ot:{}",
            self.prefix,
            purpose.as_str()
        ));
        self.run(inv.invoke_async::<i64>(&mut c)).await.map(drop)
    }

    async fn blacklist_jti(&self, jti: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let set: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(format!("{}:bl:{jti}", self.prefix))
                    .arg("1")
                    .arg("NX")
                    .arg("EX")
                    .arg(secs(ttl))
                    .query_async(&mut c),
            )
            .await?;
        Ok(set.is_some())
    }

    async fn is_jti_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        self.run(c.exists(format!("{}:bl:{jti}", self.prefix))).await
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
}
