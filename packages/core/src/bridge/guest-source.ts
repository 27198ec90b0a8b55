import { guestMain } from "./guest-main.js";
import { nodeGuestRealm } from "./node-guest-realm.js";
import { type NodeGuestRunnerOptions, nodeGuestRunner } from "./node-guest-runner.js";

/**
 * The prelude as source text: an expression that evaluates to `guestMain`, for engines
 * that take a script (QuickJS on WASI). Call the result with a `GuestHost`.
 */
export function guestPreludeSource(): string {
  return `(${guestMain.toString()})`;
}

/**
 * A complete Node program: the runner with the prelude, for `node -e` in a child process or
 * a container. Needs nothing on disk. Run it with `--experimental-vm-modules` (so that a
 * program's `import()` is refused inside its own realm) and `--no-warnings`.
 */
export function nodeGuestProgram(options: Partial<NodeGuestRunnerOptions> = {}): string {
  const runnerOptions: NodeGuestRunnerOptions = { nodeApis: options.nodeApis ?? false };
  return `"use strict";(${nodeGuestRunner.toString()})(${JSON.stringify(guestMain.toString())}, ${JSON.stringify(nodeGuestRealm.toString())}, ${JSON.stringify(runnerOptions)});`;
}
