import * as z from "zod";
import type { EntryStore } from "../contracts/entry-store.js";
import { compileProgram } from "../engine/transpile.js";
import { ErrorCodes, hasErrorCode, OptimizerError } from "../errors.js";
import { isPlainObject, type JsonObject, type JsonValue } from "../json.js";

/** A program saved under a name, run in code as `await skills.name(input)`. */
export interface SkillRecord {
  name: string;
  /** 1 on the first save of the name, +1 on each save after. */
  version: number;
  description: string;
  /** The program (TypeScript or JavaScript, the body of an async function); it reads `input`. */
  code: string;
  /** JSON Schema of `input`, checked on every call. */
  inputSchema: JsonObject;
  savedAt: string;
  /** Who saved it: "cli", "api", a user name. */
  savedBy: string;
}

export interface SkillSaveInput {
  name: string;
  description: string;
  code: string;
  /** JSON Schema of `input`. Default: any object. */
  inputSchema?: JsonObject;
  /** Who saves it, for the record. Default "api". */
  by?: string;
}

/** Names the guest's `skills` object cannot offer (promise and inspection hooks). */
const RESERVED = new Set(
  "then catch finally toJSON constructor valueOf toString inspect asymmetricMatch nodeType".split(
    " ",
  ),
);
const NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const MAX_DESCRIPTION = 1000;

const heads = (tenant: string) => `skills:${tenant}`;
const versions = (tenant: string) => `skill-versions:${tenant}`;
const versionKey = (name: string, version: number) => `${name}@${String(version).padStart(6, "0")}`;

export function assertSkillName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !NAME.test(name) || RESERVED.has(name)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `A skill name is a JavaScript identifier of 1-64 letters, digits, _ or $ (not ${[...RESERVED].join(", ")}), as code calls it: skills.name(input); got ${JSON.stringify(name)?.slice(0, 80)}.`,
    );
  }
}

function notFound(tenant: string, name: string, version?: number): OptimizerError {
  return new OptimizerError(
    ErrorCodes.SKILL_NOT_FOUND,
    `No skill "${name}"${version ? ` version ${version}` : ""} for tenant "${tenant}". Find skills with mcp.search().`,
    { details: { skill: name, ...(version ? { version } : {}) } },
  );
}

/**
 * Skills of each tenant on any EntryStore: the newest version of each name in `skills:<tenant>`,
 * every version in `skill-versions:<tenant>` (`name@000001`).
 */
export class SkillBook {
  constructor(private readonly entries: EntryStore) {}

  /** Saves a new version of the skill (version 1 for a new name). */
  async save(tenant: string, input: SkillSaveInput): Promise<SkillRecord> {
    assertSkillName(input.name);
    if (
      typeof input.description !== "string" ||
      input.description.trim().length === 0 ||
      input.description.length > MAX_DESCRIPTION
    ) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `Skill "${input.name}" needs a description of 1-${MAX_DESCRIPTION} characters: what it does, for search.`,
      );
    }
    // A skill that does not compile is refused now, not when it is called.
    await compileProgram(input.code);
    const inputSchema = input.inputSchema ?? { type: "object" };
    checkSchema(input.name, inputSchema);
    for (let attempt = 0; ; attempt++) {
      const head = await this.entries.get(heads(tenant), input.name);
      const version = ((head?.value as unknown as SkillRecord | undefined)?.version ?? 0) + 1;
      const record: SkillRecord = {
        name: input.name,
        version,
        description: input.description.trim(),
        code: input.code,
        inputSchema,
        savedAt: new Date().toISOString(),
        savedBy: input.by ?? "api",
      };
      try {
        // The head decides who gets the version number; its copy follows.
        await this.entries.set(heads(tenant), input.name, record as unknown as JsonValue, {
          expectedVersion: head?.version ?? 0,
        });
      } catch (error) {
        if (hasErrorCode(error, ErrorCodes.ENTRY_CONFLICT) && attempt < 8) continue;
        throw error;
      }
      await this.entries.set(
        versions(tenant),
        versionKey(input.name, version),
        record as unknown as JsonValue,
      );
      return record;
    }
  }

  /** The newest version, or the one asked for; SKILL_NOT_FOUND when there is none. */
  async get(tenant: string, name: string, version?: number): Promise<SkillRecord> {
    const found = await this.find(tenant, name, version);
    if (!found) throw notFound(tenant, name, version);
    return found;
  }

  /** Like get, undefined when there is none. */
  async find(tenant: string, name: string, version?: number): Promise<SkillRecord | undefined> {
    assertSkillName(name);
    if (version !== undefined && (!Number.isInteger(version) || version < 1)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `A skill version is a positive integer; got ${version}.`,
      );
    }
    const entry =
      version === undefined
        ? await this.entries.get(heads(tenant), name)
        : await this.entries.get(versions(tenant), versionKey(name, version));
    return entry?.value as unknown as SkillRecord | undefined;
  }

  /** The newest version of every skill of the tenant, by name. */
  async list(tenant: string): Promise<SkillRecord[]> {
    return this.all(heads(tenant));
  }

  /** Every version of one skill, oldest first. */
  async versions(tenant: string, name: string): Promise<SkillRecord[]> {
    assertSkillName(name);
    return this.all(versions(tenant), `${name}@`);
  }

  /** Deletes every version of the skill; false when there was none. */
  async delete(tenant: string, name: string): Promise<boolean> {
    assertSkillName(name);
    const existed = await this.entries.delete(heads(tenant), name);
    let any = false;
    for (const record of await this.versions(tenant, name)) {
      any = (await this.entries.delete(versions(tenant), versionKey(name, record.version))) || any;
    }
    return existed || any;
  }

  private async all(scope: string, prefix?: string): Promise<SkillRecord[]> {
    const out: SkillRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.entries.list(scope, {
        limit: 1000,
        ...(prefix ? { prefix } : {}),
        ...(cursor ? { cursor } : {}),
      });
      for (const e of page.entries) out.push(e.value as unknown as SkillRecord);
      cursor = page.cursor;
    } while (cursor);
    return out;
  }
}

function checkSchema(name: string, schema: unknown): void {
  if (!isPlainObject(schema)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Skill "${name}": inputSchema is a JSON Schema object, e.g. { "type": "object", "properties": { ... } }.`,
    );
  }
  try {
    z.fromJSONSchema(schema as never);
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Skill "${name}": the inputSchema cannot be read as JSON Schema: ${(error as Error).message}`,
    );
  }
}
