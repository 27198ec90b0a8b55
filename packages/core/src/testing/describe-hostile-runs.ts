import { expect, test } from "vitest";
import type { Sandbox } from "../contracts/sandbox.js";
import {
  describeHostile,
  expectOutcomeOrTypedError,
  type HostileKit,
  type HostileSuiteOptions,
} from "./hostile-kit.js";

/** What the next run checks: the built-ins a program (and the prelude) relies on, untouched. */
const INTACT_CHECK = `
  return [
    JSON.stringify({ a: [1, "x"] }),
    JSON.parse('{"b":2}').b,
    [1, 2, 3].map((x) => x * 2).filter((x) => x > 2).join(","),
    [...new Set([1, 1, 2])].length,
    Object.keys({ c: 1, d: 2 }).join(","),
    typeof Object.prototype.toJSON,
    typeof Object.prototype.then,
    typeof Array.prototype.then,
    await Promise.all([1, Promise.resolve(2)]),
    String(Math.random() < 1),
    typeof globalThis.leftBehind,
    (await demo.echo({ z: 1 })).echoed.z,
    typeof console.log,
    typeof state,
  ];
`;
const INTACT: unknown[] = [
  '{"a":[1,"x"]}',
  2,
  "4,6",
  2,
  "c,d",
  "undefined",
  "undefined",
  "undefined",
  [1, 2],
  "true",
  "undefined",
  1,
  "function",
  "object",
];

/**
 * Hostile programs that try to leave their session broken: work that outlives the run
 * (a promise loop after returning, timers, unanswered calls) and changes to what the prelude
 * and the next program rely on (built-ins, the globals the bridge installs). After each, the
 * session's next run must start from a clean guest: it succeeds, finds the built-ins intact
 * and no global of the earlier run.
 */
export function hostileRunsTests(kit: HostileKit): void {
  const leftovers: [string, string][] = [
    [
      "a promise loop left running after returning",
      "(async () => { for (;;) await null })(); return 1",
    ],
    [
      "a chain of then callbacks left running",
      "const spin = () => Promise.resolve().then(spin); spin(); return 1",
    ],
    ["a timer that would spin", "setTimeout(() => { for (;;) {} }, 0); return 1"],
    ["an interval", "setInterval(() => { globalThis.leftBehind = 1 }, 1); return 1"],
    ["an unawaited call that never answers", "demo.never({}); return 1"],
    [
      "an unhandled rejection after returning",
      "Promise.reject(new Error('late')); setTimeout(() => { throw new Error('later') }, 0); return 1",
    ],
    ["a microtask loop that never returns", "for (;;) await null"],
  ];
  for (const [label, code] of leftovers) {
    test(
      `${label}: the next run starts clean`,
      async () => {
        const result = await kit.attempt(
          kit.job(code, { limits: { ...kit.limits, timeoutMs: kit.shortTimeoutMs } }),
        );
        expectOutcomeOrTypedError(result, label);
        await kit.expectStillServes(label);
        const next = await kit.session().execute(kit.job(INTACT_CHECK), kit.host);
        expect(next.value, `${label}: the next run's built-ins`).toEqual(INTACT);
      },
      kit.timeout,
    );
  }

  const tampering: [string, string][] = [
    [
      "JSON.stringify and JSON.parse replaced",
      `JSON.stringify = () => '{"t":"done"}'; JSON.parse = () => ({})`,
    ],
    ["Object.prototype.toJSON added", `Object.prototype.toJSON = () => "hijacked"`],
    [
      "a then getter on Object.prototype",
      `Object.defineProperty(Object.prototype, "then", { get() { return (r) => r("hijacked") }, configurable: true })`,
    ],
    [
      "Array.prototype methods replaced",
      `Array.prototype.push = () => 0; Array.prototype.map = () => []; Array.prototype.join = () => "x"`,
    ],
    ["the array iterator replaced", `Array.prototype[Symbol.iterator] = function* () {}`],
    ["Promise.prototype.then replaced", `Promise.prototype.then = function () { return this }`],
    [
      "the Promise species redirected",
      `Object.defineProperty(Promise, Symbol.species, { get() { return function () {} } })`,
    ],
    [
      "Function.prototype.call and apply replaced",
      `Function.prototype.call = () => 0; Function.prototype.apply = () => 0`,
    ],
    [
      "String.prototype methods replaced",
      `String.prototype.slice = () => ""; String.prototype.charCodeAt = () => 0`,
    ],
    ["Math.random replaced", `Math.random = () => 4`],
    [
      "Error.prepareStackTrace set",
      `Error.prepareStackTrace = (e, cs) => cs.map((c) => c.getThis())`,
    ],
    [
      "global built-ins deleted or replaced",
      `globalThis.JSON = undefined; globalThis.Promise = undefined; delete globalThis.Array; globalThis.leftBehind = 1`,
    ],
    [
      "console locked",
      `Object.defineProperty(globalThis, "console", { value: {}, writable: false, configurable: false })`,
    ],
    [
      "state locked behind a getter",
      `Object.defineProperty(globalThis, "state", { get() { return { locked: 1 } }, set() {}, configurable: false })`,
    ],
    [
      "a server global locked",
      `Object.defineProperty(globalThis, "demo", { value: {}, writable: false, configurable: false })`,
    ],
    ["the global object frozen", `Object.freeze(globalThis)`],
    [
      "the global object's prototype replaced",
      `Object.setPrototypeOf(globalThis, { leftBehind: 1 })`,
    ],
    [
      "a non-configurable global left behind",
      `Object.defineProperty(globalThis, "leftBehind", { value: 1 })`,
    ],
  ];
  for (const [label, code] of tampering) {
    test(
      `${label}: the next run finds everything intact`,
      async () => {
        // Each change in its own try: a hardened realm refuses some with a TypeError.
        const program = code
          .split(/;\s(?=[A-Za-z])/)
          .map((statement) => `try { ${statement}; } catch {}`)
          .join("\n");
        const result = await kit.attempt(kit.job(`${program}\nreturn 1`));
        expectOutcomeOrTypedError(result, label);
        await kit.expectStillServes(label);
        const next = await kit.session().execute(kit.job(INTACT_CHECK), kit.host);
        expect(next.value, `${label}: the next run's built-ins`).toEqual(INTACT);
      },
      kit.timeout,
    );
  }

  test(
    "globals a run sets are gone in the next; only state carries over",
    async () => {
      const first = await kit
        .session()
        .execute(
          kit.job("globalThis.leftBehind = 1; var alsoLeft = 2; state.kept = 3; return 1"),
          kit.host,
        );
      const second = await kit.session().execute(
        kit.job("return [typeof leftBehind, typeof alsoLeft, state.kept]", {
          state: first.state,
        }),
        kit.host,
      );
      expect(second.value).toEqual(["undefined", "undefined", 3]);
    },
    kit.timeout,
  );
}

/** `hostileRunsTests` with a sandbox of its own. */
export function describeHostileRuns(
  name: string,
  factory: () => Sandbox | Promise<Sandbox>,
  options: HostileSuiteOptions = {},
): void {
  describeHostile(`Hostile runs: ${name}`, name, { factory }, options, hostileRunsTests);
}
