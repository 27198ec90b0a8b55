import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer as createNetServer,
  connect as netConnect,
  type Server,
  type Socket,
} from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { ErrorCodes } from "@mcp-optimizer/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { describeEndpoint } from "../src/docker-client.js";
import { createDockerSandbox, type DockerSandbox } from "../src/index.js";
import { expectNoContainersLeft, job, requireDocker } from "./helpers.js";

/** Opens a connection to the engine these tests use (its unix socket, or DOCKER_HOST's TCP port). */
function connectToEngine(host: string | undefined): Socket {
  if (host?.startsWith("tcp://")) {
    const url = new URL(host);
    return netConnect(Number(url.port), url.hostname);
  }
  return netConnect(host?.startsWith("unix://") ? host.slice(7) : "/var/run/docker.sock");
}

/** Relays every connection to the engine: the engine, as a remote TCP endpoint on loopback. */
function relay(socket: Socket, connect = () => connectToEngine(process.env.DOCKER_HOST)): void {
  const upstream = connect();
  socket.pipe(upstream).pipe(socket);
  socket.on("error", () => upstream.destroy());
  upstream.on("error", () => socket.destroy());
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
}

const host = {
  call: async (request: { kind: string; args?: unknown }) =>
    request.kind === "tool" ? { echoed: request.args } : null,
} as never;
const echoJob = () =>
  job("return await demo.echo({ via: 'remote engine' })", {
    servers: [{ name: "demo", global: "demo", tools: ["echo"] }],
  });

describe("engine endpoints", () => {
  const sandboxes: DockerSandbox[] = [];
  const make = (options: Parameters<typeof createDockerSandbox>[0]) => {
    const s = createDockerSandbox({ poolSize: 0, ...options });
    sandboxes.push(s);
    return s;
  };
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (server: Server) => {
    servers.push(server);
    server.on("connection", (s: Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    return server;
  };

  beforeAll(requireDocker);
  afterAll(async () => {
    await Promise.all(sandboxes.map((s) => s.close()));
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await expectNoContainersLeft();
  });

  test("an engine that is not there: unavailable, with how to fix it", async () => {
    const sandbox = make({ docker: "unix:///nonexistent/docker.sock" });
    const caps = await sandbox.capabilities();
    expect(caps.available).toBe(false);
    expect(caps.reason).toContain("unix:///nonexistent/docker.sock");
    expect(caps.reason).toContain("Start a Docker engine");
    await expect(sandbox.open()).rejects.toMatchObject({ code: ErrorCodes.SANDBOX_UNAVAILABLE });
  });

  test("a TCP port nobody listens on: unavailable (ECONNREFUSED)", async () => {
    const closed = createNetServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const sandbox = make({ docker: `tcp://127.0.0.1:${port}` });
    await expect(sandbox.open()).rejects.toMatchObject({
      code: ErrorCodes.SANDBOX_UNAVAILABLE,
      details: expect.objectContaining({ errno: "ECONNREFUSED" }),
    });
  });

  test("DOCKER_HOST is honoured when no endpoint is given", async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "unix:///nonexistent/from-env.sock";
    try {
      const sandbox = make({});
      const caps = await sandbox.capabilities();
      expect(caps.available).toBe(false);
      expect(caps.reason).toContain("DOCKER_HOST=unix:///nonexistent/from-env.sock");
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  test("an explicit socket wins over DOCKER_HOST", async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "tcp://127.0.0.1:1";
    try {
      const sandbox = make({ docker: { socketPath: "/nonexistent/explicit.sock" } });
      const caps = await sandbox.capabilities();
      expect(caps.reason).toContain("unix:///nonexistent/explicit.sock");
      expect((caps.details.engine as { endpoint: string }).endpoint).toBe(
        "unix:///nonexistent/explicit.sock",
      );
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  test("an explicit endpoint replaces every DOCKER_HOST setting (TLS, ssh), not just the address", async () => {
    // The engine behind a unix socket of the test's own; DOCKER_HOST points at a TLS or SSH
    // engine elsewhere. Nothing of DOCKER_HOST (https, ssh, its port) may reach this client.
    const dir = mkdtempSync(join(tmpdir(), "mcpo-docker-sock-"));
    const socketPath = join(dir, "engine.sock");
    const engineHost = process.env.DOCKER_HOST; // read before the test changes it
    const server = track(
      createNetServer((socket) => relay(socket, () => connectToEngine(engineHost))),
    );
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const saved = { host: process.env.DOCKER_HOST, tls: process.env.DOCKER_TLS_VERIFY };
    try {
      for (const [dockerHost, tls] of [
        ["tcp://127.0.0.1:2376", "1"],
        ["ssh://deploy@127.0.0.1:1", undefined],
      ] as const) {
        process.env.DOCKER_HOST = dockerHost;
        if (tls) process.env.DOCKER_TLS_VERIFY = tls;
        else delete process.env.DOCKER_TLS_VERIFY;
        for (const docker of [`unix://${socketPath}`, { socketPath }]) {
          const sandbox = make({ docker });
          const caps = await sandbox.capabilities();
          expect(caps.reason ?? "", `${dockerHost} with ${JSON.stringify(docker)}`).toBe("");
          expect(caps.available).toBe(true);
        }
      }
    } finally {
      for (const [name, value] of [
        ["DOCKER_HOST", saved.host],
        ["DOCKER_TLS_VERIFY", saved.tls],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a remote engine over plain TCP runs executions and tool calls", async () => {
    const port = await listen(track(createNetServer(relay)));
    const sandbox = make({ docker: `tcp://127.0.0.1:${port}` });
    expect((await sandbox.capabilities()).available).toBe(true);
    const session = await sandbox.open();
    expect((await session.execute(echoJob(), host)).value).toEqual({
      echoed: { via: "remote engine" },
    });
    await session.close();
  });

  test("a remote engine over TCP with mutual TLS", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpo-docker-tls-"));
    try {
      const pki = makePki(dir);
      const server = track(
        createTlsServer(
          { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true },
          relay,
        ),
      );
      const port = await listen(server);
      // Without a client certificate the engine is refused.
      const anonymous = make({
        docker: { host: "127.0.0.1", port, protocol: "https", ca: pki.ca },
      });
      expect((await anonymous.capabilities()).available).toBe(false);
      const sandbox = make({
        docker: {
          host: "127.0.0.1",
          port,
          protocol: "https",
          ca: pki.ca,
          cert: pki.clientCert,
          key: pki.clientKey,
        },
      });
      const caps = await sandbox.capabilities();
      expect((caps.details.engine as { endpoint: string }).endpoint).toBe(
        `tcp+tls://127.0.0.1:${port}`,
      );
      const session = await sandbox.open();
      expect((await session.execute(echoJob(), host)).value).toEqual({
        echoed: { via: "remote engine" },
      });
      await session.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("engine addresses in messages never carry credentials", () => {
    expect(describeEndpoint("ssh://deploy:hunter2@build-host")).toBe("ssh://build-host");
    expect(describeEndpoint({ host: "10.0.0.5", port: 2376, protocol: "https" })).toBe(
      "tcp+tls://10.0.0.5:2376",
    );
    expect(describeEndpoint({ host: "box", protocol: "ssh", username: "me" })).toBe("ssh://box");
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "ssh://deploy:hunter2@build-host:2222";
    try {
      expect(describeEndpoint(undefined)).toBe("DOCKER_HOST=ssh://build-host:2222");
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
    expect(() => createDockerSandbox({ docker: "ftp://nope" })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG }),
    );
  });
});

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate. */
function makePki(dir: string) {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  writeFileSync(
    join(dir, "server.ext"),
    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  ssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=mcpo test CA",
  );
  for (const who of ["server", "client"]) {
    ssl("req", ...ec, "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`);
    ssl(
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${who}.pem`,
      "-days",
      "1",
      "-extfile",
      `${who}.ext`,
    );
  }
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return {
    ca: read("ca.pem"),
    serverKey: read("server.key"),
    serverCert: read("server.pem"),
    clientKey: read("client.key"),
    clientCert: read("client.pem"),
  };
}
