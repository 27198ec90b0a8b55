import { createMemoryAuditSink } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SentryFixture, startSentryFixture } from "../src/fixture/index.js";
import { createSentryAdaptor, hasSentryErrorCode } from "../src/index.js";
import { startHostedEndpoint } from "./hosted-endpoint.js";

let fixture: SentryFixture;
let hosted: Awaited<ReturnType<typeof startHostedEndpoint>>;

beforeAll(async () => {
  fixture = await startSentryFixture();
  hosted = await startHostedEndpoint(fixture);
});
afterAll(async () => {
  await hosted.close();
  await fixture.close();
});

describe('transport "http" (a hosted Sentry MCP endpoint)', () => {
  it("sends the token as a bearer header, runs the operations, and keeps the token out of everything else", async () => {
    const audit = createMemoryAuditSink();
    const adaptor = createSentryAdaptor({
      accessToken: fixture.token,
      transport: "http",
      url: hosted.url,
      organization: "acme",
      audit,
    });
    try {
      const { value, run } = await adaptor.triageRun({
        project: "payments",
        period: "90d",
        limit: 4,
      });
      expect(run.mode).toBe("process");
      expect(value.issues).toHaveLength(4);
      const expected = fixture.data.issues
        .filter((i) => i.project.slug === "payments" && i.status === "unresolved")
        .sort((a, b) => b.count - a.count)
        .slice(0, 4);
      expect(value.issues.map((i) => i.id)).toEqual(expected.map((i) => i.shortId));
      expect(hosted.schemes.length).toBeGreaterThan(0);
      expect(hosted.schemes.every((s) => s === "Bearer")).toBe(true);
      expect(fixture.requests.every((r) => r.authorized)).toBe(true);

      const probe = await adaptor.optimizer.run(
        "return JSON.stringify([Object.getOwnPropertyNames(globalThis), typeof process === 'undefined' ? null : process.env, await mcp.search('issues', { detail: 'full' })])",
      );
      const everything = [JSON.stringify(value), probe.text, JSON.stringify(audit.records())].join(
        "\n",
      );
      expect(everything).not.toContain(fixture.token);
    } finally {
      await adaptor.close();
    }
  });

  it("a token Sentry rejects is SENTRY_UNAUTHORIZED over HTTP too", async () => {
    const adaptor = createSentryAdaptor({
      accessToken: "sntryu_not_the_right_one",
      transport: "http",
      url: hosted.url,
      organization: "acme",
    });
    try {
      const error = await adaptor.issueDigest({ issueId: "PAYMENTS-1" }).catch((e: unknown) => e);
      expect(hasSentryErrorCode(error, "SENTRY_UNAUTHORIZED")).toBe(true);
    } finally {
      await adaptor.close();
    }
  });
});
