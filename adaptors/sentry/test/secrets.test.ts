import { randomBytes } from "node:crypto";
import { createMemoryAuditSink, createMemorySessionStore } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SentryFixture } from "../src/fixture/index.js";
import type { SentryAdaptor } from "../src/index.js";
import { startSentry } from "./helpers.js";

let fixture: SentryFixture;
let adaptor: SentryAdaptor;
let close: () => Promise<void>;
const audit = createMemoryAuditSink();
const sessions = createMemorySessionStore();
const seen: string[] = [];

// The usual setup: the token sits in the host's own environment too, and is passed on from it.
const hostToken = `sntryu_${randomBytes(24).toString("hex")}`;
const previousEnv = process.env.SENTRY_ACCESS_TOKEN;

beforeAll(async () => {
  process.env.SENTRY_ACCESS_TOKEN = hostToken;
  ({ fixture, adaptor, close } = await startSentry(
    {
      accessToken: process.env.SENTRY_ACCESS_TOKEN,
      audit,
      sessions,
      allow: {},
      optimizer: { onUpstreamEvent: (event) => seen.push(JSON.stringify(event)) },
    },
    { token: hostToken },
  ));
  await adaptor.start();
});
afterAll(async () => {
  await close();
  if (previousEnv === undefined) delete process.env.SENTRY_ACCESS_TOKEN;
  else process.env.SENTRY_ACCESS_TOKEN = previousEnv;
});

describe("the access token stays in the host", () => {
  it("the fixture received it, so the upstream really used it", async () => {
    await adaptor.triage({ project: "api-backend", limit: 2 });
    expect(fixture.requests.some((r) => r.authorized)).toBe(true);
  });

  it("a guest program cannot find it in its globals, environment (the host's has it), arguments or tool schemas", async () => {
    const run = await adaptor.optimizer.run(
      `
      const seen = [];
      const dump = (v) => { try { seen.push(JSON.stringify(v)); } catch { seen.push(String(v)); } };
      dump(Object.getOwnPropertyNames(globalThis));
      if (typeof process !== "undefined") { dump(process.env); dump(process.argv); dump(process.execArgv); }
      dump(await mcp.search("sentry", { detail: "full", limit: 50 }));
      dump(await mcp.describe("sentry.search_issues"));
      dump(state);
      return seen.join("\\n");
      `,
      { sessionId: "probe-globals" },
    );
    expect(typeof run.value).toBe("string");
    expect((run.value as string).length).toBeGreaterThan(100);
    expect(run.value as string).not.toContain(fixture.token);
  });

  it("a Sentry answer that echoes the token is scrubbed before the sandbox sees it", async () => {
    // Make one issue title carry the token, as a misbehaving server might.
    const issue = fixture.data.issues.find(
      (i) => i.project.slug === "api-backend" && i.status === "unresolved",
    )!;
    const original = issue.title;
    issue.title = `leak ${fixture.token} here`;
    try {
      const run = await adaptor.optimizer.run(
        `const md = await sentry.get_sentry_resource({ organizationSlug: "acme", resourceType: "issue", resourceId: ${JSON.stringify(issue.shortId)} });
         return { sawToken: md.includes(${JSON.stringify(fixture.token.slice(0, 12))} + ${JSON.stringify(fixture.token.slice(12))}), md: md.slice(0, 400) };`,
      );
      expect(run.value).toMatchObject({ sawToken: false });
      expect(run.text).not.toContain(fixture.token);
    } finally {
      issue.title = original;
    }
  });

  it("results, logs, errors, session logs and audit records never contain it", async () => {
    const texts: string[] = [];
    const triage = await adaptor.triageRun({ project: "api-backend", limit: 3 });
    texts.push(JSON.stringify(triage.value), triage.run.text, JSON.stringify(triage.run.logs));
    texts.push(JSON.stringify(await adaptor.issueDigest({ issueId: triage.value.issues[0]!.id })));
    texts.push(JSON.stringify(await adaptor.releaseHealth({ project: "api-backend" })));
    texts.push(JSON.stringify(await adaptor.resolveIssue({ issueId: triage.value.issues[1]!.id })));
    // A program that logs and throws with the tool answers in hand.
    const failed = await adaptor.optimizer
      .run(
        `console.log(await sentry.find_organizations({})); throw new Error("boom " + JSON.stringify(await sentry.find_projects({ organizationSlug: "acme" })));`,
      )
      .catch((e: unknown) => e as Error);
    texts.push(
      String(failed),
      JSON.stringify(failed),
      JSON.stringify((failed as { details?: unknown }).details ?? {}),
    );
    // Errors from Sentry itself.
    fixture.fault({ status: 401, times: 1 });
    const unauthorized = await adaptor
      .issueDigest({ issueId: "API-BACKEND-1" })
      .catch((e: unknown) => e as Error);
    texts.push(
      String(unauthorized),
      JSON.stringify(unauthorized),
      String((unauthorized as Error).cause),
    );
    fixture.reset();

    const records = audit.records();
    expect(records.some((r) => r.type === "tool_call")).toBe(true);
    expect(records.some((r) => r.type === "execution")).toBe(true);
    texts.push(JSON.stringify(records));
    const listed = await sessions.list("default", { limit: 1000 });
    expect(listed.sessions.length).toBeGreaterThan(0);
    for (const s of listed.sessions) texts.push(JSON.stringify(await sessions.get(s.id)));
    texts.push(JSON.stringify(await adaptor.optimizer.capabilities()));
    texts.push(...seen);
    const all = texts.join("\n");
    expect(all.length).toBeGreaterThan(5000);
    expect(all).not.toContain(fixture.token);
  });

  it("the token is only in the upstream's environment, not in its arguments", () => {
    const upstream = adaptor.optimizer.listUpstreams()[0]!;
    expect(JSON.stringify(upstream.info())).not.toContain(fixture.token);
  });
});
