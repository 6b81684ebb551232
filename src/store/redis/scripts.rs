//! The Lua scripts behind the Redis store's multi-key invariants: each runs
//! atomically on the server, so concurrent gateways cannot interleave them.
//! The first group is the single-server layout's (they compute claim keys
//! inside the script, which one server allows); the second, the Cluster
//! layout's, touches only the keys it declares, all of one slot.

use std::sync::OnceLock;

use redis::FromRedisValue;

use super::link::Conn;

/// A script's source and its SHA-1 (what EVALSHA names), computed once.
pub(super) struct Lua {
    pub(super) src: &'static str,
    sha: OnceLock<String>,
}

impl Lua {
    pub(super) const fn new(src: &'static str) -> Self {
        Lua { src, sha: OnceLock::new() }
    }

    pub(super) fn sha(&self) -> &str {
        self.sha.get_or_init(|| redis::Script::new(self.src).get_hash().to_owned())
    }
}

/// A Lua script and its arguments, run as EVALSHA, falling back to EVAL when
/// the node has not seen it (a restarted or newly promoted one). Routed by
/// its first key, so on a Cluster every key of a call must share one slot.
pub(super) struct Call {
    lua: &'static Lua,
    keys: Vec<String>,
    args: Vec<String>,
}

pub(super) fn call(lua: &'static Lua) -> Call {
    Call { lua, keys: Vec::new(), args: Vec::new() }
}

impl Call {
    pub(super) fn key(mut self, k: String) -> Self {
        self.keys.push(k);
        self
    }

    pub(super) fn arg(mut self, a: impl ToString) -> Self {
        self.args.push(a.to_string());
        self
    }

    pub(super) fn args<S: ToString>(mut self, a: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(a.into_iter().map(|s| s.to_string()));
        self
    }

    pub(super) async fn run<T: FromRedisValue>(&self, c: &mut Conn) -> redis::RedisResult<T> {
        let build = |cmd: &str, body: &str| {
            let mut cmd = redis::cmd(cmd);
            cmd.arg(body).arg(self.keys.len()).arg(&self.keys).arg(&self.args);
            cmd
        };
        match build("EVALSHA", self.lua.sha()).query_async(c).await {
            Err(e) if e.kind() == redis::ErrorKind::NoScriptError => build("EVAL", self.lua.src).query_async(c).await,
            other => other,
        }
    }
}

pub(super) static CREATE_USER: Lua = Lua::new(
    r#"
-- KEYS: username claim, email claim, id counter. ARGV: prefix, has_email, field pairs...
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -2 end
local id = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[1], id)
if ARGV[2] == '1' then redis.call('SET', KEYS[2], id) end
redis.call('HSET', ARGV[1] .. ':{u:' .. id .. '}:user', unpack(ARGV, 3))
return id
"#,
);

pub(super) static UPDATE_USER: Lua = Lua::new(
    r#"
-- KEYS: user hash. ARGV: prefix, id, then field/value pairs to write
-- ('if_password_hash' is a compare-and-set condition, not a field).
-- Claims are found from the record as stored now, never from a caller's copy.
-- Email claims are lower-cased by string.lower: ASCII only, as email_key in Rust.
if redis.call('EXISTS', KEYS[1]) == 0 then return -3 end
local prefix, id = ARGV[1], ARGV[2]
local sets, new_username, new_email, cas = {}, nil, nil, nil
for i = 3, #ARGV, 2 do
  local f, v = ARGV[i], ARGV[i + 1]
  if f == 'if_password_hash' then cas = v else
    if f == 'username' then new_username = v end
    if f == 'email' then new_email = v end
    sets[#sets + 1] = f
    sets[#sets + 1] = v
  end
end
if cas and redis.call('HGET', KEYS[1], 'password_hash') ~= cas then return -4 end
local old_username = redis.call('HGET', KEYS[1], 'username')
local old_ek = string.lower(redis.call('HGET', KEYS[1], 'email') or '')
local new_ek = new_email and string.lower(new_email)
if new_username == old_username then new_username = nil end
if new_ek == old_ek then new_ek = nil end
if new_username and redis.call('EXISTS', prefix .. ':username:' .. new_username) == 1 then return -1 end
if new_ek and new_ek ~= '' and redis.call('EXISTS', prefix .. ':email:' .. new_ek) == 1 then return -2 end
if new_username then
  if redis.call('GET', prefix .. ':username:' .. old_username) == id then
    redis.call('DEL', prefix .. ':username:' .. old_username)
  end
  redis.call('SET', prefix .. ':username:' .. new_username, id)
end
if new_ek then
  if old_ek ~= '' and redis.call('GET', prefix .. ':email:' .. old_ek) == id then
    redis.call('DEL', prefix .. ':email:' .. old_ek)
  end
  if new_ek ~= '' then redis.call('SET', prefix .. ':email:' .. new_ek, id) end
end
if #sets > 0 then redis.call('HSET', KEYS[1], unpack(sets)) end
return redis.call('HGETALL', KEYS[1])
"#,
);

pub(super) static DELETE_USER: Lua = Lua::new(
    r#"
-- KEYS: user hash, token set, slot-name set, then one set of one-time digests per
-- purpose. ARGV: prefix, id, the password hash the deletion was authorised with
-- ('' for none), then the purposes' names (in KEYS order, from KEYS[4]).
-- The claims are those of the record as stored now.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'password_hash') ~= ARGV[3] then return -4 end
local prefix, id = ARGV[1], ARGV[2]
local username = redis.call('HGET', KEYS[1], 'username')
local ek = string.lower(redis.call('HGET', KEYS[1], 'email') or '')
for _, d in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', prefix .. ':tok:' .. d) end
for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do redis.call('DEL', prefix .. ':{u:' .. id .. '}:slot:' .. n) end
for i = 4, #KEYS do
  local purpose = ARGV[i]
  for _, d in ipairs(redis.call('SMEMBERS', KEYS[i])) do redis.call('DEL', prefix .. ':ot:' .. purpose .. ':' .. d) end
end
redis.call('DEL', unpack(KEYS))
if username and redis.call('GET', prefix .. ':username:' .. username) == id then
  redis.call('DEL', prefix .. ':username:' .. username)
end
if ek ~= '' and redis.call('GET', prefix .. ':email:' .. ek) == id then redis.call('DEL', prefix .. ':email:' .. ek) end
return 1
"#,
);

pub(super) static DELETE_USER_TOKENS: Lua = Lua::new(
    r#"
-- KEYS: token set. ARGV: prefix, kind filter ('' = all)
local n = 0
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. ':tok:' .. d
  local v = redis.call('GET', k)
  if v == false then
    redis.call('SREM', KEYS[1], d)
  elseif ARGV[2] == '' or string.sub(v, -string.len(ARGV[2])) == ARGV[2] then
    redis.call('DEL', k)
    redis.call('SREM', KEYS[1], d)
    n = n + 1
  end
end
return n
"#,
);

pub(super) static CLAIM_SLOT: Lua = Lua::new(
    r#"
-- KEYS: slot, slot-name set. ARGV: value, ttl seconds, name
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return ARGV[1]
"#,
);

pub(super) static DELETE_INDEXED: Lua = Lua::new(
    r#"
-- KEYS: a user's set of digests. ARGV: the prefix of the keys it names ('pa:ot:reset:')
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('DEL', ARGV[1] .. d) end
redis.call('DEL', KEYS[1])
return 1
"#,
);

pub(super) static CREATE_SLOT_TOKEN: Lua = Lua::new(
    r#"
-- KEYS: slot, token, the user's token set. ARGV: slot value, token record, digest.
-- Only while the slot still holds the value the token was derived from; a
-- new token expires with its slot.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('SADD', KEYS[3], ARGV[3])
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
return 1
"#,
);

pub(super) static DELETE_SLOT_IF: Lua = Lua::new(
    r#"
-- KEYS: slot. ARGV: the value it must still hold.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#,
);

pub(super) static CREATE_ONE_TIME: Lua = Lua::new(
    r#"
-- KEYS: token, the user's set of digests for the purpose.
-- ARGV: record, ttl seconds, digest, keep, prefix .. ':ot:' .. purpose.
-- Newest wins: past `keep` live tokens, those nearest expiry (the oldest:
-- every token gets the same lifetime) end now; lapsed digests leave the set.
-- A token made in the same millisecond as the one before would expire with
-- it, and which of the two ends would be chance: the new one is made to end
-- a millisecond after the latest other (expiries follow creation order).
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[2])
local live, latest = {}, 0
for _, d in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if d ~= ARGV[3] then
    local ttl = redis.call('PTTL', ARGV[5] .. ':' .. d)
    if ttl > 0 then
      live[#live + 1] = {ttl, d}
      if ttl > latest then latest = ttl end
    else
      redis.call('SREM', KEYS[2], d)
    end
  end
end
local own = redis.call('PTTL', KEYS[1])
if own <= latest then
  own = latest + 1
  redis.call('PEXPIRE', KEYS[1], own)
end
live[#live + 1] = {own, ARGV[3]}
local keep = tonumber(ARGV[4])
if #live > keep then
  table.sort(live, function(a, b) return a[1] < b[1] end)
  for i = 1, #live - keep do
    redis.call('DEL', ARGV[5] .. ':' .. live[i][2])
    redis.call('SREM', KEYS[2], live[i][2])
  end
end
return 1
"#,
);

// ---- The Cluster layout: every key a script touches is of one slot. ----

pub(super) static CLAIM_CAS: Lua = Lua::new(
    r#"
-- KEYS: a username or email claim. ARGV: expected value ('' = absent), new value ('' = delete).
-- 1 when the claim held the expected value and now holds the new one, else 0.
local v = redis.call('GET', KEYS[1]) or ''
if v ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
"#,
);

pub(super) static CLUSTER_CREATE_USER: Lua = Lua::new(
    r#"
-- KEYS: the hash of a freshly reserved id. ARGV: field pairs. 0 if it exists (never expected).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"#,
);

pub(super) static CLUSTER_UPDATE_USER: Lua = Lua::new(
    r#"
-- KEYS: user hash. ARGV: check, username, email key, then field/value pairs
-- ('if_password_hash' is a compare-and-set condition, not a field).
-- With check = '1' the stored username and lower-cased email must still be
-- ARGV[2] and ARGV[3], those the caller moved the claims from (-5 if not).
if redis.call('EXISTS', KEYS[1]) == 0 then return -3 end
local sets, cas = {}, nil
for i = 4, #ARGV, 2 do
  if ARGV[i] == 'if_password_hash' then cas = ARGV[i + 1] else
    sets[#sets + 1] = ARGV[i]
    sets[#sets + 1] = ARGV[i + 1]
  end
end
if ARGV[1] == '1' then
  local u = redis.call('HGET', KEYS[1], 'username')
  local ek = string.lower(redis.call('HGET', KEYS[1], 'email') or '')
  if u ~= ARGV[2] or ek ~= ARGV[3] then return -5 end
end
if cas and redis.call('HGET', KEYS[1], 'password_hash') ~= cas then return -4 end
if #sets > 0 then redis.call('HSET', KEYS[1], unpack(sets)) end
return redis.call('HGETALL', KEYS[1])
"#,
);

pub(super) static CLUSTER_DELETE_USER: Lua = Lua::new(
    r#"
-- KEYS: user hash, token set, slot-name set, then one set of one-time digests
-- per purpose (one slot). ARGV: username, email key (as read when the claims
-- were released), prefix, id, the password hash the deletion was authorised
-- with ('' for none).
-- 0: no user; -4: the password changed; -5: its username or email changed
-- meanwhile; else the digests of its tokens, then of each purpose's one-time
-- tokens (KEYS order), whose keys (other slots) the caller deletes.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[1], 'password_hash') ~= ARGV[5] then return -4 end
local u = redis.call('HGET', KEYS[1], 'username')
local ek = string.lower(redis.call('HGET', KEYS[1], 'email') or '')
if u ~= ARGV[1] or ek ~= ARGV[2] then return -5 end
for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('DEL', ARGV[3] .. ':{u:' .. ARGV[4] .. '}:slot:' .. n)
end
local out = {redis.call('SMEMBERS', KEYS[2])}
for i = 4, #KEYS do out[#out + 1] = redis.call('SMEMBERS', KEYS[i]) end
redis.call('DEL', unpack(KEYS))
return out
"#,
);

pub(super) static CLUSTER_SLOT_TOKEN_INDEX: Lua = Lua::new(
    r#"
-- KEYS: slot, the user's token set (one slot). ARGV: slot value, digest.
-- The slot's remaining lifetime (ms) after listing the digest, while the slot
-- still holds the value the token was derived from; else 0, nothing written.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return ttl
"#,
);
