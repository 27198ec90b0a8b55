import type { JsonObject, JsonValue } from "../json.js";

/** The modes a `SandboxConfig` can name. Plug-ins may add their own. */
export type SandboxMode = "process" | "wasm" | "docker" | "gvisor" | "hybrid";

/** Limits that apply to one execution. */
export interface SandboxLimits {
  /** Wall-clock limit of one execution in milliseconds, tool calls included. */
  timeoutMs: number;
  /** Memory ceiling of the runner in MiB. */
  maxMemoryMb: number;
  /** Largest result (returned value plus state) a program may hand back, in bytes. */
  maxOutputBytes: number;
  /** Console output kept per execution, in bytes; the rest is dropped with a notice. */
  maxLogBytes: number;
}

/** One upstream server as the guest sees it: a global object with one function per tool. */
export interface GuestServer {
  /** The server's name in the `mcpServers` config. */
  name: string;
  /** The JavaScript identifier the server is bound to in the guest. */
  global: string;
  /** JavaScript identifiers of its tools (see docs/identifiers.md). */
  tools: string[];
}

/** Facts about an execution that a routing sandbox (hybrid) may decide on. */
export interface ExecutionHints {
  /** The program references a tool that is not annotated read-only. */
  mayWrite?: boolean;
  /** The program references a tool annotated destructive (or not annotated at all). */
  mayDestroy?: boolean;
  /** The caller asked for a workspace with files. */
  needsFiles?: boolean;
  /** The caller asked for a time limit above the default. */
  longRunning?: boolean;
  /** A mode the caller asked for explicitly. */
  preferMode?: string;
}

/** One program to run. `code` is JavaScript: the body of an async function. */
export interface SandboxJob {
  id: string;
  code: string;
  servers: GuestServer[];
  /** The session's persisted `state`; the guest may change it. */
  state: JsonObject;
  limits: SandboxLimits;
  hints?: ExecutionHints;
}

/** A request the guest makes to the host over the bridge. */
export type GuestRequest =
  | { kind: "tool"; server: string; tool: string; args: JsonValue; raw: boolean }
  | { kind: "search"; query: string; options: JsonObject }
  | { kind: "describe"; name: string }
  | { kind: "handle"; id: string }
  /** `skills.name(input)`: the host answers `{ code, input }`, which the guest runs in the program's realm. */
  | { kind: "skill"; name: string; input: JsonValue }
  | ContextRequest
  | { kind: "capabilities" };

/**
 * The guest's `context` (a principal's keys, shared by its sessions): one operation. `absent`
 * on an update means the caller expects the key not to exist (JSON has no undefined).
 */
export interface ContextRequest {
  kind: "context";
  op: "get" | "set" | "delete" | "list" | "update";
  key?: string;
  prefix?: string;
  value?: JsonValue;
  expected?: JsonValue;
  absent?: boolean;
  /** `{ ttl }` in ms, as the program passed it. */
  options?: JsonValue;
}

/** The host side of one execution: answers the guest's requests. */
export interface SandboxHost {
  /** Resolves to the value handed to the guest; rejects with an OptimizerError. */
  call(request: GuestRequest): Promise<JsonValue | undefined>;
}

export interface LogEntry {
  level: "log" | "info" | "warn" | "error" | "debug";
  text: string;
}

export interface SandboxOutcome {
  /** The program's return value (undefined when it returned nothing). */
  value: JsonValue | undefined;
  /** The state after the program ran. */
  state: JsonObject;
  logs: LogEntry[];
  /** True when console output went over `maxLogBytes` and was cut. */
  logsTruncated: boolean;
  /** Time inside the sandbox, from sending the job to the last frame. */
  durationMs: number;
  /** The mode that actually ran the job (a hybrid sandbox names the one it chose). */
  mode: string;
  /** Routing notes from a composing sandbox (fallbacks taken, ...). */
  notes?: string[];
}

/** What a sandbox can do here and now, for `capabilities` and routing. */
export interface SandboxCapabilities {
  mode: string;
  available: boolean;
  /** Why it is not available, or what degrades it. */
  reason?: string;
  /** The kind of boundary: a resource limit, a language VM, a container, a user-space kernel. */
  isolation: "resource" | "language" | "container" | "kernel" | "composite";
  /** Effective limits and engine facts (versions, runtime, namespaces, ...). */
  details: Record<string, unknown>;
}

export interface SandboxOpenOptions {
  /** The optimizer session this runner serves (for labels and logs). */
  sessionId?: string;
  /** The memory ceiling for this runner; defaults to the sandbox's own. */
  maxMemoryMb?: number;
}

/** A long-lived runner that serves one optimizer session. */
export interface SandboxSession {
  readonly id: string;
  /** Runs one job; rejects with an OptimizerError. Jobs on one session run one at a time. */
  execute(job: SandboxJob, host: SandboxHost): Promise<SandboxOutcome>;
  /** Stops the runner. Idempotent. */
  close(): Promise<void>;
}

export interface Sandbox {
  /** The mode name, e.g. "process". */
  readonly mode: string;
  capabilities(): Promise<SandboxCapabilities>;
  /** Opens a runner (from a warm pool where the sandbox keeps one). */
  open(options?: SandboxOpenOptions): Promise<SandboxSession>;
  /** Stops every runner it started. Idempotent. */
  close(): Promise<void>;
  /**
   * Runner counts for the pool gauge, one entry per mode (a composing sandbox lists its
   * members). Synchronous and cheap: it runs on every metrics scrape. Optional.
   */
  poolStats?(): SandboxPoolStats[];
}

/** What a sandbox reports about its runners, for the pool gauge. */
export interface SandboxPoolStats {
  mode: string;
  /** Warm runners waiting for a session. */
  idle: number;
  /** Runners serving sessions. */
  active: number;
}

/**
 * What a sandbox package exports so that `sandboxConfig.mode` can load it by name:
 * `export const createSandbox: SandboxFactory = ...`.
 */
export type SandboxFactory = (options: {
  mode: string;
  defaults: SandboxLimits;
}) => Sandbox | Promise<Sandbox>;
