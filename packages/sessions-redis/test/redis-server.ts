import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const INSTALL_HINT =
  "Install it (Debian: `apt-get install redis-server redis-tools`, what .ci/setup/20-redis.sh does) so the tests can start their own instances; no running system instance is needed.";

/** Fails (never skips) with what to install when redis-server or redis-cli is missing. */
export function requireRedisServer(): void {
  for (const bin of ["redis-server", "redis-cli"]) {
    const probe = spawnSync(bin, ["--version"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        `These tests need ${bin} on PATH and it cannot be run (${probe.error?.message ?? probe.stderr}). ${INSTALL_HINT}`,
      );
    }
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free loopback port whose cluster bus port (+10000) is free too. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error("no free port pair found in 20000-39999");
}

/** Sends one inline command with a raw socket and answers the first reply line. */
export function rawCommand(port: number, command: string, timeoutMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("timeout"));
    }, timeoutMs);
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk) => {
      data += chunk.toString("utf8");
      if (data.includes("\r\n")) {
        clearTimeout(timer);
        socket.end();
        resolve(data);
      }
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited(child)) {
      throw new Error(
        `redis-server on port ${port} exited (${child.exitCode ?? child.signalCode}): ${log()}`,
      );
    }
    try {
      // "-LOADING" while the AOF is replayed: wait for "+PONG".
      // "-NOAUTH": alive, with a password.
      if (/^(\+PONG|-NOAUTH)/.test(await rawCommand(port, "PING"))) return;
    } catch {}
    if (Date.now() > deadline)
      throw new Error(`redis-server on port ${port} does not answer PING: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A child killed by a signal has a signalCode and no exitCode. */
const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface RedisServerOptions {
  /** Extra redis-server arguments. */
  args?: string[];
  port?: number;
  /** Run as a Sentinel with this configuration (written to the server's dir). */
  sentinelConfig?: string;
}

/** One redis-server of the tests' own: loopback, free port, AOF on, data in a temp dir. */
export class RedisServer {
  readonly dir: string;
  readonly port: number;
  private child: ChildProcess | undefined;
  private output = "";
  private readonly args: string[];
  private readonly sentinelConfig: string | undefined;

  private constructor(port: number, options: RedisServerOptions) {
    this.port = port;
    this.args = options.args ?? [];
    this.sentinelConfig = options.sentinelConfig;
    this.dir = mkdtempSync(join(tmpdir(), `mcpo-redis-${port}-`));
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    requireRedisServer();
    const server = new RedisServer(options.port ?? (await freePort()), options);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && !exited(this.child);
  }

  /** Starts the process again on the same port and dir (the AOF is replayed). */
  async launch(): Promise<void> {
    this.output = "";
    let args: string[];
    if (this.sentinelConfig !== undefined) {
      // Sentinel rewrites its file, so it lives in the server's own dir.
      const file = join(this.dir, "sentinel.conf");
      if (!existsSync(file)) writeFileSync(file, this.sentinelConfig);
      args = [
        file,
        "--sentinel",
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
      ];
    } else {
      args = [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        // Every acknowledged write is on disk before the reply: a SIGKILL loses none.
        "--appendfsync",
        "always",
        "--dir",
        this.dir,
        "--daemonize",
        "no",
        ...this.args,
      ];
    }
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    child.once("exit", () => live.delete(child));
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.child = child;
    await waitForPing(this.port, child, () => this.output);
  }

  /** Kills the process (SIGKILL by default: no shutdown save) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || exited(child)) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three masters on loopback, slots split by `redis-cli --cluster create`, no replicas. */
export class RedisCluster {
  readonly servers: RedisServer[];

  private constructor(servers: RedisServer[]) {
    this.servers = servers;
  }

  static async start(masters = 3): Promise<RedisCluster> {
    requireRedisServer();
    const servers: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        servers.push(
          await RedisServer.start({
            args: [
              "--cluster-enabled",
              "yes",
              "--cluster-config-file",
              "nodes.conf",
              "--cluster-node-timeout",
              "2000",
            ],
          }),
        );
      }
      await run(
        "redis-cli",
        [
          "--cluster",
          "create",
          ...servers.map((s) => `127.0.0.1:${s.port}`),
          "--cluster-replicas",
          "0",
          "--cluster-yes",
        ],
        { timeout: 30_000 },
      );
      const deadline = Date.now() + 30_000;
      for (const s of servers) {
        for (;;) {
          const { stdout } = await run("redis-cli", ["-p", String(s.port), "cluster", "info"]);
          if (stdout.includes("cluster_state:ok")) break;
          if (Date.now() > deadline) throw new Error(`cluster not ok on ${s.port}: ${stdout}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } catch (error) {
      await Promise.all(servers.map((s) => s.stop()));
      throw error;
    }
    return new RedisCluster(servers);
  }

  get nodes(): { host: string; port: number }[] {
    return this.servers.map((s) => ({ host: "127.0.0.1", port: s.port }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
