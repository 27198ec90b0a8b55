import type { GuestEndpoint, GuestHost } from "./guest-main.js";

/**
 * The runner around the prelude in any Node process (process sandbox, containers): frames
 * in on stdin, frames out on stdout. Shipped as source text like the prelude, so it must be
 * self-contained.
 */
export function nodeGuestRunner(prelude: (host: GuestHost) => GuestEndpoint): void {
  // biome-ignore lint/suspicious/noExplicitAny: process is reached through globalThis on purpose.
  const proc = (globalThis as any).process;
  const stdout = proc.stdout;
  // No signalling primitive: Node's only ways to signal another process are these two.
  for (const name of ["kill", "_kill"]) {
    try {
      delete proc[name];
    } catch {}
  }
  // Timers a run leaves behind are cleared when it ends (the wasm runner drops them too): a
  // callback firing between runs has no deadline over it, and one that spins would make the
  // session's next execution time out instead.
  // biome-ignore lint/suspicious/noExplicitAny: the guest's global object is untyped by nature.
  const g = globalThis as any;
  const live = new Map<unknown, (handle: unknown) => void>();
  for (const [setName, clearName, repeats] of [
    ["setTimeout", "clearTimeout", false],
    ["setInterval", "clearInterval", true],
    ["setImmediate", "clearImmediate", false],
  ] as const) {
    const set = g[setName];
    const clear = g[clearName];
    if (typeof set !== "function" || typeof clear !== "function") continue;
    const wrapped = function (this: unknown, fn: unknown, ...rest: unknown[]) {
      let handle: unknown;
      const callback =
        typeof fn === "function" && !repeats
          ? function (this: unknown, ...args: unknown[]) {
              live.delete(handle);
              return (fn as (...a: unknown[]) => unknown).apply(this, args);
            }
          : fn;
      handle = set.call(this, callback, ...rest);
      live.set(handle, (h) => clear.call(undefined, h));
      return handle;
    };
    // util.promisify(setTimeout) and friends keep working.
    for (const key of Object.getOwnPropertySymbols(set)) {
      Object.defineProperty(wrapped, key, { value: set[key], configurable: true, writable: true });
    }
    g[setName] = wrapped;
    g[clearName] = function (this: unknown, handle: unknown) {
      live.delete(handle);
      return clear.call(this, handle);
    };
  }
  let endpoint: GuestEndpoint | undefined;
  endpoint = prelude({
    engine: `node ${proc.version}`,
    send: (line: string) => {
      stdout.write(`${line}\n`);
      // The frame that ends a run (done, error) leaves the prelude idle: drop its timers.
      if (live.size > 0 && endpoint !== undefined && !endpoint.busy()) {
        const pending = [...live];
        live.clear();
        for (const [handle, clearIt] of pending) clearIt(handle);
      }
    },
  });
  const ready = endpoint;
  proc.on("unhandledRejection", (reason: unknown) => ready.reportUncaught(reason));
  proc.on("uncaughtException", (error: unknown) => ready.reportUncaught(error));
  // A program must not reach the runner's pipes or Node's module system by accident.
  for (const name of ["require", "module", "exports", "__filename", "__dirname"]) {
    try {
      // biome-ignore lint/suspicious/noExplicitAny: clearing globals.
      delete (globalThis as any)[name];
    } catch {}
  }
  let buffer = "";
  let scanFrom = 0;
  proc.stdin.setEncoding("utf8");
  proc.stdin.on("data", (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const nl = buffer.indexOf("\n", scanFrom);
      if (nl === -1) {
        scanFrom = buffer.length;
        return;
      }
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      scanFrom = 0;
      if (line.length > 0) ready.receive(line);
    }
  });
  proc.stdin.on("end", () => proc.exit(0));
}
