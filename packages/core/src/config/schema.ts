import * as z from "zod";

/** Sandbox modes; "gvisor" is docker with the runsc runtime. */
export const SANDBOX_MODES = ["process", "wasm", "docker", "gvisor", "hybrid"] as const;

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
  /** Redis for sessions (used by the CLI and apps that compose @mcp-optimizer/sessions-redis). */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .optional(),
});

export type SandboxConfig = z.input<typeof SandboxConfigSchema>;
export type ResolvedSandboxConfig = z.output<typeof SandboxConfigSchema>;

const stringMap = z.record(z.string(), z.string());

/** A server launched as a child process and spoken to over stdio (Claude Desktop's shape). */
export const StdioServerConfigSchema = z.strictObject({
  type: z.literal("stdio").optional(),
  command: z.string().min(1, "must name the program to start"),
  args: z.array(z.string()).default([]),
  env: stringMap.optional(),
  cwd: z.string().optional(),
  /** Per-call timeout in milliseconds. Default 60000. */
  timeout: z.number().int().positive().optional(),
  /** Leave the server configured but do not connect it. */
  disabled: z.boolean().optional(),
  /** One line shown to the model in the execute_code description (defaults to the server's own). */
  description: z.string().optional(),
});

/** A server reached over Streamable HTTP (the `url` shape of Claude Code, Cursor and VS Code). */
export const HttpServerConfigSchema = z.strictObject({
  type: z.enum(["http", "streamable-http", "streamableHttp", "sse"]).optional(),
  url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
  headers: stringMap.optional(),
  timeout: z.number().int().positive().optional(),
  disabled: z.boolean().optional(),
  description: z.string().optional(),
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
