import { deflateRawSync } from "node:zlib";
import { ErrorCodes, newSessionData } from "@mcp-optimizer/core";
import { describe, expect, test } from "vitest";
import { backoff } from "../src/redis-connection.js";
import {
  decodeSessionData,
  encodeSessionData,
  FORMAT_DEFLATE,
  FORMAT_JSON,
  MAX_INFLATED_BYTES,
} from "../src/session-encoding.js";

// Unit tests of the logic without Redis; everything else runs against real servers.
describe("session encoding", () => {
  const options = { id: "enc", maxSessionBytes: 10_000, compressAboveBytes: 500 };

  test("a deflate bomb written by hand is SESSION_CORRUPT, not a full heap", async () => {
    // About 70 KB on the wire, twice the inflation limit once unpacked.
    const bomb = deflateRawSync(Buffer.alloc(MAX_INFLATED_BYTES * 2, 0x20));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const blob = Buffer.concat([Buffer.from([FORMAT_DEFLATE]), bomb]);
    await expect(decodeSessionData("bomb", "acme", blob)).rejects.toMatchObject({
      code: ErrorCodes.SESSION_CORRUPT,
    });
  });

  test("round-trips below and above the compression threshold", async () => {
    for (const text of ["small", "y".repeat(5000)]) {
      const data = newSessionData({ tenant: "acme", state: { text }, files: { "a.md": "# a" } });
      const { blob, json } = await encodeSessionData(data, options);
      expect(blob[0]).toBe(text.length > 500 ? FORMAT_DEFLATE : FORMAT_JSON);
      expect(JSON.parse(json)).toEqual([
        data.allow,
        data.state,
        data.files,
        data.snippets,
        data.log,
        data.counters,
      ]);
      expect(await decodeSessionData("enc", "acme", blob)).toEqual(data);
    }
  });

  test("the limit counts the JSON bytes before compression, up to and including the limit", async () => {
    const withText = (text: string) => newSessionData({ state: { k: text } });
    const base = Buffer.byteLength((await encodeSessionData(withText(""), options)).json);
    const room = 10_000 - base;
    const exact = await encodeSessionData(withText("x".repeat(room)), options);
    expect(Buffer.byteLength(exact.json)).toBe(10_000);
    await expect(encodeSessionData(withText("x".repeat(room + 1)), options)).rejects.toMatchObject({
      code: ErrorCodes.SESSION_TOO_LARGE,
      details: { bytes: 10_001, limit: 10_000 },
    });
    // Bytes, not characters: "é" takes two in UTF-8.
    await expect(
      encodeSessionData(withText("é".repeat(room - 100)), options),
    ).rejects.toMatchObject({ code: ErrorCodes.SESSION_TOO_LARGE });
  });

  test("a value that is not JSON is INVALID_INPUT", async () => {
    const data = newSessionData({ state: { big: 10n as never } });
    await expect(encodeSessionData(data, options)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_INPUT,
    });
  });

  test("counters missing from an older value are filled in", async () => {
    const blob = Buffer.from('\x01[{},{"a":1},{},{},[],{"executions":2}]');
    const data = await decodeSessionData("old", "t", blob);
    expect(data.state).toEqual({ a: 1 });
    expect(data.counters.executions).toBe(2);
  });
});

describe("reconnection backoff", () => {
  test("doubles from 50 ms with jitter and stays under the cap", () => {
    const delay = backoff(2000);
    for (let i = 0; i < 100; i++) {
      const first = delay(1);
      expect(first).toBeGreaterThanOrEqual(25);
      expect(first).toBeLessThanOrEqual(50);
      expect(delay(3)).toBeGreaterThanOrEqual(100);
      expect(delay(3)).toBeLessThanOrEqual(200);
      expect(delay(50)).toBeLessThanOrEqual(2000);
      expect(delay(50)).toBeGreaterThanOrEqual(1000);
    }
  });
});
