import { Attr, MCPOptimizer } from "@mcp-optimizer/core";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTelemetry, type TelemetryHandle } from "../src/index.js";
import { everythingServer } from "./helpers.js";

const SECRET = "sk-trace-0a1b2c3d4e5f";

describe("traces: the span tree of an execution", () => {
  let handle: TelemetryHandle;
  let optimizer: MCPOptimizer;
  const exporter = new InMemorySpanExporter();

  beforeAll(async () => {
    handle = await startTelemetry({
      prometheus: false,
      logs: false,
      serviceName: "trace-test",
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process", enableTelemetry: true, maxExecutionTime: 10_000 },
      mcpServers: { everything: { ...everythingServer(), env: { API_TOKEN: SECRET } } },
    });
    await optimizer.start();
  }, 60_000);

  afterAll(async () => {
    await optimizer?.close();
    await handle?.shutdown();
  });

  const id = (s: ReadableSpan) => s.spanContext().spanId;
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
  const program = `
    const sum = await everything.get_sum({ a: 20, b: 22 });
    return await everything.echo({ message: "sum " + JSON.stringify(sum) });`;

  function tree(executionId: string) {
    const spans = exporter.getFinishedSpans();
    const root = spans.find(
      (s) => s.attributes[Attr.executionId] === executionId && s.name.startsWith("execute_tool"),
    );
    if (!root) throw new Error(`no span for execution ${executionId}`);
    const trace = spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId);
    const children = trace.filter((s) => parentOf(s) === id(root));
    const execute = children.find((s) => s.name === "mcp_optimizer.sandbox.execute");
    const calls = execute ? trace.filter((s) => parentOf(s) === id(execute)) : [];
    return { root, trace, children, execute, calls };
  }

  test("one root span per execution, a child per sandbox phase, a grandchild per tool call", async () => {
    const result = await optimizer.run(program, { sessionId: "trace-1", tenant: "acme" });
    const { root, trace, children, execute, calls } = tree(result.executionId);

    expect(root.name).toBe("execute_tool execute_code");
    expect(root.kind).toBe(SpanKind.INTERNAL);
    expect(parentOf(root)).toBeUndefined();
    expect(root.attributes).toMatchObject({
      [Attr.operationName]: "execute_tool",
      [Attr.toolName]: "execute_code",
      [Attr.sessionId]: "trace-1",
      [Attr.tenant]: "acme",
      [Attr.mode]: "process",
    });
    expect(root.status.code).toBe(SpanStatusCode.UNSET);
    expect(root.resource.attributes["service.name"]).toBe("trace-test");

    expect(children.map((s) => s.name)).toEqual([
      "mcp_optimizer.sandbox.acquire",
      "mcp_optimizer.sandbox.execute",
    ]);
    expect(execute).toBeDefined();
    expect(calls.map((s) => s.name)).toEqual(["tools/call get-sum", "tools/call echo"]);
    for (const call of calls) {
      expect(call.kind).toBe(SpanKind.CLIENT);
      expect(call.attributes).toMatchObject({
        [Attr.mcpMethodName]: "tools/call",
        [Attr.operationName]: "execute_tool",
        [Attr.server]: "everything",
        [Attr.sessionId]: "trace-1",
        [Attr.tenant]: "acme",
      });
    }
    expect(calls.map((s) => s.attributes[Attr.toolName])).toEqual(["get-sum", "echo"]);
    // Every span of the trace is one of these: nothing strays in from elsewhere.
    expect(trace).toHaveLength(1 + children.length + calls.length);
    // Phases nest in time within the execution. Each span anchors its start to Date.now()
    // (millisecond resolution), so two spans' clocks can differ by a millisecond or so.
    const ns = (t: [number, number]) => t[0] * 1e9 + t[1];
    const slack = 5e6;
    for (const s of [...children, ...calls]) {
      expect(ns(s.startTime)).toBeGreaterThanOrEqual(ns(root.startTime) - slack);
      expect(ns(s.endTime)).toBeLessThanOrEqual(ns(root.endTime) + slack);
    }
  });

  test("a second execution on the same warm runner gets its own tree (tool calls not parented to the first)", async () => {
    const first = await optimizer.run(program, { sessionId: "trace-2" });
    const second = await optimizer.run(program, { sessionId: "trace-2" });
    const a = tree(first.executionId);
    const b = tree(second.executionId);
    expect(b.root.spanContext().traceId).not.toBe(a.root.spanContext().traceId);
    expect(b.calls).toHaveLength(2);
    expect(a.calls).toHaveLength(2);
  });

  test("a failed execution marks its span with the error type; a failed call marks its own", async () => {
    await expect(
      optimizer.run(
        "await everything.get_sum({ a: 1, b: 2 }); await everything.echo({ message: 42 });",
        {
          sessionId: "trace-3",
        },
      ),
    ).rejects.toMatchObject({ code: "TOOL_INVALID_ARGUMENTS" });
    const root = exporter
      .getFinishedSpans()
      .find(
        (s) => s.name === "execute_tool execute_code" && s.attributes[Attr.sessionId] === "trace-3",
      )!;
    expect(root.status.code).toBe(SpanStatusCode.ERROR);
    expect(root.attributes[Attr.errorType]).toBe("TOOL_INVALID_ARGUMENTS");
    const { calls } = tree(root.attributes[Attr.executionId] as string);
    // The rejected call never left the host: only the call that reached the server has a span.
    expect(calls.map((s) => s.name)).toEqual(["tools/call get-sum"]);
  });

  test("no configured secret in any span", () => {
    const text = JSON.stringify(
      exporter
        .getFinishedSpans()
        .map((s) => ({ n: s.name, a: s.attributes, st: s.status, e: s.events })),
    );
    expect(text).toContain("trace-1");
    expect(text).not.toContain(SECRET);
  });
});
