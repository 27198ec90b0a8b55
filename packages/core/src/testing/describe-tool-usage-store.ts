import { afterAll, describe, expect, test } from "vitest";
import type { ToolUsageStore } from "../contracts/tool-usage-store.js";

export interface DescribeToolUsageStoreOptions {
  /** Two stores from the factory share one backend (Redis: true; in-process: false). */
  shared: boolean;
  /** Per-test timeout for vitest, in ms. Default 15000. */
  testTimeoutMs?: number;
}

/**
 * The ToolUsageStore conformance suite, run against each implementation's real backend.
 * Each test uses its own tenant, so one store may serve the whole suite.
 */
export function describeToolUsageStore(
  name: string,
  factory: () => ToolUsageStore | Promise<ToolUsageStore>,
  options: DescribeToolUsageStoreOptions,
): void {
  const timeout = options.testTimeoutMs ?? 15_000;
  const opened: ToolUsageStore[] = [];
  const open = async () => {
    const s = await factory();
    opened.push(s);
    return s;
  };
  let n = 0;
  const tenant = () => `tenant-${name}-${process.pid}-${++n}`;
  describe(`ToolUsageStore conformance: ${name}`, () => {
    afterAll(async () => {
      await Promise.allSettled(opened.map((s) => s.close()));
    }, timeout);

    test(
      "counts sessions per (term, tool); one session counts once however often it repeats",
      async () => {
        const s = await open();
        const t = tenant();
        for (let i = 0; i < 5; i++)
          await s.record(t, "s1", ["issu", "creat"], "github.create_issue");
        await s.record(t, "s2", ["issu"], "github.create_issue");
        await s.record(t, "s2", ["issu"], "github.list_issues");
        const found = await s.lookup(t, ["issu", "creat", "unknown"]);
        expect(found.get("issu")?.get("github.create_issue")).toBe(2);
        expect(found.get("issu")?.get("github.list_issues")).toBe(1);
        expect(found.get("creat")?.get("github.create_issue")).toBe(1);
        expect(found.has("unknown")).toBe(false);
        expect(typeof s.kind).toBe("string");
      },
      timeout,
    );

    test(
      "tenants are apart",
      async () => {
        const s = await open();
        const a = tenant();
        const b = tenant();
        await s.record(a, "s1", ["deploy"], "k8s.apply");
        expect((await s.lookup(b, ["deploy"])).size).toBe(0);
        expect((await s.lookup(a, ["deploy"])).get("deploy")?.get("k8s.apply")).toBe(1);
      },
      timeout,
    );

    test(
      "the tools kept per term are bounded: many sessions naming many tools keep the most used",
      async () => {
        const s = await open();
        const t = tenant();
        for (let i = 0; i < 5; i++) await s.record(t, `keep-${i}`, ["word"], "srv.kept");
        for (let i = 0; i < 100; i++) await s.record(t, `noise-${i}`, ["word"], `srv.noise_${i}`);
        const tools = (await s.lookup(t, ["word"])).get("word")!;
        expect(tools.size).toBeLessThanOrEqual(50);
        expect(tools.get("srv.kept")).toBe(5);
      },
      timeout,
    );

    test(
      options.shared
        ? "two stores on one backend see each other's records (replicas)"
        : "two stores are independent (one process each)",
      async () => {
        const a = await open();
        const b = await open();
        const t = tenant();
        await a.record(t, "s1", ["graph"], "memory.read_graph");
        const seen = (await b.lookup(t, ["graph"])).get("graph")?.get("memory.read_graph");
        expect(seen).toBe(options.shared ? 1 : undefined);
      },
      timeout,
    );
  });
}
