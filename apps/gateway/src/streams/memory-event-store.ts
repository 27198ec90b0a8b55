import type { RequestId } from "@modelcontextprotocol/server";
import type { EventStoreLimits, GatewayEventStore, StoredEvent } from "./event-store.js";

interface MemoryStream {
  events: StoredEvent[];
  next: number;
  requestIds: RequestId[];
  liveUntil: number;
  lost: boolean;
  expires: number;
}

/** The response streams' events in this process (the single replica without Redis). */
export function createMemoryEventStore(limits: EventStoreLimits): GatewayEventStore {
  const streams = new Map<string, MemoryStream>();
  const keyOf = (session: string, stream: string) => `${session}:${stream}`;
  const get = (session: string, stream: string) => {
    const key = keyOf(session, stream);
    const found = streams.get(key);
    if (found && found.expires <= Date.now()) {
      streams.delete(key);
      return undefined;
    }
    return found;
  };
  // Expired streams go even when nobody reads them again.
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [key, s] of streams) if (s.expires <= now) streams.delete(key);
    },
    Math.max(1000, Math.min(limits.ttlMs, 60_000)),
  );
  sweep.unref();
  return {
    async open(session, stream, requestIds) {
      streams.set(keyOf(session, stream), {
        events: [],
        next: 1,
        requestIds: [...requestIds],
        liveUntil: Date.now() + limits.leaseMs,
        lost: false,
        expires: Date.now() + limits.ttlMs,
      });
    },
    async append(session, stream, message, end) {
      const s = get(session, stream);
      if (!s) throw new Error(`No open stream ${stream}.`);
      const entry = String(s.next++);
      s.events.push({ entry, message, end });
      if (s.events.length > limits.maxEvents) s.events.shift();
      s.expires = Date.now() + limits.ttlMs;
      return entry;
    },
    async renew(session, stream) {
      const s = get(session, stream);
      if (s) s.liveUntil = Date.now() + limits.leaseMs;
    },
    async finish(session, stream) {
      const s = get(session, stream);
      if (s) s.liveUntil = 0;
    },
    async after(session, stream, entry, limit = 100) {
      const s = get(session, stream);
      if (!s) return undefined;
      const after = Number(entry);
      return s.events.filter((e) => Number(e.entry) > after).slice(0, limit);
    },
    async live(session, stream) {
      return (get(session, stream)?.liveUntil ?? 0) > Date.now();
    },
    async requestIds(session, stream) {
      return get(session, stream)?.requestIds ?? [];
    },
    async claimLost(session, stream) {
      const s = get(session, stream);
      if (!s || s.lost) return false;
      s.lost = true;
      return true;
    },
    async close() {
      clearInterval(sweep);
      streams.clear();
    },
  };
}
