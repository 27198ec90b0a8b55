import { FEATURE_NAMES, SandboxConfigSchema, ServerConfigSchema } from "@mcp-optimizer/core";
import * as z from "zod";

/** Where sessions live. No `redisUrl`: in the memory of the serving process. */
export const SessionsConfigSchema = z.strictObject({
  /** A Redis URL (redis:// or rediss://); `${VAR}` is expanded. Default: in-memory sessions. */
  redisUrl: z
    .string()
    .regex(/^(rediss?:\/\/|\$\{)/, "must start with redis:// or rediss://")
    .optional(),
  /** Prefix of every Redis key. Default "mcpo:". */
  keyPrefix: z.string().min(1).optional(),
  /** Tenant of new sessions and of `sessions list`. Default "default". */
  tenant: z.string().min(1).optional(),
  /** Time to live of a session in milliseconds. Default 3600000. */
  ttlMs: z.number().int().positive().optional(),
  /** Whose `context` programs use (run, serve) and `context` shows. Default "default". */
  principal: z.string().min(1).max(256).optional(),
  /** Largest session, in bytes of its JSON; a save over it fails with SESSION_TOO_LARGE. Default 1048576. */
  maxSessionBytes: z.number().int().positive().optional(),
  /** Largest entry (a context key, a result handle), in bytes of its JSON. Default 4194304. */
  maxEntryBytes: z.number().int().positive().optional(),
  /** In-memory store only: sessions kept at most, the least recently used evicted first. Default 10000. */
  maxSessions: z.number().int().positive().optional(),
});

/** Each principal's `context`: size caps and the TTL of its keys (docs/context.md). */
export const ContextConfigSchema = z.strictObject({
  /** Bytes (of JSON) one principal's keys may hold together. Default 1048576. */
  maxBytes: z.number().int().positive().optional(),
  /** Keys one principal may hold. Default 1000. */
  maxEntries: z.number().int().positive().optional(),
  /** Time to live of a key from its last write, in ms; 0 keeps keys until deleted. Default 2592000000 (30 days). */
  ttlMs: z.number().int().min(0).optional(),
});

/** Feature flags: optional parts on (true) or off (false); docs/features.md lists them. */
export const FeaturesConfigSchema = z.record(z.string(), z.boolean()).superRefine((flags, ctx) => {
  for (const name of Object.keys(flags)) {
    if ((FEATURE_NAMES as readonly string[]).includes(name)) continue;
    ctx.addIssue({
      code: "custom",
      path: [name],
      message: `unknown feature flag; the flags are ${FEATURE_NAMES.join(", ")}`,
    });
  }
});

/** OpenTelemetry wiring through @mcp-optimizer/telemetry-otel. Absent: metrics stay no-ops. */
export const TelemetryConfigSchema = z.looseObject({
  /** Turn telemetry on. Default true when the section is present. */
  enabled: z.boolean().optional(),
  /** service.name of the resource. Default "mcp-optimizer". */
  serviceName: z.string().min(1).optional(),
  /** Serve Prometheus /metrics on this port (0 = a free one). Default: off. */
  prometheusPort: z.number().int().min(0).max(65_535).optional(),
  /** Host of the /metrics listener. Default "127.0.0.1". */
  prometheusHost: z.string().optional(),
  /** OTLP/HTTP endpoint for traces and metrics, e.g. http://127.0.0.1:4318. Default: off. */
  otlpEndpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** Write audit records as JSON lines to this file (relative: to the config file's folder). Default: off. */
  auditFile: z.string().min(1).optional(),
});

/** How tools are searched beyond the lexical ranking (docs/search.md). */
export const SearchConfigSchema = z.strictObject({
  /** Rank by what each tenant's programs called after a search (in Redis with sessions.redisUrl). Default true. */
  learnFromUse: z.boolean().optional(),
  /** Hybrid ranking with an OpenAI-compatible embeddings endpoint (OpenAI, Ollama, vLLM). Default: off. */
  embeddings: z
    .strictObject({
      /** Up to and including /v1, e.g. "http://127.0.0.1:11434/v1". */
      baseUrl: z.string().min(1),
      /** The embedding model, e.g. "nomic-embed-text". */
      model: z.string().min(1),
      /** Sent as a bearer token; `${VAR}` is expanded and the value redacted. Default: none. */
      apiKey: z.string().optional(),
      /** Vector size, for models that take one. Default: the model's. */
      dimensions: z.number().int().positive().optional(),
      /** Longest wait for one request, in ms. Default 30000. */
      timeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
});

/** What stays out of the model (docs/privacy.md). Absent: off. */
export const PrivacyConfigSchema = z.strictObject({
  /** Kinds of personal data replaced by tokens: email, phone, card, iban, ip, url, or a rule's kind. Default: none. */
  tokenize: z.array(z.string().min(1)).optional(),
  /** Region of phone numbers without a country code, e.g. "DE". Default "US". */
  defaultRegion: z.string().length(2).optional(),
  /** Patterns of more kinds (national ids): [{ "kind": "ssn", "pattern": "\\b\\d{3}-\\d{2}-\\d{4}\\b" }]. Default: none. */
  rules: z
    .array(z.strictObject({ kind: z.string().min(1), pattern: z.string().min(1) }))
    .optional(),
  /** Seals each session's token vault at rest; `${VAR}` is expanded and the value redacted. Default: none. */
  vaultKey: z.string().min(1).optional(),
  /** Servers or tools whose data is sensitive: "hr", "crm.get_customer". Default: none. */
  sensitive: z.array(z.string().min(1)).optional(),
  /** Where sensitive data may go: { "hr.*": ["hr.*", "mail.send"] }. Default: its own server only. */
  flows: z.record(z.string(), z.array(z.string().min(1))).optional(),
  /**
   * Finds personal data with Microsoft Presidio's analyzer over HTTP instead of the built-in
   * detector (@mcp-optimizer/detector-presidio). `headers` values may use `${VAR}` and are
   * redacted. Default: the built-in detector.
   */
  presidio: z
    .strictObject({
      /** The analyzer's base URL, e.g. "http://localhost:5002". */
      url: z.string().min(1),
      /** Language of the texts. Default "en". */
      language: z.string().min(1).optional(),
      /** Results scored below it are dropped. Default 0.4. */
      scoreThreshold: z.number().min(0).max(1).optional(),
      /** Entity types asked for (list), or type to kind (map). Default: those of `tokenize` (email is EMAIL_ADDRESS, person PERSON). */
      entities: z
        .union([z.array(z.string().min(1)), z.record(z.string(), z.string().min(1))])
        .optional(),
      /** Longest wait for one answer, in ms. Default 10000. */
      timeoutMs: z.number().int().positive().optional(),
      /** Sent with every request, e.g. { "authorization": "Bearer ${PRESIDIO_TOKEN}" }. */
      headers: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

/** Results over the token budget: kept behind handles (default), or cut (`false`). */
export const ResultHandlesConfigSchema = z.union([
  z.literal(false),
  z.strictObject({
    /** How long a handle's value is kept, in ms. Default 3600000. */
    ttlMs: z.number().int().positive().optional(),
    /** Largest value kept behind a handle, in bytes. Default 4194304. */
    maxBytes: z.number().int().positive().optional(),
  }),
]);

/** Which tools ask a person first (docs/approvals-and-skills.md). */
const ApprovalRulesShape = {
  /** Tools that ask, by annotation: "destructive", "write" (every tool not read-only) or "none". Default "destructive". */
  ask: z.enum(["destructive", "write", "none"]).optional(),
  /** More tools that ask whatever their annotations, by pattern: "github.create_*". Default none. */
  tools: z.array(z.string().min(1)).optional(),
  /** Tools that never ask, by pattern; wins over `ask` and `tools`. Default none. */
  exempt: z.array(z.string().min(1)).optional(),
};

const ApprovalsObjectSchema = z.strictObject({
  ...ApprovalRulesShape,
  /** Rules of one tenant, each field replacing the one above. Default none. */
  tenants: z.record(z.string().min(1), z.strictObject(ApprovalRulesShape)).optional(),
  /** How long a pending approval waits for a decision, in ms. Default 3600000. */
  ttlMs: z.number().int().min(1000).optional(),
  /** What the request shows: "plan", or "dry-run" (the plan and a dry run's calls). Default "plan". */
  preview: z.enum(["plan", "dry-run"]).optional(),
});

/**
 * Approvals before side effects: `false` (or absent) is off; `init` writes
 * `{ "ask": "destructive" }`. Checked as the object unless `false`, so that a mistake is named
 * by its path (a union would only say "Invalid input").
 */
export const ApprovalsConfigSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    if (value === false) return;
    const parsed = ApprovalsObjectSchema.safeParse(value);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue(issue as never);
  })
  .transform((value) => value as false | z.output<typeof ApprovalsObjectSchema>);

/** The CLI's config file: the standard `mcpServers` map (plus OpenAPI entries), sandbox, sessions and telemetry. */
export const CliConfigSchema = z.strictObject({
  /** A JSON schema URL editors may use; ignored. */
  $schema: z.string().optional(),
  /**
   * Servers by name: MCP servers (`command` or `url`, validated by core) and OpenAPI documents
   * (`openapi`, validated by @mcp-optimizer/upstream-openapi).
   */
  mcpServers: z
    .record(
      z.string().regex(/^[A-Za-z0-9][\w.-]{0,63}$/, "server names are 1-64 letters, digits, _ . -"),
      z.unknown(),
    )
    .superRefine((servers, ctx) => {
      // MCP servers are checked here, with the rest of the file; OpenAPI entries when loaded.
      for (const [name, entry] of Object.entries(servers)) {
        if (typeof entry === "object" && entry !== null && "openapi" in entry) continue;
        const parsed = ServerConfigSchema.safeParse(entry);
        if (parsed.success) continue;
        for (const issue of parsed.error.issues)
          ctx.addIssue({ ...issue, path: [name, ...issue.path] } as never);
      }
    })
    .default({}),
  /** SandboxConfig fields; the CLI's default mode is "wasm" (falling back to "process"). */
  sandbox: SandboxConfigSchema.optional(),
  sessions: SessionsConfigSchema.optional(),
  telemetry: TelemetryConfigSchema.optional(),
  search: SearchConfigSchema.optional(),
  privacy: PrivacyConfigSchema.optional(),
  resultHandles: ResultHandlesConfigSchema.optional(),
  approvals: ApprovalsConfigSchema.optional(),
  context: ContextConfigSchema.optional(),
  features: FeaturesConfigSchema.optional(),
});

export type CliConfigInput = z.input<typeof CliConfigSchema>;
export type CliConfig = z.output<typeof CliConfigSchema>;
export type SessionsConfig = z.output<typeof SessionsConfigSchema>;
export type TelemetryConfig = z.output<typeof TelemetryConfigSchema>;
export type SearchConfig = z.output<typeof SearchConfigSchema>;
export type ApprovalsConfig = z.output<typeof ApprovalsConfigSchema>;

/** The file names discovery looks for in the working directory, in order. */
export const CONFIG_FILE_NAMES = [
  "mcp-optimizer.config.json",
  ".mcp-optimizer.json",
  "mcp-optimizer.config.ts",
  "mcp-optimizer.config.mjs",
] as const;

/** The environment variable naming the config file. */
export const CONFIG_ENV = "MCPO_CONFIG";
