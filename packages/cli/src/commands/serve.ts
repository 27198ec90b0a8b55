import {
  createOptimizerHttpServer,
  ErrorCodes,
  OptimizerError,
  serveOptimizerStdio,
} from "@mcp-optimizer/core";
import { type Command, stringFlag } from "../command.js";
import { ExitCodes } from "../exit-codes.js";
import { writeLine } from "../io.js";
import { createRuntime } from "../runtime/create-runtime.js";
import { usageError } from "../usage-error.js";

const HELP = `Usage: mcp-optimizer serve [--http HOST:PORT] [--path /mcp] [--config FILE]

The model-facing MCP server in front of the configured servers: the model sees
execute_code and search_tools instead of every tool definition. stdio by default (what
MCP clients start); --http serves Streamable HTTP on HOST:PORT (port 0 picks a free one,
printed on stdout). Runs until stdin closes (stdio) or SIGINT/SIGTERM.

Options:
  --http HOST:PORT   serve Streamable HTTP instead of stdio (e.g. 127.0.0.1:8080)
  --path PATH        the HTTP endpoint's path (default /mcp)
  --config FILE      the config file (default: $MCPO_CONFIG, ./mcp-optimizer.config.json)
  -h, --help         this help
`;

/** "host:port", ":port" or "port" -> parts. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65_535) throw usageError(`--http takes HOST:PORT; got "${value}"`, "serve");
  const host = (match[1] ?? "").replace(/^\[|\]$/g, "") || "127.0.0.1";
  return { host, port };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

export const serveCommand: Command = {
  name: "serve",
  summary: "serve code mode to an MCP client (stdio, or --http HOST:PORT)",
  help: HELP,
  maxPositionals: 0,
  options: { http: { type: "string" }, path: { type: "string" } },
  async run({ values, io, config }) {
    const http = stringFlag(values, "http");
    const listen = http !== undefined ? parseListen(http) : undefined;
    const path = stringFlag(values, "path");
    if (path !== undefined && !path.startsWith("/"))
      throw usageError("--path starts with /", "serve");
    const runtime = await createRuntime({ configFile: config, requireConfig: true });
    const stopped = new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    try {
      const started = performance.now();
      /** Waits for every server's first start, reports the ones that failed, and sums up. */
      const startUp = async () => {
        await runtime.optimizer.start();
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
        writeLine(io.stderr, `mcp-optimizer: serving ${server.url} (${summary})`);
        if (!isLoopback(listen.host)) {
          writeLine(
            io.stderr,
            `mcp-optimizer: ${listen.host} is not a loopback address and the endpoint has no authentication: anyone who reaches this port can run programs against your servers. Put it behind an authenticating proxy or a private network.`,
          );
        }
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
      await runtime.close();
    }
  },
};
