import { isAbsolute, resolve } from "node:path";
import { ErrorCodes, expandVariables, formatIssues, OptimizerError } from "@mcp-optimizer/core";
import * as z from "zod";

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

/** How requests authenticate. Values are resolved on the host and never reach the sandbox. */
export const OpenApiAuthSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("bearer"),
    /** The token sent as `Authorization: Bearer <token>`. */
    token: z.string().min(1),
  }),
  z.strictObject({
    type: z.literal("apiKey"),
    /** Where the key goes. */
    in: z.enum(["header", "query"]),
    /** The header or query parameter name, e.g. "X-API-Key" or "api_key". */
    name: z.string().min(1),
    value: z.string().min(1),
  }),
  z.strictObject({
    type: z.literal("basic"),
    username: z.string(),
    password: z.string(),
  }),
  z.strictObject({
    type: z.literal("oauth2"),
    /** The token endpoint of the client-credentials grant. */
    tokenUrl: httpUrl,
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** Scopes asked for, joined with spaces. Default: none. */
    scopes: z.array(z.string().min(1)).optional(),
    /** An `audience` form field some providers need (Auth0). Default: none. */
    audience: z.string().optional(),
  }),
]);

/**
 * One `mcpServers` entry that names an OpenAPI document instead of an MCP server:
 * `{ "openapi": "./petstore.yaml", "baseUrl": "https://...", "auth": {...} }`.
 */
export const OpenApiServerConfigSchema = z.strictObject({
  type: z.literal("openapi").optional(),
  /** The OpenAPI 3.0/3.1 document: a file path (relative to the config file) or an http(s) URL. */
  openapi: z.string().min(1, "must name an OpenAPI document (a file or an http(s) URL)"),
  /** Where requests go. Default: the document's first `servers` URL (resolved against the document's URL). */
  baseUrl: httpUrl.optional(),
  /** How requests authenticate. Default: no authentication. */
  auth: OpenApiAuthSchema.optional(),
  /** Headers added to every request (e.g. a tenant or version header). Default: none. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Per-call timeout in milliseconds. Default 60000. */
  timeout: z.number().int().positive().optional(),
  /** Leave the upstream configured but do not load it. */
  disabled: z.boolean().optional(),
  /** One line shown to the model (defaults to the document's title). */
  description: z.string().optional(),
});

export type OpenApiAuth = z.output<typeof OpenApiAuthSchema>;
export type OpenApiServerConfig = z.output<typeof OpenApiServerConfigSchema>;

/** True when an `mcpServers` entry names an OpenAPI document. */
export function isOpenApiServerConfig(entry: unknown): boolean {
  return typeof entry === "object" && entry !== null && "openapi" in entry;
}

export interface ResolveOpenApiConfigOptions {
  /** Variables for `${VAR}`. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Folder that relative document paths are resolved against. Default: process.cwd(). */
  baseDir?: string;
  /** Where the entry sits, for error messages. Default "openapi". */
  path?: string;
}

/**
 * Validates one entry, expands `${VAR}` in every string (the document, URLs, auth, headers)
 * and resolves a relative document path. Returns the entry and the values to redact.
 */
export function resolveOpenApiConfig(
  input: unknown,
  options: ResolveOpenApiConfigOptions = {},
): { config: OpenApiServerConfig; secrets: string[] } {
  const at = options.path ?? "openapi";
  const parsed = OpenApiServerConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `Invalid configuration: ${formatIssues(parsed.error.issues, at)}.`,
      {
        details: {
          issues: parsed.error.issues.map((i) => ({
            path: [at, ...i.path.map(String)].join("."),
            message: i.message,
          })),
        },
      },
    );
  }
  const env = options.env ?? process.env;
  const secrets = new Set<string>();
  const plain = (value: string, field: string) => expandVariables(value, env, `${at}.${field}`);
  const secret = (value: string, field: string) => {
    const out = expandVariables(value, env, `${at}.${field}`, secrets);
    if (out.length >= 4) secrets.add(out);
    return out;
  };
  const c = parsed.data;
  let document = plain(c.openapi, "openapi");
  if (!/^https?:\/\//.test(document) && !isAbsolute(document)) {
    document = resolve(options.baseDir ?? process.cwd(), document);
  }
  const config: OpenApiServerConfig = {
    ...c,
    openapi: document,
    ...(c.baseUrl ? { baseUrl: plain(c.baseUrl, "baseUrl") } : {}),
    ...(c.headers
      ? {
          headers: Object.fromEntries(
            Object.entries(c.headers).map(([k, v]) => [k, secret(v, `headers.${k}`)]),
          ),
        }
      : {}),
    ...(c.auth ? { auth: resolveAuth(c.auth, plain, secret) } : {}),
  };
  return { config, secrets: [...secrets] };
}

function resolveAuth(
  auth: OpenApiAuth,
  plain: (v: string, f: string) => string,
  secret: (v: string, f: string) => string,
): OpenApiAuth {
  switch (auth.type) {
    case "bearer":
      return { ...auth, token: secret(auth.token, "auth.token") };
    case "apiKey":
      return { ...auth, value: secret(auth.value, "auth.value") };
    case "basic":
      return {
        ...auth,
        username: plain(auth.username, "auth.username"),
        password: secret(auth.password, "auth.password"),
      };
    case "oauth2":
      return {
        ...auth,
        tokenUrl: plain(auth.tokenUrl, "auth.tokenUrl"),
        clientId: plain(auth.clientId, "auth.clientId"),
        clientSecret: secret(auth.clientSecret, "auth.clientSecret"),
      };
  }
}
