//! The Redis store's lockout counters, bans and throttle histories. Each
//! operation is one Lua script over the keys of one subject, which share a
//! hash tag (`{lk:<subject>}`), so it stays atomic on a Redis Cluster too.
//!
//! Keys: `<prefix>:{lk:<subject>}:n` (attempts counted; TTL the window),
//! `<prefix>:{lk:<subject>}:ban` (`p` provisional or `f` final; TTL the ban), `<prefix>:thr:<key>` (a
//! sorted set of request times; TTL the throttle's window).

use std::time::Duration;

use redis::Script;

use super::{RedisStore, StoreError};
use crate::store::{AttemptEnd, AttemptStart, ThrottleHit};

const BEGIN_ATTEMPT: &str = r#"
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
"#;

const END_ATTEMPT: &str = r#"
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
"#;

const THROTTLE_HIT: &str = r#"
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
"#;

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
        let mut c = self.conn.clone();
        let (count, ban_key) = self.lockout_keys(subject);
        let script = Script::new(BEGIN_ATTEMPT);
        let mut inv = script.prepare_invoke();
        inv.key(count).key(ban_key).arg(limit).arg(super::secs(window)).arg(super::secs(ban));
        let (allowed, value): (i64, i64) = self.run(inv.invoke_async(&mut c)).await?;
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
        let mut c = self.conn.clone();
        let (count, ban_key) = self.lockout_keys(subject);
        let script = Script::new(END_ATTEMPT);
        let mut inv = script.prepare_invoke();
        inv.key(count).key(ban_key).arg(end.as_str()).arg(if last { "1" } else { "0" }).arg(super::secs(ban));
        self.run(inv.invoke_async::<i64>(&mut c)).await.map(drop)
    }

    pub(super) async fn find_lockout_impl(&self, subject: &str) -> Result<Option<Duration>, StoreError> {
        let mut c = self.conn.clone();
        let (_, ban_key) = self.lockout_keys(subject);
        // A provisional ban is an attempt in flight, not a lockout.
        let script =
            Script::new("if redis.call('GET', KEYS[1]) == 'f' then return redis.call('PTTL', KEYS[1]) end return 0");
        let left: i64 = self.run(script.key(ban_key).invoke_async(&mut c)).await?;
        Ok((left > 0).then(|| Duration::from_millis(left as u64)))
    }

    pub(super) async fn delete_lockout_impl(&self, subject: &str) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let (count, ban_key) = self.lockout_keys(subject);
        // Both keys share the subject's hash tag: one slot, one command.
        let mut pipe = redis::pipe();
        pipe.atomic().exists(&ban_key).del(&[count, ban_key]).ignore();
        let (was_banned,): (bool,) = self.run(pipe.query_async(&mut c)).await?;
        Ok(was_banned)
    }

    pub(super) async fn throttle_hit_impl(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        member: &str,
    ) -> Result<ThrottleHit, StoreError> {
        let mut c = self.conn.clone();
        let script = Script::new(THROTTLE_HIT);
        let mut inv = script.prepare_invoke();
        let window_ms = window.as_millis().max(1) as u64;
        inv.key(format!("{}:thr:{key}", self.prefix)).arg(limit).arg(window_ms).arg(member);
        let (allowed, count, oldest_ms): (i64, i64, i64) = self.run(inv.invoke_async(&mut c)).await?;
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
