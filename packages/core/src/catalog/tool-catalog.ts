import type { Embedder } from "../contracts/embedder.js";
import type { GuestServer } from "../contracts/sandbox.js";
import type { SessionAllowlist } from "../contracts/session-store.js";
import type { ToolUsageStore } from "../contracts/tool-usage-store.js";
import type { ToolAnnotations, UpstreamTool } from "../contracts/upstream.js";
import { restricts, serverVisible, toolVisible } from "../engine/policy.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonObject } from "../json.js";
import {
  assignIdentifiers,
  GUEST_GLOBALS,
  resolveToolName,
  suggest,
  toIdentifier,
} from "./identifiers.js";
import { LearnedRanking, type LearnedRankingOptions } from "./learned-ranking.js";
import {
  guestGlobalsDeclaration,
  schemaToType,
  serverDeclarations,
  toolDeclaration,
} from "./schema-to-typescript.js";
import { SearchFeedback } from "./search-feedback.js";
import { createSearchIndex, type SearchIndex } from "./search-index.js";
import { reciprocalRankFusion, VectorIndex } from "./vector-index.js";

/** How the catalog ranks beyond its lexical index. */
export interface CatalogSearchOptions {
  /** Hybrid ranking: lexical and vector ranks fused by reciprocal rank fusion. Default: lexical only. */
  embedder?: Embedder;
  /** Learned from use: (search term, called tool) pairs per tenant rank later searches. Default: off. */
  usage?: ToolUsageStore;
  /** Tuning of the learned ranking (minimum sessions, weight, smoothing). Default: LearnedRanking's. */
  learned?: Omit<LearnedRankingOptions, "store">;
  /** The k of reciprocal rank fusion. Default 60. */
  fusionK?: number;
  /**
   * The vector ranking's weight in the fusion, the lexical ranking's being 1: below 1 for a
   * model weaker than the lexical ranker (0.2 for Universal Sentence Encoder lite). Default 1.
   */
  vectorWeight?: number;
}

/** How many lexical and vector candidates enter fusion. */
const CANDIDATES = 50;

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
  /** "skill" for a saved skill (`skills.name(input)`); absent for an upstream tool. */
  kind?: "skill";
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
  private readonly updateListeners = new Set<() => void>();
  private searchOptions: CatalogSearchOptions = {};
  private learned: LearnedRanking | undefined;
  private readonly feedback = new SearchFeedback();
  private vectors: VectorIndex | undefined;
  private vectorsVersion = -1;

  get version(): number {
    return this._version;
  }

  /** Calls `listener` after each update (a server connected or changed its tools); returns its remover. */
  onUpdate(listener: () => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
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
    for (const listener of this.updateListeners) {
      try {
        listener();
      } catch {}
    }
  }

  /**
   * Turns on hybrid ranking (an Embedder) and learned-from-use ranking (a ToolUsageStore).
   * Either may fail at search time without failing the search: it then ranks lexically.
   */
  configureSearch(options: CatalogSearchOptions): void {
    this.searchOptions = options;
    this.learned = options.usage
      ? new LearnedRanking({ ...options.learned, store: options.usage })
      : undefined;
    this.vectors = options.embedder ? new VectorIndex(options.embedder) : undefined;
    this.vectorsVersion = -1;
  }

  /**
   * A call a session's program made: when one of the session's recent searches listed the
   * tool, the words of those searches and the tool are recorded for learning.
   */
  noteCall(tenant: string, sessionId: string, qualifiedName: string): void {
    if (!this.learned) return;
    const searches = this.feedback.searchesFor(tenant, sessionId, qualifiedName);
    if (!searches) return;
    const terms = [...new Set(searches.flat())];
    void this.learned.record(tenant, sessionId, terms, qualifiedName);
  }

  /** Waits for learned pairs still being written (before closing their store). */
  async flushSearch(): Promise<void> {
    await this.learned?.flush();
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

  /**
   * The servers and tools a session's allowlist lets it call, and nothing else: what every
   * discovery surface (globals, search, describe, types, resources, the meta-tools) shows.
   */
  visibleServers(allow?: SessionAllowlist): CatalogServer[] {
    if (!restricts(allow)) return this.listServers();
    const visible: CatalogServer[] = [];
    for (const s of this.servers.values()) {
      if (!serverVisible(allow!, s.name)) continue;
      const tools = s.tools.filter((t) => toolVisible(allow!, s.name, t.name));
      if (tools.length === 0 && s.tools.length > 0) continue;
      visible.push(tools.length === s.tools.length ? s : { ...s, tools });
    }
    return visible;
  }

  /** The globals one session's programs get: only what it may call. */
  guestServers(allow: SessionAllowlist = {}): GuestServer[] {
    return this.visibleServers(allow).map((s) => ({
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

  /**
   * Ranked search: lexical (BM25F), plus what this tenant's sessions called after similar
   * searches (when a usage store is configured and a tenant given), fused with vector ranks
   * (when an embedder is configured). With a session, the search is remembered so that a
   * call to one of its hits teaches the ranking.
   */
  async search(
    query: string,
    options: {
      limit?: number;
      detail?: DetailLevel;
      server?: string;
      allow?: SessionAllowlist;
      /** The tenant whose learned pairs rank this search. Default: none (no learned ranking). */
      tenant?: string;
      /** The session searching, so that its next calls teach the ranking. Default: none. */
      sessionId?: string;
    } = {},
  ): Promise<SearchHit[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 10), 1), 50);
    const detail = options.detail ?? "signature";
    const serverFilter =
      options.server === undefined ? undefined : this.server(options.server).name;
    const index = this.index;
    let ranked = index.search(query, {
      limit: Math.max(CANDIDATES, limit * 3),
      ...(serverFilter ? { server: serverFilter } : {}),
    });
    const terms = index.terms(query);
    if (this.learned && options.tenant !== undefined && terms.length > 0) {
      ranked = await this.withLearned(
        ranked,
        options.tenant,
        terms,
        index.scale(query),
        serverFilter,
      );
    }
    if (this.vectors) ranked = await this.withVectors(ranked, query, serverFilter);
    const out: SearchHit[] = [];
    for (const hit of ranked) {
      const t = this.qualified(hit.id);
      if (options.allow && !toolVisible(options.allow, t.server, t.name)) continue;
      out.push(this.hit(t, hit.score, detail));
      if (out.length >= limit) break;
    }
    if (this.learned && options.tenant !== undefined && options.sessionId !== undefined) {
      this.feedback.noteSearch(
        options.tenant,
        options.sessionId,
        terms.map((t) => t.term),
        out.map((h) => h.name),
      );
    }
    return out;
  }

  /** Lexical scores on the request's own scale (a perfect match near 1) plus the bounded learned bonus. */
  private async withLearned(
    ranked: { id: string; score: number }[],
    tenant: string,
    terms: { term: string; idf: number }[],
    scale: number,
    serverFilter: string | undefined,
  ): Promise<{ id: string; score: number }[]> {
    const bonus = await this.learned!.scores(tenant, terms);
    if (bonus.size === 0) return ranked;
    const scores = new Map(ranked.map((h) => [h.id, h.score / scale]));
    for (const [id, b] of bonus) {
      const [server] = id.split(".", 1);
      if (serverFilter !== undefined && server !== serverFilter) continue;
      if (!this.hasQualified(id)) continue; // a tool that is gone since
      scores.set(id, (scores.get(id) ?? 0) + b);
    }
    return [...scores]
      .map(([id, score]) => ({ id, score }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }

  /** Reciprocal rank fusion of the ranking so far with the vector ranking; lexical alone when the embedder fails. */
  private async withVectors(
    ranked: { id: string; score: number }[],
    query: string,
    serverFilter: string | undefined,
  ): Promise<{ id: string; score: number }[]> {
    try {
      if (this.vectorsVersion !== this._version) {
        await this.vectors!.prepare(
          this.listTools().map((t) => ({ id: t.qualifiedName, text: embeddingText(t) })),
        );
        this.vectorsVersion = this._version;
      }
      const semantic = (await this.vectors!.rank(query, CANDIDATES * 4)).filter(
        (h) => serverFilter === undefined || h.id.startsWith(`${serverFilter}.`),
      );
      return reciprocalRankFusion(
        [ranked, semantic.slice(0, CANDIDATES)],
        this.searchOptions.fusionK ?? 60,
        [1, this.searchOptions.vectorWeight ?? 1],
      );
    } catch {
      return ranked;
    }
  }

  private hasQualified(id: string): boolean {
    const dot = id.indexOf(".");
    const server = this.servers.get(id.slice(0, dot));
    return server?.tools.some((t) => t.name === id.slice(dot + 1)) ?? false;
  }

  /** A tool's full description; a tool the allowlist denies is refused (TOOL_DENIED). */
  describe(name: string, allow?: SessionAllowlist): ToolDescription {
    const t = this.qualified(name);
    if (allow) assertVisible(allow, t);
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

  /** One server's complete `.d.ts`: the tools the allowlist lets the session call. */
  serverTypes(name: string, allow?: SessionAllowlist): string {
    const found = this.server(name);
    const s = restricts(allow)
      ? this.visibleServers(allow).find((v) => v.name === found.name)
      : found;
    if (!s) {
      throw new OptimizerError(
        ErrorCodes.TOOL_DENIED,
        `${found.identifier} is not visible to this session.`,
        { details: { server: found.name } },
      );
    }
    // Cached per set of tools shown: a restricted view has its own text.
    const key = `server:${s.name}:${s === found ? "*" : s.tools.map((t) => t.name).join(",")}`;
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

  /** The `.d.ts` of the guest's own globals: mcp, state, console, the visible servers. */
  globalTypes(allow?: SessionAllowlist): string {
    return guestGlobalsDeclaration(
      this.visibleServers(allow).map((s) => ({
        name: s.name,
        identifier: s.identifier,
        toolCount: s.tools.length,
      })),
    );
  }

  /** One tool's declaration, refused (TOOL_DENIED) when the allowlist denies the tool. */
  toolTypes(server: string, tool: string, allow?: SessionAllowlist): string {
    const t = this.tool(server, tool);
    if (allow) assertVisible(allow, t);
    return this.fullDeclaration(t);
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
      const input = schemaToType(t.tool.inputSchema, { brief: true }).replace(/\s*\n\s*/g, " ");
      const output = t.tool.outputSchema
        ? schemaToType(t.tool.outputSchema, { brief: true }).replace(/\s*\n\s*/g, " ")
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

/** What a tool's vector is made of: its server, name, title, description and parameter names. */
function embeddingText(t: CatalogTool): string {
  const params = Object.keys((t.tool.inputSchema.properties ?? {}) as Record<string, unknown>);
  return [
    `${t.server} ${t.name}${t.tool.title ? `: ${t.tool.title}` : ""}`,
    (t.tool.description ?? "").slice(0, 1000),
    params.length ? `Parameters: ${params.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => (l ? `  ${l}` : l))
    .join("\n");
}

function assertVisible(allow: SessionAllowlist, t: CatalogTool): void {
  if (!toolVisible(allow, t.server, t.name)) {
    throw new OptimizerError(
      ErrorCodes.TOOL_DENIED,
      `${t.serverIdentifier}.${t.identifier} is not visible to this session: its allowlist does not permit it.`,
      { details: { server: t.server, tool: t.name } },
    );
  }
}
