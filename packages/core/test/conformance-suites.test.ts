import { afterAll, beforeAll } from "vitest";
import {
  approximateTokenizer,
  createMcpUpstream,
  createMemoryAuditSink,
  createO200kTokenizer,
  type MemoryAuditSink,
} from "../src/index.js";
import { describeAuditSink, describeTokenizer, describeUpstream } from "../src/testing/index.js";
import { everythingServer, startEverythingHttp } from "./helpers/servers.js";

describeTokenizer("o200k_base (gpt-tokenizer)", () => createO200kTokenizer());
describeTokenizer("approximate (4 characters per token)", () => approximateTokenizer);

describeUpstream(
  "McpUpstream over stdio: server-everything",
  () => createMcpUpstream({ name: "everything", server: everythingServer() }),
  {
    call: { tool: "echo", args: { message: "conformance" }, resultContains: "conformance" },
  },
);

let http: Awaited<ReturnType<typeof startEverythingHttp>>;
beforeAll(async () => {
  http = await startEverythingHttp();
}, 30_000);
afterAll(() => http?.close());
describeUpstream(
  "McpUpstream over Streamable HTTP: server-everything",
  () => createMcpUpstream({ name: "remote", server: { url: http.url } }),
  {
    call: { tool: "get-sum", args: { a: 2, b: 40 }, resultContains: "42" },
  },
);

let sink: MemoryAuditSink;
describeAuditSink(
  "MemoryAuditSink",
  () => {
    sink = createMemoryAuditSink({ secrets: ["conformance-secret-771"] });
    return sink;
  },
  { read: () => sink.records(), secret: "conformance-secret-771" },
);
