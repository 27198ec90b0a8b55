import type { IncomingMessage, ServerResponse } from "node:http";

/** Writes a JSON answer (when nothing was written yet). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/**
 * The request body as JSON, at most `maxBytes`; answers 413 or 400 (a JSON-RPC parse error)
 * itself and resolves undefined when it did.
 */
export async function readJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      sendJson(res, 413, {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, message: `Request body over ${maxBytes} bytes.` },
      });
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    sendJson(res, 400, {
      jsonrpc: "2.0",
      id: null,
      error: { code: -32700, message: "Parse error: the body is not JSON." },
    });
    return undefined;
  }
}

/** Resolves once the response is fully written or its connection closed. */
export function untilClosed(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    res.once("close", () => resolve());
    res.once("finish", () => resolve());
  });
}
