import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const EXAMPLE = fileURLToPath(new URL("../examples/node-sdk.mjs", import.meta.url));

describe("examples/node-sdk.mjs", () => {
  test("the application's NodeSDK exports the optimizer's spans, metrics and audit logs to its collector", async () => {
    const received: { path: string; type: string; body: string }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({
          path: req.url ?? "",
          type: req.headers["content-type"] ?? "",
          body: Buffer.concat(chunks).toString("utf8"),
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
      const child = spawn(process.execPath, [EXAMPLE], {
        env: {
          PATH: process.env.PATH ?? "",
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=example-test",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += String(d);
      });
      child.stderr.on("data", (d) => {
        stderr += String(d);
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(/^result: .*42/m);
      const body = (path: string) =>
        received
          .filter((r) => r.path === path)
          .map((r) => r.body)
          .join("\n");
      expect(body("/v1/traces")).toContain("execute_tool execute_code");
      expect(body("/v1/traces")).toContain("my-agent-app");
      expect(body("/v1/traces")).toContain("example-test");
      expect(body("/v1/metrics")).toContain("mcp_optimizer.executions");
      expect(body("/v1/logs")).toContain("mcp_optimizer.audit.execution");
      expect(new Set(received.map((r) => r.type))).toEqual(new Set(["application/x-protobuf"]));
    } finally {
      collector.close();
    }
  }, 60_000);
});
