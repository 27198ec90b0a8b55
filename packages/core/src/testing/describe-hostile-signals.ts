import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Sandbox } from "../contracts/sandbox.js";
import {
  describeHostile,
  expectOutcomeOrTypedError,
  type HostileKit,
  type HostileSuiteOptions,
} from "./hostile-kit.js";

/** The host's process group and session (Linux /proc), or undefined elsewhere. */
export function processGroupOf(pid: number): { pgrp: number; session: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pgrp: Number(fields[2]), session: Number(fields[3]) };
  } catch {
    return undefined;
  }
}

/**
 * Hostile programs that try to signal outside their sandbox: the host's process group
 * (`kill(0)`), the host itself, its parent. The guest must be unable to: the host receives
 * nothing, a process in the host's group survives, and the sandbox keeps serving.
 * SIGKILL variants are included: if one got through, the test process would die, which
 * fails the run loudly.
 */
export function hostileSignalsTests(kit: HostileKit): void {
  let canary: ChildProcess | undefined;
  let received: string[] = [];
  const onSignal = (signal: string) => received.push(signal);
  const handlers = ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const;

  beforeAll(() => {
    // A bystander in the host's own process group (not detached), as the optimizer's upstreams are.
    canary = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    for (const s of handlers) process.on(s, onSignal);
  });
  afterAll(() => {
    for (const s of handlers) process.off(s, onSignal);
    canary?.kill("SIGKILL");
  });

  const group = processGroupOf(process.pid);
  const attacks: [string, string][] = [
    ["kill(0, SIGTERM): the caller's process group", `process.kill(0, "SIGTERM")`],
    ["kill(0, SIGUSR1)", `process.kill(0, "SIGUSR1")`],
    ["the host by pid", `process.kill(${process.pid}, "SIGTERM")`],
    ["the host's parent", `process.kill(${process.ppid}, "SIGHUP")`],
    ...(group
      ? ([["the host's process group by id", `process.kill(-${group.pgrp}, "SIGTERM")`]] as [
          string,
          string,
        ][])
      : []),
    ["kill(0, SIGKILL)", `process.kill(0, "SIGKILL")`],
    [
      "through globalThis and the Function constructor",
      `const p = Function("return typeof process === 'undefined' ? undefined : process")() ?? globalThis.process; p.kill(0, "SIGTERM")`,
    ],
  ];

  for (const [label, code] of attacks) {
    test(
      `a program cannot signal ${label}`,
      async () => {
        received = [];
        const result = await kit.attempt(kit.job(`${code}; return "sent"`));
        expectOutcomeOrTypedError(result, label);
        // Give a delivered signal time to arrive before looking.
        await new Promise((r) => setTimeout(r, 50));
        expect(received, `${label}: signals the host received`).toEqual([]);
        expect(canary?.exitCode, `${label}: the bystander in the host's group`).toBeNull();
        expect(canary?.signalCode).toBeNull();
        await kit.expectStillServes(label);
      },
      kit.timeout,
    );
  }
}

/** `hostileSignalsTests` with a sandbox of its own. */
export function describeHostileSignals(
  name: string,
  factory: () => Sandbox | Promise<Sandbox>,
  options: HostileSuiteOptions = {},
): void {
  describeHostile(`Hostile signals: ${name}`, name, { factory }, options, hostileSignalsTests);
}
