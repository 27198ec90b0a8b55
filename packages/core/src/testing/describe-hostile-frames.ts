import { expect, test } from "vitest";
import type { Sandbox, SandboxOutcome } from "../contracts/sandbox.js";
import { ErrorCodes } from "../errors.js";
import {
  describeHostile,
  expectOutcomeOrTypedError,
  type HostileKit,
  type HostileSuiteOptions,
} from "./hostile-kit.js";

/** Every way a program might write to the bridge stream, each tried in turn. */
function writeEverywhere(text: string): string {
  return `
    const text = ${text};
    const writes = [
      () => process.stdout.write(text),
      () => process.getBuiltinModule("node:fs").writeSync(1, text),
      () => require("fs").writeSync(1, text),
      () => Function("return this")().process.stdout.write(text),
      () => ({}).constructor.constructor("return process")().stdout.write(text),
      () => { std.out.puts(text); std.out.flush(); },
      () => print(text),
      () => Deno.stdout.writeSync(new TextEncoder().encode(text)),
    ];
    for (const w of writes) { try { w(); } catch {} }
    try { await import("node:fs").then((fs) => fs.writeSync(1, text), (e) => e.constructor.constructor("return process")().stdout.write(text)); } catch {}
  `;
}

/** A forged terminal frame for the program's own run. */
const forgedDone = (id: string, extra = "") =>
  `JSON.stringify({ t: "done", run: ${JSON.stringify(id)}, value: "forged", state: { forged: true } }) + "\\n"${extra}`;

function expectNotForged(result: unknown, label: string): void {
  expectOutcomeOrTypedError(result, label);
  if (result && typeof result === "object" && "mode" in result) {
    const outcome = result as SandboxOutcome;
    expect(outcome.value, `${label}: the value`).toBe("real");
    expect(outcome.state, `${label}: the state`).not.toHaveProperty("forged");
  }
}

/**
 * Hostile programs against the bridge: frames written around the prelude (a forged `done`
 * with the run's own id, a forged call), values nested deep enough to overflow a recursive
 * walk, frame text smuggled through logs and values. The host must take no forged frame, end
 * anything else with a typed error, and keep serving the session and its neighbours.
 */
export function hostileFramesTests(kit: HostileKit): void {
  test(
    "a forged done frame with the run's id is not taken as the result",
    async () => {
      const result = await kit.attempt(
        kit.job((id) => `${writeEverywhere(forgedDone(id))}; return "real"`),
      );
      expectNotForged(result, "forged done");
      await kit.expectStillServes("forged done");
    },
    kit.timeout,
  );

  test(
    "a forged done followed by a program that never ends: typed error, next run clean",
    async () => {
      const result = await kit.attempt(
        kit.job((id) => `${writeEverywhere(forgedDone(id))}; await new Promise(() => {})`, {
          limits: { ...kit.limits, timeoutMs: kit.shortTimeoutMs },
        }),
      );
      expectOutcomeOrTypedError(result, "forged done, then wait");
      if (result && typeof result === "object" && "mode" in result) {
        expect((result as SandboxOutcome).value).not.toBe("forged");
      }
      await kit.expectStillServes("forged done, then wait");
    },
    kit.timeout,
  );

  test(
    "forged call, error and ready frames are not taken",
    async () => {
      const frames = (id: string) =>
        [
          `{ t: "call", id: 999, run: ${JSON.stringify(id)}, kind: "tool", server: "demo", tool: "echo", args: { forged: 1 } }`,
          `{ t: "error", run: ${JSON.stringify(id)}, error: { code: "TOOL_DENIED", message: "forged" } }`,
          `{ t: "ready", protocol: 1, engine: "forged" }`,
          `{ t: "started", run: ${JSON.stringify(id)} }`,
        ]
          .map((f) => `JSON.stringify(${f})`)
          .join(' + "\\n" + ');
      const result = await kit.attempt(
        kit.job((id) => `${writeEverywhere(`${frames(id)} + "\\n"`)}; return "real"`),
      );
      expectNotForged(result, "forged frames");
      if (result instanceof Error) {
        expect((result as { code?: string }).code).not.toBe(ErrorCodes.TOOL_DENIED);
      }
      await kit.expectStillServes("forged frames");
    },
    kit.timeout,
  );

  test(
    "frame text in logs and values is data, not frames",
    async () => {
      const result = await kit.attempt(
        kit.job(
          (id) =>
            `const f = ${forgedDone(id)}; console.log("\\n" + f); console.error(f + f); return "real"`,
        ),
      );
      expectNotForged(result, "frame text in a log");
      const outcome = result as SandboxOutcome;
      expect(outcome.logs.map((l) => l.text).join("")).toContain('"forged"');
      await kit.expectStillServes("frame text in a log");
    },
    kit.timeout,
  );

  const deep = "let v = []; for (let i = 0; i < 200000; i++) v = [v];";
  const deepCases: [string, string][] = [
    ["a returned value nested 200,000 deep", `${deep} return v`],
    ["a state nested 200,000 deep", `${deep} state.deep = v; return 1`],
    ["a value that becomes deep only through toJSON", `${deep} return { toJSON() { return v } }`],
    ["tool arguments nested 200,000 deep", `${deep} return await demo.echo({ v })`],
    ["a log of a value nested 200,000 deep", `${deep} console.log(v); return "real"`],
    ["a value nested 1,000 deep", "let v = 1; for (let i = 0; i < 1000; i++) v = { v }; return v"],
  ];
  for (const [label, code] of deepCases) {
    test(
      `${label}: a typed error or a value, never a crash`,
      async () => {
        const result = await kit.attempt(kit.job(code));
        expectOutcomeOrTypedError(result, label);
        await kit.expectStillServes(label);
      },
      kit.timeout,
    );
  }
}

/** `hostileFramesTests` with a sandbox of its own. */
export function describeHostileFrames(
  name: string,
  factory: () => Sandbox | Promise<Sandbox>,
  options: HostileSuiteOptions = {},
): void {
  describeHostile(`Hostile frames: ${name}`, name, { factory }, options, hostileFramesTests);
}
