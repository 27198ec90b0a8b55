import { describe, expect, test } from "vitest";
import type { PiiDetector, PiiKind } from "../contracts/pii-detector.js";

/** Values a detector of each kind must find in running text, and near misses it must not. */
export const PII_SAMPLES: Record<string, { real: string[]; fake: string[] }> = {
  email: {
    real: ["jane.doe@example.com", "ops+alerts@mail.example.org"],
    fake: ["jane.doe@", "@example.com", "not an address"],
  },
  phone: {
    real: ["+1 212 555 0123", "(415) 555-0199", "+44 20 7946 0958"],
    fake: ["2024", "12345"],
  },
  card: {
    real: ["4111 1111 1111 1111", "5500-0000-0000-0004"],
    fake: ["4111 1111 1111 1112"],
  },
  iban: {
    real: ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
    fake: ["DE89 3704 0044 0532 0130 01"],
  },
  ip: { real: ["192.168.10.20", "2001:db8::8a2e:370:7334"], fake: ["999.1.1.1"] },
};

/**
 * The PiiDetector conformance suite: matches sit where they say, in order, without overlaps,
 * of declared kinds only; the samples of every declared kind are found in running text and
 * their near misses are not.
 */
export function describePiiDetector(
  name: string,
  factory: () => PiiDetector | Promise<PiiDetector>,
): void {
  describe(`PiiDetector conformance: ${name}`, () => {
    test("matches are where they say, in text order, without overlaps, of declared kinds", async () => {
      const detector = await factory();
      const text = Object.values(PII_SAMPLES)
        .flatMap((s) => s.real)
        .map((v, i) => `Item ${i}: contact ${v}, then more words.`)
        .join("\n");
      const matches = await detector.detect(text);
      let end = -1;
      for (const m of matches) {
        expect(text.slice(m.start, m.end)).toBe(m.value);
        expect(m.start).toBeGreaterThanOrEqual(end);
        expect(detector.kinds).toContain(m.kind);
        end = m.end;
      }
      expect(await detector.detect("")).toEqual([]);
    });

    test("finds every sample of its kinds in running text, and no near miss", async () => {
      const detector = await factory();
      for (const kind of detector.kinds) {
        const samples = PII_SAMPLES[kind as string];
        if (!samples) continue;
        for (const value of samples.real) {
          const text = `Please reach ${value}. Thanks!`;
          const found = (await detector.detect(text)).filter((m) => m.kind === kind);
          expect(
            found.map((m) => m.value.replace(/[\s-]/g, "")),
            `${kind} in ${JSON.stringify(text)}`,
          ).toContain(value.replace(/[\s-]/g, ""));
        }
        for (const value of samples.fake) {
          const found = (await detector.detect(`Please reach ${value}. Thanks!`)).filter(
            (m) => m.kind === (kind as PiiKind),
          );
          expect(found, `${kind}: ${JSON.stringify(value)} is not one`).toEqual([]);
        }
      }
    });

    test("a large text is scanned in time that grows with its length", async () => {
      const detector = await factory();
      const unit = "Order 77 shipped to jane.doe@example.com from 10.0.0.1; call (415) 555-0199.\n";
      const small = unit.repeat(200);
      const large = unit.repeat(2000);
      let started = performance.now();
      const fewer = (await detector.detect(small)).length;
      const smallMs = performance.now() - started;
      started = performance.now();
      const more = (await detector.detect(large)).length;
      const largeMs = performance.now() - started;
      expect(more).toBeGreaterThanOrEqual(fewer * 9);
      // Ten times the text: far less than a hundred times the time (no quadratic scan).
      expect(largeMs).toBeLessThan(Math.max(smallMs, 5) * 40);
    });
  });
}
