import { ErrorCodes, type OptimizerError, type PiiMatch } from "@mcp-optimizer/core";
import { freePort } from "@mcp-optimizer/core/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createPresidioDetector, type PresidioDetectorOptions } from "../src/index.js";
import { type PresidioServer, startPresidioServer } from "./helpers/presidio-server.js";

let presidio: PresidioServer;
beforeAll(async () => {
  presidio = await startPresidioServer();
});
afterAll(() => presidio?.close());
beforeEach(() => {
  presidio.requests.length = 0;
  presidio.delayMs = 0;
  presidio.failWith = undefined;
  presidio.answer = undefined;
  presidio.authorization = undefined;
});

const detector = (options: Partial<PresidioDetectorOptions> = {}) =>
  createPresidioDetector({ url: presidio.url, cacheSize: 0, ...options });

async function failure(promise: Promise<unknown> | (() => unknown)): Promise<OptimizerError> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    return error as OptimizerError;
  }
  throw new Error("it did not fail");
}

function expectWhere(text: string, matches: PiiMatch[]) {
  for (const m of matches) expect(text.slice(m.start, m.end)).toBe(m.value);
}

describe("what it finds", () => {
  test("emoji and other astral characters before a match: Presidio's code points become string offsets", async () => {
    const text =
      "🙂🙂 Zoë 𝔘 wrote from jane.doe@example.com 🎉 then call (415) 555-0199 👍🏽 at 10.0.0.1";
    const found = await detector().detect(text);
    expectWhere(text, found);
    expect(found.map((m) => [m.kind, m.value])).toEqual([
      ["person", "Zoë"],
      ["email", "jane.doe@example.com"],
      ["phone", "(415) 555-0199"],
      ["ip", "10.0.0.1"],
    ]);
    // Presidio counted code points: after three astral characters the e-mail starts 3 units later in JS.
    const email = found[1]!;
    expect(text.indexOf("jane.doe")).toBe(email.start);
    expect([...text.slice(0, email.start)].length).toBe(email.start - 3);
    expect(presidio.requests).toHaveLength(1);
  });

  test("overlapping results: the higher score wins, then the longer span; text order, no overlap", async () => {
    // Presidio also reports an e-mail's domain as a URL (0.5): the e-mail (1.0) wins.
    const text = "Write to ops+alerts@mail.example.org or see https://example.org/x.";
    const found = await detector().detect(text);
    expect(found.map((m) => [m.kind, m.value])).toEqual([
      ["email", "ops+alerts@mail.example.org"],
      ["url", "https://example.org/x"],
    ]);
    // Equal scores: the longer span; out of order and nested, as an analyzer may answer.
    presidio.answer = () => [
      { entity_type: "PERSON", start: 0, end: 4, score: 0.85, analysis_explanation: null },
      { entity_type: "US_SSN", start: 19, end: 30, score: 0.5, analysis_explanation: null },
      { entity_type: "LOCATION", start: 0, end: 10, score: 0.85, analysis_explanation: null },
      { entity_type: "PHONE_NUMBER", start: 17, end: 30, score: 0.4, analysis_explanation: null },
      { entity_type: "DATE_TIME", start: 5, end: 12, score: 0.6, analysis_explanation: null },
    ];
    const nested = "Jane Smith: SSN is 078-05-1120 ok";
    const resolved = await detector().detect(nested);
    expectWhere(nested, resolved);
    expect(resolved.map((m) => [m.kind, m.value])).toEqual([
      ["location", "Jane Smith"],
      ["us_ssn", "078-05-1120"],
    ]);
  });

  test("scoreThreshold: a phone number without a context word scores 0.4, with one 0.75", async () => {
    const text = "Reach +1 212 555 0123. Or call +44 20 7946 0958.";
    const all = await detector().detect(text);
    expect(all.filter((m) => m.kind === "phone")).toHaveLength(2);
    const strict = await detector({ scoreThreshold: 0.5 }).detect(text);
    expect(strict.filter((m) => m.kind === "phone").map((m) => m.value)).toEqual([
      "+44 20 7946 0958",
    ]);
    expect(presidio.requests.at(-1)!.body).toMatchObject({ score_threshold: 0.5, language: "en" });
  });

  test("entities: only the types asked for are requested and returned, as the kinds mapped", async () => {
    const d = detector({ entities: { EMAIL_ADDRESS: "email", PERSON: "name" } });
    expect(d.kinds).toEqual(["email", "name"]);
    const found = await d.detect("Bob Jones <bob.jones@example.org>, 10.0.0.1");
    expect(found.map((m) => [m.kind, m.value])).toEqual([
      ["name", "Bob Jones"],
      ["email", "bob.jones@example.org"],
    ]);
    expect(presidio.requests.at(-1)!.body).toMatchObject({ entities: ["EMAIL_ADDRESS", "PERSON"] });
    // The default maps the built-in kinds' names and lower-cases the rest.
    expect(createPresidioDetector({ url: presidio.url }).kinds).toEqual(
      expect.arrayContaining(["email", "phone", "card", "iban", "ip", "url", "person", "us_ssn"]),
    );
  });

  test("an empty text is not sent (Presidio refuses it); short texts are answered from the cache", async () => {
    const d = detector({ cacheSize: 2 });
    expect(await d.detect("")).toEqual([]);
    expect(presidio.requests).toHaveLength(0);
    const first = await d.detect("jane.doe@example.com");
    first[0]!.value = "changed by the caller";
    expect((await d.detect("jane.doe@example.com"))[0]!.value).toBe("jane.doe@example.com");
    expect(presidio.requests).toHaveLength(1);
  });

  test("supportedEntities asks GET /supportedentities for the language; headers go with every request", async () => {
    presidio.authorization = "Bearer s3cret-token";
    const d = detector({ headers: { authorization: "Bearer s3cret-token" } });
    expect(await d.supportedEntities()).toContain("EMAIL_ADDRESS");
    expect(presidio.requests.at(-1)!.path).toBe("/supportedentities");
    await d.detect("jane.doe@example.com");
    expect(presidio.requests.at(-1)!.headers.authorization).toBe("Bearer s3cret-token");
  });
});

describe("failures are typed, and say what to fix", () => {
  test("an analyzer that cannot be reached: UPSTREAM_UNAVAILABLE", async () => {
    const port = await freePort();
    const error = await failure(
      createPresidioDetector({ url: `http://127.0.0.1:${port}` }).detect("jane.doe@example.com"),
    );
    expect(error.code).toBe(ErrorCodes.UPSTREAM_UNAVAILABLE);
    expect(error.message).toMatch(/cannot be reached \(ECONNREFUSED\): start it, or fix url/);
  });

  test("an answer slower than timeoutMs: UPSTREAM_TIMEOUT", async () => {
    presidio.delayMs = 1_000;
    const started = performance.now();
    const error = await failure(detector({ timeoutMs: 100 }).detect("jane.doe@example.com"));
    expect(error.code).toBe(ErrorCodes.UPSTREAM_TIMEOUT);
    expect(error.message).toMatch(/did not answer within 100 ms/);
    expect(performance.now() - started).toBeLessThan(900);
  });

  test("a 5xx: UPSTREAM_UNAVAILABLE; a language or entities it has no recognizers for: INVALID_CONFIG", async () => {
    presidio.failWith = 503;
    expect((await failure(detector().detect("hello"))).code).toBe(ErrorCodes.UPSTREAM_UNAVAILABLE);
    presidio.failWith = undefined;
    for (const options of [{ language: "xx" }, { entities: ["NOT_A_TYPE"] }]) {
      const error = await failure(detector(options).detect("hello"));
      expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
      expect(error.message).toMatch(
        /has no recognizers for language .*\(GET \/supportedentities\)/,
      );
    }
    expect((await failure(detector({ language: "xx" }).supportedEntities())).code).toBe(
      ErrorCodes.INVALID_CONFIG,
    );
  });

  test("refused for want of credentials: INVALID_CONFIG naming headers, and the headers never in the error", async () => {
    presidio.authorization = "Bearer right";
    const error = await failure(
      detector({ headers: { authorization: "Bearer wrong-s3cret" } }).detect("hello"),
    );
    expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(error.message).toMatch(/refused the request \(401\): check the headers/);
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain("s3cret");
  });

  test("something other than the analyzer (a wrong path): INVALID_CONFIG; the text never in the error", async () => {
    const error = await failure(
      createPresidioDetector({ url: `${presidio.url}/anonymizer` }).detect("jane.doe@example.com"),
    );
    expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(error.message).toMatch(/answered 404: is url Presidio's analyzer/);
    expect(error.message).not.toContain("jane.doe");
    presidio.answer = () => [
      { entity_type: "PERSON", start: 0, end: 99, score: 1, analysis_explanation: null },
    ];
    expect((await failure(detector().detect("Bob"))).message).toMatch(/offsets outside the text/);
  });

  test("bad options: INVALID_CONFIG naming the option", async () => {
    const cases: [Partial<PresidioDetectorOptions>, RegExp][] = [
      [{ url: "localhost:5002" }, /url is the analyzer's http\(s\) address/],
      [{ url: "http://user:pw@localhost:5002" }, /url holds credentials: send them as headers/],
      [{ language: "" }, /language is a language code/],
      [{ scoreThreshold: 1.5 }, /scoreThreshold is a number from 0 to 1/],
      [{ timeoutMs: 0 }, /timeoutMs is a positive integer/],
      [{ entities: [] }, /entities is a non-empty list/],
      [{ headers: { authorization: 1 as unknown as string } }, /headers is an object/],
    ];
    for (const [options, message] of cases) {
      const error = await failure(() => detector(options));
      expect(error.code, JSON.stringify(options)).toBe(ErrorCodes.INVALID_CONFIG);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(":pw@");
    }
  });
});
