// The Lua scripts of the partitioned bus' leases and heartbeat.
#include "partition_leases.hpp"

namespace es::redis::detail {

// KEYS: the live-consumer ZSET. ARGV: consumer name, ttl ms. Drops expired members, refreshes
// ours and returns how many are live. Server time, so the consumers' clocks need not agree.
script const heartbeat_script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
)lua");

// KEYS: leases. ARGV: token, ttl ms. Per key 1 when renewed, 0 when it is not ours any more.
script const renew_script(R"lua(
local out = {}
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
)lua");

// KEYS: candidate leases in preference order. ARGV: token, ttl ms, how many to take. Returns the
// 1-based indexes of the keys taken (SET NX PX each, stopping at the wanted number).
script const acquire_script(R"lua(
local out = {}
local want = tonumber(ARGV[3])
for i, k in ipairs(KEYS) do
  if #out >= want then break end
  if redis.call('SET', k, ARGV[1], 'NX', 'PX', ARGV[2]) then
    out[#out + 1] = i
  end
end
return out
)lua");

// KEYS: leases. ARGV: token. Deletes the ones that are ours.
script const release_script(R"lua(
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then
    redis.call('DEL', k)
    n = n + 1
  end
end
return n
)lua");

}  // namespace es::redis::detail
