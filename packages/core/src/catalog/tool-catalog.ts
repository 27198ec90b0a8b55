import type { GuestServer } from "../contracts/sandbox.js";
import type { SessionAllowlist } from "../contracts/session-store.js";
import type { ToolAnnotations, UpstreamTool } from "../contracts/upstream.js";
import { serverVisible } from "../engine/policy.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonObject } from "../json.js";
import {
  assignIdentifiers,
  GUEST_GLOBALS,
  resolveToolName,
  suggest,
  toIdentifier,
} from "./identifiers.js";
import {
  guestGlobalsDeclaration,
  schemaToType,
  serverDeclarations,
  toolDeclaration,
} from "./schema-to-typescript.js";
import { createSearchIndex, type SearchIndex } from "./search-index.js";

/** Names a server global may not take: the guest's own globals and JavaScript's. */

export interface CatalogTool {
  /** "server.tool" with original names. */
  qualifiedName: string;
  server: string;
  serverIdentifier: string;
  name: string;
  identifier: string;
  tool: UpstreamTool;
}

export interface CatalogServer {
  name: string;
  identifier: string;
  description?: string;
  tools: CatalogTool[];
  /** tool identifier -> original name, both directions resolvable. */
  identifiers: Map<string, string>;
}

export type DetailLevel = "name" | "signature" | "full";

export interface SearchHit {
  name: string;
  server: string;
  tool: string;
  /** How the program calls it: `github.list_issues`. */
  call: string;
  score: number;
  description?: string;
  signature?: string;
  declaration?: string;
  annotations?: ToolAnnotations;
}

export interface ToolDescription {
  name: string;
  call: string;
  description?: string;
  declaration: string;
  inputSchema: JsonObject;
  outputSchema?: JsonObject;
  annotations: Required<Omit<ToolAnnotations, "title">> & { title?: string };
}

/** MCP's defaults for absent annotations: not read-only, destructive, not idempotent, open world. */
export function effectiveAnnotations(
  annotations: ToolAnnotations | undefined,
): ToolDescription["annotations"] {
  return {
    ...(annotations?.title ? { title: annotations.title } : {}),
    readOnlyHint: annotations?.readOnlyHint ?? false,
    destructiveHint:
      annotations?.readOnlyHint === true ? false : (annotations?.destructiveHint ?? true),
    idempotentHint: annotations?.idempotentHint ?? false,
    openWorldHint: annotations?.openWorldHint ?? true,
  };
}

function firstSentence(text: string | undefined, max = 160): string | undefined {
  if (!text) return undefined;
  const line = text.trim().split(/\n/)[0] ?? "";
  const sentence = line.match(/^.*?[.!?](\s|$)/)?.[0]?.trim() ?? line;
  return sentence.length > max ? `${sentence.slice(0, max - 1)}…` : sentence;
}

/**
 * Every upstream tool with its JavaScript identifier, TypeScript declaration and search
 * entry. Rebuilt when a server's tool list changes; `version` counts rebuilds.
 */
export class ToolCatalog {
  private servers = new Map<string, CatalogServer>();
  private byServerIdentifier = new Map<string, string>();
  private index: SearchIndex = createSearchIndex([]);
  private declarations = new Map<string, string>();
  private signatures = new Map<string, string>();
  private _version = 0;

  get version(): number {
    return this._version;
  }

  /** Replaces the catalog's view of the servers. */
  update(servers: { name: string; description?: string; tools: UpstreamTool[] }[]): void {
    const serverIds = assignIdentifiers(
      servers.map((s) => s.name),
      { reserved: GUEST_GLOBALS },
    );
    const next = new Map<string, CatalogServer>();
    for (const s of [...servers].sort((a, b) => a.name.localeCompare(b.name))) {
      const identifier = serverIds.get(s.name) ?? toIdentifier(s.name);
      const toolIds = assignIdentifiers(s.tools.map((t) => t.name));
      const tools = s.tools.map((tool) => ({
        qualifiedName: `${s.name}.${tool.name}`,
        server: s.name,
        serverIdentifier: identifier,
        name: tool.name,
        identifier: toolIds.get(tool.name) ?? toIdentifier(tool.name),
        tool,
      }));
      next.set(s.name, {
        name: s.name,
        identifier,
        ...(s.description ? { description: s.description } : {}),
        tools,
        identifiers: toolIds,
      });
    }
    this.servers = next;
    this.byServerIdentifier = new Map([...next.values()].map((s) => [s.identifier, s.name]));
    this.declarations.clear();
    this.signatures.clear();
    this.index = createSearchIndex(
      [...next.values()].flatMap((s) =>
        s.tools.map((t) => ({
          id: t.qualifiedName,
          server: s.name,
          name: t.name,
          ...(t.tool.title ? { title: t.tool.title } : {}),
          ...(t.tool.description ? { description: t.tool.description } : {}),
          params: Object.entries(
            (t.tool.inputSchema.properties ?? {}) as Record<string, { description?: string }>,
          ).map(([name, p]) => ({
            name,
            ...(typeof p?.description === "string" ? { description: p.description } : {}),
          })),
          ...(t.tool.annotations ? { annotations: t.tool.annotations } : {}),
        })),
      ),
    );
    this._version++;
  }

  listServers(): CatalogServer[] {
    return [...this.servers.values()];
  }

  listTools(): CatalogTool[] {
    return [...this.servers.values()].flatMap((s) => s.tools);
  }

  get toolCount(): number {
    let n = 0;
    for (const s of this.servers.values()) n += s.tools.length;
    return n;
  }

  /** The globals one session's programs get. */
  guestServers(allow: SessionAllowlist = {}): GuestServer[] {
    return this.listServers()
      .filter((s) => serverVisible(allow, s.name))
      .map((s) => ({
        name: s.name,
        global: s.identifier,
        tools: s.tools.map((t) => t.identifier),
      }));
  }

  /** Finds a server by name or identifier, or throws SERVER_NOT_FOUND with suggestions. */
  server(name: string): CatalogServer {
    const found =
      this.servers.get(name) ?? this.servers.get(this.byServerIdentifier.get(name) ?? "");
    if (found) return found;
    const names = [...this.servers.keys()];
    const hints = suggest(name, names);
    throw new OptimizerError(
      ErrorCodes.SERVER_NOT_FOUND,
      `No MCP server "${name}".${hints.length ? ` Did you mean ${hints.map((h) => `"${h}"`).join(" or ")}?` : ""} Connected servers: ${names.join(", ") || "none"}.`,
      { details: { server: name } },
    );
  }

  /** Finds a tool by (identifier or name), or throws TOOL_NOT_FOUND with suggestions. */
  tool(serverName: string, toolName: string): CatalogTool {
    const server = this.server(serverName);
    const original =
      resolveToolName(toolName, server.identifiers) ??
      (server.tools.some((t) => t.name === toolName) ? toolName : undefined);
    const found =
      original === undefined ? undefined : server.tools.find((t) => t.name === original);
    if (found) return found;
    const hints = suggest(
      toolName,
      server.tools.map((t) => t.identifier),
    );
    throw new OptimizerError(
      ErrorCodes.TOOL_NOT_FOUND,
      `${server.identifier} has no tool "${toolName}".${hints.length ? ` Did you mean ${hints.map((h) => `${server.identifier}.${h}`).join(" or ")}?` : ""} Use mcp.search("...") to find tools.`,
      { details: { server: server.name, tool: toolName } },
    );
  }

  /** Resolves "server.tool" (names or identifiers). */
  qualified(name: string): CatalogTool {
    const dot = name.indexOf(".");
    if (dot <= 0) {
      throw new OptimizerError(
        ErrorCodes.TOOL_NOT_FOUND,
        `Name tools as "server.tool"; got "${name}".`,
      );
    }
    return this.tool(name.slice(0, dot), name.slice(dot + 1));
  }

  search(
    query: string,
    options: {
      limit?: number;
      detail?: DetailLevel;
      server?: string;
      allow?: SessionAllowlist;
    } = {},
  ): SearchHit[] {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 10), 1), 50);
    const detail = options.detail ?? "signature";
    const serverFilter =
      options.server === undefined ? undefined : this.server(options.server).name;
    const hits = this.index.search(query, {
      limit: limit * 3,
      ...(serverFilter ? { server: serverFilter } : {}),
    });
    const out: SearchHit[] = [];
    for (const hit of hits) {
      const t = this.qualified(hit.id);
      if (options.allow && !serverVisible(options.allow, t.server)) continue;
      out.push(this.hit(t, hit.score, detail));
      if (out.length >= limit) break;
    }
    return out;
  }

  describe(name: string): ToolDescription {
    const t = this.qualified(name);
    return {
      name: t.qualifiedName,
      call: `${t.serverIdentifier}.${t.identifier}`,
      ...(t.tool.description ? { description: t.tool.description } : {}),
      declaration: this.fullDeclaration(t),
      inputSchema: t.tool.inputSchema,
      ...(t.tool.outputSchema ? { outputSchema: t.tool.outputSchema } : {}),
      annotations: effectiveAnnotations(t.tool.annotations),
    };
  }

  /** One server's complete `.d.ts`. */
  serverTypes(name: string): string {
    const s = this.server(name);
    const key = `server:${s.name}`;
    let text = this.declarations.get(key);
    if (!text) {
      text = serverDeclarations({
        name: s.name,
        identifier: s.identifier,
        ...(s.description ? { description: s.description } : {}),
        tools: s.tools.map((t) => this.declarationInput(t)),
      });
      this.declarations.set(key, text);
    }
    return text;
  }

  /** The `.d.ts` of the guest's own globals: mcp, state, console. */
  globalTypes(): string {
    return guestGlobalsDeclaration(
      this.listServers().map((s) => ({
        name: s.name,
        identifier: s.identifier,
        toolCount: s.tools.length,
      })),
    );
  }

  /** One tool's declaration with its named types. */
  fullDeclaration(t: CatalogTool): string {
    const key = `tool:${t.qualifiedName}`;
    let text = this.declarations.get(key);
    if (!text) {
      const { declaration, types } = toolDeclaration(this.declarationInput(t), {
        serverIdentifier: t.serverIdentifier,
      });
      text = `${types ? `${types.trim()}\n\n` : ""}declare namespace ${t.serverIdentifier} {\n${indent(declaration.trim())}\n}`;
      this.declarations.set(key, text);
    }
    return text;
  }

  /** `server.tool(args: {...}): Promise<...>` in one line. */
  signature(t: CatalogTool): string {
    let text = this.signatures.get(t.qualifiedName);
    if (!text) {
      const input = schemaToType(t.tool.inputSchema).replace(/\s*\n\s*/g, " ");
      const output = t.tool.outputSchema
        ? schemaToType(t.tool.outputSchema).replace(/\s*\n\s*/g, " ")
        : "unknown";
      const required =
        Array.isArray(t.tool.inputSchema.required) && t.tool.inputSchema.required.length > 0;
      text = `${t.serverIdentifier}.${t.identifier}(args${required ? "" : "?"}: ${input}): Promise<${output}>`;
      this.signatures.set(t.qualifiedName, text);
    }
    return text;
  }

  private hit(t: CatalogTool, score: number, detail: DetailLevel): SearchHit {
    const base: SearchHit = {
      name: t.qualifiedName,
      server: t.server,
      tool: t.name,
      call: `${t.serverIdentifier}.${t.identifier}`,
      score: Math.round(score * 1000) / 1000,
    };
    const summary = firstSentence(t.tool.description ?? t.tool.title);
    if (detail === "name") return summary ? { ...base, description: summary } : base;
    const annotations = t.tool.annotations;
    if (detail === "signature") {
      return {
        ...base,
        ...(summary ? { description: summary } : {}),
        signature: this.signature(t),
        ...(annotations ? { annotations } : {}),
      };
    }
    return {
      ...base,
      ...(t.tool.description ? { description: t.tool.description } : {}),
      signature: this.signature(t),
      declaration: this.fullDeclaration(t),
      annotations: effectiveAnnotations(annotations),
    };
  }

  private declarationInput(t: CatalogTool) {
    return {
      name: t.name,
      identifier: t.identifier,
      ...(t.tool.title ? { title: t.tool.title } : {}),
      ...(t.tool.description ? { description: t.tool.description } : {}),
      inputSchema: t.tool.inputSchema,
      ...(t.tool.outputSchema ? { outputSchema: t.tool.outputSchema } : {}),
      ...(t.tool.annotations ? { annotations: t.tool.annotations } : {}),
    };
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => (l ? `  ${l}` : l))
    .join("\n");
}
