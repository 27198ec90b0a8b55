import { Attr, type AuditRecord, MCPOptimizer } from "@mcp-optimizer/core";
import { describeAuditSink } from "@mcp-optimizer/core/testing";
import { SeverityNumber } from "@opentelemetry/api";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from "@opentelemetry/sdk-logs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AUDIT_EVENT_NAMES,
  createOtelLogAuditSink,
  startTelemetry,
  type TelemetryHandle,
} from "../src/index.js";
import { everythingServer } from "./helpers.js";

const SINK_SECRET = "otel-sink-secret-8a7b6c5d";

const conformanceExporter = new InMemoryLogRecordExporter();
const conformanceProvider = new LoggerProvider({
  processors: [new SimpleLogRecordProcessor({ exporter: conformanceExporter })],
});

describeAuditSink(
  "OtelLogAuditSink",
  () => createOtelLogAuditSink({ loggerProvider: conformanceProvider, secrets: [SINK_SECRET] }),
  {
    read: () =>
      conformanceExporter.getFinishedLogRecords().map((r) => r.body as unknown as AuditRecord),
    secret: SINK_SECRET,
  },
);

describe("OtelLogAuditSink on the global LoggerProvider, behind MCPOptimizer", () => {
  const CONFIG_SECRET = "sk-otel-audit-99aa88bb77";
  const exporter = new InMemoryLogRecordExporter();
  let handle: TelemetryHandle;
  let optimizer: MCPOptimizer;

  beforeAll(async () => {
    handle = await startTelemetry({
      prometheus: false,
      traces: false,
      logRecordProcessors: [new SimpleLogRecordProcessor({ exporter })],
    });
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", maxExecutionTime: 10_000 },
      mcpServers: { everything: { ...everythingServer(), env: { API_TOKEN: CONFIG_SECRET } } },
      audit: createOtelLogAuditSink(),
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await handle?.shutdown();
  });

  test("one log record per tool call and per execution: event name, severity, attributes, body", async () => {
    const result = await optimizer.run(
      `console.log("${CONFIG_SECRET}");
       await everything.get_sum({ a: 1, b: 2 });
       try { await everything.echo({ message: 5 }); } catch {}
       return "${CONFIG_SECRET}";`,
      { sessionId: "otel-log-1", tenant: "acme", actor: "cursor" },
    );
    await handle.forceFlush();
    const mine = exporter
      .getFinishedLogRecords()
      .filter((r) => r.attributes[Attr.executionId] === result.executionId);
    expect(mine.map((r) => r.eventName)).toEqual([
      AUDIT_EVENT_NAMES.tool_call,
      AUDIT_EVENT_NAMES.tool_call,
      AUDIT_EVENT_NAMES.execution,
    ]);
    expect(mine.map((r) => r.severityNumber)).toEqual([
      SeverityNumber.INFO,
      SeverityNumber.WARN,
      SeverityNumber.INFO,
    ]);
    const [ok, failed, execution] = mine as [(typeof mine)[0], (typeof mine)[0], (typeof mine)[0]];
    expect(ok.attributes).toMatchObject({
      [Attr.sessionId]: "otel-log-1",
      [Attr.tenant]: "acme",
      "mcp_optimizer.actor": "cursor",
      [Attr.server]: "everything",
      [Attr.toolName]: "get-sum",
      [Attr.outcome]: "ok",
    });
    expect(failed.attributes[Attr.errorType]).toBe("TOOL_INVALID_ARGUMENTS");
    expect(execution.attributes).toMatchObject({ [Attr.mode]: "process", [Attr.kind]: "run" });
    expect(execution.body).toMatchObject({
      type: "execution",
      toolCalls: 2,
      sessionId: "otel-log-1",
    });
    expect(ok.body).toMatchObject({ type: "tool_call", args: { a: 1, b: 2 } });
    expect(JSON.stringify(mine.map((r) => [r.body, r.attributes]))).not.toContain(CONFIG_SECRET);
  });
});
