import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";

/** A host and port of a Sentinel or a Cluster node. */
export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisSessionStoreOptions {
  /** A redis:// or rediss:// (TLS) URL of one server. Default: none (one of url, client, sentinels, cluster is needed). */
  url?: string;
  /** An ioredis client (Redis or Cluster) you made; the store never closes it. Default: none. */
  client?: Redis | Cluster;
  /** Sentinels to ask for the master named `name`. Default: none. */
  sentinels?: RedisNode[];
  /** The Sentinel master name. Default: "mymaster". */
  name?: string;
  /** Seed nodes of a Redis Cluster. Default: none. */
  cluster?: RedisNode[];
  /** More ioredis options (username, password, tls, db, ...) for the connections the store makes. Default: {}. */
  redisOptions?: RedisOptions;
  /** More options for a Cluster connection. Default: {}. */
  clusterOptions?: ClusterOptions;
  /** Prefix of every key and of the pub/sub channel: one per deployment. Default: "mcpo:". */
  prefix?: string;
  /** Largest session, in bytes of its JSON before compression; a save over it is SESSION_TOO_LARGE. Default: 1048576 (1 MiB). */
  maxSessionBytes?: number;
  /** Largest entry value (context, result handles, ...), in bytes of its JSON. Default: 4194304 (4 MiB). */
  maxEntryBytes?: number;
  /** Sessions whose JSON is larger than this are stored deflated. Default: 4096. */
  compressAboveBytes?: number;
  /** How long the first connection may take before operations fail, in ms. Default: 2000. */
  connectTimeoutMs?: number;
  /** Longest wait for one Redis reply before SESSION_STORE_UNAVAILABLE, in ms. Default: 5000. */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts (the backoff doubles from 50 ms), in ms. Default: 2000. */
  maxReconnectDelayMs?: number;
  /** Keep read sessions in memory, dropped when any replica writes (pub/sub). Default: false (`true` = {}). */
  cache?: boolean | RedisSessionCacheOptions;
  /** Listen to other replicas' writes over pub/sub (for `subscribe` and the cache). Default: true. */
  invalidation?: boolean;
}

export interface RedisSessionCacheOptions {
  /** Sessions kept at most; the least recently used goes first. Default: 1000. */
  maxEntries?: number;
  /**
   * "strong": every read asks Redis whether the copy is current (one small round trip; the
   * session crosses the wire and is decoded only when it changed), so a replica always reads
   * the latest write. "eventual": reads are served from memory while the invalidation channel
   * is subscribed; another replica's write is seen when its pub/sub message arrives (usually
   * well under a millisecond, never guaranteed). Compare-and-set never loses an update in
   * either mode. Default: "strong".
   */
  consistency?: "strong" | "eventual";
}
