import {
  type ApprovalsEndpointOptions,
  createOptimizerHttpServer,
  createStaticTokenVerifier,
  ErrorCodes,
  type HttpAccessOptions,
  isLoopbackHost,
  isOptimizerError,
  OptimizerError,
  resolveHttpAccess,
  serveOptimizerStdio,
} from "@mcp-optimizer/core";
import { boolFlag, type Command, type FlagValues, stringFlag } from "../command.js";
import { ExitCodes } from "../exit-codes.js";
import { writeLine } from "../io.js";
import { createRuntime } from "../runtime/create-runtime.js";
import { reloadOnSighup } from "../runtime/reload-on-sighup.js";
import { usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer serve [--http HOST:PORT] [--path /mcp] [--config FILE]

The model-facing MCP server in front of the configured servers: the model sees
execute_code and search_tools instead of every tool definition. stdio by default (what
MCP clients start); --http serves Streamable HTTP on HOST:PORT (port 0 picks a free one,
printed on stdout). Runs until stdin closes (stdio) or SIGINT/SIGTERM. On SIGHUP it re-reads
the config file and applies the feature flags that can change without a restart (each change
is audited); changes to anything else are reported and take a restart.

Over HTTP, requests whose Host is not an allowed name, or that come from a web page of
another origin, are refused (DNS-rebinding protection): on loopback only loopback names
and origins are allowed. Beyond loopback a bearer token is required. Details:
docs/http-security.md.

Options:
  --http HOST:PORT          serve Streamable HTTP instead of stdio (e.g. 127.0.0.1:8080)
  --path PATH               the HTTP endpoint's path (default /mcp)
  --auth-token-env VAR      require "Authorization: Bearer <token>", the token being the
                            value of the environment variable VAR (16+ characters)
  --allowed-hosts NAMES     Host names clients use, comma-separated (default: loopback
                            names on loopback; needed when HOST is 0.0.0.0 or ::)
  --allowed-origins NAMES   browser origins (host names) allowed, comma-separated
                            (default: loopback origins on loopback, none elsewhere)
  --insecure-no-auth        listen beyond loopback without a token (anyone who reaches
                            the port can run programs against your servers)
  --approver-token-env VAR  serve the approvals endpoint (list, approve, reject programs
                            waiting for a person) on /approvals, requiring the token in
                            the environment variable VAR (16+ characters; not the MCP
                            client's: nothing a model reaches may approve its own programs)
  --strict                  refuse to start (exit 3) when a server's \${VAR} is unset
                            (default: that server is left out, the others start)
  --config FILE             the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help                this help
`;

/** "host:port", ":port" or "port" -> parts. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65_535) throw usageError(`--http takes HOST:PORT; got "${value}"`, "serve");
  const host = (match[1] ?? "").replace(/^\[|\]$/g, "") || "127.0.0.1";
  return { host, port };
}

function listFlagValue(values: FlagValues, name: string): string[] | undefined {
  const value = stringFlag(values, name);
  if (value === undefined) return undefined;
  const names = value
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) throw usageError(`--${name} takes comma-separated names`, "serve");
  return names;
}

/** The HTTP access options from the flags; refused here, before any server starts. */
export function httpAccessFromFlags(
  values: FlagValues,
  env: Record<string, string | undefined>,
  host: string | undefined,
): HttpAccessOptions {
  const tokenVar = stringFlag(values, "auth-token-env");
  const http = ["auth-token-env", "allowed-hosts", "allowed-origins", "insecure-no-auth"];
  if (host === undefined) {
    const given = http.find((f) => values[f] !== undefined);
    if (given) throw usageError(`--${given} applies to --http only`, "serve");
    return {};
  }
  const options: HttpAccessOptions = {};
  if (tokenVar !== undefined) {
    const token = env[tokenVar];
    if (!token)
      throw usageError(
        `--auth-token-env ${tokenVar}: the variable ${tokenVar} is not set`,
        "serve",
      );
    try {
      options.auth = { verifier: createStaticTokenVerifier({ tokens: [token], clientId: "cli" }) };
    } catch (error) {
      throw usageError(`--auth-token-env ${tokenVar}: ${(error as Error).message}`, "serve");
    }
  }
  const allowedHosts = listFlagValue(values, "allowed-hosts");
  const allowedOrigins = listFlagValue(values, "allowed-origins");
  if (allowedHosts) options.allowedHosts = allowedHosts;
  if (allowedOrigins) options.allowedOrigins = allowedOrigins;
  if (boolFlag(values, "insecure-no-auth")) options.insecureNoAuth = true;
  try {
    resolveHttpAccess(host, options);
  } catch (error) {
    if (!isOptimizerError(error)) throw error;
    throw usageError(error.message.replace(/\.$/, ""), "serve");
  }
  return options;
}

/** The approvals endpoint's options from --approver-token-env; refused without --http. */
export function approversFromFlags(
  values: FlagValues,
  env: Record<string, string | undefined>,
  host: string | undefined,
): ApprovalsEndpointOptions | undefined {
  const tokenVar = stringFlag(values, "approver-token-env");
  if (tokenVar === undefined) return undefined;
  if (host === undefined) throw usageError("--approver-token-env applies to --http only", "serve");
  const token = env[tokenVar];
  if (!token)
    throw usageError(
      `--approver-token-env ${tokenVar}: the variable ${tokenVar} is not set`,
      "serve",
    );
  const mcpToken = stringFlag(values, "auth-token-env");
  if (mcpToken !== undefined && env[mcpToken] === token)
    throw usageError(
      "--approver-token-env must name another token than --auth-token-env: whoever holds the client's token must not approve",
      "serve",
    );
  try {
    return {
      auth: { verifier: createStaticTokenVerifier({ tokens: [token], clientId: "approver" }) },
    };
  } catch (error) {
    throw usageError(`--approver-token-env ${tokenVar}: ${(error as Error).message}`, "serve");
  }
}

export const serveCommand: Command = {
  name: "serve",
  summary: "serve code mode to an MCP client (stdio, or --http HOST:PORT)",
  help: HELP,
  maxPositionals: 0,
  options: {
    http: { type: "string" },
    path: { type: "string" },
    "auth-token-env": { type: "string" },
    "allowed-hosts": { type: "string" },
    "allowed-origins": { type: "string" },
    "insecure-no-auth": { type: "boolean" },
    "approver-token-env": { type: "string" },
    strict: { type: "boolean" },
  },
  async run({ values, io, config }) {
    const http = stringFlag(values, "http");
    const listen = http !== undefined ? parseListen(http) : undefined;
    const path = stringFlag(values, "path");
    if (path !== undefined && !path.startsWith("/"))
      throw usageError("--path starts with /", "serve");
    const access = httpAccessFromFlags(values, io.env, listen?.host);
    const approvers = approversFromFlags(values, io.env, listen?.host);
    const runtime = await createRuntime({
      configFile: config,
      requireConfig: true,
      strict: boolFlag(values, "strict"),
      env: io.env,
    });
    const stopped = new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    const stopReloading = reloadOnSighup(runtime, {
      configFile: config,
      env: io.env,
      say: (m) => writeLine(io.stderr, `mcp-optimizer: ${m}`),
    });
    try {
      const started = performance.now();
      /** Waits for every server's first start, reports the ones that failed, and sums up. */
      const startUp = async () => {
        await runtime.optimizer.start();
        const approvals = runtime.loaded.config.approvals;
        writeLine(
          io.stderr,
          approvals
            ? `mcp-optimizer: approvals on: programs reaching ${approvals.ask ?? "destructive"} tools ask a person first (through the client's elicitation, else APPROVAL_REQUIRED and \`mcp-optimizer approvals approve\`)`
            : 'mcp-optimizer: approvals off: programs run destructive tools without asking (set "approvals": { "ask": "destructive" } to ask first)',
        );
        const caps = await runtime.optimizer.capabilities();
        const down = caps.upstreams.filter((u) => !u.connected);
        for (const u of down) {
          writeLine(
            io.stderr,
            `mcp-optimizer: server ${u.name} is not reachable (${u.lastError ?? "unknown"}); retrying in the background`,
          );
        }
        return `${caps.upstreams.length - down.length}/${caps.upstreams.length} servers, ${caps.tools} tools, sandbox ${caps.sandbox.mode}, sessions ${caps.sessions.kind}, ready in ${Math.round(performance.now() - started)} ms`;
      };
      if (listen) {
        const summary = await startUp();
        const server = await createOptimizerHttpServer(runtime.optimizer, {
          host: listen.host,
          port: listen.port,
          ...(path ? { path } : {}),
          ...access,
          ...(approvers ? { approvals: approvers } : {}),
        }).catch((error: unknown) => {
          const code = (error as { code?: unknown }).code;
          if (code !== "EADDRINUSE" && code !== "EACCES" && code !== "EADDRNOTAVAIL") throw error;
          const why =
            code === "EADDRINUSE"
              ? "is in use"
              : code === "EACCES"
                ? "needs privileges"
                : "is not an address of this machine";
          throw new OptimizerError(
            ErrorCodes.INVALID_INPUT,
            `Cannot listen on ${listen.host}:${listen.port}: it ${why} (${code}). Pick another --http HOST:PORT (port 0 takes a free one).`,
            { cause: error, details: { exitCode: ExitCodes.UNAVAILABLE } },
          );
        });
        const guard = access.auth ? "bearer token required" : "no authentication";
        writeLine(io.stderr, `mcp-optimizer: serving ${server.url} (${summary}; ${guard})`);
        if (!isLoopbackHost(listen.host) && !access.auth) {
          writeLine(
            io.stderr,
            `mcp-optimizer: --insecure-no-auth: ${listen.host} is not a loopback address and the endpoint has no authentication: anyone who reaches this port can run programs against your servers.`,
          );
        }
        if (server.approvalsUrl)
          writeLine(
            io.stderr,
            `mcp-optimizer: approvals endpoint ${server.approvalsUrl} (approver token required)`,
          );
        writeLine(io.stdout, server.url);
        await stopped;
        await server.close();
      } else {
        // Answer the client at once; servers that start later are announced with list_changed.
        const handle = await serveOptimizerStdio(runtime.optimizer);
        writeLine(io.stderr, `mcp-optimizer: serving on stdio (${await startUp()})`);
        const closed = new Promise<void>((resolve) => {
          io.stdin.once("end", resolve);
          io.stdin.once("close", resolve);
        });
        await Promise.race([stopped, closed]);
        await handle.close();
      }
      return ExitCodes.OK;
    } finally {
      stopReloading();
      await runtime.close();
    }
  },
};
