import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SentryFixture, startSentryFixture } from "../src/fixture/index.js";

let fixture: SentryFixture;
beforeAll(async () => {
  fixture = await startSentryFixture({ token: "sntryu_fixture_test_token" });
});
afterAll(() => fixture.close());

const get = (path: string, token: string | null = fixture.token) =>
  fetch(`${fixture.url}${path}`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});

describe("the Sentry API fixture", () => {
  it("holds realistic volumes: hundreds of issues, large stack traces, releases", async () => {
    expect(fixture.data.issues.length).toBeGreaterThanOrEqual(400);
    const res = await get(
      `/api/0/organizations/acme/issues/${fixture.data.issues[0]!.shortId}/events/latest/`,
    );
    const event = (await res.json()) as {
      entries: { type: string; data: { values: { stacktrace: { frames: unknown[] } }[] } }[];
    };
    const frames = event.entries.find((e) => e.type === "exception")!.data.values[0]!.stacktrace
      .frames;
    expect(frames.length).toBe(40);
    expect(JSON.stringify(event).length).toBeGreaterThan(20_000);
    expect(fixture.data.releases.length).toBe(48);
  });

  it("checks the bearer token: 401 on a wrong or missing one", async () => {
    expect((await get("/api/0/organizations/", "wrong")).status).toBe(401);
    expect((await get("/api/0/organizations/", null)).status).toBe(401);
    expect((await get("/api/0/organizations/")).status).toBe(200);
    expect(fixture.requests.slice(-3).map((r) => [r.status, r.authorized])).toEqual([
      [401, false],
      [401, false],
      [200, true],
    ]);
  });

  it("answers 404 for unknown resources, with Sentry's detail", async () => {
    const res = await get("/api/0/organizations/acme/issues/NOPE-1/");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: "The requested resource does not exist" });
  });

  it("injects 429 with Retry-After, a limited number of times", async () => {
    const remove = fixture.fault({ status: 429, retryAfter: 7, match: /projects/, times: 1 });
    const limited = await get("/api/0/organizations/acme/projects/");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(((await limited.json()) as { retry_after: number }).retry_after).toBe(7);
    expect((await get("/api/0/organizations/acme/projects/")).status).toBe(200);
    remove();
  });

  it("injects delays", async () => {
    const remove = fixture.fault({ delayMs: 300, match: /teams/ });
    const started = Date.now();
    expect((await get("/api/0/organizations/acme/teams/")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    remove();
  });

  it("filters, sorts and limits issue searches like Sentry", async () => {
    const res = await get(
      "/api/0/organizations/acme/issues/?query=is%3Aunresolved&sort=freq&limit=5&statsPeriod=90d&project=4502",
    );
    const issues = (await res.json()) as {
      count: string;
      status: string;
      project: { slug: string };
    }[];
    expect(issues).toHaveLength(5);
    expect(
      issues.every((i) => i.status === "unresolved" && i.project.slug === "web-frontend"),
    ).toBe(true);
    const counts = issues.map((i) => Number(i.count));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  });

  it("is deterministic for a seed", async () => {
    const other = await startSentryFixture({ token: "x", seed: 1 });
    try {
      expect(other.data.issues.map((i) => [i.shortId, i.count, i.title])).toEqual(
        fixture.data.issues.map((i) => [i.shortId, i.count, i.title]),
      );
    } finally {
      await other.close();
    }
  });
});
