import type { SandboxSession } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createWasmSandbox, type WasmSandbox } from "../src/index.js";
import { host, job } from "./helpers.js";

// The web APIs the prelude adds to QuickJS, checked inside the real engine against what Node
// (the reference) computes for the same input.
describe("shims inside QuickJS", () => {
  let sandbox: WasmSandbox;
  let session: SandboxSession;
  const run = async (code: string) => (await session.execute(job(code), host)).value;

  beforeAll(async () => {
    sandbox = createWasmSandbox({ poolSize: 0 });
    session = await sandbox.open();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  test("the engine is QuickJS, which has none of these natively", async () => {
    const caps = await sandbox.capabilities();
    expect(String(caps.details.engine)).toMatch(/^quickjs 2025-04-26/);
  });

  test("setTimeout, setInterval and clearTimeout run in order, by due time", async () => {
    const value = await run(`
      const seen = [];
      const t0 = performance.now();
      const cancelled = setTimeout(() => seen.push("cancelled"), 5);
      clearTimeout(cancelled);
      await new Promise((r) => {
        setTimeout(() => seen.push("b"), 30);
        setTimeout(() => seen.push("a"), 10);
        setTimeout((x) => { seen.push(x); r(); }, 50, "c");
      });
      let ticks = 0;
      await new Promise((r) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); r(); } }, 5); });
      queueMicrotask(() => seen.push("micro"));
      await null;
      return { seen, ticks, waited: performance.now() - t0 >= 50 };
    `);
    expect(value).toEqual({ seen: ["a", "b", "c", "micro"], ticks: 3, waited: true });
  });

  test("a timer callback that throws is logged, not fatal", async () => {
    const out = await session.execute(
      job(
        "setTimeout(() => { throw new Error('in a timer') }, 0); await new Promise((r) => setTimeout(r, 10)); return 'ok'",
      ),
      host,
    );
    expect(out.value).toBe("ok");
    expect(out.logs.map((l) => l.text).join("\n")).toContain("in a timer");
  });

  test("TextEncoder and TextDecoder agree with Node on UTF-8", async () => {
    const samples = [
      "",
      "plain",
      "ünïcödé",
      "日本語テキスト",
      "emoji 😀👍🏽",
      "\u0000\u007f\u0080\u07ff\u0800\uffff",
    ];
    const value = (await run(`
      const samples = ${JSON.stringify(samples)};
      return samples.map((s) => {
        const bytes = new TextEncoder().encode(s);
        return { bytes: Array.from(bytes), back: new TextDecoder().decode(bytes) };
      });
    `)) as { bytes: number[]; back: string }[];
    samples.forEach((s, i) => {
      expect(value[i]!.bytes).toEqual(Array.from(new TextEncoder().encode(s)));
      expect(value[i]!.back).toBe(s);
    });
    const lone = await run(
      "return [new TextDecoder().decode(new Uint8Array([0xff, 0x41, 0xc3])), (() => { try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); return 'no' } catch (e) { return e.name } })()]",
    );
    expect(lone).toEqual([
      new TextDecoder().decode(new Uint8Array([0xff, 0x41, 0xc3])),
      "TypeError",
    ]);
  });

  test("atob and btoa round-trip like Node's", async () => {
    const inputs = ["", "f", "fo", "foo", "foob", "hello, world", "\u00ff\u00fe binary"];
    const value = (await run(
      `return ${JSON.stringify(inputs)}.map((s) => [btoa(s), atob(btoa(s))])`,
    )) as [string, string][];
    for (const [i, s] of inputs.entries()) expect(value[i]).toEqual([btoa(s), s]);
    expect(await run("try { btoa('☃') } catch (e) { return e.name }")).toBe(
      "InvalidCharacterError",
    );
    expect(await run("try { atob('***') } catch (e) { return e.name }")).toBe(
      "InvalidCharacterError",
    );
    expect(await run("return atob(' aGk= ')")).toBe("hi");
  });

  test("URL and URLSearchParams parse like Node for common URLs", async () => {
    const urls = [
      "https://user:pw@Example.com:8080/a/b/../c?x=1&y=two%20words#frag",
      "http://example.com",
      "https://api.github.com/repos/o/r/issues?state=open&per_page=100",
      "https://example.com:443/path/./to/",
    ];
    const value = (await run(`
      return ${JSON.stringify(urls)}.map((u) => {
        const url = new URL(u);
        return [url.href, url.protocol, url.host, url.hostname, url.port, url.pathname, url.search, url.hash, url.origin, [...url.searchParams]];
      });
    `)) as unknown[][];
    urls.forEach((u, i) => {
      const url = new URL(u);
      expect(value[i]).toEqual([
        url.href,
        url.protocol,
        url.host,
        url.hostname,
        url.port,
        url.pathname,
        url.search,
        url.hash,
        url.origin,
        [...url.searchParams],
      ]);
    });
    const built = await run(`
      const u = new URL("/search", "https://example.com/base/page");
      u.searchParams.set("q", "a b&c");
      u.searchParams.append("tag", "x");
      const p = new URLSearchParams({ b: "2", a: "1" });
      p.sort();
      return [u.href, p.toString(), new URLSearchParams("?a=1&a=2").getAll("a"), URL.canParse("nope"), new URL("../x", "https://h.com/a/b/c").href];
    `);
    const u = new URL("/search", "https://example.com/base/page");
    u.searchParams.set("q", "a b&c");
    u.searchParams.append("tag", "x");
    expect(built).toEqual([
      u.href,
      "a=1&b=2",
      ["1", "2"],
      false,
      new URL("../x", "https://h.com/a/b/c").href,
    ]);
    expect(await run("try { new URL('not a url') } catch (e) { return e.name }")).toBe("TypeError");
  });

  test("structuredClone copies deeply, keeps cycles and types, refuses functions", async () => {
    const value = await run(`
      const src = { d: new Date(0), m: new Map([[1, { x: 1 }]]), s: new Set([1, 2]), a: [1, { b: 2 }], u: new Uint8Array([1, 2]) };
      src.self = src;
      const c = structuredClone(src);
      c.a[1].b = 99;
      return {
        independent: src.a[1].b === 2,
        cycle: c.self === c,
        date: c.d instanceof Date && c.d.getTime() === 0,
        map: c.m instanceof Map && c.m.get(1).x === 1 && c.m.get(1) !== src.m.get(1),
        set: c.s instanceof Set && c.s.has(2),
        bytes: Array.from(c.u),
        fn: (() => { try { structuredClone({ f() {} }); return "cloned" } catch (e) { return e.name } })(),
      };
    `);
    expect(value).toEqual({
      independent: true,
      cycle: true,
      date: true,
      map: true,
      set: true,
      bytes: [1, 2],
      fn: "DataCloneError",
    });
  });

  test("Intl is a small en-US stand-in", async () => {
    const value = await run(`
      return [
        new Intl.NumberFormat("en-US").format(1234567.891),
        new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }).format(-9876.5),
        new Intl.NumberFormat("en-US", { style: "percent" }).format(0.256),
        new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(1234.5),
        new Intl.NumberFormat("en-US", { minimumFractionDigits: 2 }).format(3),
        new Intl.DateTimeFormat("en-US", { timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 31))),
      ];
    `);
    expect(value).toEqual([
      new Intl.NumberFormat("en-US").format(1234567.891),
      new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }).format(-9876.5),
      new Intl.NumberFormat("en-US", { style: "percent" }).format(0.256),
      new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(1234.5),
      new Intl.NumberFormat("en-US", { minimumFractionDigits: 2 }).format(3),
      new Intl.DateTimeFormat("en-US", { timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 31))),
    ]);
  });

  test("numbers print correctly (QuickJS 2025 float printing)", async () => {
    const value = await run(
      "return [(0.5).toFixed(0), (1.005).toFixed(2), (2.5).toFixed(0), 0.1 + 0.2, (1e21).toString(), (123.456).toPrecision(4)]",
    );
    expect(value).toEqual([
      (0.5).toFixed(0),
      (1.005).toFixed(2),
      (2.5).toFixed(0),
      0.1 + 0.2,
      (1e21).toString(),
      (123.456).toPrecision(4),
    ]);
  });
});
