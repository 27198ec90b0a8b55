import type { JsonValue } from "../json.js";

/** One tool a program can reach, as the effect plan reads it from the program's text. */
export interface PlannedTool {
  /** "server.tool" with the configured names. */
  name: string;
  server: string;
  tool: string;
  /** How a program calls it: `github.create_issue`. */
  call: string;
  /** The tool's annotations with MCP's defaults filled in. */
  annotations: {
    readOnlyHint: boolean;
    destructiveHint: boolean;
    idempotentHint: boolean;
    openWorldHint: boolean;
  };
  /** Calls written in the program (0: only referenced, e.g. passed on as a function). */
  calls: number;
  /** A call sits in a loop or a function (a callback): it may run any number of times. */
  repeated: boolean;
  /** The arguments of each call as written: literals as JSON, values computed at run time as `{ "$expr": "..." }`. */
  arguments: JsonValue[];
  /** The skills through which the program reaches it. */
  via?: string[];
  /** The approval policy asks a person before a program that reaches it runs. */
  needsApproval: boolean;
  /** The session's allowlist refuses it: a call fails with TOOL_DENIED and does nothing. */
  denied?: boolean;
}

/** Reach the plan cannot name: a tool chosen at run time. */
export interface UnknownReach {
  /** The server any of whose tools may be reached; "*" for any server; "skills" for any skill. */
  server: string;
  /** Why, in words. */
  reason: string;
}

/** A skill the program calls, at the version the plan read (and an approval pins). */
export interface PlannedSkill {
  name: string;
  version: number;
}

/**
 * What a program can do, read from its text before it runs: the tools it reaches with their
 * annotations, how often and with which literal arguments, what it reaches through skills, and
 * what it may reach under names computed at run time. An approval is given to a plan.
 */
export interface EffectPlan {
  /** SHA-256 of the program's text: an approval holds for exactly this program. */
  programHash: string;
  tools: PlannedTool[];
  /** Tools the program may reach under names computed at run time (none: the list above is complete). */
  unknown: UnknownReach[];
  skills: PlannedSkill[];
  /** Servers, tools or skills the program names that do not exist: those calls will fail. */
  missing: string[];
  /** Whether the policy asks a person first, and for which tools ("server.tool"). */
  approval: { required: boolean; tools: string[] };
  /** The plan in plain words, for a person deciding. */
  summary: string;
}

/** How often a tool is called, in words. */
function howOften(t: PlannedTool): string {
  if (t.repeated) return "any number of times (in a loop or callback)";
  if (t.calls === 0) return "possibly (passed on, not called by name)";
  if (t.calls === 1) return "once";
  return `up to ${t.calls} times`;
}

function label(t: PlannedTool): string {
  if (t.annotations.readOnlyHint) return "read-only";
  return t.annotations.destructiveHint ? "destructive" : "writes";
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/**
 * The plan in plain words: "This program will call github.create_issue (destructive) up to 3
 * times and files.write_file (destructive) once. It reads files.list_directory."
 */
export function describePlan(plan: Omit<EffectPlan, "summary">): string {
  const effects = plan.tools.filter((t) => !t.annotations.readOnlyHint);
  const reads = plan.tools.filter((t) => t.annotations.readOnlyHint);
  const sentences: string[] = [];
  const named = (t: PlannedTool) =>
    `${t.name} (${label(t)}${t.via ? `, through skill ${t.via.join(", ")}` : ""}${t.denied ? ", denied to this session" : ""})`;
  if (effects.length > 0)
    sentences.push(
      `This program will call ${list(effects.map((t) => `${named(t)} ${howOften(t)}`))}.`,
    );
  if (reads.length > 0)
    sentences.push(
      `${effects.length > 0 ? "It reads" : "This program only reads"}: ${list(reads.map((t) => t.name))}.`,
    );
  if (plan.unknown.length > 0) {
    const reach = plan.unknown.map((u) =>
      u.server === "*"
        ? `any tool of any server (${u.reason})`
        : u.server === "skills"
          ? `any skill (${u.reason})`
          : `any tool of ${u.server} (${u.reason})`,
    );
    sentences.push(
      `It may also reach ${list(reach)}: such a call to a tool that needs approval is refused at run time.`,
    );
  }
  if (plan.missing.length > 0)
    sentences.push(`It names what does not exist (those calls will fail): ${list(plan.missing)}.`);
  if (sentences.length === 0) sentences.push("This program calls no tools.");
  return sentences.join(" ");
}
