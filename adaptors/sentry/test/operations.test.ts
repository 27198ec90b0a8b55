import { hasErrorCode } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SentryFixture } from "../src/fixture/index.js";
import type { SentryAdaptor } from "../src/index.js";
import { PERIOD_MS, startSentry } from "./helpers.js";

let fixture: SentryFixture;
let adaptor: SentryAdaptor;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ fixture, adaptor, close } = await startSentry({ allow: {} }));
  await adaptor.start();
});
afterAll(() => close());

function expectedTriage(project: string, period: string, limit: number) {
  const since = Date.now() - PERIOD_MS[period]!;
  return fixture.data.issues
    .filter(
      (i) =>
        i.organization === "acme" &&
        i.project.slug === project &&
        i.status === "unresolved" &&
        Date.parse(i.lastSeen) >= since,
    )
    .sort((a, b) => b.count - a.count)
    .slice(0, limit);
}

describe("triage", () => {
  it("returns the most frequent unresolved issues of the window with their top in-app frame", async () => {
    const { value, run } = await adaptor.triageRun({
      project: "api-backend",
      period: "30d",
      limit: 8,
    });
    const expected = expectedTriage("api-backend", "30d", 8);
    expect(expected.length).toBe(8);
    expect(value.issues.map((i) => i.id)).toEqual(expected.map((i) => i.shortId));
    for (const [k, issue] of value.issues.entries()) {
      const source = expected[k]!;
      const top = source.frames.filter((f) => f.inApp).at(-1)!;
      expect(issue.events).toBe(source.count);
      expect(issue.users).toBe(source.userCount);
      expect(issue.title).toBe(source.title);
      expect(issue.culprit).toBe(source.culprit);
      expect(issue.topFrame).toEqual({
        file: top.filename,
        line: top.lineNo,
        function: top.function,
      });
    }
    // One listing plus one detail call per issue, all inside the sandbox.
    expect(run.toolCalls.map((c) => c.tool).sort()).toEqual(
      ["search_issues", ...Array(8).fill("get_sentry_resource")].sort(),
    );
    // The caller gets a small fraction of what the tools answered.
    expect(run.tokens.used).toBeLessThan(run.tokens.plainMcp / 3);
  });

  it("honours the window: a short period returns only recently seen issues", async () => {
    const value = await adaptor.triage({ project: "web-frontend", period: "24h", limit: 25 });
    const expected = expectedTriage("web-frontend", "24h", 25);
    expect(value.issues.map((i) => i.id)).toEqual(expected.map((i) => i.shortId));
  });

  it("parses JavaScript and Java frames too", async () => {
    for (const project of ["web-frontend", "payments"]) {
      const value = await adaptor.triage({ project, period: "90d", limit: 3 });
      const expected = expectedTriage(project, "90d", 3);
      expect(value.issues.map((i) => i.topFrame?.line)).toEqual(
        expected.map((i) => i.frames.filter((f) => f.inApp).at(-1)!.lineNo),
      );
      expect(value.issues.every((i) => i.topFrame?.file)).toBe(true);
    }
  });

  it("refuses bad params with OPERATION_INVALID_PARAMS before calling Sentry", async () => {
    const before = fixture.requests.length;
    for (const params of [
      { project: "api-backend", period: "2y" },
      { project: "api-backend", limit: 0 },
      { project: "../etc" },
      { project: "api-backend", extra: true },
    ]) {
      const error = await adaptor.triage(params as never).catch((e: unknown) => e);
      expect(hasErrorCode(error, "OPERATION_INVALID_PARAMS")).toBe(true);
    }
    expect(fixture.requests.length).toBe(before);
  });
});

describe("issueDigest", () => {
  it("summarises one issue: counts, exception and innermost in-app frames", async () => {
    const source = fixture.data.issues.find(
      (i) => i.project.slug === "api-backend" && i.count > 100,
    )!;
    const digest = await adaptor.issueDigest({ issueId: source.shortId, frames: 3 });
    expect(digest).toMatchObject({
      id: source.shortId,
      title: source.title,
      exception: `${source.exceptionType}: ${source.exceptionValue}`,
      events: source.count,
      users: source.userCount,
      status: source.status,
      platform: "python",
      totalFrames: source.frames.length,
    });
    const inApp = source.frames.filter((f) => f.inApp && f.filename.startsWith("app/"));
    expect(digest.frames.map((f) => f.line)).toEqual(
      inApp
        .slice(-3)
        .reverse()
        .map((f) => f.lineNo),
    );
    expect(digest.topFrame?.function).toBe(source.frames.filter((f) => f.inApp).at(-1)!.function);
  });
});

describe("releaseHealth", () => {
  it("reports the latest release by default, with health figures and its top issues", async () => {
    const latest = fixture.data.releases
      .filter((r) => r.project.slug === "api-backend")
      .sort((a, b) => Date.parse(b.dateCreated) - Date.parse(a.dateCreated))[0]!;
    const health = await adaptor.releaseHealth({ project: "api-backend" });
    expect(health).toMatchObject({
      release: latest.version,
      newIssues: latest.newGroups,
      crashFreeSessions: latest.health.crashFreeSessions,
      crashFreeUsers: latest.health.crashFreeUsers,
      totalSessions: latest.health.totalSessions,
      lastDeploy: { environment: "production", finished: latest.lastDeploy.dateFinished },
    });
    const unresolved = fixture.data.issues
      .filter((i) => i.firstRelease === latest.version && i.status === "unresolved")
      .sort((a, b) => b.count - a.count);
    expect(health.unresolvedIssues).toBe(Math.min(5, unresolved.length));
    expect(health.topIssues?.map((i) => i.id)).toEqual(
      unresolved.slice(0, 5).map((i) => i.shortId),
    );
  });

  it("reports a named release", async () => {
    const release = fixture.data.releases.filter((r) => r.project.slug === "payments")[2]!;
    const health = await adaptor.releaseHealth({
      project: "payments",
      release: release.version,
      topIssues: 0,
    });
    expect(health.release).toBe(release.version);
    expect(health.adoption).toBe(release.health.adoption);
  });
});

describe("resolveIssue and assignIssue (allowed here)", () => {
  it("assign then resolve change the issue in Sentry", async () => {
    const source = fixture.data.issues.find(
      (i) => i.status === "unresolved" && !i.assignedTo && i.organization === "acme",
    )!;
    const assigned = await adaptor.assignIssue({ issueId: source.shortId, assignee: "user:1003" });
    expect(assigned).toEqual({ id: source.shortId, status: "unresolved", assignedTo: "Li Wei" });
    expect(source.assignedTo?.id).toBe("1003");
    const resolved = await adaptor.resolveIssue({ issueId: source.shortId });
    expect(resolved).toEqual({ id: source.shortId, status: "resolved", assignedTo: "Li Wei" });
    expect(source.status).toBe("resolved");
    const puts = fixture.requests.filter((r) => r.method === "PUT");
    expect(puts.length).toBe(2);
  });

  it("rejects a malformed assignee before calling Sentry", async () => {
    const error = await adaptor
      .assignIssue({ issueId: "API-BACKEND-1", assignee: "x y;" })
      .catch((e: unknown) => e);
    expect(hasErrorCode(error, "OPERATION_INVALID_PARAMS")).toBe(true);
  });
});
