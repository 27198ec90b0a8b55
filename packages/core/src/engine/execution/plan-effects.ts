import { createHash } from "node:crypto";
import { needsApproval, type ResolvedApprovalRules } from "../../approvals/approval-policy.js";
import {
  describePlan,
  type EffectPlan,
  type PlannedTool,
  type UnknownReach,
} from "../../approvals/effect-plan.js";
import {
  type CatalogServer,
  type CatalogTool,
  effectiveAnnotations,
  type ToolCatalog,
} from "../../catalog/tool-catalog.js";
import type { SessionAllowlist } from "../../contracts/session-store.js";
import { checkToolAllowed } from "../policy.js";
import type { Program } from "../transpile.js";

/** Arguments kept per tool in a plan (the calls beyond are counted, not shown). */
const MAX_ARGUMENTS = 10;
/** Skills calling skills: how deep the plan follows them. */
const MAX_SKILL_DEPTH = 4;

export interface PlanInput {
  program: Program;
  /** The program's text, as compiled: what the plan's hash binds an approval to. */
  text: string;
  allow: SessionAllowlist;
  /** The tenant's approval rules; undefined when approvals are off (nothing needs approval). */
  rules: ResolvedApprovalRules | undefined;
  /**
   * A skill's program at a version (the newest when `version` is undefined); undefined when
   * there is no such skill. Without it skills are unknown reach.
   */
  skill?: (
    name: string,
    version?: number,
  ) => Promise<{ version: number; program: Program } | undefined>;
  /** Skill versions to read (an approved plan's pins). Default: the newest. */
  pins?: ReadonlyMap<string, number>;
  /** Waits for servers that are still starting, so that their tools are known. Default: no wait. */
  whenReady?: (servers: Iterable<string>) => Promise<void>;
}

interface Context {
  via: string[] | undefined;
  repeated: boolean;
  depth: number;
}

/**
 * The effect plan: what the program can reach, read from its text (the call sites, references,
 * computed names of transpile.ts), with each tool's annotations and the approval rules applied.
 * Skills the program calls are followed into their own programs.
 */
export async function planEffects(catalog: ToolCatalog, input: PlanInput): Promise<EffectPlan> {
  const tools = new Map<string, PlannedTool>();
  const unknown = new Map<string, UnknownReach>();
  const skills = new Map<string, number>();
  const missing = new Set<string>();

  const addUnknown = (server: string, reason: string) => {
    const key = `${server}\u0000${reason}`;
    if (!unknown.has(key)) unknown.set(key, { server, reason });
  };
  const add = (
    t: CatalogTool,
    ctx: Context,
    call: { repeated: boolean; args: PlannedTool["arguments"][number] } | undefined,
  ) => {
    let planned = tools.get(t.qualifiedName);
    if (!planned) {
      const a = effectiveAnnotations(t.tool.annotations);
      const denied = !checkToolAllowed(input.allow, t.server, t.name).allowed;
      planned = {
        name: t.qualifiedName,
        server: t.server,
        tool: t.name,
        call: `${t.serverIdentifier}.${t.identifier}`,
        annotations: {
          readOnlyHint: a.readOnlyHint,
          destructiveHint: a.destructiveHint,
          idempotentHint: a.idempotentHint,
          openWorldHint: a.openWorldHint,
        },
        calls: 0,
        repeated: false,
        arguments: [],
        // A call the allowlist refuses does nothing: there is nothing to approve.
        needsApproval:
          !denied &&
          input.rules !== undefined &&
          needsApproval(input.rules, t.server, t.name, t.tool.annotations),
        ...(denied ? { denied: true } : {}),
      };
      tools.set(t.qualifiedName, planned);
    }
    if (ctx.via) planned.via = [...new Set([...(planned.via ?? []), ...ctx.via])];
    if (!call) return;
    planned.calls++;
    if (call.repeated || ctx.repeated) planned.repeated = true;
    if (planned.arguments.length < MAX_ARGUMENTS) planned.arguments.push(call.args);
  };

  const toolOf = (server: CatalogServer, member: string) =>
    server.tools.find((t) => t.identifier === member) ??
    server.tools.find((t) => t.name === member);

  const visit = async (program: Program, ctx: Context, seen: ReadonlySet<string>) => {
    // Read now: servers a skill names may have connected since the caller's program was read.
    const servers = new Map<string, CatalogServer>(
      catalog.listServers().map((s) => [s.identifier, s]),
    );
    const skillCalls = new Map<string, { calls: number; repeated: boolean }>();
    for (const site of program.callSites) {
      if (site.via === "member" && site.target === "skills") {
        const s = skillCalls.get(site.member) ?? { calls: 0, repeated: false };
        s.calls++;
        s.repeated ||= site.repeated;
        skillCalls.set(site.member, s);
        continue;
      }
      let server: CatalogServer | undefined;
      if (site.via === "member") server = servers.get(site.target);
      else
        server =
          catalog.listServers().find((s) => s.name === site.target) ?? servers.get(site.target);
      if (!server) {
        // A member call on anything else (list.map, Promise.all) is no tool call.
        if (site.via === "mcp.call") missing.add(`${site.target}.${site.member}`);
        continue;
      }
      const t = toolOf(server, site.member);
      if (!t) {
        missing.add(`${server.identifier}.${site.member}`);
        continue;
      }
      add(t, ctx, { repeated: site.repeated, args: site.args });
    }
    for (const [global, member] of program.references) {
      if (global === "skills") {
        if (!skillCalls.has(member)) skillCalls.set(member, { calls: 0, repeated: true });
        continue;
      }
      const server = servers.get(global);
      const t = server && toolOf(server, member);
      if (t) add(t, ctx, undefined);
    }
    for (const global of program.computedRefs) {
      if (global === "mcp") addUnknown("*", "mcp read with a computed key");
      else if (global === "skills") addUnknown("skills", "a skill named at run time");
      else {
        const server = servers.get(global);
        if (server) addUnknown(server.name, `a tool named at run time: ${global}[...]`);
      }
    }
    if (program.dynamicCalls) addUnknown("*", "mcp.call with a name computed at run time");
    for (const name of program.bareRefs) {
      if (name === "mcp") addUnknown("*", "the mcp object is passed on as a value");
      else if (name === "skills") addUnknown("skills", "the skills object is passed on as a value");
      else {
        const server = servers.get(name);
        if (server) addUnknown(server.name, `the ${name} object is passed on as a value`);
      }
    }
    for (const [name, use] of skillCalls) {
      if (seen.has(name)) continue; // recursion: its tools are in the plan already
      if (!input.skill) {
        addUnknown("skills", `skills.${name} (skills are not available here)`);
        continue;
      }
      if (ctx.depth >= MAX_SKILL_DEPTH) {
        addUnknown(
          "skills",
          `skills.${name}, called by skills nested deeper than ${MAX_SKILL_DEPTH}`,
        );
        continue;
      }
      let loaded: Awaited<ReturnType<NonNullable<PlanInput["skill"]>>>;
      try {
        loaded = await input.skill(name, input.pins?.get(name) ?? skills.get(name));
      } catch {
        loaded = undefined; // a name that cannot be a skill
      }
      if (!loaded) {
        missing.add(`skills.${name}`);
        continue;
      }
      skills.set(name, loaded.version);
      await input.whenReady?.(serversNamed(loaded.program));
      await visit(
        loaded.program,
        {
          via: [...(ctx.via ?? []), name],
          repeated: ctx.repeated || use.repeated || use.calls > 1,
          depth: ctx.depth + 1,
        },
        new Set([...seen, name]),
      );
    }
  };

  await visit(input.program, { via: undefined, repeated: false, depth: 0 }, new Set());
  const planned = [...tools.values()];
  const approvalTools = planned.filter((t) => t.needsApproval).map((t) => t.name);
  const plan: Omit<EffectPlan, "summary"> = {
    programHash: programHash(input.text),
    tools: planned,
    unknown: [...unknown.values()],
    skills: [...skills].map(([name, version]) => ({ name, version })),
    missing: [...missing],
    approval: { required: approvalTools.length > 0, tools: approvalTools },
  };
  return { ...plan, summary: describePlan(plan) };
}

/** The globals and servers a program names (what to wait for before planning it). */
export function serversNamed(program: Program): string[] {
  return [
    ...program.references.map(([server]) => server),
    ...program.literalCalls.map(([server]) => server),
    ...program.computedRefs,
  ];
}

/** SHA-256 of a program's text, hex. */
export function programHash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
