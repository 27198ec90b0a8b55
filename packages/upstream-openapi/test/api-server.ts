import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";

/**
 * A small API on a real framework (Fastify), whose OpenAPI document is generated from its
 * routes by @fastify/swagger: pets with a `oneOf` body, files whose names need escaping, a
 * recursive tree, every auth kind, a flaky and a slow route, and an OAuth token endpoint.
 */
export interface ApiServer {
  app: FastifyInstance;
  url: string;
  /** The generated OpenAPI 3 document. */
  spec: Record<string, unknown>;
  /** Requests seen, newest last: method, url (raw, as received) and headers. */
  requests: { method: string; url: string; headers: Record<string, unknown> }[];
  tokensIssued: number;
  close(): Promise<void>;
}

export const SECRETS = {
  bearer: "bearer-secret-token-123",
  apiKey: "api-key-secret-456",
  basicUser: "alice",
  basicPassword: "basic-password-789",
  clientId: "client-1",
  clientSecret: "client-secret-abc",
};

export async function startApiServer(options: { port?: number } = {}): Promise<ApiServer> {
  const app = Fastify({ logger: false });
  const state = {
    pets: new Map<number, Record<string, unknown>>([
      [
        1,
        {
          id: 1,
          name: "Rex",
          kind: { type: "dog", barks: true },
          status: "available",
          tags: ["good"],
        },
      ],
      [2, { id: 2, name: "Tom", kind: { type: "cat", lives: 9 }, status: "sold", tags: [] }],
    ]),
    nextId: 3,
    tokens: new Set<string>(),
    tokensIssued: 0,
    flaky: 0,
  };
  const requests: ApiServer["requests"] = [];
  // The OAuth token endpoint takes a form (RFC 6749).
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  app.addHook("onRequest", async (req) => {
    requests.push({ method: req.method, url: req.raw.url ?? "", headers: { ...req.headers } });
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Pet Store", version: "1.2.0", description: "Pets, files and trees." },
      servers: [{ url: "http://127.0.0.1:0" }],
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  });
  app.addSchema({
    $id: "Cat",
    type: "object",
    required: ["type", "lives"],
    properties: { type: { type: "string", enum: ["cat"] }, lives: { type: "integer" } },
  });
  app.addSchema({
    $id: "Dog",
    type: "object",
    required: ["type", "barks"],
    properties: { type: { type: "string", enum: ["dog"] }, barks: { type: "boolean" } },
  });
  app.addSchema({
    $id: "Pet",
    type: "object",
    required: ["id", "name", "kind"],
    properties: {
      id: { type: "integer" },
      name: { type: "string" },
      kind: { oneOf: [{ $ref: "Cat#" }, { $ref: "Dog#" }] },
      status: { type: "string", enum: ["available", "sold"] },
      tags: { type: "array", items: { type: "string" } },
    },
  });
  app.addSchema({
    $id: "TreeNode",
    type: "object",
    required: ["name"],
    properties: {
      name: { type: "string" },
      children: { type: "array", items: { $ref: "TreeNode#" } },
    },
  });
  app.addSchema({
    $id: "Error",
    type: "object",
    properties: { message: { type: "string" }, code: { type: "string" } },
  });

  app.get(
    "/pets",
    {
      schema: {
        operationId: "listPets",
        summary: "List pets",
        description: "Lists pets, optionally by status and tags.",
        querystring: {
          type: "object",
          properties: {
            status: {
              type: "string",
              enum: ["available", "sold"],
              description: "Only pets with this status",
            },
            tags: { type: "array", items: { type: "string" } },
            limit: { type: "integer", minimum: 1, maximum: 100 },
          },
        },
        response: { 200: { type: "array", items: { $ref: "Pet#" } } },
      },
    },
    async (req) => {
      const q = req.query as { status?: string; tags?: string[]; limit?: number };
      let pets = [...state.pets.values()];
      if (q.status) pets = pets.filter((p) => p.status === q.status);
      if (q.tags?.length)
        pets = pets.filter((p) => q.tags!.every((t) => (p.tags as string[]).includes(t)));
      return pets.slice(0, q.limit ?? 100);
    },
  );
  app.post(
    "/pets",
    {
      schema: {
        operationId: "createPet",
        summary: "Create a pet",
        body: {
          type: "object",
          required: ["name", "kind"],
          properties: {
            name: { type: "string" },
            kind: { oneOf: [{ $ref: "Cat#" }, { $ref: "Dog#" }] },
            tags: { type: "array", items: { type: "string" } },
          },
        },
        response: { 201: { $ref: "Pet#" }, 400: { $ref: "Error#" } },
      },
    },
    async (req, reply) => {
      const body = req.body as Record<string, unknown>;
      const pet = { id: state.nextId++, status: "available", tags: [], ...body };
      state.pets.set(pet.id as number, pet);
      return reply.code(201).send(pet);
    },
  );
  app.get(
    "/pets/:petId",
    {
      schema: {
        operationId: "getPet",
        summary: "Get a pet by id",
        params: { type: "object", required: ["petId"], properties: { petId: { type: "integer" } } },
        response: { 200: { $ref: "Pet#" }, 404: { $ref: "Error#" } },
      },
    },
    async (req, reply) => {
      const id = (req.params as { petId: number }).petId;
      const pet = state.pets.get(id);
      if (!pet)
        return reply.code(404).send({ message: `Pet ${id} does not exist`, code: "not_found" });
      return pet;
    },
  );
  app.delete(
    "/pets/:petId",
    {
      schema: {
        summary: "Delete a pet",
        params: { type: "object", required: ["petId"], properties: { petId: { type: "integer" } } },
        response: { 204: { type: "null" } },
      },
    },
    async (req, reply) => {
      state.pets.delete((req.params as { petId: number }).petId);
      return reply.code(204).send();
    },
  );
  app.get(
    "/files/:name",
    {
      schema: {
        operationId: "getFile",
        summary: "Read a file by name",
        params: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
        response: {
          200: {
            type: "object",
            properties: { name: { type: "string" }, size: { type: "integer" } },
          },
        },
      },
    },
    async (req) => {
      const name = (req.params as { name: string }).name;
      return { name, size: name.length };
    },
  );
  app.post(
    "/trees/echo",
    {
      schema: {
        operationId: "echoTree",
        summary: "Echo a tree and count its nodes",
        body: { $ref: "TreeNode#" },
        response: {
          200: {
            type: "object",
            properties: { count: { type: "integer" }, tree: { $ref: "TreeNode#" } },
          },
        },
      },
    },
    async (req) => {
      const count = (n: { children?: unknown[] }): number =>
        1 +
        (n.children ?? []).reduce<number>((a, c) => a + count(c as { children?: unknown[] }), 0);
      const tree = req.body as { children?: unknown[] };
      return { count: count(tree), tree };
    },
  );
  const secure = (
    path: string,
    operationId: string,
    check: (h: Record<string, unknown>, q: Record<string, unknown>) => boolean,
  ) =>
    app.get(
      path,
      {
        schema: {
          operationId,
          summary: `Who am I (${operationId})`,
          response: {
            200: { type: "object", properties: { ok: { type: "boolean" } } },
            401: { $ref: "Error#" },
          },
        },
      },
      async (req, reply) =>
        check(req.headers as Record<string, unknown>, req.query as Record<string, unknown>)
          ? { ok: true }
          : reply.code(401).send({ message: "Unauthorized: bad or missing credentials" }),
    );
  secure("/secure/bearer", "whoamiBearer", (h) => h.authorization === `Bearer ${SECRETS.bearer}`);
  secure("/secure/header-key", "whoamiHeaderKey", (h) => h["x-api-key"] === SECRETS.apiKey);
  secure("/secure/query-key", "whoamiQueryKey", (_h, q) => q.api_key === SECRETS.apiKey);
  secure(
    "/secure/basic",
    "whoamiBasic",
    (h) =>
      h.authorization ===
      `Basic ${Buffer.from(`${SECRETS.basicUser}:${SECRETS.basicPassword}`).toString("base64")}`,
  );
  secure("/secure/oauth", "whoamiOauth", (h) =>
    state.tokens.has(String(h.authorization ?? "").replace(/^Bearer /, "")),
  );
  app.get(
    "/flaky",
    {
      schema: {
        operationId: "flaky",
        summary: "Fails with 503 every other call",
        response: {
          200: { type: "object", properties: { n: { type: "integer" } } },
          503: { $ref: "Error#" },
        },
      },
    },
    async (_req, reply) => {
      state.flaky++;
      if (state.flaky % 2 === 1) return reply.code(503).send({ message: "try again" });
      return { n: state.flaky };
    },
  );
  app.get(
    "/slow",
    { schema: { operationId: "slow", summary: "Answers after two seconds" } },
    async () => {
      await new Promise((r) => setTimeout(r, 2000));
      return { done: true };
    },
  );
  app.post("/oauth/token", { schema: { hide: true } }, async (req, reply) => {
    const auth = String(req.headers.authorization ?? "");
    const expected = `Basic ${Buffer.from(`${SECRETS.clientId}:${SECRETS.clientSecret}`).toString("base64")}`;
    if (auth !== expected) return reply.code(401).send({ error: "invalid_client" });
    if ((req.body as { grant_type?: string }).grant_type !== "client_credentials")
      return reply.code(400).send({ error: "unsupported_grant_type" });
    const token = `tok-${++state.tokensIssued}`;
    state.tokens.clear(); // earlier tokens are revoked: a 401 must make the client fetch a new one
    state.tokens.add(token);
    return { access_token: token, token_type: "bearer", expires_in: 3600 };
  });
  app.post("/oauth/revoke", { schema: { hide: true } }, async () => {
    state.tokens.clear();
    return { ok: true };
  });

  let served: Record<string, unknown> = {};
  app.get("/openapi.json", { schema: { hide: true } }, async () => served);
  await app.listen({ host: "127.0.0.1", port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const spec = structuredClone(app.swagger()) as Record<string, unknown>;
  spec.servers = [{ url }];
  served = spec;
  const server: ApiServer = {
    app,
    url,
    spec,
    requests,
    get tokensIssued() {
      return state.tokensIssued;
    },
    close: () => app.close(),
  };
  return server;
}
