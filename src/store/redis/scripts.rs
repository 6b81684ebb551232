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
-- KEYS: user hash, old username claim, new username claim, old email claim, new email claim
-- ARGV: id, old has email, new has email, field pairs...
if redis.call('EXISTS', KEYS[1]) == 0 then return -3 end
if KEYS[2] ~= KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
if KEYS[4] ~= KEYS[5] and ARGV[3] == '1' and redis.call('EXISTS', KEYS[5]) == 1 then return -2 end
if KEYS[2] ~= KEYS[3] then
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[3], ARGV[1])
end
if KEYS[4] ~= KEYS[5] then
  if ARGV[2] == '1' then redis.call('DEL', KEYS[4]) end
  if ARGV[3] == '1' then redis.call('SET', KEYS[5], ARGV[1]) end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
return 0
"#;

pub(super) const DELETE_USER: &str = r#"
-- KEYS: user hash, username claim, email claim, token set, slot-name set, reset set, verify set
-- ARGV: prefix, id, has email
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, d in ipairs(redis.call('SMEMBERS', KEYS[4])) do redis.call('DEL', ARGV[1] .. ':tok:' .. d) end
for _, n in ipairs(redis.call('SMEMBERS', KEYS[5])) do redis.call('DEL', ARGV[1] .. ':{u:' .. ARGV[2] .. '}:slot:' .. n) end
for _, d in ipairs(redis.call('SMEMBERS', KEYS[6])) do redis.call('DEL', ARGV[1] .. ':ot:reset:' .. d) end
for _, d in ipairs(redis.call('SMEMBERS', KEYS[7])) do redis.call('DEL', ARGV[1] .. ':ot:verify:' .. d) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
if ARGV[3] == '1' then redis.call('DEL', KEYS[3]) end
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
