import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCodes, type JsonObject, MCPOptimizer } from "@mcp-optimizer/core";
import { describeUpstream, freePort } from "@mcp-optimizer/core/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import {
  createOpenApiUpstream,
  type OpenApiServerConfig,
  OpenApiUpstream,
  resolveOpenApiConfig,
} from "../src/index.js";
import { type ApiServer, SECRETS, startApiServer } from "./api-server.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
let api: ApiServer;
let dir: string;

beforeAll(async () => {
  api = await startApiServer();
  dir = mkdtempSync(join(tmpdir(), "mcpo-openapi-"));
});
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The value at a dotted path of a JSON value. */
function at(value: unknown, path: string): unknown {
  let node = value;
  for (const key of path.split(".")) node = (node as Record<string, unknown> | undefined)?.[key];
  return node;
}

const upstream = (config: Partial<OpenApiServerConfig> = {}, name = "pets") =>
  new OpenApiUpstream({ name, config: { openapi: `${api.url}/openapi.json`, ...config } });

describeUpstream("openapi (Fastify + @fastify/swagger)", () => upstream(), {
  call: { tool: "getPet", args: { petId: 1 }, resultContains: "Rex" },
});

describe("tools from the document", () => {
  test("one tool per operation: operationId or method and path; annotations from the method", async () => {
    const u = upstream();
    const tools = await u.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining([
        "listPets",
        "createPet",
        "getPet",
        "delete_pets_by_petId",
        "getFile",
        "echoTree",
      ]),
    );
    expect(byName.has("post_oauth_token")).toBe(false); // hidden from the document
    expect(byName.get("listPets")!.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
    });
    expect(byName.get("delete_pets_by_petId")!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(byName.get("createPet")!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
    });
    expect(byName.get("getPet")!.description).toContain("GET /pets/{petId}");
    const getPet = byName.get("getPet")!.inputSchema;
    expect(getPet).toMatchObject({
      properties: { petId: { type: "integer" } },
      required: ["petId"],
    });
    expect(byName.get("listPets")!.outputSchema).toMatchObject({
      type: "array",
      items: { $ref: "#/$defs/Pet" },
    });
    await u.close();
  });

  test("oneOf and recursive schemas become $defs with local refs (finite, JSON-serialisable)", async () => {
    const u = upstream();
    const tools = await u.listTools();
    const create = tools.find((t) => t.name === "createPet")!.inputSchema;
    expect(at(create, "properties.body.properties.kind.oneOf")).toEqual([
      { $ref: "#/$defs/Cat" },
      { $ref: "#/$defs/Dog" },
    ]);
    expect(at(create, "$defs.Cat.properties.lives")).toEqual({ type: "integer" });
    const tree = tools.find((t) => t.name === "echoTree")!.inputSchema;
    expect(at(tree, "properties.body")).toEqual({ $ref: "#/$defs/TreeNode" });
    expect(at(tree, "$defs.TreeNode.properties.children.items")).toEqual({
      $ref: "#/$defs/TreeNode",
    });
    expect(() => JSON.stringify(tools)).not.toThrow();
    await u.close();
  });
});

describe("calls", () => {
  test("query parameters (an exploded array, an enum), a JSON body with oneOf, structured results", async () => {
    const u = upstream();
    const created = await u.callTool("createPet", {
      body: { name: "Kit", kind: { type: "cat", lives: 7 }, tags: ["small", "new"] },
    });
    expect(created.isError ?? false).toBe(false);
    expect(created.structuredContent).toMatchObject({
      name: "Kit",
      kind: { type: "cat", lives: 7 },
    });
    const listed = await u.callTool("listPets", { status: "available", tags: ["small", "new"] });
    expect(
      JSON.parse(String(listed.content[0]?.text)).map((p: { name: string }) => p.name),
    ).toEqual(["Kit"]);
    expect(api.requests.at(-1)!.url).toBe("/pets?status=available&tags=small&tags=new");
    await u.close();
  });

  test("path parameters are percent-encoded: a slash, space, ?, #, % and non-ASCII stay inside their segment", async () => {
    const u = upstream();
    const name = "a b/c?d#é%.txt";
    const result = await u.callTool("getFile", { name });
    expect(result.structuredContent).toEqual({ name, size: name.length });
    expect(api.requests.at(-1)!.url).toBe("/files/a%20b%2Fc%3Fd%23%C3%A9%25.txt");
    await u.close();
  });

  test("a recursive body round-trips", async () => {
    const u = upstream();
    const tree: JsonObject = {
      name: "root",
      children: [{ name: "a", children: [{ name: "a1" }] }, { name: "b" }],
    };
    const result = await u.callTool("echoTree", { body: tree });
    expect(result.structuredContent).toEqual({ count: 4, tree });
    await u.close();
  });

  test("a non-2xx answer is an isError result with the status and the body's message", async () => {
    const u = upstream();
    const result = await u.callTool("getPet", { petId: 999 });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toBe("HTTP 404 Not Found: Pet 999 does not exist");
    expect(result.structuredContent).toMatchObject({
      status: 404,
      message: "Pet 999 does not exist",
    });
    await u.close();
  });

  test("503 rejects UPSTREAM_UNAVAILABLE (retryable); a slow answer UPSTREAM_TIMEOUT; a missing path parameter TOOL_INVALID_ARGUMENTS", async () => {
    const u = upstream();
    await expect(u.callTool("flaky", {})).rejects.toMatchObject({
      code: ErrorCodes.UPSTREAM_UNAVAILABLE,
      details: { status: 503 },
    });
    expect((await u.callTool("flaky", {})).structuredContent).toEqual({ n: 2 });
    await expect(u.callTool("slow", {}, { timeoutMs: 200 })).rejects.toMatchObject({
      code: ErrorCodes.UPSTREAM_TIMEOUT,
    });
    await expect(u.callTool("getPet", {})).rejects.toMatchObject({
      code: ErrorCodes.TOOL_INVALID_ARGUMENTS,
    });
    await u.close();
  });

  test("an unreachable API is UPSTREAM_UNAVAILABLE naming the address", async () => {
    const u = upstream({ baseUrl: "http://127.0.0.1:9" });
    const failure = await u.callTool("getPet", { petId: 1 }).catch((e) => e);
    expect(failure.code).toBe(ErrorCodes.UPSTREAM_UNAVAILABLE);
    expect(failure.message).toContain("127.0.0.1:9");
    await u.close();
  });
});

describe("auth, resolved on the host", () => {
  const cases: [string, string, OpenApiServerConfig["auth"]][] = [
    ["bearer", "whoamiBearer", { type: "bearer", token: SECRETS.bearer }],
    [
      "API key in a header",
      "whoamiHeaderKey",
      { type: "apiKey", in: "header", name: "X-API-Key", value: SECRETS.apiKey },
    ],
    [
      "API key in the query",
      "whoamiQueryKey",
      { type: "apiKey", in: "query", name: "api_key", value: SECRETS.apiKey },
    ],
    [
      "basic",
      "whoamiBasic",
      { type: "basic", username: SECRETS.basicUser, password: SECRETS.basicPassword },
    ],
  ];
  test.each(cases)("%s", async (_kind, tool, auth) => {
    const u = upstream({ auth: auth! });
    expect((await u.callTool(tool, {})).structuredContent).toEqual({ ok: true });
    const without = await upstream().callTool(tool, {});
    expect(without).toMatchObject({ isError: true, structuredContent: { status: 401 } });
    // What the sandbox can see of the upstream holds no credential.
    const visible = JSON.stringify([await u.listTools(), u.info()]);
    for (const secret of Object.values(SECRETS).filter((s) => s.length > 6))
      expect(visible).not.toContain(secret);
    await u.close();
  });

  test("OAuth client credentials: one token reused; a revoked token is replaced once", async () => {
    const before = api.tokensIssued;
    const u = upstream({
      auth: {
        type: "oauth2",
        tokenUrl: `${api.url}/oauth/token`,
        clientId: SECRETS.clientId,
        clientSecret: SECRETS.clientSecret,
        scopes: ["pets:read"],
      },
    });
    expect((await u.callTool("whoamiOauth", {})).structuredContent).toEqual({ ok: true });
    expect((await u.callTool("whoamiOauth", {})).structuredContent).toEqual({ ok: true });
    expect(api.tokensIssued).toBe(before + 1);
    await fetch(`${api.url}/oauth/revoke`, { method: "POST" });
    expect((await u.callTool("whoamiOauth", {})).structuredContent).toEqual({ ok: true });
    expect(api.tokensIssued).toBe(before + 2);
    const bad = upstream({
      auth: {
        type: "oauth2",
        tokenUrl: `${api.url}/oauth/token`,
        clientId: "x",
        clientSecret: "wrong-secret",
      },
    });
    const failure = await bad.callTool("whoamiOauth", {}).catch((e) => e);
    expect(failure.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(failure.message).toContain("invalid_client");
    expect(failure.message).not.toContain("wrong-secret");
    await u.close();
  });

  test("config: ${VAR} expanded, secrets collected, a relative document resolved, unknown fields refused", () => {
    const { config, secrets } = resolveOpenApiConfig(
      {
        openapi: "./api.yaml",
        auth: { type: "bearer", token: "${PET_TOKEN}" },
        headers: { "X-Tenant": "acme" },
      },
      { env: { PET_TOKEN: "from-the-env-123" }, baseDir: "/srv/conf", path: "mcpServers.pets" },
    );
    expect(config.openapi).toBe("/srv/conf/api.yaml");
    expect(config.auth).toEqual({ type: "bearer", token: "from-the-env-123" });
    expect(secrets).toEqual(expect.arrayContaining(["from-the-env-123", "acme"]));
    expect(() =>
      resolveOpenApiConfig({ openapi: "x.yaml", baseURL: "http://x" }, { path: "mcpServers.pets" }),
    ).toThrow(/mcpServers\.pets: unknown field "baseURL"/);
    expect(() =>
      resolveOpenApiConfig({
        openapi: "x.yaml",
        auth: { type: "apiKey", in: "cookie", name: "k", value: "v" },
      }),
    ).toThrow(/auth/);
  });
});

describe("documents", () => {
  test("a YAML file in OpenAPI 3.1 with baseUrl from the config", async () => {
    const spec = structuredClone(api.spec);
    spec.openapi = "3.1.0";
    delete spec.servers;
    (at(spec, "components.schemas.Pet.properties") as Record<string, unknown>).status = {
      type: ["string", "null"],
      enum: ["available", "sold", null],
    };
    const file = join(dir, "pets-3.1.yaml");
    writeFileSync(file, stringify(spec));
    const u = createOpenApiUpstream({
      name: "pets31",
      config: { openapi: file, baseUrl: api.url },
    });
    await u.connect();
    expect(u.info()).toMatchObject({
      connected: true,
      transport: "openapi",
      protocolVersion: "openapi 3.1.0",
    });
    expect((await u.callTool("getPet", { petId: 1 })).structuredContent).toMatchObject({
      name: "Rex",
    });
    await u.close();
  });

  test.each([
    [
      "invalid-missing-responses.yaml",
      ErrorCodes.UPSTREAM_SPEC_INVALID,
      /\/paths\/~1things\/get.*responses/,
    ],
    [
      "swagger-2.yaml",
      ErrorCodes.UPSTREAM_SPEC_INVALID,
      /Swagger 2\.0; only OpenAPI 3\.0 and 3\.1/,
    ],
    ["not-yaml.yaml", ErrorCodes.UPSTREAM_SPEC_INVALID, /cannot be parsed/], // written by beforeAll
    ["does-not-exist.yaml", ErrorCodes.INVALID_CONFIG, /Cannot read the OpenAPI document/],
  ])("%s is a typed error naming the problem", async (file, code, message) => {
    const path = file === "not-yaml.yaml" ? join(dir, file) : join(fixtures, file);
    if (file === "not-yaml.yaml") writeFileSync(path, "openapi: 3.0.3\ninfo: [unclosed\n");
    const u = createOpenApiUpstream({
      name: "broken",
      config: { openapi: path, baseUrl: api.url },
    });
    const failure = await u.connect().catch((e) => e);
    expect(failure.code).toBe(code);
    expect(failure.message).toMatch(message);
    expect(u.info()).toMatchObject({ connected: false, lastError: failure.message });
  });

  test("a document URL that cannot be fetched is UPSTREAM_UNAVAILABLE", async () => {
    const u = createOpenApiUpstream({
      name: "gone",
      config: { openapi: "http://127.0.0.1:9/openapi.json" },
    });
    await expect(u.connect()).rejects.toMatchObject({ code: ErrorCodes.UPSTREAM_UNAVAILABLE });
  });
});

describe("a document that cannot be fetched at start", () => {
  test("is fetched again in the background; the engine hears of the tools and serves them", async () => {
    const port = await freePort();
    const late = createOpenApiUpstream({
      name: "late",
      config: { openapi: `http://127.0.0.1:${port}/openapi.json` },
      retryInitialDelayMs: 100,
      retryMaxDelayMs: 400,
    });
    const optimizer = new MCPOptimizer({ sandboxConfig: { mode: "process" }, upstreams: [late] });
    let server: ApiServer | undefined;
    try {
      await optimizer.start(); // the upstream is down: start goes on without it
      expect(late.info()).toMatchObject({ connected: false });
      expect(late.info().lastError).toContain("Cannot fetch the OpenAPI document");
      const heard = new Promise<number>((resolve) =>
        late.onToolsChanged((tools) => resolve(tools.length)),
      );
      server = await startApiServer({ port });
      expect(await heard).toBeGreaterThan(5);
      expect(late.info()).toMatchObject({ connected: true, reconnects: 1 });
      for (let i = 0; i < 50 && optimizer.catalog.toolCount === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      const result = await optimizer.run("return (await late.getPet({ petId: 1 })).name");
      expect(result.value).toBe("Rex");
    } finally {
      await optimizer.close();
      await server?.close();
    }
  }, 30_000);
});

describe("through the engine", () => {
  test("a program calls the API like any other server; search finds its operations; errors are typed", async () => {
    const optimizer = new MCPOptimizer({
      sandboxConfig: { mode: "process" },
      upstreams: [upstream({ auth: { type: "bearer", token: SECRETS.bearer } })],
      secrets: [SECRETS.bearer],
    });
    try {
      const result = await optimizer.run(`
        const sold = await pets.listPets({ status: "sold" });
        const me = await pets.whoamiBearer({});
        let missing;
        try { await pets.getPet({ petId: 4242 }); } catch (e) { missing = e.code + " " + e.message; }
        return { names: sold.map((p) => p.name), me, missing };
      `);
      expect(result.value).toEqual({
        names: ["Tom"],
        me: { ok: true },
        missing: "TOOL_ERROR pets.getPet failed: HTTP 404 Not Found: Pet 4242 does not exist",
      });
      const hits = await optimizer.search("delete a pet", { limit: 1 });
      expect(hits[0]?.name).toBe("pets.delete_pets_by_petId");
      expect(JSON.stringify(await optimizer.capabilities())).not.toContain(SECRETS.bearer);
    } finally {
      await optimizer.close();
    }
  }, 30_000);
});
