import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createO200kTokenizer,
  decodeFromModel,
  encodeForModel,
  type JsonValue,
  TOON_FORMAT_LINE,
  TOON_MAX_JSON_CHARS,
  toonText,
} from "../src/index.js";

type O200k = Awaited<ReturnType<typeof createO200kTokenizer>>;

/** JSON values as a program returns them: keys and strings that need quoting included. */
const awkwardString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom(
    "",
    " ",
    " padded ",
    "-",
    "- item",
    "#",
    "true",
    "false",
    "null",
    "42",
    "-1.5e3",
    "0x1f",
    "[3]",
    "a: b",
    "a,b",
    "a|b",
    "a\tb",
    "line\nbreak",
    '"quoted"',
    "back\\slash",
    "{x}",
    "key[2]{a,b}:",
    "\u0000",
    "\u2028",
    "émoji 🚀",
  ),
);
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    awkwardString,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 6 }),
    fc.dictionary(awkwardString, tie("value"), { maxKeys: 6 }),
    // Uniform records: the shape TOON's tables are for.
    fc.array(
      fc.record({
        id: fc.integer(),
        name: awkwardString,
        ok: fc.boolean(),
        score: fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
      }),
      { maxLength: 8 },
    ),
  ),
})).value as fc.Arbitrary<JsonValue>;

describe("model encoding", () => {
  let tokenizer: O200k;
  beforeAll(async () => {
    tokenizer = await createO200kTokenizer();
  });
  afterAll(() => tokenizer?.close());

  test("uniform records: TOON with its format line, cheaper than compact JSON", async () => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      id: i,
      name: `service-${i}`,
      region: ["eu", "us", "apac"][i % 3]!,
      errors: (i * 7) % 13,
      healthy: i % 4 !== 0,
    }));
    const json = JSON.stringify(records);
    const encoded = await encodeForModel(records, { tokenizer });
    expect(encoded.encoding).toBe("toon");
    expect(
      encoded.text.startsWith(`${TOON_FORMAT_LINE}\n[50]{id,name,region,errors,healthy}:`),
    ).toBe(true);
    expect(encoded.tokens).toBe(tokenizer.count(encoded.text));
    expect(encoded.tokens).toBeLessThan(tokenizer.count(json) * 0.8);
    expect(decodeFromModel(encoded)).toEqual(records);
  });

  test("a small nested object stays compact JSON: the format line is not worth it", async () => {
    const value = { ok: true, file: { path: "/a/b.txt", size: 12 } };
    const encoded = await encodeForModel(value, { tokenizer });
    expect(encoded.encoding).toBe("json");
    expect(encoded.text).toBe(JSON.stringify(value));
  });

  test("a string is its own text; a caller's text rendering competes too", async () => {
    expect(await encodeForModel("recorded", { tokenizer })).toEqual({
      encoding: "text",
      text: "recorded",
      tokens: tokenizer.count("recorded"),
    });
    const hits = [{ call: "files.read_text_file", description: "Read a file." }];
    const lines = "files.read_text_file\n  Read a file.";
    const encoded = await encodeForModel(hits, { tokenizer, text: lines });
    expect(encoded.encoding).toBe("text");
    expect(encoded.text).toBe(lines);
  });

  test("a forced encoding is used where it is faithful, JSON where it is not", async () => {
    const value = { a: [1, 2, 3] };
    expect((await encodeForModel(value, { tokenizer, encoding: "json" })).text).toBe(
      '{"a":[1,2,3]}',
    );
    const toon = await encodeForModel(value, { tokenizer, encoding: "toon" });
    expect(toon.encoding).toBe("toon");
    expect(toon.text).toBe(`${TOON_FORMAT_LINE}\na[3]: 1,2,3`);
    // No text rendering of an object: forced "text" falls back to JSON.
    expect((await encodeForModel(value, { tokenizer, encoding: "text" })).encoding).toBe("json");
    // TOON refuses a lone surrogate: JSON carries it.
    const lone = { s: "\ud800" };
    const forced = await encodeForModel(lone, { tokenizer, encoding: "toon" });
    expect(forced.encoding).toBe("json");
    expect(JSON.parse(forced.text)).toEqual(lone);
  });

  test("a value too large to encode on the event loop stays JSON (it is over the budget anyway)", async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `row-${i}`, ok: true }));
    expect(JSON.stringify(rows).length).toBeGreaterThan(TOON_MAX_JSON_CHARS);
    expect((await encodeForModel(rows, { tokenizer })).encoding).toBe("json");
    expect((await encodeForModel(rows.slice(0, 500), { tokenizer })).encoding).toBe("toon");
  });

  test("an unknown setting is a typed error", async () => {
    await expect(encodeForModel(1, { tokenizer, encoding: "yaml" as never })).rejects.toMatchObject(
      { code: "INVALID_CONFIG" },
    );
  });

  test("property: whatever encoding is chosen, decoding gives back the same value", async () => {
    await fc.assert(
      fc.asyncProperty(
        jsonValue,
        fc.constantFrom("auto", "json", "toon", "text"),
        async (value, encoding) => {
          const encoded = await encodeForModel(value, { tokenizer, encoding: encoding as never });
          expect(decodeFromModel(encoded)).toEqual(value);
          expect(encoded.tokens).toBe(tokenizer.count(encoded.text));
          if (encoding === "auto") {
            // The cheapest: never more than compact JSON.
            expect(encoded.tokens).toBeLessThanOrEqual(tokenizer.count(JSON.stringify(value)));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  test("property: auto picks as few tokens as trying every candidate would (TOON skipped only where it cannot win)", async () => {
    await fc.assert(
      fc.asyncProperty(jsonValue, async (value) => {
        const json = JSON.stringify(value);
        const toon = json.length <= TOON_MAX_JSON_CHARS ? toonText(value, json) : undefined;
        const counts = [tokenizer.count(json)];
        if (typeof value === "string") counts.push(tokenizer.count(value));
        if (toon !== undefined) counts.push(tokenizer.count(toon));
        const encoded = await encodeForModel(value, { tokenizer });
        expect(encoded.tokens).toBe(Math.min(...counts));
      }),
      { numRuns: 400 },
    );
  });

  test("property: uniform records with awkward keys and strings round-trip through TOON", async () => {
    const key = awkwardString.filter((k) => k.length > 0);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { minLength: 1, maxLength: 4 }).chain((keys) =>
          fc.array(
            fc
              .tuple(
                ...keys.map(() =>
                  fc.oneof(awkwardString, fc.integer(), fc.boolean(), fc.constant(null)),
                ),
              )
              .map(
                (values) => Object.fromEntries(keys.map((k, i) => [k, values[i]!])) as JsonValue,
              ),
            { minLength: 2, maxLength: 20 },
          ),
        ),
        async (rows) => {
          const encoded = await encodeForModel(rows, { tokenizer, encoding: "toon" });
          expect(decodeFromModel(encoded)).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });
});
