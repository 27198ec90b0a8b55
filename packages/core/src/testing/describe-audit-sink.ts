import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { AuditRecord, AuditSink } from "../contracts/audit-sink.js";

export interface DescribeAuditSinkOptions {
  /** Reads back what the sink stored, oldest first (after flush). */
  read: () => Promise<AuditRecord[]> | AuditRecord[];
  /** A secret the sink was configured to redact, if it redacts on its own. */
  secret?: string;
  /** Per-test timeout for vitest, in ms. Default 30000. */
  testTimeoutMs?: number;
}

const at = () => new Date().toISOString();

export function sampleExecutionRecord(executionId: string, code = "return 1"): AuditRecord {
  return {
    type: "execution",
    at: at(),
    executionId,
    sessionId: "audit-session",
    tenant: "acme",
    actor: "conformance",
    outcome: "ok",
    durationMs: 12,
    kind: "run",
    mode: "process",
    code,
    toolCalls: 1,
    resultBytes: 42,
    tokens: { used: 100, plainMcp: 5000 },
  };
}

export function sampleToolCallRecord(executionId: string, args: unknown = { q: "x" }): AuditRecord {
  return {
    type: "tool_call",
    at: at(),
    executionId,
    sessionId: "audit-session",
    tenant: "acme",
    actor: "conformance",
    outcome: "error",
    errorCode: "TOOL_ERROR",
    durationMs: 3,
    server: "github",
    tool: "list_issues",
    args: args as never,
    resultBytes: 0,
    attempts: 2,
  };
}

/**
 * The AuditSink conformance suite: records come back whole and in order, writes never throw,
 * flush and close are safe to repeat, and (when configured) a secret never lands in storage.
 */
export function describeAuditSink(
  name: string,
  factory: () => AuditSink | Promise<AuditSink>,
  options: DescribeAuditSinkOptions,
): void {
  const timeout = options.testTimeoutMs ?? 30_000;
  describe(`AuditSink conformance: ${name}`, () => {
    let sink: AuditSink;
    beforeAll(async () => {
      sink = await factory();
    }, timeout);
    afterAll(async () => {
      await sink?.close?.();
    }, timeout);

    test(
      "stores execution and tool-call records whole, in order",
      async () => {
        const written = [
          sampleExecutionRecord("exec-1"),
          sampleToolCallRecord("exec-1"),
          sampleExecutionRecord("exec-2"),
        ];
        for (const r of written) await sink.write(r);
        await sink.flush?.();
        const read = (await options.read()).filter(
          (r) => r.executionId === "exec-1" || r.executionId === "exec-2",
        );
        expect(read.map((r) => [r.type, r.executionId])).toEqual(
          written.map((r) => [r.type, r.executionId]),
        );
        expect(read[1]).toMatchObject({
          server: "github",
          tool: "list_issues",
          outcome: "error",
          attempts: 2,
        });
      },
      timeout,
    );

    test(
      "odd but valid records never make write throw",
      async () => {
        const odd = sampleToolCallRecord("exec-odd", {
          text: 'ünïcode ✓ \n "quotes" \u2028',
          nested: { deep: [null, 1e21] },
        });
        expect(() => sink.write(odd)).not.toThrow();
        await sink.flush?.();
        const read = (await options.read()).find((r) => r.executionId === "exec-odd");
        expect(read).toBeDefined();
      },
      timeout,
    );

    if (options.secret) {
      const secret = options.secret;
      test(
        "a configured secret never lands in storage",
        async () => {
          await sink.write(
            sampleExecutionRecord("exec-secret", `const token = "${secret}"; return token`),
          );
          await sink.write(
            sampleToolCallRecord("exec-secret", { token: secret, [secret]: "as a key" }),
          );
          await sink.flush?.();
          const text = JSON.stringify(await options.read());
          expect(text).toContain("exec-secret");
          expect(text).not.toContain(secret);
        },
        timeout,
      );
    }

    test(
      "flush can be called repeatedly",
      async () => {
        await sink.flush?.();
        await sink.flush?.();
      },
      timeout,
    );
  });
}
