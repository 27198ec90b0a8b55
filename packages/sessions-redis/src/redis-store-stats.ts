import type { SessionGcReport, SessionStoreStats } from "@mcp-optimizer/core";
import { Cluster, type Redis } from "ioredis";
import { entryPruneScript, type LuaScript, pruneScript } from "./lua-scripts.js";
import type { RedisClient } from "./redis-connection.js";
import type { SessionKeys } from "./session-keys.js";

type Arg = string | number | Buffer;

/** What the stats and the collector borrow from the session store. */
export interface StoreScanBackend {
  client: RedisClient;
  keys: SessionKeys;
  /** Runs Redis work with the store's fail-fast and timeout rules and its error mapping. */
  op<T>(what: string, work: () => Promise<T>): Promise<T>;
  eval(script: LuaScript, keys: string[], args: Arg[]): Promise<unknown>;
}

/** Keys asked for per SCAN step, and commands in flight per batch. */
const SCAN_COUNT = 500;

/**
 * What the deployment's prefix holds, read with SCAN on every master (a Cluster's too): the
 * sessions' count, stored bytes (compressed as stored) and the oldest, and the entries by kind
 * of scope. It walks every key of the prefix: for `sessions stats` and a metrics refresh every
 * minute or so, not for every request.
 */
export async function scanStats(
  backend: StoreScanBackend,
): Promise<Pick<SessionStoreStats, "sessions" | "entries">> {
  const { keys } = backend;
  const sessions: SessionStoreStats["sessions"] = { count: 0, bytes: 0 };
  let oldestAt = Number.POSITIVE_INFINITY;
  await forEachKey(backend, `${keys.prefix}s:{*}`, async (node, batch) => {
    const rows = await backend.op("stats of sessions", () =>
      Promise.all(
        batch.map((key) =>
          Promise.all([
            node.call("HMGET", key, "c", "t") as Promise<(string | null)[]>,
            node.call("HSTRLEN", key, "d") as Promise<number>,
          ]),
        ),
      ),
    );
    for (const [i, [[created, tenant], bytes]] of rows.entries()) {
      if (created === null || created === undefined || tenant == null) continue;
      sessions.count++;
      sessions.bytes += Number(bytes);
      const at = Number(created);
      if (at < oldestAt) {
        oldestAt = at;
        const key = batch[i]!;
        sessions.oldest = {
          id: key.slice(key.indexOf("{") + 1, key.lastIndexOf("}")),
          tenant,
          createdAt: new Date(at).toISOString(),
        };
      }
    }
  });
  const entries: SessionStoreStats["entries"] = { count: 0, bytes: 0, byKind: {} };
  await forEachKey(backend, `${keys.prefix}e:{*}:*`, async (node, batch) => {
    const sizes = await backend.op("stats of entries", () =>
      Promise.all(batch.map((key) => node.call("HSTRLEN", key, "d") as Promise<number>)),
    );
    for (const [i, size] of sizes.entries()) {
      const bytes = Number(size);
      if (bytes === 0) continue; // expired between the SCAN and the read
      const kind = scopeKind(batch[i]!);
      let at = entries.byKind[kind];
      if (!at) {
        at = { count: 0, bytes: 0 };
        entries.byKind[kind] = at;
      }
      at.count++;
      at.bytes += bytes;
      entries.count++;
      entries.bytes += bytes;
    }
  });
  return { sessions, entries };
}

/**
 * Prunes what Redis expired from the indexes (it expires the keys itself): tenant listings of
 * sessions that are gone, and scope listings of entries that are gone, each re-checked in the
 * same step as its removal where the keys share a slot. Returns the members pruned.
 */
export async function collectGarbage(
  backend: StoreScanBackend,
): Promise<Pick<SessionGcReport, "indexMembers">> {
  const { keys } = backend;
  const clustered = backend.client instanceof Cluster;
  let indexMembers = 0;
  await forEachKey(backend, `${keys.prefix}t:*`, async (node, batch) => {
    for (const index of batch) {
      const tenant = Buffer.from(index.slice(`${keys.prefix}t:`.length), "hex").toString("utf8");
      await forEachMember(backend, node, index, async (ids) => {
        const sessionKeys = ids.map((id) => keys.session(id));
        indexMembers += await backend.op("gc of a tenant index", async () => {
          if (!clustered)
            return Number(
              await backend.eval(pruneScript, [index, ...sessionKeys], [tenant, ...ids]),
            );
          // Across slots: check, then remove (a session created meanwhile is re-indexed by its next write).
          const alive = await Promise.all(sessionKeys.map((k) => backend.client.exists(k)));
          const dead = ids.filter((_, i) => alive[i] === 0);
          return dead.length > 0 ? Number(await node.call("ZREM", index, ...dead)) : 0;
        });
      });
    }
  });
  await forEachKey(backend, `${keys.prefix}ei:{*}`, async (node, batch) => {
    for (const index of batch) {
      const scope = Buffer.from(
        index.slice(index.indexOf("{") + 1, index.lastIndexOf("}")),
        "hex",
      ).toString("utf8");
      await forEachMember(backend, node, index, async (members) => {
        indexMembers += Number(
          await backend.op("gc of an entry index", () =>
            backend.eval(
              entryPruneScript,
              [index, ...members.map((m) => keys.entry(scope, m))],
              members,
            ),
          ),
        );
      });
    }
  });
  return { indexMembers };
}

/** The masters that hold the prefix's keys: one server, or every master of a Cluster. */
function nodesOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes("master") : [client];
}

/** SCANs every master for `pattern`, handing each batch of keys (with its node) to `visit`. */
async function forEachKey(
  backend: StoreScanBackend,
  pattern: string,
  visit: (node: Redis, batch: string[]) => Promise<void>,
): Promise<void> {
  for (const node of nodesOf(backend.client)) {
    let cursor = "0";
    do {
      const [next, batch] = (await backend.op(`scan of ${pattern}`, () =>
        node.call("SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT),
      )) as [string, string[]];
      cursor = next;
      if (batch.length > 0) await visit(node, batch);
    } while (cursor !== "0");
  }
}

/** ZSCANs a sorted set, handing its members to `visit` a batch at a time. */
async function forEachMember(
  backend: StoreScanBackend,
  node: Redis,
  index: string,
  visit: (members: string[]) => Promise<void>,
): Promise<void> {
  let cursor = "0";
  do {
    const [next, flat] = (await backend.op(`gc scan of ${index}`, () =>
      node.call("ZSCAN", index, cursor, "COUNT", SCAN_COUNT),
    )) as [string, string[]];
    cursor = next;
    // ZSCAN answers member, score, member, score, ...
    const members = flat.filter((_, i) => i % 2 === 0);
    if (members.length > 0) await visit(members);
  } while (cursor !== "0");
}

/** The kind of an entry's scope ("ctx", "handles", ...) from its key `<prefix>e:{<hex scope>}:<key>`. */
function scopeKind(key: string): string {
  const scope = Buffer.from(key.slice(key.indexOf("{") + 1, key.indexOf("}")), "hex").toString(
    "utf8",
  );
  const colon = scope.indexOf(":");
  return colon === -1 ? scope : scope.slice(0, colon);
}
