import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/server";

/** One stored event of a response stream: the message (`{}` for the priming event) and whether it ends the stream. */
export interface StoredEvent {
  /** The event's position in its stream (opaque, ordered by the store). */
  entry: string;
  message: JSONRPCMessage | Record<string, never>;
  /** The last response of the POST: nothing follows it. */
  end: boolean;
}

/**
 * The events of the SSE streams that answer a 2025-era MCP session's POSTs, kept where every
 * replica reads them (Redis; memory for the single embedded replica). A stream lives under its
 * MCP session: only that session's owner reaches it (the endpoint checks the session first), and
 * an event id names a stream of one session only. Bounded: `maxEvents` per stream (the oldest
 * dropped) and `ttlMs` after its last event.
 */
export interface GatewayEventStore {
  /** Starts a stream: the POST's request ids, and the lease that says its replica still runs it. */
  open(session: string, stream: string, requestIds: readonly RequestId[]): Promise<void>;
  /** Appends one event; resolves its entry. */
  append(
    session: string,
    stream: string,
    message: JSONRPCMessage | Record<string, never>,
    end: boolean,
  ): Promise<string>;
  /** Renews the running replica's lease. */
  renew(session: string, stream: string): Promise<void>;
  /** Drops the lease (the stream's last event is stored). */
  finish(session: string, stream: string): Promise<void>;
  /** Events after `entry` (`"0"`: from the start), at most `limit`; undefined when there is no such stream. */
  after(
    session: string,
    stream: string,
    entry: string,
    limit?: number,
  ): Promise<StoredEvent[] | undefined>;
  /** Whether the replica running the stream still holds its lease. */
  live(session: string, stream: string): Promise<boolean>;
  /** The POST's request ids, as `open` stored them. */
  requestIds(session: string, stream: string): Promise<RequestId[]>;
  /** True for the one caller that gets to answer a stream whose replica was lost. */
  claimLost(session: string, stream: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface EventStoreLimits {
  /** How long a stream is kept after its last event, in ms. */
  ttlMs: number;
  /** Events kept per stream (the oldest are dropped). */
  maxEvents: number;
  /** How long the running replica's lease holds unless renewed, in ms. */
  leaseMs: number;
}

/** An SSE event id: `<stream>_<entry>`; the stream is the transport's UUID. */
export function formatEventId(stream: string, entry: string): string {
  return `${stream}_${entry}`;
}

const EVENT_ID = /^([0-9a-f-]{36})_(\d+(?:-\d+)?)$/;

/** The stream and entry an event id names, or undefined when it is none of ours. */
export function parseEventId(id: string): { stream: string; entry: string } | undefined {
  const match = EVENT_ID.exec(id);
  return match ? { stream: match[1]!, entry: match[2]! } : undefined;
}
