/**
 * The engine process: a Node child (child_process.fork) that holds the whole @wasmer/sdk
 * client and runs QuickJS guests in it. The host talks to it over the IPC channel only
 * (engine-messages.ts). It exists so that the host can kill it: Wasmer's own kill() cannot
 * stop a guest that never makes a system call, and Wasmer does not give memory back after
 * its sandboxes close, so a spinning guest or a grown heap is ended by killing this process.
 *
 * Run directly by Node (also as TypeScript, by type stripping, in this package's tests), so it
 * imports nothing of this package and uses no syntax that needs a TypeScript transform.
 */
import { readFileSync } from "node:fs";
import { type Package, type Process, type Sandbox, Wasmer } from "@wasmer/sdk/node";
import type { EngineInbound, EngineOutbound } from "./engine-messages.js";

interface Guest {
  sandbox?: Sandbox;
  proc?: Process;
  writing: Promise<void>;
  killed: boolean;
  exited: boolean;
  stderrBytes: number;
}

/** stderr kept per guest: diagnostics only, never a channel. */
const MAX_STDERR_BYTES = 64 * 1024;
/** How long a guest that exited by itself may take to have its last output read, ms. */
const EXIT_DRAIN_MS = 1000;

const wasmPath = process.argv[2];
const guests = new Map<number, Guest>();
let wasmer: Wasmer | undefined;
let pkg: Package | undefined;

function send(message: EngineOutbound): void {
  if (process.connected) process.send!(message);
}

async function init(): Promise<void> {
  const started = performance.now();
  if (!wasmPath) throw new Error("engine process: no wasm path given");
  const bytes = readFileSync(wasmPath);
  wasmer = new Wasmer({ cache: false });
  await wasmer.ready();
  pkg = await wasmer.packages.load(bytes);
  send({ op: "ready", initMs: performance.now() - started });
}

async function pump(gid: number, stream: AsyncIterable<Uint8Array>, op: "out" | "err") {
  const guest = guests.get(gid);
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) {
      if (!guest || guest.killed) return;
      if (op === "err") {
        if (guest.stderrBytes >= MAX_STDERR_BYTES) continue;
        guest.stderrBytes += chunk.byteLength;
      }
      const data = decoder.decode(chunk, { stream: true });
      if (data.length > 0) send({ op, gid, data });
    }
  } catch {
    // The stream broke because the guest ended; wait() reports the exit.
  }
}

async function start(gid: number, boot: string): Promise<void> {
  const guest: Guest = {
    writing: Promise.resolve(),
    killed: false,
    exited: false,
    stderrBytes: 0,
  };
  guests.set(gid, guest);
  try {
    if (!wasmer || !pkg) throw new Error("the engine is not initialised");
    // One Wasmer sandbox per guest: its own empty in-memory filesystem, no network, no env.
    guest.sandbox = await wasmer.sandboxes.create({
      packages: [pkg],
      network: { mode: "disabled" },
    });
    guest.proc = await guest.sandbox
      .command(pkg)
      .spawn({ stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  } catch (error) {
    exit(gid, -1, "failed", error instanceof Error ? error.message : String(error));
    return;
  }
  if (guest.killed) {
    void guest.proc.kill().catch(() => {});
  }
  const proc = guest.proc;
  const drained = Promise.all([
    proc.stdout ? pump(gid, proc.stdout, "out") : undefined,
    proc.stderr ? pump(gid, proc.stderr, "err") : undefined,
  ]);
  write(gid, boot);
  proc.wait({ check: false }).then(
    async (output) => {
      // wait() can settle before the last output has been read: after a normal exit the
      // streams end, so hand on the guest's final frames and stderr before its exit. After
      // a kill they may never end: do not wait for them then.
      if (!guest.killed) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          drained,
          new Promise((resolve) => {
            timer = setTimeout(resolve, EXIT_DRAIN_MS);
          }),
        ]);
        clearTimeout(timer);
      }
      exit(gid, output.exitCode, output.reason);
    },
    (error: unknown) =>
      exit(gid, -1, "failed", error instanceof Error ? error.message : String(error)),
  );
}

function exit(gid: number, code: number, reason: string, message?: string): void {
  const guest = guests.get(gid);
  if (!guest || guest.exited) return;
  guest.exited = true;
  guests.delete(gid);
  send({ op: "exit", gid, code, reason, message });
  void guest.sandbox?.close().catch(() => {});
}

function write(gid: number, data: string): void {
  const guest = guests.get(gid);
  const stdin = guest?.proc?.stdin;
  if (!guest || !stdin || guest.killed) return;
  // Writes are chained so that frames reach the guest in the order they were sent.
  guest.writing = guest.writing.then(
    () => stdin.write(data),
    () => stdin.write(data),
  );
  guest.writing.catch(() => {});
}

function kill(gid: number): void {
  const guest = guests.get(gid);
  if (!guest) return;
  guest.killed = true;
  // After a kill, stdout may never end: the exit is reported from wait() (see start()), and
  // a guest whose wait() never settles is dealt with by the host killing this process.
  if (guest.proc) guest.proc.kill().catch(() => {});
}

process.on("message", (message: EngineInbound) => {
  switch (message.op) {
    case "start":
      void start(message.gid, message.boot);
      return;
    case "write":
      write(message.gid, message.data);
      return;
    case "kill":
      kill(message.gid);
      return;
  }
});

// The host is gone: nothing left to serve.
process.on("disconnect", () => process.exit(0));

init().catch((error: unknown) => {
  send({ op: "failed", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
