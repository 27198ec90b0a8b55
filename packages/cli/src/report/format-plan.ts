import type { EffectPlan, JsonValue } from "@mcp-optimizer/core";
import { formatTable } from "../io.js";

/** Longest argument text shown per call in the table. */
const ARGS_CHARS = 80;

/** An effect plan for a person: the summary, a table of the tools, unknown reach, approval. */
export function formatPlan(plan: EffectPlan): string {
  const lines = [plan.summary, ""];
  if (plan.tools.length > 0) {
    lines.push(
      formatTable(
        ["tool", "kind", "calls", "approval", "arguments"],
        plan.tools.map((t) => [
          `${t.name}${t.via ? ` (skill ${t.via.join(" > ")})` : ""}`,
          t.annotations.readOnlyHint
            ? "read-only"
            : t.annotations.destructiveHint
              ? "destructive"
              : "writes",
          t.repeated ? "any (loop)" : t.calls === 0 ? "passed on" : String(t.calls),
          t.denied ? "denied" : t.needsApproval ? "asks" : "-",
          t.arguments.map(argumentsText).join("; ") || "-",
        ]),
      ),
      "",
    );
  }
  for (const u of plan.unknown)
    lines.push(`unknown reach: ${u.server === "*" ? "any server" : u.server} (${u.reason})`);
  for (const m of plan.missing) lines.push(`missing: ${m}`);
  for (const s of plan.skills) lines.push(`skill: ${s.name} version ${s.version}`);
  lines.push(
    plan.approval.required
      ? `approval: required for ${plan.approval.tools.join(", ")}`
      : "approval: not required",
  );
  return lines.join("\n").replace(/\n{3,}/g, "\n\n");
}

/** Literal arguments as written; values computed at run time as ‹their source›. */
function argumentsText(args: JsonValue): string {
  const text = JSON.stringify(args, (_key, value) =>
    value && typeof value === "object" && !Array.isArray(value) && "$expr" in value
      ? `‹${(value as { $expr: string }).$expr}›`
      : value,
  );
  return text.length > ARGS_CHARS ? `${text.slice(0, ARGS_CHARS - 1)}…` : text;
}
