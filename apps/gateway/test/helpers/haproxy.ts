import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { exitOf, requireProgram, spawn, track, waitFor } from "./processes.js";

export const DEPLOY_HAPROXY_CFG = fileURLToPath(
  new URL("../../deploy/haproxy.cfg", import.meta.url),
);

/**
 * The deployment's own haproxy.cfg with loopback addresses: `bind` on the given port, one
 * `server` line per replica. Everything else (timeouts, retries, health checks, typed error
 * bodies) is the file compose.yaml uses.
 */
export function haproxyConfig(port: number, replicas: { name: string; port: number }[]): string {
  const lines = readFileSync(DEPLOY_HAPROXY_CFG, "utf8").split("\n");
  const out: string[] = [];
  let serversWritten = false;
  for (const line of lines) {
    if (/^\s*bind /.test(line)) out.push(`  bind 127.0.0.1:${port}`);
    else if (/^\s*log stdout/.test(line) && process.env.MCPO_DEBUG)
      out.push("  log stdout format raw local0 info", "  option httplog");
    else if (/^\s*server /.test(line)) {
      if (!serversWritten)
        for (const r of replicas) out.push(`  server ${r.name} 127.0.0.1:${r.port} check`);
      serversWritten = true;
    } else out.push(line);
  }
  if (!serversWritten) throw new Error(`${DEPLOY_HAPROXY_CFG} has no server lines`);
  return out.join("\n");
}

/** haproxy in the foreground on the config; resolves once it answers on the port. */
export async function startHaproxy(file: string, config: string, port: number) {
  requireProgram(
    "haproxy",
    ["-v"],
    "Install it (Debian: `apt-get install haproxy`, what .ci/setup/60-haproxy.sh does).",
  );
  writeFileSync(file, config);
  const check = spawn("haproxy", ["-c", "-f", file], { stdio: ["ignore", "pipe", "pipe"] });
  let checkOut = "";
  check.stdout!.on("data", (c: Buffer) => (checkOut += c.toString()));
  check.stderr!.on("data", (c: Buffer) => (checkOut += c.toString()));
  const checked = await exitOf(check);
  if (checked.code !== 0) throw new Error(`haproxy -c refused the config: ${checkOut}`);
  const child = track(spawn("haproxy", ["-db", "-f", file], { stdio: ["ignore", "pipe", "pipe"] }));
  let log = "";
  child.stdout!.on(
    "data",
    (c: Buffer) =>
      (log = (log + c.toString()).slice(process.env.MCPO_DEBUG ? -2_000_000 : -10_000)),
  );
  child.stderr!.on(
    "data",
    (c: Buffer) =>
      (log = (log + c.toString()).slice(process.env.MCPO_DEBUG ? -2_000_000 : -10_000)),
  );
  await waitFor(`haproxy on ${port}`, async () => {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    return r.status === 200;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    get log() {
      return log;
    },
    async stop() {
      const gone = exitOf(child);
      child.kill("SIGTERM");
      await gone;
    },
  };
}
