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
  const endpoint = prelude({
    engine: `node ${proc.version}`,
    send: (line: string) => {
      stdout.write(`${line}\n`);
    },
  });
  proc.on("unhandledRejection", (reason: unknown) => endpoint.reportUncaught(reason));
  proc.on("uncaughtException", (error: unknown) => endpoint.reportUncaught(error));
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
      if (line.length > 0) endpoint.receive(line);
    }
  });
  proc.stdin.on("end", () => proc.exit(0));
}
