import { describe, expect, test } from "vitest";
import {
  assignIdentifiers,
  resolveToolName,
  serverGlobalName,
  suggest,
  toIdentifier,
} from "../../src/catalog/identifiers.js";
import { ToolCatalog } from "../../src/catalog/tool-catalog.js";

describe("toIdentifier", () => {
  test.each([
    ["list_issues", "list_issues"],
    ["list-issues", "list_issues"],
    ["get.user", "get_user"],
    ["a  b", "a_b"],
    ["a--b", "a_b"],
    ["2fa", "_2fa"],
    ["class", "class_"],
    ["await", "await_"],
    ["ünïcode", "unicode"],
    ["日本", "_"],
    ["", "_"],
    ["$ref", "$ref"],
    ["-leading", "_leading"],
    ["trailing-", "trailing_"],
  ])("%j -> %j", (name, id) => {
    expect(toIdentifier(name)).toBe(id);
    expect(() => new Function(`const ${toIdentifier(name)} = 1;`)).not.toThrow();
  });
});

describe("assignIdentifiers", () => {
  test("collisions are resolved the same way whatever the input order", () => {
    const a = assignIdentifiers(["get-user", "get_user", "get.user"]);
    const b = assignIdentifiers(["get.user", "get_user", "get-user"]);
    expect(a).toEqual(b);
    expect(a.get("get_user")).toBe("get_user");
    expect(new Set(a.values()).size).toBe(3);
  });

  test("reserved names are never produced", () => {
    const ids = assignIdentifiers(["mcp", "console", "state", "files"], {
      reserved: ["mcp", "console", "state"],
    });
    expect(ids.get("mcp")).toBe("mcp_");
    expect(ids.get("console")).toBe("console_");
    expect(ids.get("files")).toBe("files");
  });
});

describe("server globals", () => {
  test("a server never shadows the guest's own globals", () => {
    expect(serverGlobalName("github")).toBe("github");
    expect(serverGlobalName("my-files")).toBe("my_files");
    for (const name of ["mcp", "state", "console", "params", "Math", "JSON", "URL", "setTimeout"])
      expect(serverGlobalName(name)).toBe(`${name}_`);
    expect(serverGlobalName("class")).toBe("class_");
  });

  test("the catalog names servers by the same rule", () => {
    const catalog = new ToolCatalog();
    const tool = { name: "ping", inputSchema: { type: "object" } };
    catalog.update([
      { name: "params", tools: [tool] },
      { name: "JSON", tools: [tool] },
      { name: "files", tools: [tool] },
    ]);
    const globals = Object.fromEntries(catalog.listServers().map((s) => [s.name, s.identifier]));
    expect(globals).toEqual({ params: "params_", JSON: "JSON_", files: "files" });
    for (const [name, identifier] of Object.entries(globals))
      expect(serverGlobalName(name)).toBe(identifier);
  });
});

describe("resolveToolName and suggest", () => {
  const ids = assignIdentifiers(["list-issues", "create-issue", "get_user"]);
  test("a tool resolves by identifier or by name", () => {
    expect(resolveToolName("list_issues", ids)).toBe("list-issues");
    expect(resolveToolName("list-issues", ids)).toBe("list-issues");
    expect(resolveToolName("nope", ids)).toBeUndefined();
  });
  test("suggestions are close names, best first", () => {
    expect(suggest("list_issue", ["list_issues", "create_issue", "get_user"])[0]).toBe(
      "list_issues",
    );
    expect(suggest("issues_list", ["list_issues", "get_user"])).toContain("list_issues");
    expect(suggest("zzzzzz", ["list_issues", "get_user"])).toEqual([]);
  });
});
