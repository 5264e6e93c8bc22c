/**
 * The atomic parts of the Redis state, as Lua run by Redis (EVALSHA, EVAL after a restart flushed the script cache).
 * Every number crosses as a decimal string of an integer (tokens, micro-USD, epoch ms). Negations are written
 * `0 - x`: Lua prints `-x` of zero as "-0", which HINCRBY refuses.
 */

/**
 * Reserve: check every subject's limits, then count the request in all of them, or in none.
 * KEYS, 3 per subject: rpm (sorted set of request ids by start ms), day (hash: t, s settled; rt, rs held;
 * r:<id> "tokens:spend" per held reservation), held (sorted set of reservation ids by expiry ms).
 * ARGV: now, id, tokens, spendMicros, ttlMs, dayTtlSeconds, msUntilMidnight, inFlightRetryMs, then 3 per subject:
 * requests per minute, tokens per day, spend micros per day (-1: no such limit).
 * Returns {-1} when reserved, else {subject index, limit name, retry after ms}.
 */
export const RESERVE_LUA = `
local now = tonumber(ARGV[1])
local tokens = tonumber(ARGV[3])
local spend = tonumber(ARGV[4])
local n = #KEYS / 3
local function reclaim(dayKey, heldKey)
  local expired = redis.call('ZRANGEBYSCORE', heldKey, '-inf', now)
  for _, rid in ipairs(expired) do
    local held = redis.call('HGET', dayKey, 'r:' .. rid)
    if held then
      local ht, hs = string.match(held, '^(%d+):(%d+)$')
      redis.call('HINCRBY', dayKey, 'rt', 0 - tonumber(ht))
      redis.call('HINCRBY', dayKey, 'rs', 0 - tonumber(hs))
      redis.call('HDEL', dayKey, 'r:' .. rid)
    end
    redis.call('ZREM', heldKey, rid)
  end
end
for i = 0, n - 1 do
  local rpmKey, dayKey, heldKey = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  local rpm, tl, sl = tonumber(ARGV[9 + i * 3]), tonumber(ARGV[10 + i * 3]), tonumber(ARGV[11 + i * 3])
  if rpm >= 0 then
    redis.call('ZREMRANGEBYSCORE', rpmKey, '-inf', now - 60000)
    if redis.call('ZCARD', rpmKey) >= rpm then
      local oldest = redis.call('ZRANGE', rpmKey, 0, 0, 'WITHSCORES')
      return {i, 'requestsPerMinute', tonumber(oldest[2]) + 60000 - now}
    end
  end
  if tl >= 0 or sl >= 0 then
    reclaim(dayKey, heldKey)
    local c = redis.call('HMGET', dayKey, 't', 's', 'rt', 'rs')
    local t, s, rt, rs = tonumber(c[1]) or 0, tonumber(c[2]) or 0, tonumber(c[3]) or 0, tonumber(c[4]) or 0
    if tl >= 0 and t + rt + tokens > tl then
      if t + tokens > tl then return {i, 'tokensPerDay', tonumber(ARGV[7])} end
      return {i, 'tokensPerDay', tonumber(ARGV[8])}
    end
    if sl >= 0 and s + rs + spend > sl then
      if s + spend > sl then return {i, 'spendPerDay', tonumber(ARGV[7])} end
      return {i, 'spendPerDay', tonumber(ARGV[8])}
    end
  end
end
for i = 0, n - 1 do
  local rpmKey, dayKey, heldKey = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  local rpm, tl, sl = tonumber(ARGV[9 + i * 3]), tonumber(ARGV[10 + i * 3]), tonumber(ARGV[11 + i * 3])
  if rpm >= 0 then
    redis.call('ZADD', rpmKey, now, ARGV[2])
    redis.call('PEXPIRE', rpmKey, 60000)
  end
  if tl >= 0 or sl >= 0 then
    redis.call('HINCRBY', dayKey, 'rt', ARGV[3])
    redis.call('HINCRBY', dayKey, 'rs', ARGV[4])
    redis.call('HSET', dayKey, 'r:' .. ARGV[2], ARGV[3] .. ':' .. ARGV[4])
    redis.call('ZADD', heldKey, now + tonumber(ARGV[5]), ARGV[2])
    redis.call('EXPIRE', dayKey, ARGV[6])
    redis.call('EXPIRE', heldKey, ARGV[6])
  end
end
return {-1}
`;

/**
 * Settle: release a reservation (when still held) and count the real usage. A reservation already reclaimed by its
 * expiry is counted all the same: the call happened.
 * KEYS, 2 per subject: day, held. ARGV: id, tokens, spendMicros, dayTtlSeconds.
 */
export const SETTLE_LUA = `
for i = 0, #KEYS / 2 - 1 do
  local dayKey, heldKey = KEYS[i * 2 + 1], KEYS[i * 2 + 2]
  local held = redis.call('HGET', dayKey, 'r:' .. ARGV[1])
  if held then
    local ht, hs = string.match(held, '^(%d+):(%d+)$')
    redis.call('HINCRBY', dayKey, 'rt', 0 - tonumber(ht))
    redis.call('HINCRBY', dayKey, 'rs', 0 - tonumber(hs))
    redis.call('HDEL', dayKey, 'r:' .. ARGV[1])
    redis.call('ZREM', heldKey, ARGV[1])
  end
  redis.call('HINCRBY', dayKey, 't', ARGV[2])
  redis.call('HINCRBY', dayKey, 's', ARGV[3])
  redis.call('EXPIRE', dayKey, ARGV[4])
end
return 1
`;

/**
 * A breaker transition: written unless a newer one (by its time) is there already, the writer's trial claim
 * dropped, and the change published with its version.
 * KEYS: breaker hash, trial key. ARGV: state (open|closed), openedAt, retryAt, failures, at, instance, channel,
 * cluster, provider, ttlSeconds. Returns the new version, or 0 when a newer transition was kept.
 */
export const BREAKER_LUA = `
local current = tonumber(redis.call('HGET', KEYS[1], 'at'))
if current and current > tonumber(ARGV[5]) then return 0 end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'openedAt', ARGV[2], 'retryAt', ARGV[3], 'failures', ARGV[4], 'at', ARGV[5], 'by', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[10])
if redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[7], cjson.encode({type = 'breaker', cluster = ARGV[8], provider = ARGV[9], version = version, state = ARGV[1], openedAt = ARGV[2], retryAt = ARGV[3], failures = ARGV[4], at = ARGV[5], by = ARGV[6]}))
return version
`;

/**
 * The one half-open trial across instances. KEYS: breaker hash, trial key. ARGV: instance, ttlMs, now.
 * Returns -1 (granted), -2 (the shared breaker is closed already), or how many ms until a trial may be claimed.
 */
export const CLAIM_TRIAL_LUA = `
local h = redis.call('HMGET', KEYS[1], 'state', 'retryAt')
if h[1] == 'closed' then return -2 end
if h[1] == 'open' then
  local wait = tonumber(h[2]) - tonumber(ARGV[3])
  if wait > 0 then return wait end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 1 then ttl = 1 end
return ttl
`;

/** Gives a trial claim back, only if this instance holds it. KEYS: trial key. ARGV: instance. */
export const RELEASE_TRIAL_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
