import type { ResolvedGatewayConfig } from "./load-gateway-config.js";

/**
 * The parts of a config read again that differ from the running one, beside the tenants'
 * feature flags (which reload): top-level settings by name, tenants by `tenants.<name>`, and
 * tenants added or removed. Each of these takes a restart.
 */
export function changedBesideFeatures(
  running: ResolvedGatewayConfig,
  next: ResolvedGatewayConfig,
): string[] {
  const changed: string[] = [];
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  keys.delete("tenants");
  for (const key of keys) {
    const a = (running as unknown as Record<string, unknown>)[key];
    const b = (next as unknown as Record<string, unknown>)[key];
    if (canonical(a) !== canonical(b)) changed.push(key);
  }
  const names = new Set([...running.tenants.keys(), ...next.tenants.keys()]);
  for (const name of names) {
    const a = running.tenants.get(name);
    const b = next.tenants.get(name);
    if (!a || !b) changed.push(`tenants.${name} (${a ? "removed" : "added"})`);
    else if (canonical({ ...a, features: undefined }) !== canonical({ ...b, features: undefined }))
      changed.push(`tenants.${name}`);
  }
  return changed;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v instanceof Map ? Object.fromEntries(v) : v instanceof URL ? v.href : v,
  );
}
