import { expect, test } from "vitest";
import { MAX_CALLS_IN_FLIGHT } from "../bridge/bridge-run.js";
import type { GuestRequest, Sandbox, SandboxHost } from "../contracts/sandbox.js";
import { ErrorCodes } from "../errors.js";
import type { JsonValue } from "../json.js";
import {
  describeHostile,
  expectOutcomeOrTypedError,
  type HostileKit,
  type HostileSuiteOptions,
} from "./hostile-kit.js";

/** Values and errors built to trip whoever reads them: getters, proxies, odd throws. */
const HOSTILE_VALUES: [string, string][] = [
  ["a getter that throws", "return { get x() { throw new Error('boom') } }"],
  ["a toJSON that throws a non-error", "return { toJSON() { throw { toString() { throw 1 } } } }"],
  ["a toJSON that overflows the stack", "const f = () => f(); return { toJSON: f }"],
  ["a proxy whose traps throw", "return new Proxy({}, { ownKeys() { throw new Error('p') } })"],
  ["a revoked proxy", "const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy"],
  ["a typed array and lone surrogates", "return [new Uint8Array(3), '\\ud800x\\udfff']"],
  [
    "a log of hostile values",
    "const o = {}; o.o = o; console.log(o, 1n, Symbol('s'), { toString() { throw 1 } }, new Proxy({}, { get() { throw 1 }, ownKeys() { throw 2 } })); return 1",
  ],
  [
    "an error whose message getter throws",
    "const e = new Error(); Object.defineProperty(e, 'message', { get() { throw new Error('m') } }); throw e",
  ],
  [
    "a thrown proxy",
    "throw new Proxy({}, { get() { throw new Error('p') }, getPrototypeOf() { throw 1 } })",
  ],
  ["a thrown symbol", "throw Symbol('s')"],
  ["a thrown cyclic object", "const o = { message: 'x' }; o.o = o; throw o"],
  ["a thenable that throws", "return { then() { throw new Error('th') } }"],
  [
    "a __proto__ key in the value, the state and a log",
    `const p = JSON.parse('{"__proto__": {"polluted": 1}}'); state.p = p; console.log(p); return p`,
  ],
];

/** Programs that claim a code only the host or the engine may give. */
const FORGED_CODES: [string, string][] = [
  [
    "a code set on the program's own error",
    "throw Object.assign(new Error('x'), { code: 'SANDBOX_TIMEOUT' })",
  ],
  ["a memory code", "throw Object.assign(new Error('x'), { code: 'SANDBOX_MEMORY' })"],
  ["the engine's timeout message", "throw new (globalThis.InternalError ?? Error)('interrupted')"],
  [
    "the engine's out-of-memory message",
    "throw new (globalThis.InternalError ?? Error)('out of memory')",
  ],
  [
    "an error named as the engine's, saying it ran out of memory",
    "const e = new Error('out of memory'); e.name = 'InternalError'; throw e",
  ],
  [
    "the engine's own error class, reached through a caught stack overflow",
    "let c; try { (function f() { f() })() } catch (e) { c = e.constructor } throw new c('out of memory')",
  ],
  [
    "the prelude's own error class",
    "try { await demo.echo('not an object') } catch (e) { throw new e.constructor('SANDBOX_TIMEOUT', 'forged') }",
  ],
];

/** A host whose `demo.hold` answers after a few ms; it counts calls in flight and made. */
function countingHost(): SandboxHost & { inFlight: number; most: number; made: number } {
  const host = {
    inFlight: 0,
    most: 0,
    made: 0,
    async call(request: GuestRequest): Promise<JsonValue> {
      if (request.kind !== "tool") return null;
      host.made++;
      host.inFlight++;
      host.most = Math.max(host.most, host.inFlight);
      await new Promise((r) => setTimeout(r, 5));
      host.inFlight--;
      return { ok: 1 };
    },
  };
  return host;
}

/**
 * Hostile values and claims: results, logs and errors built to trip whoever reads them (the
 * prelude, the bridge, the host), codes the program has no right to, and a flood of calls.
 * Each ends in a value or a typed error, the host never answers a forged code, a flood holds
 * the host to a bounded number of calls in flight and stops with its run, and the session
 * keeps serving.
 */
export function hostileValuesTests(kit: HostileKit): void {
  test(
    "hostile values, logs and thrown things: a value or a typed error each",
    async () => {
      for (const [label, code] of HOSTILE_VALUES) {
        const result = await kit.attempt(kit.job(code));
        expectOutcomeOrTypedError(result, label);
        expect(({} as { polluted?: unknown }).polluted, `${label}: the host's prototypes`).toBe(
          undefined,
        );
      }
      await kit.expectStillServes("hostile values");
    },
    kit.timeout,
  );

  test(
    "a getter that never returns and a sparse array of length 2^32-1: stopped at the deadline",
    async () => {
      const limits = { ...kit.limits, timeoutMs: kit.shortTimeoutMs };
      for (const code of [
        "return { get x() { for (;;) {} } }",
        "const a = []; a.length = 2 ** 32 - 1; return a",
      ]) {
        const result = await kit.attempt(kit.job(code, { limits }));
        expectOutcomeOrTypedError(result, code);
      }
      await kit.expectStillServes("slow values");
    },
    kit.timeout,
  );

  test(
    "a program cannot claim a timeout, a memory overrun or the host's codes",
    async () => {
      for (const [label, code] of FORGED_CODES) {
        const result = await kit.attempt(kit.job(code));
        expect((result as { code?: string }).code, label).toBe(ErrorCodes.CODE_RUNTIME_ERROR);
      }
      await kit.expectStillServes("forged codes");
    },
    kit.timeout,
  );

  test(
    "a flood of calls: a bounded number in flight, none made after the run ended",
    async () => {
      const host = countingHost();
      const result = await kit
        .session()
        .execute(
          kit.job(
            "await Promise.all(Array.from({ length: 20000 }, () => demo.hold({}))); return 'all'",
            {
              servers: [{ name: "demo", global: "demo", tools: ["hold"] }],
              limits: { ...kit.limits, timeoutMs: kit.shortTimeoutMs },
            },
          ),
          host,
        )
        .catch((error: unknown) => error);
      expectOutcomeOrTypedError(result, "call flood");
      await new Promise((r) => setTimeout(r, 100));
      const made = host.made;
      await new Promise((r) => setTimeout(r, 300));
      expect(host.made, "calls made after the run ended").toBe(made);
      expect(host.most).toBeLessThanOrEqual(MAX_CALLS_IN_FLIGHT);
      await kit.expectStillServes("call flood");
    },
    kit.timeout,
  );
}

/** `hostileValuesTests` with a sandbox of its own. */
export function describeHostileValues(
  name: string,
  factory: () => Sandbox | Promise<Sandbox>,
  options: HostileSuiteOptions = {},
): void {
  describeHostile(`Hostile values: ${name}`, name, { factory }, options, hostileValuesTests);
}
