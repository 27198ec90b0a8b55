import { ErrorCodes, type JsonObject, OptimizerError } from "@mcp-optimizer/core";
import type { AuthParts } from "./auth.js";
import type { OpenApiOperation, OperationParameter } from "./operations-to-tools.js";

export interface BuiltRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string | FormData | URLSearchParams;
}

/**
 * Turns a tool's arguments into an HTTP request: path parameters percent-encoded into the
 * template (a "/" in a value stays inside its segment), query parameters in the OpenAPI
 * styles (form, exploded by default; deepObject), headers and cookies, and the body in the
 * operation's media type. Host-side headers and auth are added last and always win.
 */
export function buildRequest(
  op: OpenApiOperation,
  args: JsonObject,
  baseUrl: string,
  extraHeaders: Record<string, string>,
  auth: AuthParts,
): BuiltRequest {
  let path = op.path;
  const query: [string, string][] = [];
  const headers: Record<string, string> = { accept: "application/json, */*;q=0.5" };
  const cookies: string[] = [];
  for (const p of op.parameters) {
    const value = args[p.property];
    if (value === undefined || value === null) {
      if (p.required) missing(op, p.property);
      continue;
    }
    switch (p.in) {
      case "path":
        path = path.split(`{${p.name}}`).join(pathValue(p, value));
        break;
      case "query":
        query.push(...queryPairs(p, value));
        break;
      case "header":
        headers[p.name.toLowerCase()] = scalarText(p, value);
        break;
      case "cookie":
        cookies.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(scalarText(p, value))}`);
        break;
    }
  }
  if (cookies.length) headers.cookie = cookies.join("; ");
  const url = new URL(joinUrl(baseUrl, path));
  for (const [k, v] of query) url.searchParams.append(k, v);
  for (const [k, v] of Object.entries(auth.query)) url.searchParams.set(k, v);
  let body: BuiltRequest["body"];
  if (op.body) {
    const value = args[op.body.property];
    if (value === undefined) {
      if (op.body.required) missing(op, op.body.property);
    } else {
      const encoded = encodeBody(op.body.mediaType, value);
      body = encoded.body;
      if (encoded.contentType) headers["content-type"] = encoded.contentType;
    }
  }
  for (const [k, v] of Object.entries(extraHeaders)) headers[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries(auth.headers)) headers[k.toLowerCase()] = v;
  return { url, method: op.method, headers, ...(body !== undefined ? { body } : {}) };
}

function missing(op: OpenApiOperation, property: string): never {
  throw new OptimizerError(
    ErrorCodes.TOOL_INVALID_ARGUMENTS,
    `${op.tool.name} needs "${property}" (${op.method} ${op.path}).`,
    { details: { tool: op.tool.name, missing: property } },
  );
}

/** Joins the base URL and the path template without losing the base's own path ("/v1"). */
function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

function pathValue(p: OperationParameter, value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => encodeURIComponent(String(v))).join(",");
  if (typeof value === "object" && value !== null) {
    return Object.entries(value)
      .flatMap(([k, v]) =>
        p.explode
          ? [`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`]
          : [k, String(v)].map(encodeURIComponent),
      )
      .join(",");
  }
  return encodeURIComponent(String(value));
}

function queryPairs(p: OperationParameter, value: unknown): [string, string][] {
  if (p.json) return [[p.name, JSON.stringify(value)]];
  const style = p.style ?? "form";
  const explode = p.explode ?? style === "form";
  if (Array.isArray(value)) {
    if (explode) return value.map((v) => [p.name, String(v)]);
    const sep = style === "spaceDelimited" ? " " : style === "pipeDelimited" ? "|" : ",";
    return [[p.name, value.map(String).join(sep)]];
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (style === "deepObject") return entries.map(([k, v]) => [`${p.name}[${k}]`, String(v)]);
    if (explode) return entries.map(([k, v]) => [k, String(v)]);
    return [[p.name, entries.flatMap(([k, v]) => [k, String(v)]).join(",")]];
  }
  return [[p.name, String(value)]];
}

function scalarText(p: OperationParameter, value: unknown): string {
  if (p.json || (typeof value === "object" && value !== null && !Array.isArray(value)))
    return JSON.stringify(value);
  if (Array.isArray(value)) return value.map(String).join(",");
  return String(value);
}

function encodeBody(
  mediaType: string,
  value: unknown,
): { body: string | FormData | URLSearchParams; contentType?: string } {
  if (mediaType === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(asObject(value))) form.append(k, fieldText(v));
    return { body: form, contentType: mediaType };
  }
  if (mediaType === "multipart/form-data") {
    const form = new FormData();
    for (const [k, v] of Object.entries(asObject(value))) form.append(k, fieldText(v));
    return { body: form }; // fetch writes the boundary into the content type
  }
  if (mediaType.startsWith("text/") || (typeof value === "string" && !/json/.test(mediaType))) {
    return {
      body: typeof value === "string" ? value : JSON.stringify(value),
      contentType: mediaType,
    };
  }
  return {
    body: JSON.stringify(value),
    contentType: mediaType === "*/*" ? "application/json" : mediaType,
  };
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : { value };
}

function fieldText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
