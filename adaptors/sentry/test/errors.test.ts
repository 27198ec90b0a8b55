import { hasErrorCode } from "@mcp-optimizer/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SentryFixture } from "../src/fixture/index.js";
import { hasSentryErrorCode, SentryAdaptor, SentryAdaptorError } from "../src/index.js";
import { startSentry } from "./helpers.js";

let fixture: SentryFixture;
let adaptor: SentryAdaptor;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ fixture, adaptor, close } = await startSentry({ callTimeoutMs: 1500 }));
  await adaptor.start();
});
afterEach(() => fixture.reset());
afterAll(() => close());

describe("Sentry errors become typed errors", () => {
  it("404: an unknown issue is SENTRY_NOT_FOUND", async () => {
    const error = await adaptor.issueDigest({ issueId: "NOPE-404" }).catch((e: unknown) => e);
    expect(hasSentryErrorCode(error, "SENTRY_NOT_FOUND")).toBe(true);
    expect((error as SentryAdaptorError).status).toBe(404);
    expect((error as SentryAdaptorError).operation).toBe("sentry.issue_digest");
    expect((error as Error).message).toMatch(/404/);
  });

  it("404: an unknown project is SENTRY_NOT_FOUND", async () => {
    const error = await adaptor.triage({ project: "no-such-project" }).catch((e: unknown) => e);
    expect(hasSentryErrorCode(error, "SENTRY_NOT_FOUND")).toBe(true);
  });

  it("429: retried with backoff, then succeeds", async () => {
    fixture.fault({ status: 429, retryAfter: 1, match: /\/issues\/\?/, times: 2 });
    const value = await adaptor.triage({ project: "api-backend", limit: 2 });
    expect(value.issues).toHaveLength(2);
    const listings = fixture.requests.filter((r) => r.path.includes("/issues/?"));
    expect(listings.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it("429: still limited after every attempt is SENTRY_RATE_LIMITED, marked retryable", async () => {
    fixture.fault({ status: 429, match: /\/issues\/\?/ });
    const error = await adaptor
      .triage({ project: "api-backend", limit: 2 })
      .catch((e: unknown) => e);
    expect(hasSentryErrorCode(error, "SENTRY_RATE_LIMITED")).toBe(true);
    expect((error as SentryAdaptorError).retryable).toBe(true);
    expect(fixture.requests.filter((r) => r.status === 429)).toHaveLength(3);
  });

  it("timeout: one slow answer to a read-only call is retried by core and the triage succeeds", async () => {
    fixture.fault({ delayMs: 3000, match: /\/issues\/\?/, times: 1 });
    const started = Date.now();
    const value = await adaptor.triage({ project: "api-backend", limit: 2 });
    expect(value.issues).toHaveLength(2);
    // The first attempt waited out callTimeoutMs (1500 ms) before the retry answered.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it("timeout: a Sentry slower than callTimeoutMs on every attempt is SENTRY_TIMEOUT, and the next call works", async () => {
    const remove = fixture.fault({ delayMs: 2500, match: /\/issues\/\?/ });
    const error = await adaptor
      .triage({ project: "api-backend", limit: 2 })
      .catch((e: unknown) => e);
    expect(hasSentryErrorCode(error, "SENTRY_TIMEOUT")).toBe(true);
    expect(((error as Error).cause as { code?: string }).code).toBe("UPSTREAM_TIMEOUT");
    remove();
    const value = await adaptor.triage({ project: "api-backend", limit: 2 });
    expect(value.issues).toHaveLength(2);
  });

  it("timeout: an operation past its own limit is SENTRY_TIMEOUT", async () => {
    fixture.fault({ delayMs: 1000, match: /\/events\/latest\//, times: 3 });
    const error = await adaptor
      .triage({ project: "api-backend", limit: 3 }, { timeoutMs: 500 })
      .catch((e: unknown) => e);
    expect(hasSentryErrorCode(error, "SENTRY_TIMEOUT")).toBe(true);
    expect(((error as Error).cause as { code?: string }).code).toBe("SANDBOX_TIMEOUT");
  });

  it("403: a token without access is SENTRY_FORBIDDEN, not retried", async () => {
    fixture.fault({ status: 403, match: /\/issues\/\?/ });
    const error = await adaptor
      .triage({ project: "api-backend", limit: 2 })
      .catch((e: unknown) => e);
    expect(hasSentryErrorCode(error, "SENTRY_FORBIDDEN")).toBe(true);
    expect((error as SentryAdaptorError).status).toBe(403);
    expect((error as SentryAdaptorError).retryable).toBe(false);
    expect(fixture.requests.filter((r) => r.status === 403)).toHaveLength(1);
  });

  it("500: Sentry failing is SENTRY_SERVER_ERROR", async () => {
    fixture.fault({ status: 500, match: /\/issues\/\?/, times: 1 });
    const error = await adaptor
      .triage({ project: "api-backend", limit: 2 })
      .catch((e: unknown) => e);
    expect(hasSentryErrorCode(error, "SENTRY_SERVER_ERROR")).toBe(true);
    expect((error as SentryAdaptorError).status).toBe(500);
  });
});

describe("401", () => {
  it("a wrong token is SENTRY_UNAUTHORIZED, and the fixture saw only bearer requests it refused", async () => {
    const wrong = await startSentry({ accessToken: "sntryu_wrong_token_0123456789" });
    try {
      const error = await wrong.adaptor.triage({ project: "api-backend" }).catch((e: unknown) => e);
      expect(hasSentryErrorCode(error, "SENTRY_UNAUTHORIZED")).toBe(true);
      expect((error as SentryAdaptorError).status).toBe(401);
      expect(wrong.fixture.requests.length).toBeGreaterThan(0);
      expect(
        wrong.fixture.requests.every(
          (r) => r.status === 401 && !r.authorized && r.scheme === "Bearer",
        ),
      ).toBe(true);
    } finally {
      await wrong.close();
    }
  });

  it("no token at all is refused when the adaptor is created", () => {
    expect(() => startSentryWithoutToken()).toThrow(/accessToken/);
    try {
      startSentryWithoutToken();
    } catch (error) {
      expect(hasErrorCode(error, "INVALID_CONFIG")).toBe(true);
    }
  });
});

function startSentryWithoutToken(): void {
  new SentryAdaptor({ accessToken: "" });
}

describe("the Sentry MCP server", () => {
  it("one that cannot start is SENTRY_UNAVAILABLE, and the message does not carry the token", async () => {
    const broken = new SentryAdaptor({
      accessToken: "sntryu_never_shown_0123456789",
      command: { command: process.execPath, args: ["-e", "process.exit(3)"] },
    });
    try {
      const error = await broken
        .triage({ organization: "acme", project: "x" })
        .catch((e: unknown) => e);
      expect(hasSentryErrorCode(error, "SENTRY_UNAVAILABLE")).toBe(true);
      expect((error as SentryAdaptorError).retryable).toBe(true);
      expect(JSON.stringify(error) + String(error)).not.toContain("sntryu_never_shown");
    } finally {
      await broken.close();
    }
  });
});

describe("error objects", () => {
  it("serialise without a cause and keep a stable code", () => {
    const e = new SentryAdaptorError("SENTRY_NOT_FOUND", "x", { operation: "op", status: 404 });
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      code: "SENTRY_NOT_FOUND",
      message: "x",
      status: 404,
      operation: "op",
    });
    expect(
      hasSentryErrorCode(
        { name: "SentryAdaptorError", code: "SENTRY_NOT_FOUND" },
        "SENTRY_NOT_FOUND",
      ),
    ).toBe(true);
    expect(hasSentryErrorCode(new Error("x"), "SENTRY_NOT_FOUND")).toBe(false);
  });
});
