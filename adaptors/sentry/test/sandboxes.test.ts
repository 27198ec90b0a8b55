import { createWasmSandbox } from "@mcp-optimizer/sandbox-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SentryFixture, startSentryFixture } from "../src/fixture/index.js";
import { createSentryAdaptor, type SentryAdaptor } from "../src/index.js";

// The same operations in the user's chosen sandbox: core's process sandbox and the WASM one
// (QuickJS), against one fixture. Results must be identical.
let fixture: SentryFixture;
let onProcess: SentryAdaptor;
let onWasm: SentryAdaptor;

beforeAll(async () => {
  fixture = await startSentryFixture();
  const common = {
    accessToken: fixture.token,
    host: fixture.host,
    insecureHttp: true,
    organization: "acme",
  };
  onProcess = createSentryAdaptor(common);
  onWasm = createSentryAdaptor({ ...common, sandbox: createWasmSandbox() });
  await Promise.all([onProcess.start(), onWasm.start()]);
});
afterAll(async () => {
  await Promise.allSettled([onProcess.close(), onWasm.close()]);
  await fixture.close();
});

describe("operations in the WASM sandbox", () => {
  it("triage, issueDigest and releaseHealth give what the process sandbox gives", async () => {
    const params = { project: "web-frontend", period: "90d" as const, limit: 5 };
    const [a, b] = await Promise.all([onProcess.triageRun(params), onWasm.triageRun(params)]);
    expect(a.run.mode).toBe("process");
    expect(b.run.mode).toBe("wasm");
    expect(b.value).toEqual(a.value);
    const id = a.value.issues[0]!.id;
    expect(await onWasm.issueDigest({ issueId: id })).toEqual(
      await onProcess.issueDigest({ issueId: id }),
    );
    expect(await onWasm.releaseHealth({ project: "payments" })).toEqual(
      await onProcess.releaseHealth({ project: "payments" }),
    );
  });
});
