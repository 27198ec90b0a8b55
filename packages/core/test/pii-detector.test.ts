import { describe, expect, test } from "vitest";
import { createDefaultPiiDetector, ErrorCodes } from "../src/index.js";
import { describePiiDetector } from "../src/testing/index.js";

describePiiDetector("default", () => createDefaultPiiDetector());
describePiiDetector("default, with a national-id rule", () =>
  createDefaultPiiDetector({ rules: [{ kind: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }] }),
);

describe("the default detector's settings", () => {
  test("configured rules find their kind; kinds narrow what is found", () => {
    const detector = createDefaultPiiDetector({
      kinds: ["email", "ssn"],
      rules: [{ kind: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }],
    });
    const found = detector.detect("SSN 123-45-6789, mail a@example.com, card 4111 1111 1111 1111");
    expect(found.map((m) => [m.kind, m.value])).toEqual([
      ["ssn", "123-45-6789"],
      ["email", "a@example.com"],
    ]);
  });

  test("a phone number without a country code uses the default region", () => {
    const uk = createDefaultPiiDetector({ kinds: ["phone"], defaultRegion: "GB" });
    expect(uk.detect("ring 020 7946 0958 now").map((m) => m.value)).toEqual(["020 7946 0958"]);
  });

  test("an unknown kind or a broken pattern is INVALID_CONFIG naming it", () => {
    expect(() => createDefaultPiiDetector({ kinds: ["passport"] })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_CONFIG,
        message: expect.stringMatching(/passport/),
      }),
    );
    expect(() => createDefaultPiiDetector({ rules: [{ kind: "x", pattern: "(" }] })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
    );
  });
});
