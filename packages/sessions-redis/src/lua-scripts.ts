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

/**
 * KEYS[1] session, KEYS[2] tenant index (optional). ARGV: id, ttl, then field/value pairs.
 * Returns 1 when created, 0 when the id is taken.
 */
export const createScript = script(
  "create",
  `${INDEX}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ttl)
if KEYS[2] then index(KEYS[2], ARGV[1], ttl) end
return 1`,
);

/**
 * The compare-and-set. KEYS[1] session, KEYS[2] tenant index (optional).
 * ARGV: id, expected version, now (ms), tenant, blob, channel, origin.
 * Returns {-1} missing, {-2} not a session hash, {0, version} conflict,
 * or {newVersion, createdAt, ttl, previousTenant}.
 */
export const updateScript = script(
  "update",
  `${INDEX}
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
if KEYS[2] then index(KEYS[2], ARGV[1], ttl) end
redis.call('PUBLISH', ARGV[6], ARGV[7] .. ' ' .. nv .. ' ' .. ARGV[1])
return {nv, cur[2], ttl, cur[4]}`,
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
