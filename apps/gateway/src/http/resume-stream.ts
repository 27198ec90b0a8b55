import type { ServerResponse } from "node:http";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { formatEventId, type GatewayEventStore, parseEventId } from "../streams/event-store.js";
import { sendJson } from "./http-io.js";

export interface ResumeOptions {
  store: GatewayEventStore;
  /** The MCP session the request proved it owns. */
  session: string;
  lastEventId: string;
  /** How often to look for new events while the stream runs elsewhere, in ms. */
  pollMs?: number;
  /** SSE comment frames so that proxies keep the connection, in ms. */
  keepAliveMs?: number;
}

/** What a client whose stream's replica died gets, typed like HAProxy's 502 for a lost request. */
export const REPLICA_LOST_MESSAGE =
  "GATEWAY_REPLICA_LOST: the replica running this request stopped before answering; the request may or may not have run. Retry it: the session goes on on another replica.";

/**
 * A `GET` with `Last-Event-ID` (MCP "Resumability and Redelivery"): replays the stream's events
 * after that id from the shared store, then follows the events the replica still running the
 * POST stores, until the POST's last response has been sent; then the stream ends. Works on
 * any replica. When the running replica's lease lapses before the last response, the requests
 * left unanswered are answered with GATEWAY_REPLICA_LOST (stored, so that any later resume
 * gets the same answer), once.
 */
export async function resumeStream(res: ServerResponse, options: ResumeOptions): Promise<void> {
  const { store, session } = options;
  const pollMs = options.pollMs ?? 200;
  const at = parseEventId(options.lastEventId);
  const first = at ? await store.after(session, at.stream, at.entry) : undefined;
  if (!at || first === undefined) {
    sendJson(res, 404, {
      jsonrpc: "2.0",
      id: null,
      error: {
        code: -32001,
        message:
          "Stream not found: no events after this Last-Event-ID in this session (expired, or not this session's).",
      },
    });
    return;
  }
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    "mcp-session-id": session,
  });
  let closed = false;
  res.once("close", () => {
    closed = true;
  });
  let lastWrite = Date.now();
  const write = (frame: string) => {
    res.write(frame);
    lastWrite = Date.now();
  };
  let cursor = at.entry;
  let events: typeof first | undefined = first;
  while (!closed) {
    events ??= await store.after(session, at.stream, cursor);
    if (events === undefined) break; // expired meanwhile
    for (const event of events) {
      cursor = event.entry;
      const id = formatEventId(at.stream, event.entry);
      // The priming event (no message) carries only its id.
      if ("jsonrpc" in event.message)
        write(`event: message\nid: ${id}\ndata: ${JSON.stringify(event.message)}\n\n`);
      else write(`id: ${id}\ndata: \n\n`);
      if (event.end) {
        res.end();
        return;
      }
    }
    if (events.length === 0) {
      if (!(await store.live(session, at.stream))) {
        // The lease lapsed: the last events may have landed just before; read once more.
        const late = await store.after(session, at.stream, cursor);
        if (late === undefined) break;
        if (late.length > 0) {
          events = late;
          continue;
        }
        if (await store.claimLost(session, at.stream)) {
          await answerLost(store, session, at.stream);
          events = undefined;
          continue;
        }
      }
      if (Date.now() - lastWrite >= (options.keepAliveMs ?? 15_000)) write(": keepalive\n\n");
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    events = undefined;
  }
  res.end();
}

/** Stores a GATEWAY_REPLICA_LOST error for every request of the stream not answered yet. */
async function answerLost(store: GatewayEventStore, session: string, stream: string) {
  const answered = new Set<unknown>();
  let cursor = "0";
  for (;;) {
    const events = (await store.after(session, stream, cursor, 500)) ?? [];
    if (events.length === 0) break;
    for (const event of events) {
      cursor = event.entry;
      const m = event.message as { id?: unknown; method?: unknown };
      if (m.id !== undefined && m.method === undefined) answered.add(m.id);
    }
  }
  const missing = (await store.requestIds(session, stream)).filter((id) => !answered.has(id));
  for (const [i, id] of missing.entries()) {
    const message: JSONRPCMessage = {
      jsonrpc: "2.0",
      id,
      error: {
        code: -32603,
        message: REPLICA_LOST_MESSAGE,
        data: { code: "GATEWAY_REPLICA_LOST" },
      },
    };
    await store.append(session, stream, message, i === missing.length - 1);
  }
  if (missing.length === 0) await store.append(session, stream, {}, true);
}
