import type { SandboxHost } from "@mcp-optimizer/core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createWasmSandbox, type WasmSandbox } from "../src/index.js";
import { job } from "./helpers.js";

// Frames of every size cross the channel intact: short ones travel as text, long ones as
// UTF-8 bytes, and both are cut into the guest's reads wherever its buffer ends.
let sandbox: WasmSandbox;
beforeAll(() => {
  sandbox = createWasmSandbox({ poolSize: 1 });
});
afterAll(async () => {
  await sandbox?.close();
});

const text = (chars: number) => "aé✓😀".repeat(Math.ceil(chars / 5)).slice(0, chars);
const checksum = `let h = 0; for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;`;
function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}

test("tool results of every size reach the program unchanged", async () => {
  const session = await sandbox.open();
  for (const size of [10, 60_000, 70_000, 300_000]) {
    const big = text(size);
    const host: SandboxHost = { call: async () => ({ s: big }) };
    const out = await session.execute(
      job(`const { s } = await demo.echo({}); ${checksum} return [s.length, h]`, {
        maxOutputBytes: 4 * 1024 * 1024,
      }),
      host,
    );
    expect(out.value).toEqual([big.length, hash(big)]);
  }
  await session.close();
});

test("state of every size goes in and comes back unchanged", async () => {
  const session = await sandbox.open();
  const host: SandboxHost = { call: async () => null };
  for (const size of [100, 200_000]) {
    const state = { doc: text(size), list: [1, "two", { three: 3 }] };
    const out = await session.execute(
      {
        ...job("state.seen = state.doc.length; return 1", { maxOutputBytes: 4 * 1024 * 1024 }),
        state,
      },
      host,
    );
    expect(out.state).toEqual({ ...state, seen: size });
  }
  await session.close();
});
