//! The Redis store's lockout counters, bans and throttle histories, the same
//! on one server and on a Cluster: each operation is one Lua script over the
//! keys of one subject, which share a hash tag (`{lk:<subject>}`), so it
//! stays in one slot and atomic.
//!
//! Keys: `<prefix>:{lk:<subject>}:n` (attempts counted; TTL the window),
//! `<prefix>:{lk:<subject>}:ban` (`p` provisional or `f` final; TTL the ban), `<prefix>:thr:<key>` (a
//! sorted set of request times; TTL the throttle's window).

use std::time::Duration;

use super::scripts::{call, Lua};
use super::{RedisStore, StoreError};
use crate::store::{AttemptEnd, AttemptStart, ThrottleHit};

static BEGIN_ATTEMPT: Lua = Lua::new(
    r#"
-- KEYS: count, ban. ARGV: limit, window seconds, ban seconds.
-- A provisional ban ('p') is settled within one hash: it answers a 1 s wait.
local ban = redis.call('GET', KEYS[2])
if ban then
  if ban == 'p' then return {0, 1000} end
  return {0, math.max(redis.call('PTTL', KEYS[2]), 1)}
end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], 'p', 'EX', ARGV[3])
  return {1, 1}
end
return {1, 0}
"#,
);

static END_ATTEMPT: Lua = Lua::new(
    r#"
-- KEYS: count, ban. ARGV: 'failed' | 'forgiven' | 'reset', last ('1' | '0'), ban seconds.
if ARGV[1] == 'failed' then
  if ARGV[2] == '1' then
    redis.call('SET', KEYS[2], 'f', 'EX', ARGV[3])
    redis.call('DEL', KEYS[1])
  end
  return 1
end
if ARGV[1] == 'reset' then
  redis.call('DEL', KEYS[1])
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
end
if ARGV[2] == '1' then redis.call('DEL', KEYS[2]) end
return 1
"#,
);

static FIND_LOCKOUT: Lua = Lua::new(
    r#"
-- KEYS: ban. A provisional ban is an attempt in flight, not a lockout: 0.
if redis.call('GET', KEYS[1]) == 'f' then return redis.call('PTTL', KEYS[1]) end
return 0
"#,
);

static DELETE_LOCKOUT: Lua = Lua::new(
    r#"
-- KEYS: count, ban. Returns 1 if a ban was lifted.
local banned = redis.call('EXISTS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return banned
"#,
);

static THROTTLE_HIT: Lua = Lua::new(
    r#"
-- KEYS: history. ARGV: limit, window milliseconds, unique member.
-- The server's clock, so replicas with skewed clocks share one window.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, n, now - tonumber(oldest[2])}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, n + 1, 0}
"#,
);

impl RedisStore {
    fn lockout_keys(&self, subject: &str) -> (String, String) {
        let base = format!("{}:{{lk:{subject}}}", self.prefix);
        (format!("{base}:n"), format!("{base}:ban"))
    }

    pub(super) async fn begin_attempt_impl(
        &self,
        subject: &str,
        limit: u32,
        window: Duration,
        ban: Duration,
    ) -> Result<AttemptStart, StoreError> {
        let (count, ban_key) = self.lockout_keys(subject);
        let script =
            call(&BEGIN_ATTEMPT).key(count).key(ban_key).arg(limit).arg(super::secs(window)).arg(super::secs(ban));
        let (allowed, value): (i64, i64) = self.op(async { Ok(script.run(&mut self.conn().await?).await?) }).await?;
        Ok(if allowed == 0 {
            AttemptStart::Locked { retry_after: Duration::from_millis(value.max(1) as u64) }
        } else {
            AttemptStart::Allowed { last: value == 1 }
        })
    }

    pub(super) async fn end_attempt_impl(
        &self,
        subject: &str,
        end: AttemptEnd,
        last: bool,
        ban: Duration,
    ) -> Result<(), StoreError> {
        let (count, ban_key) = self.lockout_keys(subject);
        let script = call(&END_ATTEMPT)
            .key(count)
            .key(ban_key)
            .arg(end.as_str())
            .arg(if last { "1" } else { "0" })
            .arg(super::secs(ban));
        self.op(async { Ok(script.run::<i64>(&mut self.conn().await?).await.map(drop)?) }).await
    }

    pub(super) async fn find_lockout_impl(&self, subject: &str) -> Result<Option<Duration>, StoreError> {
        let (_, ban_key) = self.lockout_keys(subject);
        let script = call(&FIND_LOCKOUT).key(ban_key);
        let left: i64 = self.op(async { Ok(script.run(&mut self.conn().await?).await?) }).await?;
        Ok((left > 0).then(|| Duration::from_millis(left as u64)))
    }

    pub(super) async fn delete_lockout_impl(&self, subject: &str) -> Result<bool, StoreError> {
        let (count, ban_key) = self.lockout_keys(subject);
        let script = call(&DELETE_LOCKOUT).key(count).key(ban_key);
        let lifted: i64 = self.op(async { Ok(script.run(&mut self.conn().await?).await?) }).await?;
        Ok(lifted == 1)
    }

    pub(super) async fn throttle_hit_impl(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        member: &str,
    ) -> Result<ThrottleHit, StoreError> {
        let window_ms = window.as_millis().max(1) as u64;
        let script =
            call(&THROTTLE_HIT).key(format!("{}:thr:{key}", self.prefix)).arg(limit).arg(window_ms).arg(member);
        let (allowed, count, oldest_ms): (i64, i64, i64) =
            self.op(async { Ok(script.run(&mut self.conn().await?).await?) }).await?;
        Ok(if allowed == 1 {
            ThrottleHit::Allowed
        } else {
            ThrottleHit::Refused {
                count: count.max(0) as u64,
                oldest_age: Duration::from_millis(oldest_ms.max(0) as u64),
            }
        })
    }
}
