import { deserializeMessage, type JSONRPCMessage } from "@modelcontextprotocol/client";

/** A line on a stdio MCP connection that is not passed on as a message. */
export interface RejectedLine {
  /** "too_large": over the limit; "not_json": does not parse; "not_jsonrpc": JSON but no JSON-RPC message. */
  reason: "too_large" | "not_json" | "not_jsonrpc";
  /** The line's size in bytes. */
  bytes: number;
  /** The limit in bytes. */
  limit: number;
  /** The JSON-RPC id, when one could be read (a large line keeps only its first and last KiB). */
  id?: string | number;
}

/** Default largest message: the SDK's own default for its whole read buffer. */
export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** Bytes kept of each end of an oversized line, to find its id. */
const KEEP = 1024;
const NEWLINE = 0x0a;

/**
 * A drop-in for the MCP SDK's stdio ReadBuffer that bounds each message instead of the
 * buffer, and survives one that is too large or malformed. The SDK's buffer throws when its
 * content passes 10 MiB, and its transports then close the connection (a client kills its
 * server, a server stops reading stdin); it also drops lines that do not parse without a
 * word. Here such a line is skipped while it streams past (only its first and last KiB are
 * kept, to read its id) and handed to `onRejected`, which may answer with a message to
 * deliver in its place: a client turns it into an error response for the call it answers.
 * The connection stays up. Chunks are joined once per line, not once per chunk.
 */
export class StdioMessageBuffer {
  private readonly lines: (Buffer | RejectedLine)[] = [];
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Set while an oversized line streams past: its size so far and both ends. */
  private skipping: { bytes: number; head: Buffer; tail: Buffer } | undefined;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly onRejected: (line: RejectedLine) => JSONRPCMessage | undefined,
  ) {}

  append(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, from);
      const end = newline === -1 ? chunk.length : newline;
      if (end > from) this.take(chunk.subarray(from, end));
      if (newline === -1) break;
      this.endLine();
      from = newline + 1;
    }
  }

  readMessage(): JSONRPCMessage | null {
    for (;;) {
      const line = this.lines.shift();
      if (line === undefined) return null;
      const rejected = Buffer.isBuffer(line) ? this.parse(line) : line;
      if (rejected === undefined) continue; // a blank line
      if ("jsonrpc" in rejected) return rejected;
      const replacement = this.onRejected(rejected);
      if (replacement) return replacement;
    }
  }

  clear(): void {
    this.lines.length = 0;
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = undefined;
  }

  private take(part: Buffer): void {
    if (this.skipping) {
      this.skipping.bytes += part.length;
      this.skipping.tail = lastBytes(Buffer.concat([this.skipping.tail, lastBytes(part)]));
      return;
    }
    if (this.partialBytes + part.length <= this.maxMessageBytes) {
      // A copy: the chunk's memory is reused by the stream.
      this.partial.push(Buffer.from(part));
      this.partialBytes += part.length;
      return;
    }
    const sofar = Buffer.concat([...this.partial, part]);
    this.skipping = {
      bytes: sofar.length,
      head: Buffer.from(sofar.subarray(0, KEEP)),
      tail: Buffer.from(lastBytes(sofar)),
    };
    this.partial = [];
    this.partialBytes = 0;
  }

  private endLine(): void {
    if (this.skipping) {
      const { bytes, head, tail } = this.skipping;
      this.skipping = undefined;
      const id = findId(head.toString("utf8"), tail.toString("utf8"));
      this.lines.push({
        reason: "too_large",
        bytes,
        limit: this.maxMessageBytes,
        ...(id !== undefined ? { id } : {}),
      });
      return;
    }
    const line = this.partial.length === 1 ? this.partial[0]! : Buffer.concat(this.partial);
    this.partial = [];
    this.partialBytes = 0;
    if (line.length > 0) this.lines.push(line);
  }

  private parse(line: Buffer): JSONRPCMessage | RejectedLine | undefined {
    const text = line.toString("utf8").replace(/\r$/, "");
    if (text.trim() === "") return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { reason: "not_json", bytes: line.length, limit: this.maxMessageBytes };
    }
    try {
      return deserializeMessage(text);
    } catch {
      const id = (json as { id?: unknown } | null)?.id;
      return {
        reason: "not_jsonrpc",
        bytes: line.length,
        limit: this.maxMessageBytes,
        ...(typeof id === "string" || typeof id === "number" ? { id } : {}),
      };
    }
  }
}

function lastBytes(buffer: Buffer): Buffer {
  return buffer.length <= KEEP ? buffer : buffer.subarray(buffer.length - KEEP);
}

const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
/** `"id": 5` as the first key, or second after "jsonrpc" (Python SDK, most hand-written servers). */
const ID_FIRST = new RegExp(
  String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}`,
);
/**
 * `"id": 5 }` as the last key, or before a last "jsonrpc" (the TypeScript SDK). One closing
 * brace only: an "id" inside the result would be followed by at least two.
 */
const ID_LAST = new RegExp(String.raw`"id"\s*:\s*${ID}\s*(?:,\s*"jsonrpc"\s*:\s*"2\.0"\s*)?\}\s*$`);

/** The JSON-RPC id of a message known only by its first and last KiB. */
export function findId(head: string, tail: string): string | number | undefined {
  const match = ID_FIRST.exec(head) ?? ID_LAST.exec(tail);
  if (!match) return undefined;
  try {
    const id = JSON.parse(match[1]!) as string | number;
    return id;
  } catch {
    return undefined;
  }
}
