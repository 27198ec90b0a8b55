import { hasErrorCode, MCPOptimizer } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SentryFixture, startSentryFixture } from "../src/fixture/index.js";
import { resolveSentryMcpBin } from "../src/index.js";

// The brief's integration story, written as a user would with core's public API alone:
// `class CustomAdaptor { optimizer = new MCPOptimizer(...); customOperation(p) {
//   return this.optimizer.execute({ operation: "custom_op", params: p }) } }`
// (docs/guides/writing-an-adaptor.md opens with it), against the real Sentry MCP server.
let fixture: SentryFixture;

class CustomAdaptor {
  optimizer = new MCPOptimizer({
    mcpServers: {
      sentry: {
        command: process.execPath,
        args: [resolveSentryMcpBin(), `--host=${fixture.host}`, "--insecure-http"],
        env: { SENTRY_ACCESS_TOKEN: fixture.token },
      },
    },
  });

  constructor() {
    this.optimizer.registerOperation({
      name: "custom_op",
      inputSchema: {
        type: "object",
        properties: { organization: { type: "string", minLength: 1 } },
        required: ["organization"],
        additionalProperties: false,
      },
      code: `
const { projects } = await sentry.find_projects({ organizationSlug: params.organization });
return { count: projects.length, slugs: projects.map((p) => p.slug).sort() };`,
    });
  }

  customOperation(p: unknown) {
    return this.optimizer.execute({ operation: "custom_op", params: p });
  }
}

let adaptor: CustomAdaptor;

beforeAll(async () => {
  fixture = await startSentryFixture({ issuesPerProject: 20 });
  adaptor = new CustomAdaptor();
});
afterAll(async () => {
  await adaptor?.optimizer.close();
  await fixture?.close();
});

describe("the CustomAdaptor shape from the brief", () => {
  it("customOperation runs custom_op in the sandbox against the real server", async () => {
    const run = await adaptor.customOperation({ organization: "acme" });
    const expected = fixture.data.projects
      .filter((p) => p.organization === "acme")
      .map((p) => p.slug)
      .sort();
    expect(expected.length).toBeGreaterThan(1);
    expect(run.value).toEqual({ count: expected.length, slugs: expected });
    expect(run.toolCalls.map((c) => c.tool)).toEqual(["find_projects"]);
    expect(run.text).not.toContain(fixture.token);
  });

  it("bad params are OPERATION_INVALID_PARAMS, before any tool call", async () => {
    const before = fixture.requests.length;
    const error = await adaptor.customOperation({ organization: "" }).catch((e: unknown) => e);
    expect(hasErrorCode(error, "OPERATION_INVALID_PARAMS")).toBe(true);
    expect(fixture.requests.length).toBe(before);
  });
});
