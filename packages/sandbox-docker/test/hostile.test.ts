import { ErrorCodes, hasErrorCode, type SandboxSession } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createDockerSandbox,
  type DockerSandbox,
  type DockerSandboxSession,
} from "../src/index.js";
import { expectNoContainersLeft, job, nullHost, requireDocker } from "./helpers.js";

/**
 * The docker-specific hostile cases. describeSandbox's hostile suites run against the default
 * docker sandbox (programs in a realm of their own) in docker-sandbox.conformance.test.ts.
 * Here: a sandbox with `nodeApis`, where a program owns the runner process inside its
 * container. It can forge its own frames and tamper with the runner, so the guarantee is the
 * container: each execution gets a fresh one, and nothing reaches the host.
 */
describe("hostile programs with Node's APIs inside a container", () => {
  let sandbox: DockerSandbox;
  let session: SandboxSession;
  const containerOf = (s: SandboxSession) => (s as DockerSandboxSession).containerId;
  const attempt = (code: string, timeoutMs = 20_000) =>
    session.execute(job(code, { limits: { ...job("").limits, timeoutMs } }), nullHost).then(
      (o) => ({ value: o.value }),
      (e: unknown) => ({ error: e }),
    );
  const nextRunIsClean = async () => {
    const out = await session.execute(
      job("state.n = (state.n ?? 0) + 1; return [typeof globalThis.hijacked, state.n]", {
        state: { n: 1 },
      }),
      nullHost,
    );
    expect(out.value).toEqual(["undefined", 2]);
    const other = await sandbox.open();
    try {
      expect((await other.execute(job("return 'other'"), nullHost)).value).toBe("other");
    } finally {
      await other.close();
    }
  };

  beforeAll(async () => {
    await requireDocker();
    sandbox = createDockerSandbox({ poolSize: 1, nodeApis: true });
    await sandbox.warm();
    session = await sandbox.open();
  });
  afterAll(async () => {
    await session?.close();
    await sandbox?.close();
    await expectNoContainersLeft();
  });

  test("a program that forges its own done frame and keeps running: the next run is in a fresh container", async () => {
    const result = await attempt(
      `globalThis.hijacked = 1;
       // Learn the run id from the prelude's own log frame, then forge the result.
       const write = process.stdout.write.bind(process.stdout);
       let runId;
       process.stdout.write = (text, ...rest) => {
         const m = /"run":"([^"]+)"/.exec(String(text));
         if (m) runId = m[1];
         return write(text, ...rest);
       };
       console.log("hello");
       await new Promise((r) => setTimeout(r, 50));
       write(JSON.stringify({ t: "done", run: runId, value: "forged", state: {} }) + "\\n");
       // Keep answering every later run frame with a forged result.
       process.stdin.on("data", (chunk) => {
         const m = /"id":"([^"]+)"/.exec(String(chunk));
         if (m) write(JSON.stringify({ t: "started", run: m[1] }) + "\\n" + JSON.stringify({ t: "done", run: m[1], value: "hijacked", state: {} }) + "\\n");
       });
       await new Promise(() => {});`,
      5_000,
    );
    // The forged result is the program's own word about its own run: what it could return anyway.
    expect(["forged", undefined]).toContain((result as { value?: unknown }).value);
    // The container it took over is gone: the next run is served, by a fresh one.
    expect(containerOf(session)).toBeUndefined();
    await nextRunIsClean();
  });

  test("a signal to every process it can see ends only its own container", async () => {
    const result = await attempt(`
      const { spawnSync } = process.getBuiltinModule("node:child_process");
      spawnSync(process.execPath, ["-e", "process.kill(-1, 'SIGKILL')"]);
      return "survived";
    `);
    if ("error" in result) {
      expect(hasErrorCode(result.error, ErrorCodes.SANDBOX_CRASHED)).toBe(true);
    } else {
      expect(result.value).toBe("survived");
    }
    await nextRunIsClean();
  });

  test("process.kill is withheld from the runner", async () => {
    const result = await attempt("return typeof process.kill");
    expect(result).toEqual({ value: "undefined" });
  });
});
