import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli, tempDir } from "./helpers.js";

/** A small pet API on node:http, and its OpenAPI document as YAML next to the config. */
const SPEC = `openapi: 3.0.3
info: { title: Pets, version: "1.0.0" }
paths:
  /pets:
    get:
      operationId: listPets
      summary: List the pets
      parameters:
        - { name: kind, in: query, schema: { type: string } }
      responses:
        "200":
          description: the pets
          content:
            application/json:
              schema: { type: array, items: { $ref: "#/components/schemas/Pet" } }
  /pets/{petId}:
    delete:
      operationId: deletePet
      summary: Delete a pet
      parameters:
        - { name: petId, in: path, required: true, schema: { type: integer } }
      responses:
        "204": { description: deleted }
components:
  schemas:
    Pet:
      type: object
      properties: { id: { type: integer }, name: { type: string }, kind: { type: string } }
`;
const TOKEN = "cli-openapi-token-5150";
let server: Server;
let url: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { "content-type": "application/json" });
      return res.end(JSON.stringify({ message: "no token" }));
    }
    const u = new URL(req.url ?? "/", "http://x");
    const pets = [
      { id: 1, name: "Rex", kind: "dog" },
      { id: 2, name: "Tom", kind: "cat" },
    ].filter((p) => !u.searchParams.get("kind") || p.kind === u.searchParams.get("kind"));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(pets));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  dir = tempDir("mcpo-openapi-cli-");
  writeFileSync(join(dir, "pets.yaml"), SPEC);
});
afterAll(() => new Promise<void>((r) => server?.close(() => r())));

const config = (pets: Record<string, unknown>) => {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ mcpServers: { pets }, sandbox: { mode: "process" } }));
  return file;
};

describe("OpenAPI documents in mcpServers", () => {
  test("search finds their operations and a program calls them, auth added on the host", async () => {
    const file = config({
      openapi: "./pets.yaml", // relative to the config file, wherever the CLI starts
      baseUrl: url,
      auth: { type: "bearer", token: "${PETS_TOKEN}" },
    });
    const env = { PETS_TOKEN: TOKEN };
    const search = await cli(["search", "remove a pet", "--json", "--config", file], { env });
    expect(search.code, search.stderr).toBe(0);
    expect(JSON.parse(search.stdout)[0]).toMatchObject({
      name: "pets.deletePet",
      call: "pets.deletePet",
    });
    const run = await cli(["run", "-", "--json", "--config", file], {
      env,
      input: `const cats = await pets.listPets({ kind: "cat" }); return cats.map((p) => p.name);`,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).value).toEqual(["Tom"]);
    const caps = await cli(["capabilities", "--json", "--config", file], { env });
    expect(caps.code, caps.stderr).toBe(0);
    expect(caps.stdout).not.toContain(TOKEN);
    expect(JSON.parse(caps.stdout).upstreams).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "pets", transport: "openapi", reachable: true, tools: 2 }),
      ]),
    );
  });

  test("a wrong field is named with the file; an invalid document is a typed error in capabilities", async () => {
    const bad = config({ openapi: "./pets.yaml", baseURL: url });
    const r = await cli(["search", "pets", "--config", bad]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain('mcpServers.pets: unknown field "baseURL"');
    const memo = config({ openapi: "./pets.yaml", baseUrl: url, memo: { ttl: 5 } });
    const m = await cli(["search", "pets", "--config", memo]);
    expect(m.code).toBe(3);
    expect(m.stderr).toContain("mcpServers.pets.memo");
    writeFileSync(
      join(dir, "broken.yaml"),
      "openapi: 3.0.3\ninfo: { title: B, version: '1' }\npaths:\n  /x:\n    get: {}\n",
    );
    const broken = config({ openapi: "./broken.yaml", baseUrl: url });
    const caps = await cli(["capabilities", "--json", "--config", broken]);
    expect(caps.code, caps.stderr).toBe(0);
    const pets = JSON.parse(caps.stdout).upstreams.find((u: { name: string }) => u.name === "pets");
    expect(pets).toMatchObject({ transport: "openapi", reachable: false, tools: 0 });
    expect(pets.error).toContain("is not a valid OpenAPI document");
    expect(pets.error).toContain("must have required property 'responses'");
  });
});
