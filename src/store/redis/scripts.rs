//! The Lua scripts behind the Redis store's multi-key invariants: each runs
//! atomically on the server, so concurrent gateways cannot interleave them.

pub(super) const CREATE_USER: &str = r#"
-- KEYS: username claim, email claim, id counter. ARGV: prefix, has_email, field pairs...
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -2 end
local id = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[1], id)
if ARGV[2] == '1' then redis.call('SET', KEYS[2], id) end
redis.call('HSET', ARGV[1] .. ':{u:' .. id .. '}:user', unpack(ARGV, 3))
return id
"#;

pub(super) const UPDATE_USER: &str = r#"
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
"#;

pub(super) const DELETE_USER: &str = r#"
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
"#;

pub(super) const DELETE_USER_TOKENS: &str = r#"
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
"#;

pub(super) const CLAIM_SLOT: &str = r#"
-- KEYS: slot, slot-name set. ARGV: value, ttl seconds, name
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return ARGV[1]
"#;

pub(super) const DELETE_USER_ONE_TIME: &str = r#"
-- KEYS: the user's set of one-time digests for a purpose. ARGV: prefix .. ':ot:' .. purpose
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('DEL', ARGV[1] .. ':' .. d) end
redis.call('DEL', KEYS[1])
return 1
"#;

pub(super) const CREATE_SLOT_TOKEN: &str = r#"
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
"#;

pub(super) const DELETE_SLOT_IF: &str = r#"
-- KEYS: slot. ARGV: the value it must still hold.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

pub(super) const CREATE_ONE_TIME: &str = r#"
-- KEYS: token, the user's set of digests for the purpose.
-- ARGV: record, ttl seconds, digest, keep, prefix .. ':ot:' .. purpose.
-- Newest wins: past `keep` live tokens, those nearest expiry (the oldest:
-- every token gets the same lifetime) end now; lapsed digests leave the set.
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[2])
local live = {}
for _, d in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local ttl = redis.call('PTTL', ARGV[5] .. ':' .. d)
  if ttl > 0 then live[#live + 1] = {ttl, d} else redis.call('SREM', KEYS[2], d) end
end
local keep = tonumber(ARGV[4])
if #live > keep then
  table.sort(live, function(a, b) return a[1] < b[1] end)
  for i = 1, #live - keep do
    redis.call('DEL', ARGV[5] .. ':' .. live[i][2])
    redis.call('SREM', KEYS[2], live[i][2])
  end
end
return 1
"#;
