import type { SessionStore } from "../contracts/session-store.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonObject } from "../json.js";
import type { SkillRecord } from "./skill-book.js";
import type { SkillRuntime } from "./skill-runtime.js";

export interface SkillSaveOptions {
  name: string;
  /** What it does, for search (1-1000 characters). */
  description: string;
  /** The program; it reads its input from `input`. Or `fromExecution`. */
  code?: string;
  /** Promote a past execution's program: the session and the execution id (from its result). */
  fromExecution?: { sessionId: string; executionId: string };
  /** JSON Schema of `input`, checked on every call. Default: any object. */
  inputSchema?: JsonObject;
  /** The tenant. Default: sessionDefaults.tenant. */
  tenant?: string;
  /** Who saves it, for the record. Default "api". */
  by?: string;
}

/** `optimizer.skills`: what a developer or user does with saved skills. */
export interface OptimizerSkills {
  /** Saves a new version (1 for a new name). */
  save(options: SkillSaveOptions): Promise<SkillRecord>;
  /** The newest version, or `version`; SKILL_NOT_FOUND when there is none. */
  get(name: string, options?: { tenant?: string; version?: number }): Promise<SkillRecord>;
  /** The newest version of each skill. */
  list(options?: { tenant?: string }): Promise<SkillRecord[]>;
  /** Every version of one skill, oldest first. */
  versions(name: string, options?: { tenant?: string }): Promise<SkillRecord[]>;
  /** Deletes every version; false when there was none. */
  delete(name: string, options?: { tenant?: string }): Promise<boolean>;
}

/** Longest program the session log keeps (record-execution.ts): a longer one was cut. */
const LOGGED_CODE_CHARS = 4000;

export function skillsApi(
  runtime: () => Promise<{ skills: SkillRuntime; sessions: SessionStore }>,
  defaultTenant: string,
): OptimizerSkills {
  return {
    async save(options) {
      const { skills, sessions } = await runtime();
      const tenant = options.tenant ?? defaultTenant;
      let code = options.code;
      if (options.fromExecution) {
        if (code !== undefined)
          throw new OptimizerError(
            ErrorCodes.INVALID_INPUT,
            "Pass `code` or `fromExecution`, not both.",
          );
        code = await loggedProgram(sessions, tenant, options.fromExecution);
      }
      if (code === undefined)
        throw new OptimizerError(
          ErrorCodes.INVALID_INPUT,
          `Skill "${options.name}" needs its program: \`code\`, or \`fromExecution\`.`,
        );
      const record = await skills.book.save(tenant, {
        name: options.name,
        description: options.description,
        code,
        ...(options.inputSchema ? { inputSchema: options.inputSchema } : {}),
        by: options.by ?? "api",
      });
      skills.invalidate(tenant);
      return record;
    },
    async get(name, options = {}) {
      const { skills } = await runtime();
      return skills.book.get(options.tenant ?? defaultTenant, name, options.version);
    },
    async list(options = {}) {
      return (await runtime()).skills.book.list(options.tenant ?? defaultTenant);
    },
    async versions(name, options = {}) {
      return (await runtime()).skills.book.versions(options.tenant ?? defaultTenant, name);
    },
    async delete(name, options = {}) {
      const { skills } = await runtime();
      const tenant = options.tenant ?? defaultTenant;
      const deleted = await skills.book.delete(tenant, name);
      skills.invalidate(tenant);
      return deleted;
    },
  };
}

/** A past execution's program from its session's log (redacted as logged), to save as a skill. */
export async function loggedProgram(
  sessions: SessionStore,
  tenant: string,
  from: { sessionId: string; executionId: string },
): Promise<string> {
  const record = await sessions.get(from.sessionId);
  if (!record || record.tenant !== tenant)
    throw new OptimizerError(
      ErrorCodes.SESSION_NOT_FOUND,
      `No session "${from.sessionId}" for tenant "${tenant}".`,
    );
  const entry = record.log.find((e) => e.executionId === from.executionId);
  if (!entry)
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Session ${from.sessionId} has no execution ${from.executionId} in its log (it keeps the latest ones).`,
    );
  if (entry.code.length >= LOGGED_CODE_CHARS)
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Execution ${from.executionId}'s program was cut in the log (over ${LOGGED_CODE_CHARS} characters): pass its code instead.`,
    );
  return entry.code;
}
