import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { exitOf, freePort, requireProgram, spawn, track, waitFor } from "./processes.js";

/** A redis-server of the test's own on a free loopback port (no persistence: the tests need none). */
export async function startRedis(): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  requireProgram(
    "redis-server",
    ["--version"],
    "Install it (Debian: `apt-get install redis-server`, what .ci/setup/20-redis.sh does).",
  );
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mcpo-gw-redis-"));
  const child = track(
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
      ],
      { stdio: "ignore" },
    ),
  );
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on("error", () => {});
  await waitFor(`redis-server on ${port}`, async () => {
    if (probe.status !== "ready") await probe.connect().catch(() => {});
    return (await probe.ping()) === "PONG";
  });
  probe.disconnect();
  return {
    url,
    port,
    async stop() {
      const gone = exitOf(child);
      child.kill("SIGKILL");
      await gone;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
