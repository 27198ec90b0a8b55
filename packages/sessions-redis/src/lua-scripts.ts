import { createHash } from "node:crypto";

/** A Lua script run with EVALSHA, loaded with EVAL when the server does not know it yet. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

// Adds the id to a tenant index and keeps the index alive at least as long as the session.
// In Cluster mode the index sits in another slot, so it runs as its own script; on a single
// node (or Sentinel) the write scripts take the index as KEYS[2] and do it in the same step.
const INDEX = `
local function index(key, id, ttl)
  redis.call('ZADD', key, 0, id)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
`;

/** KEYS[1] index. ARGV: id, ttl. */
export const indexScript = script(
  "index",
  `${INDEX}
index(KEYS[1], ARGV[1], tonumber(ARGV[2]))
return 1`,
);

// A write under a lease carries its fencing token: refused once a later grant moved the
// session's fence counter on (KEYS[2] in the write scripts; '' = no lease).
const FENCE = `
local function fenced(key, token)
  return token == '' or redis.call('GET', key) == token
end
`;

// Gives a lease back when it is the holder's ("token holder") and tells the replicas who is
// first in line ("<origin> L <id> <waiter>"): only that waiter wakes to ask for the turn.
// Answers the waiter ('' for nobody), or false when the lease was not this holder's.
const RELEASE = `
local function release(lease, line, value, id, channel, origin)
  if redis.call('GET', lease) ~= value then return false end
  redis.call('DEL', lease)
  local head = redis.call('ZRANGE', line, 0, 0)[1] or ''
  redis.call('PUBLISH', channel, origin .. ' L ' .. id .. ' ' .. head)
  return head
end
`;

/**
 * KEYS[1] session, KEYS[2] fence counter, KEYS[3] tenant index (optional).
 * ARGV: id, ttl, fencing token or '', then field/value pairs.
 * Returns 1 when created, 0 when the id is taken, -3 when the lease was lost.
 */
export const createScript = script(
  "create",
  `${INDEX}${FENCE}
if not fenced(KEYS[2], ARGV[3]) then return -3 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ttl)
if KEYS[3] then index(KEYS[3], ARGV[1], ttl) end
return 1`,
);

/**
 * The compare-and-set. KEYS[1] session, KEYS[2] fence counter, KEYS[3] lease, KEYS[4] waiting
 * line, KEYS[5] tenant index (optional). ARGV: id, expected version, now (ms), tenant, blob,
 * channel, origin, fencing token or '', the lease to give back ("token holder") or ''.
 * Returns {-1} missing, {-2} not a session hash, {-3} lease lost, {0, version} conflict,
 * or {newVersion, createdAt, ttl, previousTenant, first waiter or ''}.
 */
export const updateScript = script(
  "update",
  `${INDEX}${FENCE}${RELEASE}
if not fenced(KEYS[2], ARGV[8]) then return {-3} end
local cur = redis.call('HMGET', KEYS[1], 'v', 'c', 'l', 't')
if not cur[1] then
  if redis.call('EXISTS', KEYS[1]) == 1 then return {-2} end
  return {-1}
end
local v = tonumber(cur[1])
local ttl = tonumber(cur[3])
if not v or not ttl then return {-2} end
if v ~= tonumber(ARGV[2]) then return {0, v} end
local nv = v + 1
local now = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'v', nv, 't', ARGV[4], 'u', ARGV[3], 'x', string.format('%.0f', now + ttl), 'd', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ttl)
if KEYS[5] then index(KEYS[5], ARGV[1], ttl) end
redis.call('PUBLISH', ARGV[6], ARGV[7] .. ' ' .. nv .. ' ' .. ARGV[1])
local head = ''
if ARGV[9] ~= '' then head = release(KEYS[3], KEYS[4], ARGV[9], ARGV[1], ARGV[6], ARGV[7]) or '' end
return {nv, cur[2], ttl, cur[4], head}`,
);

/**
 * Slides the TTL. KEYS[1] session, KEYS[2] tenant index (optional).
 * ARGV: id, now (ms), new ttl or '', channel, origin. Returns {0} missing or {1, ttl, tenant}.
 */
export const touchScript = script(
  "touch",
  `${INDEX}
local cur = redis.call('HMGET', KEYS[1], 'v', 'l', 't')
if not cur[1] then return {0} end
local ttl = tonumber(cur[2])
if ARGV[3] ~= '' then ttl = tonumber(ARGV[3]) end
redis.call('HSET', KEYS[1], 'l', ttl, 'x', string.format('%.0f', tonumber(ARGV[2]) + ttl))
redis.call('PEXPIRE', KEYS[1], ttl)
if KEYS[2] then index(KEYS[2], ARGV[1], ttl) end
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. cur[1] .. ' ' .. ARGV[1])
return {1, ttl, cur[3]}`,
);

/** KEYS[1] session. ARGV: id, channel, origin. Returns 1 when something was deleted. */
export const deleteScript = script(
  "delete",
  `local n = redis.call('DEL', KEYS[1])
if n == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' - ' .. ARGV[1]) end
return n`,
);

/**
 * The read of a cached session: KEYS[1] session; ARGV: the cached version, expiresAt, ttl.
 * Returns 1 when the copy is current, else the whole row (as HMGET v t c u x l d would).
 */
export const readIfChangedScript = script(
  "readIfChanged",
  `local head = redis.call('HMGET', KEYS[1], 'v', 'x', 'l')
if head[1] == ARGV[1] and head[2] == ARGV[2] and head[3] == ARGV[3] then return 1 end
return redis.call('HMGET', KEYS[1], 'v', 't', 'c', 'u', 'x', 'l', 'd')`,
);

/**
 * Prunes a tenant index, re-checking each entry in the same step (a session created since the
 * listing read it stays). Single node and Sentinel only: the keys span slots.
 * KEYS[1] index, KEYS[2..] sessions. ARGV: tenant, then the ids in KEYS order.
 */
export const pruneScript = script(
  "prune",
  `local removed = 0
for i = 2, #KEYS do
  local kind = redis.call('TYPE', KEYS[i]).ok
  if kind == 'none' or (kind == 'hash' and redis.call('HGET', KEYS[i], 't') ~= ARGV[1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed`,
);

/**
 * Takes a session's turn. KEYS[1] lease, KEYS[2] waiting line (arrival order), KEYS[3] when
 * each waiter last asked, KEYS[4] fence counter, KEYS[5] session.
 * ARGV: waiter id, holder id, lease ttl (ms), stale (ms: a waiter that stopped asking for
 * this long leaves the line), then the cached copy's version, expiresAt and ttl (or ''), and
 * the waiter's arrival as an earlier ask answered it (or '' on the first ask).
 * Returns {0, pttl, arrival} while another holds the lease, {0, -1, arrival} while another is
 * first in line,
 * {1, token, 1} granted and the cached copy is current, or {1, token, 0, v, t, c, u, x, l, d}
 * granted with the session's row (all nil when it does not exist).
 */
export const acquireLeaseScript = script(
  "acquireLease",
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale = tonumber(ARGV[4])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - stale)) do
  redis.call('ZREM', KEYS[2], gone)
  redis.call('ZREM', KEYS[3], gone)
end
-- A waiter keeps its place by its first arrival, even after a silence dropped it from the line.
local arrival = now
if ARGV[8] ~= '' then arrival = tonumber(ARGV[8]) end
redis.call('ZADD', KEYS[2], 'NX', arrival, ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], stale * 2)
redis.call('PEXPIRE', KEYS[3], stale * 2)
local pttl = redis.call('PTTL', KEYS[1])
if pttl ~= -2 then return {0, pttl, string.format('%.0f', arrival)} end
if redis.call('ZRANGE', KEYS[2], 0, 0)[1] ~= ARGV[1] then return {0, -1, string.format('%.0f', arrival)} end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
-- Tokens only grow: a counter that expired starts again above any token it gave before.
if redis.call('EXISTS', KEYS[4]) == 0 then
  redis.call('SET', KEYS[4], string.format('%.0f', now * 1000))
end
local token = string.format('%.0f', redis.call('INCR', KEYS[4]))
redis.call('PEXPIRE', KEYS[4], 604800000)
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[2], 'PX', ARGV[3])
if ARGV[5] ~= '' then
  local head = redis.call('HMGET', KEYS[5], 'v', 'x', 'l')
  if head[1] == ARGV[5] and head[2] == ARGV[6] and head[3] == ARGV[7] then return {1, token, 1} end
end
local row = redis.call('HMGET', KEYS[5], 'v', 't', 'c', 'u', 'x', 'l', 'd')
return {1, token, 0, row[1], row[2], row[3], row[4], row[5], row[6], row[7]}`,
);

/** KEYS[1] waiting line, KEYS[2] last asked. ARGV: waiter id. Leaves the line. */
export const leaveLineScript = script(
  "leaveLine",
  `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`,
);

/** KEYS[1] lease. ARGV: "token holder", ttl (ms). Returns 1 when renewed, 0 when lost. */
export const renewLeaseScript = script(
  "renewLease",
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
);

/**
 * KEYS[1] lease, KEYS[2] waiting line. ARGV: "token holder", id, channel, origin.
 * Returns {1, first waiter or ''} when given back, {0} when the lease was not this holder's.
 */
export const releaseLeaseScript = script(
  "releaseLease",
  `${RELEASE}
local head = release(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if not head then return {0} end
return {1, head}`,
);

/**
 * Writes one entry. KEYS[1] the entry (a hash: v version, u updated, x expires, d JSON),
 * KEYS[2] its scope's index. ARGV: key, JSON text, now (ms), ttl (ms) or '', expected version
 * or '', and for a write with scope limits: the scope's entry key prefix, max bytes, max
 * entries (the scope's other entries share the entry's hash tag, so its slot). Returns
 * {0, version} on a conflict, {-1, 'bytes' or 'entries', would} over a limit, or
 * {newVersion, expiresAt or ''}.
 */
export const entrySetScript = script(
  "entrySet",
  `local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[5] ~= '' and tonumber(ARGV[5]) ~= v then return {0, v} end
if ARGV[6] then
  local bytes = string.len(ARGV[2])
  local count = 1
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if member ~= ARGV[1] then
      local len = redis.call('HSTRLEN', ARGV[6] .. member, 'd')
      if len > 0 then
        bytes = bytes + len
        count = count + 1
      end
    end
  end
  if bytes > tonumber(ARGV[7]) then return {-1, 'bytes', bytes} end
  if count > tonumber(ARGV[8]) then return {-1, 'entries', count} end
end
local nv = v + 1
redis.call('HSET', KEYS[1], 'v', nv, 'u', ARGV[3], 'd', ARGV[2])
if ARGV[4] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('HSET', KEYS[1], 'x', string.format('%.0f', tonumber(ARGV[3]) + tonumber(ARGV[4])))
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return {nv, redis.call('HGET', KEYS[1], 'x') or ''}`,
);

/**
 * Deletes one entry. KEYS[1] the entry, KEYS[2] its scope's index. ARGV: key, expected version
 * or ''. Returns 1 deleted, 0 missing, {-1, version} on a conflict.
 */
export const entryDeleteScript = script(
  "entryDelete",
  `local v = redis.call('HGET', KEYS[1], 'v')
if not v then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= tonumber(v) then return {-1, tonumber(v)} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`,
);

/**
 * Prunes a scope's index of entries that expired, re-checking each in the same step (one
 * written meanwhile stays). KEYS[1] the index, KEYS[2..] the entries. ARGV: their keys.
 */
export const entryPruneScript = script(
  "entryPrune",
  `local removed = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then removed = removed + redis.call('ZREM', KEYS[1], ARGV[i - 1]) end
end
return removed`,
);
