import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Upstream } from "../contracts/upstream.js";
import { ErrorCodes } from "../errors.js";
import type { JsonObject } from "../json.js";

export interface DescribeUpstreamOptions {
  /** A tool the server has, with arguments that make it succeed, and a text its result contains. */
  call: { tool: string; args: JsonObject; resultContains: string };
  /** Per-test timeout for vitest, in ms. Default 30000. */
  testTimeoutMs?: number;
}

/**
 * The Upstream conformance suite, run against a real MCP server:
 * `describeUpstream("stdio", () => createMcpUpstream({ name, server }), { call: { ... } })`.
 */
export function describeUpstream(
  name: string,
  factory: () => Upstream | Promise<Upstream>,
  options: DescribeUpstreamOptions,
): void {
  const timeout = options.testTimeoutMs ?? 30_000;
  describe(`Upstream conformance: ${name}`, () => {
    let upstream: Upstream;
    beforeAll(async () => {
      upstream = await factory();
      await upstream.connect();
    }, timeout);
    afterAll(() => upstream?.close(), timeout);

    test("connects and reports what it is connected to", () => {
      const info = upstream.info();
      expect(info.name).toBe(upstream.name);
      expect(info.connected).toBe(true);
      expect(typeof info.transport).toBe("string");
      expect(info.reconnects).toBeGreaterThanOrEqual(0);
    });

    test(
      "lists tools with names and object input schemas",
      async () => {
        const tools = await upstream.listTools();
        expect(tools.length).toBeGreaterThan(0);
        for (const t of tools) {
          expect(typeof t.name).toBe("string");
          expect(t.inputSchema).toBeTypeOf("object");
        }
        expect(tools.map((t) => t.name)).toContain(options.call.tool);
      },
      timeout,
    );

    test(
      "lists resources and prompts (possibly empty)",
      async () => {
        expect(Array.isArray(await upstream.listResources())).toBe(true);
        expect(Array.isArray(await upstream.listPrompts())).toBe(true);
      },
      timeout,
    );

    test(
      "calls a tool and returns MCP content",
      async () => {
        const result = await upstream.callTool(options.call.tool, options.call.args);
        expect(Array.isArray(result.content)).toBe(true);
        expect(result.isError ?? false).toBe(false);
        expect(JSON.stringify(result)).toContain(options.call.resultContains);
      },
      timeout,
    );

    test(
      "an unknown tool resolves with isError or rejects with a typed error",
      async () => {
        const outcome = await upstream.callTool("no-such-tool-for-conformance", {}).then(
          (r) => ({ isError: r.isError === true }),
          (e: { code?: string }) => ({ code: e.code }),
        );
        if ("isError" in outcome) expect(outcome.isError).toBe(true);
        else expect([ErrorCodes.TOOL_ERROR, ErrorCodes.TOOL_NOT_FOUND]).toContain(outcome.code);
      },
      timeout,
    );

    test(
      "closes, and then refuses calls with UPSTREAM_UNAVAILABLE",
      async () => {
        const other = await factory();
        await other.connect();
        await other.close();
        await expect(other.callTool(options.call.tool, options.call.args)).rejects.toMatchObject({
          code: ErrorCodes.UPSTREAM_UNAVAILABLE,
        });
      },
      timeout,
    );
  });
}
