import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCodes, type SandboxSession } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDockerSandbox, type DockerSandbox } from "../src/index.js";
import {
  containersOf,
  docker,
  expectNoContainersLeft,
  job,
  limits,
  nullHost,
  requireDocker,
  waitForContainers,
} from "./helpers.js";

/** Node's modules, reached the way guest code in a container can (require is removed). */
const fs = `process.getBuiltinModule("node:fs")`;
const cp = `process.getBuiltinModule("node:child_process")`;
/** The id of the container the guest runs in, read from its own mounts. */
const containerIdCode = `return ${fs}.readFileSync("/proc/self/mountinfo", "utf8").match(/containers\\/([0-9a-f]{64})\\//)[1]`;

describe("docker sandbox limits (real engine)", () => {
  let sandbox: DockerSandbox;
  const sessions: SandboxSession[] = [];
  const open = async () => {
    const s = await sandbox.open();
    sessions.push(s);
    return s;
  };
  /** The host keeps serving: a fresh session runs a program. */
  const stillServes = async () => {
    const s = await open();
    expect((await s.execute(job("return 'alive'"), nullHost)).value).toBe("alive");
  };

  beforeAll(async () => {
    await requireDocker();
    // Programs here use Node's APIs to look at their container from inside.
    sandbox = createDockerSandbox({
      poolSize: 1,
      pidsLimit: 32,
      memoryLimitMb: 384,
      nodeApis: true,
    });
    await sandbox.warm();
  });

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await sandbox?.close();
    await expectNoContainersLeft();
  });

  test("runs as nobody, with no capabilities, no new privileges, and the requested limits", async () => {
    const s = await open();
    const out = await s.execute(
      job(`
        const status = ${fs}.readFileSync("/proc/self/status", "utf8");
        const field = (name) => (status.match(new RegExp("^" + name + ":\\\\s*(.*)$", "m")) || [])[1];
        return { uid: process.getuid(), gid: process.getgid(), capEff: field("CapEff"), capBnd: field("CapBnd"),
                 noNewPrivs: field("NoNewPrivs"), cwd: process.cwd(), env: Object.keys(process.env).sort() };
      `),
      nullHost,
    );
    expect(out.value).toEqual({
      uid: 65534,
      gid: 65534,
      capEff: "0000000000000000",
      capBnd: "0000000000000000",
      noNewPrivs: "1",
      cwd: "/tmp",
      env: ["HOME", "HOSTNAME", "LD_LIBRARY_PATH", "PATH"],
    });
  });

  test("the container is created with every hardening setting", async () => {
    const list = await containersOf(sandbox.instance);
    const running = list.filter((c) => c.State === "running");
    expect(
      running.length,
      JSON.stringify(list.map((c) => [c.Id.slice(0, 12), c.State, c.Status])),
    ).toBeGreaterThan(0);
    const info = await docker.getContainer(running[0]!.Id).inspect();
    expect(info.Config.User).toBe("65534:65534");
    expect(info.HostConfig).toMatchObject({
      NetworkMode: "none",
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 32,
      Memory: 384 * 1024 * 1024,
      MemorySwap: 384 * 1024 * 1024,
      NanoCpus: 1e9,
      AutoRemove: true,
      Tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=64m,mode=1777" },
      LogConfig: { Type: "none" },
    });
    const caps = await sandbox.capabilities();
    expect(caps.details).toMatchObject({
      network: "none",
      readOnlyRootfs: true,
      capDrop: ["ALL"],
      noNewPrivileges: true,
      user: "65534:65534",
      pidsLimit: 32,
      memoryLimitMb: 384,
      memorySwapMb: 384,
      cpus: 1,
      workspace: { path: "/tmp", sizeMb: 64, exec: false },
    });
  });

  test("a pids bomb stops at the pids limit and the host keeps serving", async () => {
    const s = await open();
    const out = await s.execute(
      job(
        `
        const spawn = ${cp}.spawn;
        let started = 0, refused = 0, firstError = "";
        for (let i = 0; i < 100; i++) {
          await new Promise((resolve) => {
            try {
              const child = spawn(process.execPath, ["--max-old-space-size=8", "-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
              child.once("spawn", () => { started++; resolve(); });
              child.once("error", (e) => { refused++; firstError ||= e.code; resolve(); });
            } catch (e) { refused++; firstError ||= e.code; resolve(); }
          });
        }
        return { started, refused, firstError };
      `,
        { limits: { ...limits, timeoutMs: 30_000 } },
      ),
      nullHost,
    );
    const v = out.value as { started: number; refused: number; firstError: string };
    expect(v.started).toBeLessThan(32);
    expect(v.refused).toBeGreaterThan(0);
    expect(v.firstError).toBe("EAGAIN");
    await stillServes();
  }, 60_000);

  test("a memory bomb outside the JS heap is killed by the container limit: SANDBOX_MEMORY", async () => {
    const s = await open();
    await expect(
      s.execute(
        job("const keep = []; for (;;) keep.push(new Uint8Array(16 * 1024 * 1024).fill(1));"),
        nullHost,
      ),
    ).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_MEMORY,
      message: expect.stringContaining("384 MB"),
    });
    expect((await s.execute(job("return 'fresh container'"), nullHost)).value).toBe(
      "fresh container",
    );
  });

  test("a memory bomb in the JS heap: SANDBOX_MEMORY", async () => {
    const s = await open();
    await expect(
      s.execute(job("const a = []; for (;;) a.push(new Array(100000).fill(a.length));"), nullHost),
    ).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_MEMORY,
      message: expect.stringContaining("128 MB heap"),
    });
    expect((await s.execute(job("return 1"), nullHost)).value).toBe(1);
  });

  test("an infinite loop is stopped by the host's wall clock and its container removed", async () => {
    const probe = createDockerSandbox({ poolSize: 0 });
    try {
      const s = await probe.open();
      await s.execute(job("return 1"), nullHost);
      await waitForContainers(probe.instance, 1);
      const started = Date.now();
      await expect(
        s.execute(job("for (;;) {}", { limits: { ...limits, timeoutMs: 300 } }), nullHost),
      ).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_TIMEOUT });
      expect(Date.now() - started).toBeLessThan(2000);
      await waitForContainers(probe.instance, 0);
      expect((await s.execute(job("return 'next'"), nullHost)).value).toBe("next");
      await s.close();
    } finally {
      await probe.close();
    }
    await waitForContainers(probe.instance, 0);
  });

  test("the root filesystem is read-only; the workspace is writable but not executable", async () => {
    const s = await open();
    const out = await s.execute(
      job(`
        const fs = ${fs};
        const attempt = (f) => { try { f(); return "ok"; } catch (e) { return e.code; } };
        return {
          root: attempt(() => fs.writeFileSync("/evil", "x")),
          etc: attempt(() => fs.writeFileSync("/etc/passwd", "x")),
          node: attempt(() => fs.writeFileSync(process.execPath, "x")),
          workspace: attempt(() => fs.writeFileSync("/tmp/notes.txt", "kept")),
          readBack: fs.readFileSync("/tmp/notes.txt", "utf8"),
          // The dynamic loader runs as a program: a small executable to copy.
          copy: attempt(() => fs.copyFileSync("/lib64/ld-linux-x86-64.so.2", "/tmp/ld.so")),
          exec: attempt(() => ${cp}.execFileSync("/tmp/ld.so", ["--version"])),
          full: attempt(() => fs.writeFileSync("/tmp/big", new Uint8Array(80 * 1024 * 1024))),
        };
      `),
      nullHost,
    );
    expect(out.value).toEqual({
      root: "EROFS",
      etc: "EROFS",
      node: "EROFS",
      workspace: "ok",
      readBack: "kept",
      copy: "ok",
      exec: "EACCES",
      full: "ENOSPC",
    });
  });

  describe("network", () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      // Listens on the host's loopback only; a guest with host networking would reach it.
      server = createServer((socket) => {
        connections++;
        socket.end("host");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test("no egress: loopback only, no route, the host's loopback unreachable", async () => {
      const s = await open();
      const out = await s.execute(
        job(`
          const os = process.getBuiltinModule("node:os");
          const net = process.getBuiltinModule("node:net");
          const routes = ${fs}.readFileSync("/proc/net/route", "utf8").trim().split("\\n").slice(1);
          const hostLoopback = await new Promise((resolve) => {
            const socket = net.connect(${port}, "127.0.0.1");
            socket.once("data", () => resolve("reached the host"));
            socket.once("error", (e) => resolve(e.code));
          });
          return { interfaces: Object.keys(os.networkInterfaces()), routes, hostLoopback };
        `),
        nullHost,
      );
      expect(out.value).toEqual({ interfaces: ["lo"], routes: [], hostLoopback: "ECONNREFUSED" });
      expect(connections).toBe(0);
    });
  });

  test("host files, the engine's socket and the host's environment are out of reach", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpo-host-secret-"));
    const secret = join(dir, "secret.txt");
    writeFileSync(secret, "host-secret-7c1e");
    process.env.MCPO_DOCKER_CANARY = "env-secret-91ab";
    try {
      const s = await open();
      const out = await s.execute(
        job(`
          const fs = ${fs};
          const attempt = (f) => { try { return f(); } catch (e) { return e.code; } };
          return {
            secret: attempt(() => fs.readFileSync(${JSON.stringify(secret)}, "utf8")),
            dockerSock: attempt(() => fs.statSync("/var/run/docker.sock") && "present"),
            passwd: fs.readFileSync("/etc/passwd", "utf8").split("\\n").filter(Boolean).map((l) => l.split(":")[0]),
            env: JSON.stringify(process.env),
          };
        `),
        nullHost,
      );
      const v = out.value as { secret: string; dockerSock: string; passwd: string[]; env: string };
      expect(v.secret).toBe("ENOENT");
      expect(v.dockerSock).toBe("ENOENT");
      expect(v.passwd).toEqual(["root", "nobody"]);
      expect(v.env).not.toContain("env-secret-91ab");
    } finally {
      delete process.env.MCPO_DOCKER_CANARY;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a guest that floods stdout around the bridge is stopped; the host keeps serving", async () => {
    const s = await open();
    // Each write waits until the pipe took it: the guest's memory stays flat, the host sees it all.
    const flood = (stream: string, text: string) =>
      `for (;;) await new Promise((r) => process.${stream}.write(${JSON.stringify(text)}, r));`;
    // One endless line: the frame decoder's size limit (the runner wrote `started` before the
    // program ran, so the line holds only what the program wrote, whatever the load).
    await expect(
      s.execute(job(flood("stdout", "x".repeat(65536))), nullHost),
    ).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_OUTPUT_LIMIT,
    });
    // Lines that are not frames: a protocol error.
    await expect(s.execute(job(flood("stdout", "not a frame\n")), nullHost)).rejects.toMatchObject({
      code: ErrorCodes.BRIDGE_PROTOCOL_ERROR,
    });
    // stderr: capped per execution.
    await expect(
      s.execute(job(flood("stderr", "e".repeat(65536))), nullHost),
    ).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_OUTPUT_LIMIT,
    });
    // Without yielding, Node queues the writes in the guest's own memory: its limit stops it.
    await expect(
      s.execute(job("for (;;) process.stdout.write('x'.repeat(65536));"), nullHost),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/^(SANDBOX_MEMORY|SANDBOX_OUTPUT_LIMIT)$/),
    });
    expect((await s.execute(job("return 'still here'"), nullHost)).value).toBe("still here");
    await stillServes();
  });

  test("output after a run has finished gets the container replaced, not the next run confused", async () => {
    const s = await open();
    const first = await s.execute(
      job(
        // node:timers' own setTimeout: the runner drops the global timers a run leaves
        // behind, but a guest can always find another way to write late.
        `globalThis.__marker = 1; process.getBuiltinModule("node:timers").setTimeout(() => process.stdout.write('late junk\\n'), 20); ${containerIdCode}`,
      ),
      nullHost,
    );
    const id = first.value as string;
    // The junk arrives while no run is attached: the host removes that container.
    await expect
      .poll(
        () =>
          docker
            .getContainer(id)
            .inspect()
            .then(
              () => "present",
              () => "gone",
            ),
        {
          timeout: 15_000,
          interval: 100,
        },
      )
      .toBe("gone");
    const out = await s.execute(
      job(`return [typeof globalThis.__marker, ${containerIdCode.replace(/^return /, "")}]`),
      nullHost,
    );
    const [marker, nextId] = out.value as [string, string];
    // A fresh container (its globals are new), and the next run was not confused by the junk.
    expect(marker).toBe("undefined");
    expect(nextId).not.toBe(id);
  });
});
