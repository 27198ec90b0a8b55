import type { SessionAllowlist } from "../contracts/session-store.js";
import { ErrorCodes, OptimizerError } from "../errors.js";

const ALLOWLIST_KEYS = ["servers", "tools", "deny"] as const;

/**
 * An allowlist is `{ servers?, tools?, deny? }`, each a list of strings; anything else (a
 * misspelt key, `{ github: ["list_issues"] }`) would allow more than meant, so it is refused.
 */
export function assertAllowlist(allow: unknown, where: string): asserts allow is SessionAllowlist {
  const shape = `${where} is { servers?: string[], tools?: string[], deny?: string[] } (tools as "server.tool" or a pattern like "github.*")`;
  if (typeof allow !== "object" || allow === null || Array.isArray(allow)) {
    throw new OptimizerError(ErrorCodes.INVALID_CONFIG, `${shape}; got ${JSON.stringify(allow)}.`);
  }
  for (const [key, value] of Object.entries(allow)) {
    if (!(ALLOWLIST_KEYS as readonly string[]).includes(key)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${shape}; it has an unknown key "${key}".`,
        { details: { key } },
      );
    }
    if (
      value !== undefined &&
      (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
    ) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${shape}; its "${key}" is ${JSON.stringify(value)?.slice(0, 80)}.`,
        { details: { key } },
      );
    }
  }
}

/** "github.*" matches every GitHub tool, "*.list_*" every list tool of every server. */
function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}

const compiled = new Map<string, RegExp>();
/** Whether a glob ("github.*", "*.list_*") matches a server or "server.tool" name. */
export function matches(pattern: string, value: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    re = globToRegExp(pattern);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re.test(value);
}

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * Capability check of one tool call against a session's allowlist. Absent lists allow
 * everything configured; `deny` always wins.
 */
export function checkToolAllowed(
  allow: SessionAllowlist,
  server: string,
  tool: string,
): PolicyDecision {
  const qualified = `${server}.${tool}`;
  if (allow.deny?.some((p) => matches(p, qualified) || matches(p, server))) {
    return { allowed: false, reason: `${qualified} is on this session's deny list` };
  }
  if (allow.servers && !allow.servers.some((p) => matches(p, server))) {
    return {
      allowed: false,
      reason: `server "${server}" is not in this session's allowed servers (${allow.servers.join(", ") || "none"})`,
    };
  }
  if (allow.tools && !allow.tools.some((p) => matches(p, qualified))) {
    return { allowed: false, reason: `${qualified} is not in this session's allowed tools` };
  }
  return { allowed: true };
}

/** Whether a session may see a server at all (for the globals and discovery). */
export function serverVisible(allow: SessionAllowlist, server: string): boolean {
  if (allow.deny?.some((p) => matches(p, server))) return false;
  if (allow.servers && !allow.servers.some((p) => matches(p, server))) return false;
  if (
    allow.tools &&
    !allow.tools.some((p) => p.startsWith(`${server}.`) || matches(p.split(".")[0] ?? "", server))
  ) {
    return false;
  }
  return true;
}

/** Whether a session may see a tool in discovery: exactly when it may call it. */
export function toolVisible(allow: SessionAllowlist, server: string, tool: string): boolean {
  return checkToolAllowed(allow, server, tool).allowed;
}

/** Whether an allowlist restricts anything at all (no lists: everything is visible). */
export function restricts(allow: SessionAllowlist | undefined): boolean {
  return (
    allow !== undefined &&
    (allow.servers !== undefined || allow.tools !== undefined || (allow.deny?.length ?? 0) > 0)
  );
}
