import type { EventStore, JSONRPCMessage, RequestId, StreamId } from "@modelcontextprotocol/server";
import { formatEventId, type GatewayEventStore, parseEventId } from "./event-store.js";

export interface StreamRecorder {
  /** What the SDK's transport stores the POST's events in. */
  eventStore: EventStore;
  /** Resolves once the response to every request of the POST is stored (or could not be). */
  done: Promise<void>;
  /** Stops renewing the lease (the POST's handler is over). */
  stop(): void;
}

/**
 * The event store of one POST's SSE stream: every event goes to the shared store under the
 * MCP session, whether or not the client is still connected, and the replica's lease on the
 * stream is renewed until the last response is stored, so that a replica answering a resume
 * knows the execution still runs.
 */
export function createStreamRecorder(options: {
  store: GatewayEventStore;
  session: string;
  requestIds: readonly RequestId[];
  leaseMs: number;
  onError: (error: unknown) => void;
}): StreamRecorder {
  const { store, session } = options;
  const waiting = new Set(options.requestIds);
  let opened: Promise<void> | undefined;
  let renewal: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const stop = () => {
    clearInterval(renewal);
    renewal = undefined;
  };

  const eventStore: EventStore = {
    async storeEvent(stream: StreamId, message: JSONRPCMessage): Promise<string> {
      opened ??= store.open(session, stream, options.requestIds).then(() => {
        renewal = setInterval(
          () => store.renew(session, stream).catch(options.onError),
          Math.max(100, Math.floor(options.leaseMs / 3)),
        );
        renewal.unref();
      });
      const id = "id" in message && !("method" in message) ? message.id : undefined;
      const answers = id !== undefined && waiting.delete(id);
      const end = answers && waiting.size === 0;
      try {
        await opened;
        const entry = await store.append(session, stream, message, end);
        return formatEventId(stream, entry);
      } finally {
        if (end) {
          stop();
          await store.finish(session, stream).catch(options.onError);
          finish();
        }
      }
    },
    async getStreamIdForEventId(eventId) {
      return parseEventId(eventId)?.stream;
    },
    async replayEventsAfter(lastEventId, { send }) {
      const at = parseEventId(lastEventId);
      if (!at) throw new Error("Not an event id of this gateway.");
      let cursor = at.entry;
      for (;;) {
        const events = (await store.after(session, at.stream, cursor)) ?? [];
        if (events.length === 0) return at.stream;
        for (const event of events) {
          cursor = event.entry;
          if ("jsonrpc" in event.message)
            await send(formatEventId(at.stream, event.entry), event.message as JSONRPCMessage);
        }
      }
    },
  };
  return { eventStore, done, stop };
}
