import type { JsonObject } from "../json.js";

/** Which servers and tools a session may call. Absent means everything configured. */
export interface SessionAllowlist {
  /** Server names, e.g. ["github"]. */
  servers?: string[];
  /** Qualified tool names or patterns: "github.list_issues", "github.*". */
  tools?: string[];
  /** Tools refused even when the lists above allow them. */
  deny?: string[];
}

export interface SessionToolCallLog {
  server: string;
  tool: string;
  outcome: "ok" | "error";
  errorCode?: string;
  durationMs: number;
  /** The result came from the memo cache; the upstream was not called. */
  cached?: boolean;
}

/** One line of the execution log, kept for audit, approvals and replay. */
export interface SessionLogEntry {
  executionId: string;
  at: string;
  kind: "run" | "operation";
  /** The operation name, for `execute()`. */
  operation?: string;
  /** The program, cut to a few KB. */
  code: string;
  outcome: "ok" | "error";
  errorCode?: string;
  durationMs: number;
  mode: string;
  /** What the sandbox noted, e.g. a hybrid sandbox's fallbacks ("fell back from docker (...) to wasm"). */
  notes?: string[];
  toolCalls: SessionToolCallLog[];
  tokens: { used: number; plainMcp: number };
}

export interface SessionCounters {
  executions: number;
  toolCalls: number;
  tokensUsed: number;
  tokensPlainMcp: number;
  costUsd: number;
}

export interface SessionSnippet {
  code: string;
  description?: string;
  updatedAt: string;
}

/** The data of a session, as stored. */
export interface SessionData {
  tenant: string;
  allow: SessionAllowlist;
  state: JsonObject;
  /** Small workspace files: path -> UTF-8 content. */
  files: Record<string, string>;
  snippets: Record<string, SessionSnippet>;
  /** Newest last; stores keep a bounded tail. */
  log: SessionLogEntry[];
  counters: SessionCounters;
}

export interface SessionRecord extends SessionData {
  id: string;
  /** Increases by one on every successful update; the compare-and-set token. */
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Sliding time to live in milliseconds. */
  ttlMs: number;
  expiresAt: string;
}

export interface SessionCreateInput extends Partial<SessionData> {
  id: string;
  ttlMs?: number;
}

export interface SessionSummary {
  id: string;
  tenant: string;
  version: number;
  updatedAt: string;
  expiresAt: string;
}

export interface SessionListOptions {
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /** Page size; stores cap it. */
  limit?: number;
}

export interface SessionListPage {
  sessions: SessionSummary[];
  cursor?: string;
}

/** Why a cached copy of a session must be dropped. */
export interface SessionChange {
  id: string;
  version: number | null;
}

/**
 * Sessions, with compare-and-set updates: `update(id, expectedVersion, next)` fails with
 * SESSION_CONFLICT when another writer got there first; re-read and try again.
 * Implementations: MemorySessionStore (core), @mcp-optimizer/sessions-redis.
 */
export interface SessionStore {
  /** Stable name for metrics and capability reports, e.g. "memory". */
  readonly kind: string;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Fails with SESSION_EXISTS when the id is taken. */
  create(input: SessionCreateInput): Promise<SessionRecord>;
  /** Writes `next` when the stored version equals `expectedVersion`; returns the new record. */
  update(id: string, expectedVersion: number, next: SessionData): Promise<SessionRecord>;
  /** Slides the TTL (optionally to a new one); false when the session does not exist. */
  touch(id: string, ttlMs?: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  list(tenant: string, options?: SessionListOptions): Promise<SessionListPage>;
  /** Hears about writes made elsewhere (other replicas), where the backend can tell. */
  subscribe?(listener: (change: SessionChange) => void): () => void;
  /** Reachability, for `capabilities`. */
  ping?(): Promise<void>;
  close(): Promise<void>;
}
