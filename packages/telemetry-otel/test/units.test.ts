import {
  DURATION_BUCKETS_SECONDS,
  Instruments,
  METER_NAME,
  SESSION_DURATION_BUCKETS_SECONDS,
} from "@mcp-optimizer/core";
import { sampleExecutionRecord, sampleToolCallRecord } from "@mcp-optimizer/core/testing";
import { AggregationType } from "@opentelemetry/sdk-metrics";
import { describe, expect, test } from "vitest";
import {
  createAuditRedaction,
  createOptimizerMeterViews,
  prometheusUnitSuffix,
} from "../src/index.js";

describe("Prometheus unit suffixes", () => {
  test.each([
    ["s", "seconds"],
    ["ms", "milliseconds"],
    ["By", "bytes"],
    ["By/s", "bytes_per_second"],
    ["{token}", ""],
    ["{call}", ""],
    ["1", ""],
    ["USD", "usd"],
    [undefined, ""],
    ["", ""],
  ])("%s -> %s", (unit, suffix) => {
    expect(prometheusUnitSuffix(unit)).toBe(suffix);
  });
});

describe("createOptimizerMeterViews", () => {
  test("pins seconds buckets on core's duration histograms, sessions on their own scale", () => {
    const views = createOptimizerMeterViews();
    expect(views.map((v) => v.instrumentName).sort()).toEqual(
      [
        Instruments.executionDuration,
        Instruments.mcpClientOperationDuration,
        Instruments.sessionStoreDuration,
        Instruments.mcpServerOperationDuration,
        Instruments.mcpServerSessionDuration,
      ].sort(),
    );
    for (const v of views) {
      expect(v.meterName).toBe(METER_NAME);
      expect(v.aggregation).toEqual({
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: {
          boundaries: [
            ...(v.instrumentName === Instruments.mcpServerSessionDuration
              ? SESSION_DURATION_BUCKETS_SECONDS
              : DURATION_BUCKETS_SECONDS),
          ],
        },
      });
    }
  });
});

describe("createAuditRedaction", () => {
  test("scrubs secrets in values and keys, and sensitive argument names as suffixes only", () => {
    const redact = createAuditRedaction({ secrets: ["s3cr3t-value"] });
    const out = redact(
      sampleToolCallRecord("r", {
        apiKey: "k",
        githubToken: "t",
        max_tokens: 100,
        list: [{ Authorization: "Bearer x" }],
        "s3cr3t-value": "as key",
        text: "has s3cr3t-value inside",
      }),
    );
    expect(out.type === "tool_call" && out.args).toEqual({
      apiKey: "[REDACTED]",
      githubToken: "[REDACTED]",
      max_tokens: 100,
      list: [{ Authorization: "[REDACTED]" }],
      "[REDACTED]": "as key",
      text: "has [REDACTED] inside",
    });
    const exec = redact(sampleExecutionRecord("e", "const k = 's3cr3t-value'"));
    expect(exec.type === "execution" && exec.code).toBe("const k = '[REDACTED]'");
  });

  test("never mutates the record it is given", () => {
    const record = sampleToolCallRecord("r", { password: "p" });
    const before = structuredClone(record);
    createAuditRedaction()(record);
    expect(record).toEqual(before);
  });
});
