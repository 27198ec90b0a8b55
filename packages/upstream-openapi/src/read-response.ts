import {
  ErrorCodes,
  type JsonObject,
  OptimizerError,
  type Redactor,
  type ToolCallResult,
} from "@mcp-optimizer/core";

export interface ReadResponseOptions {
  /** "server.tool (GET /path)", for messages. */
  where: string;
  maxBytes: number;
  redactor: Redactor;
  details: Record<string, unknown>;
}

/** Statuses that mean "not now" rather than "no": rejected as UPSTREAM_UNAVAILABLE so read-only calls are retried. */
const TRANSIENT = new Set([502, 503, 504]);

/**
 * An HTTP answer as a tool result: a 2xx JSON body as text (and as structured content when
 * it is an object); any other status as an `isError` result whose text names the status and
 * the server's message, with `{ status, message, body }` as structured content.
 */
export async function readResponse(
  response: Response,
  options: ReadResponseOptions,
): Promise<ToolCallResult> {
  const text = await readCapped(response, options);
  const type = response.headers.get("content-type") ?? "";
  let body: unknown = text;
  if (/json/i.test(type) && text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {}
  }
  if (response.ok) {
    const shown = typeof body === "string" ? body : JSON.stringify(body);
    return {
      content: [{ type: "text", text: options.redactor.text(shown) }],
      ...(isObject(body)
        ? { structuredContent: options.redactor.json(body as JsonObject) as JsonObject }
        : {}),
    };
  }
  const message = options.redactor.text(
    errorMessage(body) ?? (response.statusText || "no message"),
  );
  const line = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}: ${message}`;
  if (TRANSIENT.has(response.status)) {
    throw new OptimizerError(ErrorCodes.UPSTREAM_UNAVAILABLE, `${options.where} answered ${line}`, {
      details: { ...options.details, status: response.status },
    });
  }
  return {
    isError: true,
    content: [{ type: "text", text: line }],
    structuredContent: {
      status: response.status,
      message,
      ...(body !== "" ? { body: options.redactor.json(body as JsonObject) } : {}),
    } as JsonObject,
  };
}

async function readCapped(response: Response, options: ReadResponseOptions): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > options.maxBytes) {
    await response.body?.cancel();
    throw tooLarge(options);
  }
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > options.maxBytes) throw tooLarge(options);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(options: ReadResponseOptions): OptimizerError {
  return new OptimizerError(
    ErrorCodes.TOOL_ERROR,
    `${options.where} answered more than ${options.maxBytes} bytes; ask for less (a filter or a page size).`,
    { details: options.details },
  );
}

/** The message an API put in its error body, in the shapes APIs commonly use. */
function errorMessage(body: unknown): string | undefined {
  if (typeof body === "string") return body.trim().slice(0, 500) || undefined;
  if (!isObject(body)) return undefined;
  const b = body as Record<string, unknown>;
  for (const key of ["message", "detail", "error_description", "title", "error"]) {
    const v = b[key];
    if (typeof v === "string" && v) return v.slice(0, 500);
    if (isObject(v) && typeof (v as { message?: unknown }).message === "string")
      return (v as { message: string }).message.slice(0, 500);
  }
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    const first = b.errors[0] as { message?: unknown } | string;
    if (typeof first === "string") return first.slice(0, 500);
    if (typeof first?.message === "string") return first.message.slice(0, 500);
  }
  return JSON.stringify(body).slice(0, 500);
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
