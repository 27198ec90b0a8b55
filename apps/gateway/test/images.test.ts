import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { generateApiKey, resolveGatewayConfig } from "../src/index.js";
import { haproxyConfig } from "./helpers/haproxy.js";
import { freePort, requireProgram, waitFor } from "./helpers/processes.js";

// The deployment as shipped: the three images built offline (scripts/build-images.mjs: no
// pull), and compose.yaml's topology run from them with Docker (host networking: CI's
// Docker has no bridge, so the addresses are loopback ports instead of service names). The
// compose file itself is checked against the HAProxy config and the gateway config it mounts.

const DEPLOY = fileURLToPath(new URL("../deploy/", import.meta.url));
const SCRIPT = fileURLToPath(new URL("../scripts/build-images.mjs", import.meta.url));
const key = generateApiKey("image-test", "demo", "tester");
const containers: string[] = [];
let dir: string;
let images: { image: string; sizeBytes: number }[] = [];

function docker(...args: string[]): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

function run(name: string, args: string[]): void {
  docker("run", "-d", "--name", name, "--network", "host", ...args);
  containers.push(name);
}

beforeAll(async () => {
  requireProgram("docker", ["info"], "Start a Docker engine (what .ci/setup/30-docker.sh does).");
  dir = mkdtempSync(join(tmpdir(), "mcpo-gw-images-"));
  chmodSync(dir, 0o755);
  const built = spawnSync(process.execPath, [SCRIPT], { encoding: "utf8" });
  if (built.status !== 0) throw new Error(`building the images failed: ${built.stderr}`);
  images = built.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}, 300_000);

afterAll(() => {
  for (const name of containers) spawnSync("docker", ["rm", "-f", name], { stdio: "ignore" });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the shipped deployment", () => {
  test("compose.yaml: Redis, three gateway replicas on one config, HAProxy with the shipped config in front", () => {
    const compose = parse(readFileSync(join(DEPLOY, "compose.yaml"), "utf8")) as {
      services: Record<
        string,
        {
          image: string;
          environment?: Record<string, string>;
          volumes?: string[];
          ports?: string[];
        }
      >;
    };
    const gateways = Object.keys(compose.services).filter((s) => s.startsWith("gateway-"));
    expect(gateways).toEqual(["gateway-1", "gateway-2", "gateway-3"]);
    for (const name of gateways) {
      const service = compose.services[name]!;
      expect(service.image).toBe(images.find((i) => i.image.includes("/gateway:"))!.image);
      expect(service.environment?.MCPO_GATEWAY_REDIS_URL).toBe("redis://redis:6379");
    }
    expect(compose.services.redis!.image).toBe("mcp-optimizer/redis:7");
    expect(compose.services.haproxy!.image).toBe("mcp-optimizer/haproxy:2.6");
    expect(compose.services.haproxy!.ports).toEqual(["8080:8080"]);
    // HAProxy's servers are exactly the gateway services, on the port the image listens on.
    const cfg = readFileSync(join(DEPLOY, "haproxy.cfg"), "utf8");
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+) check/gm)].map((m) => [m[1], m[2]]);
    expect(servers).toEqual(gateways.map((g) => [g, `${g}:8080`]));
    // The mounted config is valid as the gateway reads it, with compose's environment.
    const env = compose.services["gateway-1"]!.environment!;
    const config = resolveGatewayConfig(
      JSON.parse(readFileSync(join(DEPLOY, "gateway.config.json"), "utf8")),
      "gateway.config.json",
      { ...env },
    );
    expect(config.redisUrl).toBe("redis://redis:6379");
    expect(config.publicUrl.href).toBe("http://localhost:8080/mcp");
    expect([...config.tenants.keys()]).toEqual(["demo"]);
  });

  test("the images run the topology: an SDK client through HAProxy runs a stateful program; a replica stopped with docker stop exits 0", async () => {
    const [redisPort, g1, g2, proxyPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const suffix = `${process.pid}-${Date.now()}`;
    writeFileSync(join(dir, "api-keys.json"), JSON.stringify({ keys: [key.entry] }), {
      mode: 0o644,
    });
    writeFileSync(
      join(dir, "haproxy.cfg"),
      haproxyConfig(proxyPort, [
        { name: "gateway-1", port: g1 },
        { name: "gateway-2", port: g2 },
      ]),
      { mode: 0o644 },
    );
    run(`mcpo-redis-${suffix}`, [
      "mcp-optimizer/redis:7",
      "--port",
      String(redisPort),
      "--bind",
      "127.0.0.1",
    ]);
    for (const [i, port] of [g1, g2].entries()) {
      run(`mcpo-gateway-${i + 1}-${suffix}`, [
        "-e",
        `MCPO_GATEWAY_LISTEN=127.0.0.1:${port}`,
        "-e",
        `MCPO_GATEWAY_REDIS_URL=redis://127.0.0.1:${redisPort}`,
        "-e",
        `MCPO_GATEWAY_PUBLIC_URL=http://127.0.0.1:${proxyPort}/mcp`,
        "-e",
        "MCPO_GATEWAY_CONFIG=/etc/mcp-optimizer/gateway.config.json",
        "-v",
        `${join(DEPLOY, "gateway.config.json")}:/etc/mcp-optimizer/gateway.config.json:ro`,
        "-v",
        `${join(dir, "api-keys.json")}:/etc/mcp-optimizer/api-keys.json:ro`,
        "--stop-timeout",
        "45",
        images.find((x) => x.image.includes("/gateway:"))!.image,
      ]);
    }
    run(`mcpo-haproxy-${suffix}`, [
      "-v",
      `${join(dir, "haproxy.cfg")}:/etc/haproxy/haproxy.cfg:ro`,
      "mcp-optimizer/haproxy:2.6",
    ]);
    for (const port of [g1, g2])
      await waitFor(
        `gateway on ${port} ready`,
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
        120_000,
        250,
      );
    await new Promise((r) => setTimeout(r, 2500));

    const client = new Client({ name: "image-test", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key.key}` } },
      }),
    );
    try {
      for (let i = 1; i <= 4; i++) {
        const result = (await client.callTool({
          name: "execute_code",
          arguments: {
            code: "state.n = (state.n ?? 0) + 1; const e = await everything.echo({ message: 'n=' + state.n }); return e",
          },
        })) as { content: { text: string }[]; isError?: boolean };
        expect(result.isError, result.content[0]?.text).toBeFalsy();
        expect(result.content[0]!.text).toContain(`n=${i}`);
      }
    } finally {
      await client.close();
    }
    const stopped = spawnSync("docker", ["stop", `mcpo-gateway-2-${suffix}`], { encoding: "utf8" });
    expect(stopped.status).toBe(0);
    expect(docker("inspect", "--format", "{{.State.ExitCode}}", `mcpo-gateway-2-${suffix}`)).toBe(
      "0",
    );
    expect(docker("logs", `mcpo-gateway-2-${suffix}`)).toBeDefined();
    const logs = spawnSync("docker", ["logs", `mcpo-gateway-2-${suffix}`], { encoding: "utf8" });
    expect(logs.stderr).toContain("SIGTERM: draining");
    expect(logs.stderr).toContain("stopped");
    // No credential in any replica's output.
    for (const name of containers) {
      const out = spawnSync("docker", ["logs", name], { encoding: "utf8" });
      expect(out.stdout + out.stderr).not.toContain(key.key);
    }
  }, 300_000);
});
