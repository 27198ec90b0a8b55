import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { RedisSessionStoreOptions } from "./redis-session-store-options.js";

export type RedisClient = Redis | Cluster;

/** A client's generic command call (`call` of Redis and Cluster), for scripts and raw commands. */
export interface Caller {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/** Backoff: 50 ms doubling up to the cap, with jitter so replicas do not reconnect in step. */
export function backoff(maxDelayMs: number): (times: number) => number {
  return (times) => {
    const base = Math.min(maxDelayMs, 50 * 2 ** Math.min(times - 1, 16));
    return Math.round(base / 2 + (Math.random() * base) / 2);
  };
}

/**
 * The settings that make a store fail fast while Redis is away: nothing queues offline, a
 * command is not resent after a disconnect (its ack may be lost; the caller gets
 * SESSION_STORE_UNAVAILABLE and re-reads), and reconnection runs in the background forever.
 */
export function failFastOptions(options: RedisSessionStoreOptions): RedisOptions {
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  return {
    connectTimeout,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: backoff(options.maxReconnectDelayMs ?? 2000),
    // Reconnect when a failover turned our master into a replica.
    reconnectOnError: (error) => /^READONLY/.test(error.message),
    connectionName: "mcp-optimizer-sessions",
  };
}

/** The client the options describe; `owned` says whether the store must close it. */
export function connectRedis(options: RedisSessionStoreOptions): {
  client: RedisClient;
  owned: boolean;
} {
  const ways = [options.url, options.client, options.sentinels, options.cluster].filter(
    (v) => v !== undefined,
  ).length;
  if (ways !== 1) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `A Redis session store needs exactly one of url, client, sentinels or cluster; got ${ways}.`,
    );
  }
  if (options.client) return { client: options.client, owned: false };
  const base: RedisOptions = { ...failFastOptions(options), ...options.redisOptions };
  if (options.url !== undefined) {
    if (!/^rediss?:\/\//.test(options.url)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        "The Redis URL must start with redis:// or rediss:// (TLS).",
      );
    }
    // ioredis reads host, port, credentials, db and TLS (rediss://) from the URL.
    return { client: new Redis(options.url, base), owned: true };
  }
  if (options.sentinels !== undefined) {
    if (options.sentinels.length === 0) {
      throw new OptimizerError(ErrorCodes.INVALID_CONFIG, "sentinels is empty.");
    }
    return {
      client: new Redis({
        ...base,
        sentinels: options.sentinels,
        name: options.name ?? "mymaster",
        sentinelRetryStrategy: backoff(options.maxReconnectDelayMs ?? 2000),
      }),
      owned: true,
    };
  }
  const nodes = options.cluster ?? [];
  if (nodes.length === 0) {
    throw new OptimizerError(ErrorCodes.INVALID_CONFIG, "cluster lists no nodes.");
  }
  const {
    retryStrategy: _r,
    enableOfflineQueue: _e,
    readOnly: _ro,
    sentinels: _s,
    ...redisOptions
  } = base;
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue: false,
    clusterRetryStrategy: backoff(options.maxReconnectDelayMs ?? 2000),
    clusterNodeRetryStrategy: backoff(options.maxReconnectDelayMs ?? 2000),
    slotsRefreshTimeout: options.connectTimeoutMs ?? 2000,
    // Fail fast here too: a slot whose master is gone answers within about 300 ms instead
    // of riding out a failover for 16 x 100 ms (ioredis's defaults) per command.
    maxRedirections: 6,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    ...options.clusterOptions,
    redisOptions: { ...redisOptions, ...options.clusterOptions?.redisOptions },
  };
  return { client: new Cluster(nodes, clusterOptions), owned: true };
}

/** A second connection for pub/sub: it may queue (subscribing happens before it is ready). */
export function duplicateForSubscriber(client: RedisClient): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate(undefined, { enableOfflineQueue: true, lazyConnect: false });
  }
  return client.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    autoResubscribe: false,
    lazyConnect: false,
  });
}
