// The model-facing server over stdio, driven line by line over real pipes (a child process
// running dist/: `pnpm build` first), for what an SDK client would never send.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";

const SERVE = join(import.meta.dirname, "fixtures", "serve-stdio.mjs");
const FAKE = join(import.meta.dirname, "fixtures", "fake-server.mjs");

type Tool = { name: string; description: string };
type Message = {
  id?: number | string | null;
  method?: string;
  result?: { capabilities: { tools: unknown }; tools: Tool[]; content: { text: string }[] };
  error?: { code: number; message: string; data: { bytes: number; limit: number } };
};

class RawClient {
  readonly messages: Message[] = [];
  private buffer = "";
  private waiters: (() => void)[] = [];
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf("\n"); i >= 0; i = this.buffer.indexOf("\n")) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        if (line.trim()) this.messages.push(JSON.parse(line));
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(message: object | string): void {
    this.child.stdin.write(`${typeof message === "string" ? message : JSON.stringify(message)}\n`);
  }
  async waitFor(match: (m: Message) => boolean, timeoutMs = 30_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no such message; got ${JSON.stringify(this.messages).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
  request(id: number, method: string, params: object = {}): Promise<Message> {
    this.send({ jsonrpc: "2.0", id, method, params });
    return this.waitFor((m) => m.id === id);
  }
}

let children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children) c.kill("SIGKILL");
  children = [];
});

function serve(config: object): RawClient {
  const child = spawn(process.execPath, [SERVE, JSON.stringify(config)], { stdio: "pipe" });
  children.push(child);
  return new RawClient(child);
}

const initialize = {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "raw", version: "1" },
};

describe("serve over stdio", () => {
  test("answers initialize at once while a slow upstream starts, then announces its tools", async () => {
    const client = serve({
      mcpServers: {
        slow: { command: process.execPath, args: [FAKE], env: { FAKE_START_DELAY_MS: "15000" } },
      },
    });
    const init = await client.request(1, "initialize", initialize);
    expect(init.result!.capabilities.tools).toEqual({ listChanged: true });
    client.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    const listed = await client.request(2, "tools/list");
    // The upstream takes 15 s to start: initialize and tools/list were answered before it was up.
    const before = listed.result!.tools.find((t) => t.name === "execute_code");
    expect(before!.description).toContain("- slow (0 tools)");
    await client.waitFor((m) => m.method === "notifications/tools/list_changed", 60_000);
    const after = await client.request(3, "tools/list");
    const described = after.result!.tools.find((t) => t.name === "execute_code");
    expect(described!.description).toContain("- slow (3 tools)");
  }, 90_000);

  test("an oversized or malformed message gets a JSON-RPC error and the server goes on", async () => {
    const client = serve({});
    await client.request(1, "initialize", initialize);
    client.send({ jsonrpc: "2.0", method: "notifications/initialized" });

    const huge = JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: {
        name: "execute_code",
        arguments: { code: `return "${"x".repeat(11 * 1024 * 1024)}".length` },
      },
    });
    client.send(huge);
    const tooLarge = await client.waitFor((m) => m.id === 2);
    expect(tooLarge.error).toMatchObject({
      code: -32600,
      message: expect.stringContaining("over this server's limit of 10485760 bytes"),
      data: { limit: 10 * 1024 * 1024 },
    });
    expect(tooLarge.error!.data.bytes).toBe(Buffer.byteLength(huge));

    client.send("{ this is not json");
    const parseError = await client.waitFor((m) => m.error?.code === -32700);
    expect(parseError.id).toBeNull();
    client.send({ id: 5, hello: "world" });
    const invalid = await client.waitFor((m) => m.id === 5);
    expect(invalid.error!.code).toBe(-32600);

    const run = await client.request(6, "tools/call", {
      name: "execute_code",
      arguments: { code: "return 1 + 1" },
    });
    expect(run.result!.content[0]!.text).toMatch(/^2/);
  }, 60_000);
});
