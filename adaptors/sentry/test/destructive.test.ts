import { createMemoryAuditSink, hasErrorCode } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SentryFixture } from "../src/fixture/index.js";
import type { SentryAdaptor } from "../src/index.js";
import { startSentry } from "./helpers.js";

let fixture: SentryFixture;
let adaptor: SentryAdaptor;
let close: () => Promise<void>;
const audit = createMemoryAuditSink();

beforeAll(async () => {
  // The default allowlist: everything but update_issue.
  ({ fixture, adaptor, close } = await startSentry({ audit }));
  await adaptor.start();
});
afterAll(() => close());

describe("destructive operations", () => {
  it("are marked destructive on the optimizer", () => {
    const ops = adaptor.optimizer.listOperations();
    const destructive = ops
      .filter((o) => o.destructive)
      .map((o) => o.name)
      .sort();
    expect(destructive).toEqual(["sentry.assign_issue", "sentry.resolve_issue"]);
    expect(ops.find((o) => o.name === "sentry.triage")?.destructive).toBeUndefined();
  });

  it("resolveIssue and assignIssue are refused with TOOL_DENIED without an allowlist, and Sentry is untouched", async () => {
    const issue = fixture.data.issues.find(
      (i) => i.status === "unresolved" && i.organization === "acme",
    )!;
    for (const call of [
      () => adaptor.resolveIssue({ issueId: issue.shortId }),
      () => adaptor.assignIssue({ issueId: issue.shortId, assignee: "jane" }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(hasErrorCode(error, "TOOL_DENIED")).toBe(true);
      expect((error as Error).message).toMatch(/update_issue/);
    }
    expect(issue.status).toBe("unresolved");
    expect(fixture.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
  });

  it("a program that calls update_issue directly is refused by the session allowlist in the host", async () => {
    const issue = fixture.data.issues.find(
      (i) => i.status === "unresolved" && i.organization === "acme",
    )!;
    // No `allow` here: sessions opened on the adaptor's optimizer get the adaptor's allowlist.
    for (const attempt of [
      () =>
        adaptor.optimizer.run(
          `return await sentry.update_issue({ organizationSlug: "acme", issueId: "${issue.shortId}", status: "resolved" })`,
        ),
      // The gateway tool runs any catalog tool by name: the allowlist holds for its target too.
      () =>
        adaptor.optimizer.run(
          `return await sentry.execute_sentry_tool({ name: "update_issue", arguments: { organizationSlug: "acme", issueId: "${issue.shortId}", status: "resolved" } })`,
        ),
      () =>
        adaptor.optimizer.execute({
          operation: "sentry.resolve_issue",
          params: { organization: "acme", issueId: issue.shortId },
        }),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(hasErrorCode(error, "TOOL_DENIED")).toBe(true);
    }
    expect(issue.status).toBe("unresolved");
    expect(fixture.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
    const denied = audit
      .records()
      .filter((r) => r.type === "tool_call" && r.errorCode === "TOOL_DENIED");
    expect(denied.length).toBeGreaterThan(0);
  });

  it("execute_sentry_tool still runs the tools the allowlist permits", async () => {
    const run = await adaptor.optimizer.run(
      `return await sentry.execute_sentry_tool({ name: "find_projects", arguments: { organizationSlug: "acme" } })`,
    );
    expect(JSON.stringify(run.value)).toContain("api-backend");
  });

  it("read operations still run under the default allowlist", async () => {
    const value = await adaptor.triage({ project: "payments", limit: 2 });
    expect(value.issues).toHaveLength(2);
  });
});

describe("allowing destructive operations", () => {
  it("an allowlist that permits sentry.update_issue lets resolveIssue through", async () => {
    const allowed = await startSentry({ allow: { tools: ["sentry.*"] } });
    try {
      const issue = allowed.fixture.data.issues.find(
        (i) => i.status === "unresolved" && i.organization === "acme",
      )!;
      const result = await allowed.adaptor.resolveIssue({ issueId: issue.shortId });
      expect(result.status).toBe("resolved");
      expect(issue.status).toBe("resolved");
    } finally {
      await allowed.close();
    }
  });

  it("a deny entry wins over a permissive tools list", async () => {
    const denied = await startSentry({
      allow: { tools: ["sentry.*"], deny: ["sentry.update_issue"] },
    });
    try {
      const error = await denied.adaptor
        .resolveIssue({ issueId: "API-BACKEND-1" })
        .catch((e: unknown) => e);
      expect(hasErrorCode(error, "TOOL_DENIED")).toBe(true);
      expect(denied.fixture.requests).toHaveLength(0);
    } finally {
      await denied.close();
    }
  });
});
