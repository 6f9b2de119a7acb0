"""The Lua scripts of the Redis ledger store. Each runs atomically inside Redis: no other command interleaves.

Numbers handed back to Redis go through ``string.format('%d')``: Lua 5.1 prints large doubles in exponent
notation otherwise. Hold expiry uses the Redis server's ``TIME``, so clients' clocks never matter.
"""

from __future__ import annotations

# KEYS: per checked bucket i: committed counter, holds zset (rid -> expiry ms), holds hash (rid -> amount).
# ARGV: rid, want, at_least, ttl_ms, enforce ('1'/'0'), then each bucket's limit ('-1' = none).
# Returns {granted (-1 = refused), tightest bucket index (0 = none), its committed, its held}.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS / 3
local committed, held = {}, {}
local tight, tight_avail = 0, nil
for i = 1, n do
  local z, h = KEYS[3 * i - 1], KEYS[3 * i]
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  for _, rid in ipairs(expired) do redis.call('HDEL', h, rid) end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', z, '-inf', now) end
  committed[i] = tonumber(redis.call('GET', KEYS[3 * i - 2]) or '0')
  local sum = 0
  for _, v in ipairs(redis.call('HVALS', h)) do sum = sum + tonumber(v) end
  held[i] = sum
  local limit = tonumber(ARGV[5 + i])
  if limit >= 0 then
    local avail = limit - committed[i] - sum
    if tight_avail == nil or avail < tight_avail then tight, tight_avail = i, avail end
  end
end
local want, at_least = tonumber(ARGV[2]), tonumber(ARGV[3])
local granted = want
if ARGV[5] == '1' and tight_avail ~= nil and tight_avail < want then
  if tight_avail < at_least then
    return {-1, tight, committed[tight], held[tight]}
  end
  granted = tight_avail
end
local ttl = tonumber(ARGV[4])
local keep = ttl * 2
for i = 1, n do
  local z, h = KEYS[3 * i - 1], KEYS[3 * i]
  redis.call('ZADD', z, string.format('%d', now + ttl), ARGV[1])
  redis.call('HSET', h, ARGV[1], string.format('%d', granted))
  for _, k in ipairs({z, h}) do
    local left = redis.call('PTTL', k)
    if left == -1 or left < keep then redis.call('PEXPIRE', k, string.format('%d', keep)) end
  end
end
if tight == 0 then return {granted, 0, 0, 0} end
return {granted, tight, committed[tight], held[tight]}
"""

# KEYS: settled marker, user's record list, users set, by-model hash, by-user hash, record sequence counter,
#       then m credited buckets, then (holds zset, holds hash) pairs of the held buckets.
# Records are stored as "<sequence>|<json>" so all users' records can be merged in settlement order.
# ARGV: rid, cost units, record JSON, user id, model, settled-marker TTL s, m, then m bucket retentions (s, -1).
COMMIT = """
local m = tonumber(ARGV[7])
local fresh = 0
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[6]) then
  fresh = 1
  local seq = redis.call('INCR', KEYS[6])
  redis.call('RPUSH', KEYS[2], string.format('%d', seq) .. '|' .. ARGV[3])
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('HINCRBY', KEYS[4], ARGV[5], ARGV[2])
  redis.call('HINCRBY', KEYS[5], ARGV[4], ARGV[2])
  for j = 1, m do
    redis.call('INCRBY', KEYS[6 + j], ARGV[2])
    if tonumber(ARGV[7 + j]) >= 0 then redis.call('EXPIRE', KEYS[6 + j], ARGV[7 + j]) end
  end
end
for j = 7 + m, #KEYS, 2 do
  redis.call('ZREM', KEYS[j], ARGV[1])
  redis.call('HDEL', KEYS[j + 1], ARGV[1])
end
return fresh
"""

# KEYS: (holds zset, holds hash) pairs. ARGV: rid.
RELEASE = """
for j = 1, #KEYS, 2 do
  redis.call('ZREM', KEYS[j], ARGV[1])
  redis.call('HDEL', KEYS[j + 1], ARGV[1])
end
return 1
"""

# KEYS: per bucket: committed counter, holds zset, holds hash. Returns {committed, held} per bucket.
USAGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS / 3 do
  local live = redis.call('ZRANGEBYSCORE', KEYS[3 * i - 1], '(' .. now, '+inf')
  local sum = 0
  if #live > 0 then
    for _, v in ipairs(redis.call('HMGET', KEYS[3 * i], unpack(live))) do
      if v then sum = sum + tonumber(v) end
    end
  end
  out[2 * i - 1] = tonumber(redis.call('GET', KEYS[3 * i - 2]) or '0')
  out[2 * i] = sum
end
return out
"""
