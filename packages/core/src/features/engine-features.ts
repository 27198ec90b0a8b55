import { randomUUID } from "node:crypto";
import type { AuditSink, FeatureChangeAuditRecord } from "../contracts/audit-sink.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import {
  type FeatureName,
  type FeatureSettings,
  type FeatureState,
  featureChanges,
  type ResolvedFeatures,
  resolveFeatures,
} from "./feature-flags.js";

export interface FeatureChange {
  flag: FeatureName;
  from: boolean;
  to: boolean;
  source: string;
}

/**
 * The flags of one running optimizer. Parts read `on(name)` when they are used, so a change
 * takes effect from the next request; a change is audited, and one that needs a restart (a
 * sandbox mode) is refused whole.
 */
export class EngineFeatures {
  private resolved: ResolvedFeatures;

  constructor(
    settings: FeatureSettings | undefined,
    private readonly audit: readonly AuditSink[],
    private readonly tenant: string,
  ) {
    this.resolved = resolveFeatures(settings);
  }

  /** Whether a flag is on now. */
  on(name: FeatureName): boolean {
    return this.resolved[name].value;
  }

  /** Every flag with its value and where it came from. */
  list(): FeatureState[] {
    return Object.values(this.resolved);
  }

  /** The flags that are on, by name: what `mcp.capabilities()` shows a program. */
  enabled(): Record<string, boolean> {
    return Object.fromEntries(this.list().map((f) => [f.name, f.value]));
  }

  /**
   * Replaces the settings (flags not named go back to their defaults). Refuses, changing
   * nothing, when a flag that takes a restart would change; audits what changed.
   */
  set(settings: FeatureSettings, actor: string): FeatureChange[] {
    const next = resolveFeatures(settings);
    const changes = featureChanges(this.resolved, next);
    const fixed = changes.filter((c) => !next[c.flag].reloadable);
    if (fixed.length > 0) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `Feature flag ${fixed.map((c) => `"${c.flag}"`).join(", ")} takes a restart to change; nothing was changed.`,
        { details: { flags: fixed.map((c) => c.flag) } },
      );
    }
    this.resolved = next;
    if (changes.length > 0) this.record(changes, actor);
    return changes;
  }

  private record(changes: FeatureChange[], actor: string): void {
    const record: FeatureChangeAuditRecord = {
      type: "feature_change",
      at: new Date().toISOString(),
      executionId: `features-${randomUUID()}`,
      sessionId: "-",
      tenant: this.tenant,
      actor,
      outcome: "ok",
      durationMs: 0,
      changes,
    };
    for (const sink of this.audit) {
      try {
        const written = sink.write(record);
        if (written && typeof (written as Promise<void>).catch === "function")
          (written as Promise<void>).catch(() => {});
      } catch {}
    }
  }
}
