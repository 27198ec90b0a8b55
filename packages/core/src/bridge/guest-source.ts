import { guestMain } from "./guest-main.js";
import { nodeGuestRunner } from "./node-guest-runner.js";

/**
 * The prelude as source text: an expression that evaluates to `guestMain`, for engines
 * that take a script (QuickJS on WASI). Call the result with a `GuestHost`.
 */
export function guestPreludeSource(): string {
  return `(${guestMain.toString()})`;
}

/**
 * A complete Node program: the runner with the prelude, for `node -e` in a child process or
 * a container. Needs nothing on disk.
 */
export function nodeGuestProgram(): string {
  return `"use strict";(${nodeGuestRunner.toString()})(${guestMain.toString()});`;
}
