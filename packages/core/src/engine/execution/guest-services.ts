import { ExecutionContext } from "../../context/execution-context.js";
import { createPrincipalContext } from "../../context/principal-context.js";
import type { SessionRecord } from "../../contracts/session-store.js";
import type { JsonValue } from "../../json.js";
import type { EngineParts } from "./engine-parts.js";

/**
 * The principal's `context` for one execution, or undefined when the `context` flag is off
 * (the guest's calls then fail with FEATURE_DISABLED). Scoped by the session's tenant.
 */
export function openContext(
  parts: EngineParts,
  session: SessionRecord,
  principal: string,
): ExecutionContext | undefined {
  if (!parts.features.on("context")) return undefined;
  const context = createPrincipalContext({
    entries: parts.sessions.entries,
    tenant: session.tenant,
    principal,
    ...parts.settings.context,
  });
  return new ExecutionContext(context, parts.redactor);
}

/**
 * What `mcp.capabilities()` tells a program about its session, so that it can degrade
 * gracefully: the servers it may call, their tools, the sandbox mode and the flags.
 */
export function guestCapabilities(parts: EngineParts, session: SessionRecord): () => JsonValue {
  return () => {
    const servers = parts.catalog.guestServers(session.allow);
    return {
      servers: servers.map((s) => ({ name: s.name, global: s.global, tools: s.tools.length })),
      tools: servers.reduce((n, s) => n + s.tools.length, 0),
      sandbox: { mode: parts.sandboxMode },
      features: parts.features.enabled(),
    };
  };
}
