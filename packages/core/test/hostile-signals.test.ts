import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createProcessSandbox, type ProcessSandbox, type SandboxSession } from "../src/index.js";
import { describeHostileSignals, processGroupOf } from "../src/testing/index.js";

// The shared hostile suite without namespaces (where a signal that got out would reach every
// process of this user); describeSandbox runs it with them (process-sandbox.conformance).
describeHostileSignals("process without namespaces", () =>
  createProcessSandbox({ namespaces: "off", poolSize: 0 }),
);

/** Processes this one started, transitively (Linux /proc). */
function descendants(): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const found: number[] = [];
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!found.includes(pid) && (ppid === process.pid || found.includes(ppid))) {
        found.push(pid);
        grew = true;
      }
    }
  }
  return found;
}

describe.runIf(process.platform === "linux")("the process runner's own process group", () => {
  for (const namespaces of ["auto", "off"] as const) {
    describe(`namespaces: ${namespaces}`, () => {
      let sandbox: ProcessSandbox;
      let session: SandboxSession;
      beforeAll(async () => {
        sandbox = createProcessSandbox({ namespaces, poolSize: 0 });
        session = await sandbox.open();
      });
      afterAll(async () => {
        await session?.close();
        await sandbox?.close();
      });

      test("every runner process is in a session and process group other than the host's", async () => {
        const before = new Set(descendants());
        await session.execute(
          {
            id: `pgrp-${namespaces}`,
            code: "return 1",
            servers: [],
            state: {},
            limits: {
              timeoutMs: 10_000,
              maxMemoryMb: 128,
              maxOutputBytes: 65536,
              maxLogBytes: 4096,
            },
          },
          { call: async () => null },
        );
        const host = processGroupOf(process.pid)!;
        const runners = descendants().filter((pid) => !before.has(pid));
        expect(runners.length).toBeGreaterThan(0);
        for (const pid of runners) {
          const group = processGroupOf(pid);
          if (!group) continue; // exited in between
          expect(group.pgrp, `runner ${pid}`).not.toBe(host.pgrp);
          expect(group.session, `runner ${pid}`).not.toBe(host.session);
        }
      });
    });
  }
});
