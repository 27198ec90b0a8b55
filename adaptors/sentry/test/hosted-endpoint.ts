import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { createMcpUpstream, type JsonObject, type McpUpstream } from "@mcp-optimizer/core";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { SentryFixture } from "../src/fixture/index.js";
import { resolveSentryMcpBin } from "../src/index.js";

/**
 * A stand-in for Sentry's hosted MCP endpoint: Streamable HTTP, authenticated by a bearer
 * token, which it uses for the Sentry API, as the hosted service does. Behind it runs the real
 * Sentry MCP server (stdio) pointed at the fixture, one per token.
 */
export async function startHostedEndpoint(fixture: SentryFixture): Promise<{
  url: string;
  /** The Authorization schemes seen ("Bearer"), never the values. */
  schemes: string[];
  close(): Promise<void>;
}> {
  const upstreams = new Map<string, McpUpstream>();
  const schemes: string[] = [];

  async function upstreamFor(token: string): Promise<McpUpstream> {
    let upstream = upstreams.get(token);
    if (!upstream) {
      upstream = createMcpUpstream({
        name: "sentry",
        server: {
          command: process.execPath,
          args: [resolveSentryMcpBin(), `--host=${fixture.host}`, "--insecure-http"],
          env: { SENTRY_ACCESS_TOKEN: token },
        },
      });
      upstreams.set(token, upstream);
      await upstream.connect();
    }
    return upstream;
  }

  const http = createServer((req, res) => {
    void (async () => {
      const header = req.headers.authorization ?? "";
      schemes.push(header.split(" ")[0] ?? "");
      const token = /^Bearer (\S+)$/.exec(header)?.[1];
      if (!token) {
        res.writeHead(401, { "Content-Type": "application/json" }).end('{"error":"invalid_token"}');
        return;
      }
      if (req.method !== "POST") {
        res.writeHead(405).end();
        return;
      }
      const body = JSON.parse(await readBody(req)) as unknown;
      const upstream = await upstreamFor(token);
      const server = new Server(
        { name: "sentry-hosted-stand-in", version: "0" },
        { capabilities: { tools: {} } },
      );
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: (await upstream.listTools()) as never,
      }));
      server.setRequestHandler(
        CallToolRequestSchema,
        async (request) =>
          upstream.callTool(
            request.params.name,
            (request.params.arguments ?? {}) as JsonObject,
          ) as never,
      );
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on("close", () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String((error as Error).message));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    schemes,
    async close() {
      await Promise.allSettled([...upstreams.values()].map((u) => u.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}
