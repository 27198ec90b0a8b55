import {
  ErrorCodes,
  hasErrorCode,
  type JsonObject,
  type MCPOptimizer,
  type SkillRecord,
} from "@mcp-optimizer/core";
import * as z from "zod";
import { IssueDigestParams, ReleaseHealthParams, TriageParams } from "./operations.js";
import { issueDigestProgram, releaseHealthProgram, triageProgram } from "./programs.js";

/** What `sentrySkills()` saves: a skill the model calls as `skills.<name>(input)`. */
export interface SentrySkill {
  name: string;
  description: string;
  code: string;
  inputSchema: JsonObject;
}

/** The skill names, as programs call them: `await skills.sentry_triage({ ... })`. */
export const SentrySkillNames = {
  triage: "sentry_triage",
  issueDigest: "sentry_issue_digest",
  releaseHealth: "sentry_release_health",
} as const;

/**
 * The adaptor's read-only operations as skills, for the Sentry upstream's global identifier
 * `server`: in code mode the model finds them in search and calls one line instead of writing
 * (and paying for) the operation's program. The writing operations are left out: they stay
 * behind the adaptor's methods and the allowlist.
 */
export function sentrySkills(server = "sentry"): SentrySkill[] {
  return [
    skill(
      SentrySkillNames.triage,
      "Sentry triage: the most frequent unresolved issues of a project in a time window, each with its top stack frame (file, function, line).",
      TriageParams,
      triageProgram(server),
    ),
    skill(
      SentrySkillNames.issueDigest,
      "One Sentry issue in brief: event and user counts, first and last seen, the exception and its innermost in-app stack frames.",
      IssueDigestParams,
      issueDigestProgram(server),
    ),
    skill(
      SentrySkillNames.releaseHealth,
      "Health of a Sentry release (default the latest): crash-free sessions and users, adoption, deploy, new issues and top unresolved issues.",
      ReleaseHealthParams,
      releaseHealthProgram(server),
    ),
  ];
}

/**
 * Saves the skills for a tenant on an optimizer, each only when it differs from the newest
 * version saved (installing again adds no version). Returns the skills as saved.
 */
export async function installSentrySkills(
  optimizer: MCPOptimizer,
  options: { server?: string; tenant?: string; by?: string } = {},
): Promise<SkillRecord[]> {
  const tenant = options.tenant === undefined ? {} : { tenant: options.tenant };
  const saved: SkillRecord[] = [];
  for (const wanted of sentrySkills(options.server)) {
    const current = await optimizer.skills.get(wanted.name, tenant).catch((error: unknown) => {
      if (hasErrorCode(error, ErrorCodes.SKILL_NOT_FOUND)) return undefined;
      throw error;
    });
    if (
      current &&
      current.code === wanted.code &&
      current.description === wanted.description &&
      JSON.stringify(current.inputSchema) === JSON.stringify(wanted.inputSchema)
    ) {
      saved.push(current);
      continue;
    }
    saved.push(
      await optimizer.skills.save({ ...wanted, ...tenant, by: options.by ?? "adaptor-sentry" }),
    );
  }
  return saved;
}

/** A skill from an operation: its schema as JSON Schema, its defaults applied to `input`. */
function skill(name: string, description: string, schema: z.ZodType, program: string): SentrySkill {
  const { $schema: _draft, ...inputSchema } = z.toJSONSchema(schema, { io: "input" }) as JsonObject;
  const defaults: Record<string, unknown> = {};
  const properties = (inputSchema.properties ?? {}) as Record<string, { default?: unknown }>;
  for (const [key, property] of Object.entries(properties))
    if (property.default !== undefined) defaults[key] = property.default;
  // The operation's programs read `params`, with zod's defaults applied; a skill gets `input`.
  const code = `const params = Object.assign(${JSON.stringify(defaults)}, input);\n${program}`;
  return { name, description, code, inputSchema };
}
