import * as z from "zod";
import { schemaToType } from "../catalog/schema-to-typescript.js";
import { createSearchIndex, type SearchIndex } from "../catalog/search-index.js";
import type { DetailLevel, SearchHit } from "../catalog/tool-catalog.js";
import { compileProgram, type Program } from "../engine/transpile.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonValue } from "../json.js";
import type { SkillBook, SkillRecord } from "./skill-book.js";

/** How long a tenant's skill index is reused before the store is read again, in ms. */
const INDEX_TTL_MS = 2000;
/** A skill is listed before tools when it matches the request at least this well (score / scale). */
const SKILL_MATCH = 0.2;
const VALIDATORS = 256;

/** What the guest runs for `skills.name(input)`: the compiled body, and the input it checked. */
export interface SkillCall {
  code: string;
  input: JsonValue;
}

/**
 * Skills as executions and discovery use them: found by search (per tenant), compiled for the
 * plan, and handed to the guest with their input checked against the saved schema.
 */
export class SkillRuntime {
  private readonly indexes = new Map<
    string,
    { at: number; index: SearchIndex; records: Map<string, SkillRecord> }
  >();
  private readonly validators = new Map<string, z.ZodType | null>();

  constructor(readonly book: SkillBook) {}

  /** Forgets a tenant's index after a save or delete in this process. */
  invalidate(tenant: string): void {
    this.indexes.delete(tenant);
  }

  /** The skill at a version (the newest when none is pinned), compiled; undefined when absent. */
  async forPlan(
    tenant: string,
    name: string,
    version?: number,
  ): Promise<{ version: number; program: Program } | undefined> {
    const record = await this.book.find(tenant, name, version);
    if (!record) return undefined;
    return { version: record.version, program: await compileProgram(record.code) };
  }

  /** The skill's code for the guest, its input checked against the saved schema. */
  async forCall(
    tenant: string,
    name: string,
    input: JsonValue,
    version?: number,
  ): Promise<SkillCall> {
    const record = await this.book.get(tenant, name, version);
    const validator = this.validator(tenant, record);
    if (validator) {
      const parsed = validator.safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.length ? i.path.join(".") : "(input)"}: ${i.message}`)
          .join("; ");
        throw new OptimizerError(
          ErrorCodes.SKILL_INVALID_INPUT,
          `skills.${name} got invalid input: ${issues}. Its signature: ${signatureOf(record)}.`,
          { details: { skill: name, version: record.version } },
        );
      }
    }
    const program = await compileProgram(record.code);
    return { code: program.code, input };
  }

  /** The tenant's skills that match the request, best first, as search hits (`kind: "skill"`). */
  async search(
    tenant: string,
    query: string,
    options: { limit?: number; detail?: DetailLevel } = {},
  ): Promise<SearchHit[]> {
    const { index, records } = await this.indexOf(tenant);
    if (index.size === 0) return [];
    const scale = index.scale(query) || 1;
    return index
      .search(query, { limit: options.limit ?? 10 })
      .filter((h) => h.score / scale >= SKILL_MATCH)
      .map((h) => skillHit(records.get(h.id)!, h.score / scale, options.detail ?? "signature"));
  }

  private async indexOf(tenant: string) {
    const cached = this.indexes.get(tenant);
    if (cached && Date.now() - cached.at < INDEX_TTL_MS) return cached;
    const list = await this.book.list(tenant);
    const built = {
      at: Date.now(),
      records: new Map(list.map((r) => [r.name, r])),
      index: createSearchIndex(
        list.map((r) => ({
          id: r.name,
          server: "skills",
          name: r.name,
          description: r.description,
          params: Object.entries(
            (r.inputSchema.properties ?? {}) as Record<string, { description?: unknown }>,
          ).map(([name, p]) => ({
            name,
            ...(typeof p?.description === "string" ? { description: p.description } : {}),
          })),
          annotations: {},
        })),
      ),
    };
    this.indexes.set(tenant, built);
    if (this.indexes.size > 1000) this.indexes.delete(this.indexes.keys().next().value as string);
    return built;
  }

  private validator(tenant: string, record: SkillRecord): z.ZodType | null {
    const key = `${tenant}\u0000${record.name}\u0000${record.version}`;
    let v = this.validators.get(key);
    if (v === undefined) {
      try {
        v = z.fromJSONSchema(record.inputSchema as never) as z.ZodType;
      } catch {
        v = null;
      }
      this.validators.set(key, v);
      if (this.validators.size > VALIDATORS)
        this.validators.delete(this.validators.keys().next().value as string);
    }
    return v;
  }
}

/** `skills.name(input: {...}): Promise<unknown>` in one line. */
export function signatureOf(record: Pick<SkillRecord, "name" | "inputSchema">): string {
  const input = schemaToType(record.inputSchema, { brief: true }).replace(/\s*\n\s*/g, " ");
  const required =
    Array.isArray(record.inputSchema.required) && record.inputSchema.required.length > 0;
  return `skills.${record.name}(input${required ? "" : "?"}: ${input}): Promise<unknown>`;
}

function skillHit(record: SkillRecord, score: number, detail: DetailLevel): SearchHit {
  const summary = record.description.split(/\n/)[0]!.slice(0, 160);
  const base: SearchHit = {
    kind: "skill",
    name: `skills.${record.name}`,
    server: "skills",
    tool: record.name,
    call: `skills.${record.name}`,
    score: Math.round(score * 1000) / 1000,
    description: detail === "full" ? record.description : summary,
  };
  if (detail === "name") return base;
  const signature = signatureOf(record);
  if (detail === "signature") return { ...base, signature };
  return {
    ...base,
    signature,
    declaration: `declare namespace skills {\n  /** ${record.description.replace(/\*\//g, "*\\/")} (skill version ${record.version}) */\n  function ${record.name}(input${signature.includes("(input?") ? "?" : ""}: ${schemaToType(record.inputSchema)}): Promise<unknown>;\n}`,
  };
}

/** Skill hits that match well first, then tool hits, within `limit`. */
export function withSkillHits(tools: SearchHit[], skills: SearchHit[], limit: number): SearchHit[] {
  if (skills.length === 0) return tools;
  return [...skills, ...tools].slice(0, limit);
}
