import type { EffectPlan } from "../../approvals/effect-plan.js";
import { effectiveAnnotations, type ToolCatalog } from "../../catalog/tool-catalog.js";
import type { ExecutionHints } from "../../contracts/sandbox.js";
import type { Program } from "../transpile.js";

/**
 * What a routing sandbox (hybrid) may decide on, read from the program before it runs: which
 * tools it can reach and whether any may write or destroy, and whether it asks for more time.
 */
export function inferHints(
  catalog: ToolCatalog,
  program: Program,
  timeoutMs: number,
  defaultTimeoutMs: number,
): ExecutionHints {
  const hints: ExecutionHints = {};
  const servers = new Map(catalog.listServers().map((s) => [s.identifier, s]));
  const refs: [string, string][] = [...program.references];
  for (const [server, tool] of program.literalCalls) {
    const s = catalog.listServers().find((x) => x.name === server);
    if (s) refs.push([s.identifier, tool]);
  }
  for (const [global, member] of refs) {
    const server = servers.get(global);
    if (!server) continue;
    const tool = server.tools.find((t) => t.identifier === member || t.name === member);
    if (!tool) continue;
    const a = effectiveAnnotations(tool.tool.annotations);
    if (!a.readOnlyHint) hints.mayWrite = true;
    if (a.destructiveHint) hints.mayDestroy = true;
  }
  // A server read with a computed key (github[name]) may reach any of its tools.
  for (const global of program.computedRefs) {
    const server = servers.get(global);
    for (const tool of server?.tools ?? []) {
      const a = effectiveAnnotations(tool.tool.annotations);
      if (!a.readOnlyHint) hints.mayWrite = true;
      if (a.destructiveHint) hints.mayDestroy = true;
    }
  }
  // A dynamic mcp.call (names not both literals, or mcp["call"] passed around) could reach anything.
  if (program.dynamicCalls || program.computedRefs.includes("mcp")) {
    hints.mayWrite = true;
    hints.mayDestroy = true;
  }
  if (timeoutMs > defaultTimeoutMs) hints.longRunning = true;
  return hints;
}

/**
 * What the effect plan adds to the hints: tools reached through skills (which the program's own
 * text does not show), and any skill named at run time.
 */
export function hintsFromPlan(plan: EffectPlan): ExecutionHints {
  const hints: ExecutionHints = {};
  for (const t of plan.tools) {
    if (!t.annotations.readOnlyHint) hints.mayWrite = true;
    if (t.annotations.destructiveHint) hints.mayDestroy = true;
  }
  if (plan.unknown.some((u) => u.server === "skills" || u.server === "*")) {
    hints.mayWrite = true;
    hints.mayDestroy = true;
  }
  return hints;
}
