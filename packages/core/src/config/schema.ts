import * as z from "zod";

/** Sandbox modes; "gvisor" is docker with the runsc runtime. */
export const SANDBOX_MODES = ["process", "wasm", "docker", "gvisor", "hybrid"] as const;

/** Modes a hybrid policy may route to. */
const ROUTABLE_MODES = ["process", "wasm", "docker", "gvisor"] as const;

/** `sandbox.hybrid`: the routing policy of mode "hybrid", as data. */
export const HybridPolicySchema = z.strictObject({
  /** Ordered rules; the first whose hints hold picks the modes. Default: destructive tools, files or long runs to gvisor, docker, wasm, process. */
  rules: z
    .array(
      z.strictObject({
        /** A name for decisions, logs and metrics. */
        name: z.string().min(1),
        /** The rule holds when any of these hints is set for the execution. */
        when: z.array(z.enum(["mayWrite", "mayDestroy", "needsFiles", "longRunning"])).min(1),
        /** Modes to try, most preferred first; unconfigured or unavailable ones are passed over. */
        modes: z.array(z.enum(ROUTABLE_MODES)).min(1),
      }),
    )
    .optional(),
  /** Modes for executions no rule matches. Default wasm, docker, gvisor, process. */
  defaultModes: z.array(z.enum(ROUTABLE_MODES)).min(1).optional(),
});

export const SandboxConfigSchema = z.strictObject({
  /** Where programs run. Default "process" in core (the CLI defaults to "wasm"). */
  mode: z.enum(SANDBOX_MODES).default("process"),
  /** Record metrics through @opentelemetry/api. Default true. */
  enableMetrics: z.boolean().default(true),
  /** Record spans through @opentelemetry/api (an SDK must be installed to export them). Default false. */
  enableTelemetry: z.boolean().default(false),
  /** Wall-clock limit of one execution in milliseconds. Default 30000. */
  maxExecutionTime: z.number().int().min(10).max(3_600_000).default(30_000),
  /** Memory ceiling of a sandbox runner in MiB. Default 128. */
  maxMemoryMb: z.number().int().min(16).max(65_536).default(128),
  /** Routing policy when `mode` is "hybrid". Default: the built-in policy (DEFAULT_HYBRID_RULES). */
  hybrid: HybridPolicySchema.optional(),
  /** Redis for sessions (used by the CLI and apps that compose @mcp-optimizer/sessions-redis). */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .optional(),
});

export type SandboxConfig = z.input<typeof SandboxConfigSchema>;
export type ResolvedSandboxConfig = z.output<typeof SandboxConfigSchema>;
export type HybridPolicyConfig = z.output<typeof HybridPolicySchema>;

const stringMap = z.record(z.string(), z.string());

/**
 * `memo` on a server: keep results of its read-only tools (or the tools listed) for a while,
 * per tenant and arguments; a call to any other tool of the server drops them. `true` = {}.
 */
export const MemoConfigSchema = z.union([
  z.boolean(),
  z.strictObject({
    /** How long a result is kept, in ms. Default 60000. */
    ttlMs: z.number().int().positive().max(86_400_000).optional(),
    /** More tools to memoise although not annotated read-only (their names). Default: none. */
    tools: z.array(z.string().min(1)).optional(),
  }),
]);
export type MemoConfig = z.output<typeof MemoConfigSchema>;

/** A server launched as a child process and spoken to over stdio (Claude Desktop's shape). */
export const StdioServerConfigSchema = z.strictObject({
  type: z.literal("stdio").optional(),
  command: z.string().min(1, "must name the program to start"),
  args: z.array(z.string()).default([]),
  env: stringMap.optional(),
  cwd: z.string().optional(),
  /** Per-call timeout in milliseconds. Default 60000. */
  timeout: z.number().int().positive().optional(),
  /** Largest message (one tool result) the server may send, in bytes. Default 10485760 (10 MiB). */
  maxResultBytes: z.number().int().min(1024).optional(),
  /** Leave the server configured but do not connect it. */
  disabled: z.boolean().optional(),
  /** One line shown to the model in the execute_code description (defaults to the server's own). */
  description: z.string().optional(),
  /** Memoise results of read-only tools. Default: off. */
  memo: MemoConfigSchema.optional(),
});

/** A server reached over Streamable HTTP (the `url` shape of Claude Code, Cursor and VS Code). */
export const HttpServerConfigSchema = z.strictObject({
  type: z.enum(["http", "streamable-http", "streamableHttp", "sse"]).optional(),
  url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
  headers: stringMap.optional(),
  timeout: z.number().int().positive().optional(),
  disabled: z.boolean().optional(),
  description: z.string().optional(),
  memo: MemoConfigSchema.optional(),
});

export const ServerConfigSchema = z.union([StdioServerConfigSchema, HttpServerConfigSchema], {
  error: (issue) =>
    issue.code === "invalid_union"
      ? 'a server needs either "command" (stdio) or "url" (Streamable HTTP), with only known fields'
      : undefined,
});

export type StdioServerConfig = z.output<typeof StdioServerConfigSchema>;
export type HttpServerConfig = z.output<typeof HttpServerConfigSchema>;
export type ServerConfig = StdioServerConfig | HttpServerConfig;

/** The `mcpServers` map that MCP clients use: name -> server. */
export const McpServersSchema = z.record(
  z.string().regex(/^[A-Za-z0-9][\w.-]{0,63}$/, "server names are 1-64 letters, digits, _ . -"),
  ServerConfigSchema,
);
export type McpServersConfig = Record<string, ServerConfig>;

export function isStdioServer(server: ServerConfig): server is StdioServerConfig {
  return "command" in server;
}
