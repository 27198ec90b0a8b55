import { randomUUID } from "node:crypto";
import {
  type ApprovalOptions,
  type AuditRecord,
  type AuditSink,
  EngineFeatures,
  ErrorCodes,
  type FeatureChange,
  MCPOptimizer,
  OptimizerError,
  type SessionLeaseSettings,
  type SessionStore,
} from "@mcp-optimizer/core";
import type { Quotas } from "../config/gateway-config-schema.js";
import type { ResolvedTenant } from "../config/load-gateway-config.js";

/** Sessions of the warm-up runs: outside every client's scope, counted in no quota. */
export const WARM_UP_SESSION_PREFIX = "gateway-warm-up.";

/** One tenant's engine in this replica. */
export interface TenantRuntime {
  name: string;
  optimizer: MCPOptimizer;
  quotas: Quotas;
}

export interface TenantRuntimesOptions {
  tenants: ReadonlyMap<string, ResolvedTenant>;
  /** The store every tenant's sessions live in (shared; tenants never close it). */
  sessions: SessionStore;
  /** Runtimes kept open at most; the least recently used idle one is closed first. Default 32. */
  maxOpen?: number;
  /** Audit sinks every tenant writes to (shared; a tenant closing does not close them). Default none. */
  audit?: AuditSink[];
  /** Time to live of new sessions, ms. Default: core's (1 h). */
  sessionTtlMs?: number;
  /** How executions of one session take turns. Default: core's. */
  sessionLease?: SessionLeaseSettings;
  /** Variables for `${VAR}` in servers. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Approvals before side effects (docs/approvals-and-skills.md). Default: off. */
  approvals?: ApprovalOptions | false;
}

/**
 * One MCPOptimizer per tenant inside a replica (ADR 0020): its servers with its credentials,
 * its allowlist, sandbox mode and tool-call limit, sharing the replica's session store. Made
 * on first use and kept while used; beyond `maxOpen`, the least recently used tenant with no
 * request in flight is closed (its upstreams stop, its sandbox runners end; sessions stay in
 * the store).
 */
export class TenantRuntimes {
  private readonly open = new Map<string, { runtime: TenantRuntime; users: number }>();
  /** The tenants as configured; their feature flags change on reload. */
  private readonly tenants: Map<string, ResolvedTenant>;
  private closed = false;

  constructor(private readonly options: TenantRuntimesOptions) {
    this.tenants = new Map(options.tenants);
  }

  has(name: string): boolean {
    return this.tenants.has(name);
  }

  /**
   * Takes each configured tenant's flags from `next` (a config read again): open tenants change
   * from their next request, closed ones open with them; every change is audited. Refuses,
   * changing nothing, when a flag that takes a restart would change for any tenant. Tenants
   * added to or removed from `next` are left to a restart (the caller reports them).
   */
  reloadFeatures(
    next: ReadonlyMap<string, ResolvedTenant>,
    actor: string,
  ): { tenant: string; changes: FeatureChange[] }[] {
    const kept = [...this.tenants.values()].filter((t) => next.has(t.name));
    // Checked on throwaway flags (no audit) first, so a refusal changes no tenant.
    for (const tenant of kept) {
      try {
        new EngineFeatures(tenant.features, [], tenant.name).set(
          next.get(tenant.name)!.features,
          actor,
        );
      } catch (error) {
        throw new OptimizerError(
          ErrorCodes.INVALID_CONFIG,
          `Tenant "${tenant.name}": ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    return kept.map((tenant) => {
      const features = next.get(tenant.name)!.features;
      this.tenants.set(tenant.name, { ...tenant, features });
      const open = this.open.get(tenant.name);
      // A closed tenant has no engine to audit the change: a throwaway set of flags does it.
      const changes = open
        ? open.runtime.optimizer.setFeatures(features, { actor })
        : new EngineFeatures(tenant.features, this.sharedAudit(), tenant.name).set(features, actor);
      return { tenant: tenant.name, changes };
    });
  }

  /** The tenant's runtime, held until `release()` (it is not closed while held). */
  acquire(name: string): { runtime: TenantRuntime; release(): void } {
    if (this.closed) throw new Error("The gateway is shutting down.");
    let entry = this.open.get(name);
    if (entry)
      this.open.delete(name); // re-inserted last: most recently used
    else entry = { runtime: this.create(name), users: 0 };
    this.open.set(name, entry);
    entry.users++;
    this.evictIdle();
    let released = false;
    const held = entry;
    return {
      runtime: entry.runtime,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        this.evictIdle();
      },
    };
  }

  /**
   * Opens the tenant and runs one trivial program in a throwaway session (outside every
   * client's scope), so that its sandbox, tokenizer and upstreams are loaded before the first
   * client waits for them. A failure is the caller's to report; the tenant stays open.
   */
  async warm(name: string): Promise<void> {
    const held = this.acquire(name);
    try {
      const { optimizer } = held.runtime;
      const sessionId = `${WARM_UP_SESSION_PREFIX}${randomUUID()}`;
      await optimizer.run("return 1", { sessionId, actor: "gateway" });
      await optimizer.deleteSession(sessionId);
    } finally {
      held.release();
    }
  }

  /** Tenants open in this replica now (for readiness and tests). */
  openTenants(): string[] {
    return [...this.open.keys()];
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map((e) => e.runtime.optimizer.close()));
  }

  private sharedAudit(): AuditSink[] {
    return (this.options.audit ?? []).map(unclosable);
  }

  private create(name: string): TenantRuntime {
    const tenant = this.tenants.get(name);
    if (!tenant) throw new Error(`No tenant "${name}" is configured.`);
    const shared = this.sharedAudit();
    const optimizer = new MCPOptimizer({
      sandboxConfig: tenant.sandbox,
      mcpServers: tenant.mcpServers,
      sessions: this.options.sessions,
      sessionDefaults: {
        tenant: name,
        allow: tenant.allow,
        ...(this.options.sessionTtlMs ? { ttlMs: this.options.sessionTtlMs } : {}),
      },
      ...(this.options.sessionLease ? { sessionLease: this.options.sessionLease } : {}),
      ...(tenant.quotas.toolCallsPerExecution !== undefined
        ? { maxToolCallsPerExecution: tenant.quotas.toolCallsPerExecution }
        : {}),
      audit: shared,
      features: tenant.features,
      ...(tenant.context ? { context: tenant.context } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
      ...(this.options.approvals !== undefined ? { approvals: this.options.approvals } : {}),
    });
    // Started in the background: requests wait for what they need.
    optimizer.start().catch(() => {});
    return { name, optimizer, quotas: tenant.quotas };
  }

  private evictIdle(): void {
    const max = this.options.maxOpen ?? 32;
    if (this.open.size <= max) return;
    for (const [name, entry] of this.open) {
      if (this.open.size <= max) break;
      if (entry.users > 0) continue;
      this.open.delete(name);
      void entry.runtime.optimizer.close().catch(() => {});
    }
  }
}

/** A shared sink seen through one tenant: the tenant's close() must not close it. */
function unclosable(sink: AuditSink): AuditSink {
  return {
    write: (record: AuditRecord) => sink.write(record),
    ...(sink.flush ? { flush: () => sink.flush!() } : {}),
  };
}
