//! The Redis store's mail queue: the rules of `store::mailq` as Lua scripts.
//!
//! Keys (all under the hash tag `{mailq}`, so each script touches one Cluster slot):
//! - `<prefix>:{mailq}:due`: sorted set, id → the time (ms) the mail is due.
//!   A claim moves the mail to `now + lease`, so one sorted set is both the
//!   queue and the set of mails being sent: a sender that dies leaves its mail
//!   to come due again when the lease runs out.
//! - `<prefix>:{mailq}:m:<id>`: hash `payload, state, attempts, error,
//!   queued_at, lease`. No TTL while pending (nothing accepted is lost); once
//!   settled the payload is deleted and the hash expires after `keep`.
//!
//! Time is the Redis server's (`TIME`), so replicas with skewed clocks agree.

use std::time::Duration;

use super::scripts::{call, Lua};
use super::RedisStore;
use crate::store::{ClaimedMail, DeliveryState, MailStatus, Settle, StoreError};

/// A script whose body has `now` (ms, the server's clock) defined first.
macro_rules! timed {
    ($body:literal) => {
        Lua::new(concat!(
            "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
            $body
        ))
    };
}

static ENQUEUE: Lua = timed!(
    r#"
-- KEYS: due set, mail hash. ARGV: id, payload
redis.call('HSET', KEYS[2], 'payload', ARGV[2], 'state', 'queued', 'attempts', 0, 'queued_at', now)
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 1
"#
);

static CLAIM: Lua = timed!(
    r#"
-- KEYS: due set. ARGV: mail key prefix, lease ms, lease id
for _ = 1, 16 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
  if #ids == 0 then return false end
  local id = ids[1]
  local k = ARGV[1] .. id
  local payload = redis.call('HGET', k, 'payload')
  if payload then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    local attempts = redis.call('HINCRBY', k, 'attempts', 1)
    redis.call('HSET', k, 'state', 'sending', 'lease', ARGV[3])
    return {id, payload, attempts, redis.call('HGET', k, 'queued_at')}
  end
  -- A due entry without a record (deleted by hand): drop it and look again.
  redis.call('ZREM', KEYS[1], id)
end
return false
"#
);

static SETTLE: Lua = timed!(
    r#"
-- KEYS: due set, mail hash. ARGV: id, lease id, outcome (retry|sent|failed), delay ms, reason, keep secs
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], 'lease')
if ARGV[3] == 'retry' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
  redis.call('HSET', KEYS[2], 'state', 'retrying', 'error', ARGV[5])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], 'payload')
  redis.call('HSET', KEYS[2], 'state', ARGV[3], 'error', ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return 1
"#
);

impl RedisStore {
    fn due_key(&self) -> String {
        format!("{}:{{mailq}}:due", self.prefix)
    }

    fn mail_key_prefix(&self) -> String {
        format!("{}:{{mailq}}:m:", self.prefix)
    }

    pub(super) async fn mq_enqueue(&self, id: &str, payload: &str) -> Result<(), StoreError> {
        let script =
            call(&ENQUEUE).key(self.due_key()).key(format!("{}{id}", self.mail_key_prefix())).arg(id).arg(payload);
        self.op(async { Ok(script.run::<i64>(&mut self.conn().await?).await.map(drop)?) }).await
    }

    pub(super) async fn mq_claim(&self, lease: Duration, lease_id: &str) -> Result<Option<ClaimedMail>, StoreError> {
        let script =
            call(&CLAIM).key(self.due_key()).arg(self.mail_key_prefix()).arg(lease.as_millis() as u64).arg(lease_id);
        let v: Option<(String, String, u32, i64)> =
            self.op(async { Ok(script.run(&mut self.conn().await?).await?) }).await?;
        Ok(v.map(|(id, payload, attempts, queued_at_ms)| ClaimedMail { id, payload, attempts, queued_at_ms }))
    }

    pub(super) async fn mq_settle(
        &self,
        id: &str,
        lease_id: &str,
        outcome: &Settle,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        let (name, delay, reason) = match outcome {
            Settle::Sent => ("sent", 0, ""),
            Settle::Failed(r) => ("failed", 0, r.as_str()),
            Settle::Retry { after, reason } => ("retry", after.as_millis() as u64, reason.as_str()),
        };
        let script = call(&SETTLE)
            .key(self.due_key())
            .key(format!("{}{id}", self.mail_key_prefix()))
            .arg(id)
            .arg(lease_id)
            .arg(name)
            .arg(delay)
            .arg(reason)
            .arg(keep.as_secs().max(1));
        let n: i64 = self.op(async { Ok(script.run(&mut self.conn().await?).await?) }).await?;
        Ok(n == 1)
    }

    pub(super) async fn mq_status(&self, ids: &[String]) -> Result<Vec<Option<MailStatus>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hget(format!("{}{id}", self.mail_key_prefix()), &["state", "attempts", "error"]);
        }
        // Every mail key shares the `{mailq}` tag: one slot, so one pipeline on a Cluster too.
        let rows: Vec<(Option<String>, Option<u32>, Option<String>)> =
            self.op(async { Ok(pipe.query_async(&mut self.conn().await?).await?) }).await?;
        rows.into_iter()
            .map(|(state, attempts, error)| {
                let Some(state) = state else { return Ok(None) };
                let state =
                    DeliveryState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("mail state {state:?}")))?;
                Ok(Some(MailStatus { state, attempts: attempts.unwrap_or(0), error: error.filter(|e| !e.is_empty()) }))
            })
            .collect()
    }

    pub(super) async fn mq_depth(&self) -> Result<u64, StoreError> {
        let mut zcard = redis::cmd("ZCARD");
        zcard.arg(self.due_key());
        self.op(async { Ok(zcard.query_async(&mut self.conn().await?).await?) }).await
    }
}
