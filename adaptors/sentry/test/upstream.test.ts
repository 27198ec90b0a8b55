import { hasErrorCode } from "@mcp-optimizer/core";
import { describe, expect, it } from "vitest";
import {
  createSentryAdaptor,
  hasSentryErrorCode,
  SENTRY_HOSTED_MCP_URL,
  sentryServerConfig,
} from "../src/index.js";
import { startSentry } from "./helpers.js";

describe("the Sentry MCP server's configuration", () => {
  it("stdio: runs the installed bin with this Node; the token only in the child's env", () => {
    const config = sentryServerConfig({
      accessToken: "sntryu_secret",
      transport: "stdio",
      host: "127.0.0.1:9000",
      insecureHttp: true,
      organization: "acme",
      project: "api-backend",
      constrain: true,
      skills: ["inspect", "triage"],
    }) as { command: string; args: string[]; env: Record<string, string> };
    expect(config.command).toBe(process.execPath);
    expect(config.args[0]).toMatch(/@sentry[/+]mcp-server.*dist\/index\.js$/);
    expect(config.args.slice(1)).toEqual([
      "--host=127.0.0.1:9000",
      "--insecure-http",
      "--organization-slug=acme",
      "--project-slug=api-backend",
      "--skills=inspect,triage",
    ]);
    expect(config.env).toEqual({ SENTRY_ACCESS_TOKEN: "sntryu_secret" });
    expect(JSON.stringify(config.args)).not.toContain("sntryu_secret");
  });

  it("http: Sentry's hosted endpoint by default, the token as a bearer header", () => {
    expect(sentryServerConfig({ accessToken: "t0k", transport: "http" })).toEqual({
      type: "http",
      url: SENTRY_HOSTED_MCP_URL,
      headers: { Authorization: "Bearer t0k" },
    });
    expect(
      sentryServerConfig({
        accessToken: "t0k",
        transport: "http",
        url: "https://mcp.example/mcp",
        callTimeoutMs: 5000,
      }),
    ).toMatchObject({ url: "https://mcp.example/mcp", timeout: 5000 });
  });
});

describe("organization and project constraints", () => {
  it("a constrained adaptor serves its project and refuses others instead of mislabelling them", async () => {
    const { fixture, adaptor, close } = await startSentry({
      project: "api-backend",
      constrain: true,
    });
    try {
      const value = await adaptor.triage({ limit: 3 });
      expect(value.issues).toHaveLength(3);
      expect(value.issues.every((i) => i.id.startsWith("API-BACKEND-"))).toBe(true);

      const before = fixture.requests.length;
      for (const params of [
        { project: "web-frontend" },
        { organization: "globex", project: "android" },
      ]) {
        const error = await adaptor.triage(params).catch((e: unknown) => e);
        expect(hasErrorCode(error, "OPERATION_INVALID_PARAMS")).toBe(true);
      }
      expect(fixture.requests.length).toBe(before);

      // The server itself refuses an issue of another project.
      const other = fixture.data.issues.find((i) => i.project.slug === "web-frontend")!;
      const error = await adaptor.issueDigest({ issueId: other.shortId }).catch((e: unknown) => e);
      expect(hasSentryErrorCode(error, "SENTRY_FORBIDDEN")).toBe(true);
      expect((error as Error).message).toMatch(/project constraint/);
    } finally {
      await close();
    }
  });
});

describe("serverName", () => {
  it("another name reaches the same server: the programs and the default allowlist follow it", async () => {
    const renamed = await startSentry({ serverName: "sentry_eu" });
    try {
      const value = await renamed.adaptor.triage({ project: "api-backend", limit: 2 });
      expect(value.issues).toHaveLength(2);
      expect(renamed.adaptor.optimizer.listUpstreams().map((u) => u.name)).toEqual(["sentry_eu"]);
      const denied = await renamed.adaptor
        .resolveIssue({ issueId: value.issues[0]!.id })
        .catch((e: unknown) => e);
      expect(hasErrorCode(denied, "TOOL_DENIED")).toBe(true);
      expect((denied as Error).message).toContain("sentry_eu.update_issue");
    } finally {
      await renamed.close();
    }
  });

  it("a name a program could not call the server by is INVALID_CONFIG", () => {
    for (const serverName of ["class", "params", "mcp", "state", "console", "sentry-eu", "1x"]) {
      let error: unknown;
      try {
        startSentryAdaptorNamed(serverName);
      } catch (e) {
        error = e;
      }
      expect(hasErrorCode(error, "INVALID_CONFIG"), serverName).toBe(true);
    }
  });
});

function startSentryAdaptorNamed(serverName: string): void {
  createSentryAdaptor({ accessToken: "sntryu_unused_0123456789", serverName });
}
