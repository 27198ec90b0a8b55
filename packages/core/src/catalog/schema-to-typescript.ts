/**
 * TypeScript declarations from JSON Schema (draft-07 and 2020-12, as MCP servers emit them).
 * Never throws and never emits invalid TypeScript: what it cannot express becomes `unknown`.
 */

export interface ToolDeclarationInput {
  name: string;
  identifier: string;
  title?: string;
  description?: string;
  inputSchema: object;
  outputSchema?: object;
  annotations?: {
    title?: string;
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
}

type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;
const MAX_OUTPUT = 200_000;
const MAX_ENUM = 500;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function pascal(text: string): string {
  const out = text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
  return /^[0-9]/.test(out) ? `T${out}` : out || "T";
}

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function literal(value: unknown): string | undefined {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Text safe inside a JSDoc block. */
function docText(text: string): string {
  return text.replace(/\*\//g, "*\\/").replace(/\r\n?/g, "\n");
}

function jsdoc(lines: string[], indent: string): string {
  const body = lines.flatMap((l) => docText(l).split("\n"));
  if (body.length === 0) return "";
  if (body.length === 1) return `${indent}/** ${body[0]} */\n`;
  return `${indent}/**\n${body.map((l) => `${indent} *${l ? ` ${l}` : ""}`).join("\n")}\n${indent} */\n`;
}

function propertyDoc(schema: Schema): string[] {
  const lines: string[] = [];
  if (typeof schema.description === "string") lines.push(schema.description.trim());
  else if (typeof schema.title === "string") lines.push(schema.title.trim());
  const facts: string[] = [];
  if (typeof schema.format === "string") facts.push(`format: ${schema.format}`);
  if (typeof schema.pattern === "string") facts.push(`pattern: ${schema.pattern}`);
  for (const key of [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
  ]) {
    if (typeof schema[key] === "number") facts.push(`${key}: ${schema[key]}`);
  }
  if (facts.length) lines.push(facts.join(", "));
  if (schema.default !== undefined) lines.push(`@default ${safeJson(schema.default)}`);
  if (Array.isArray(schema.examples) && schema.examples.length)
    lines.push(`@example ${safeJson(schema.examples[0])}`);
  if (schema.deprecated === true) lines.push("@deprecated");
  return lines;
}

/** Longest parameter note in a one-line signature; the full declaration keeps all of it. */
const BRIEF_DOC_CHARS = 80;

/**
 * A parameter's note for a one-line signature: its description's first sentence (cut at
 * BRIEF_DOC_CHARS) and its default; constraints and examples are left to the declaration.
 */
function briefDoc(schema: Schema): string[] {
  const lines: string[] = [];
  const text = typeof schema.description === "string" ? schema.description : schema.title;
  if (typeof text === "string" && text.trim()) {
    const first = /^[\s\S]*?[.!?](\s|$)/.exec(text.trim())?.[0].trim() ?? text.trim();
    const line = first.replace(/\s+/g, " ");
    lines.push(line.length > BRIEF_DOC_CHARS ? `${line.slice(0, BRIEF_DOC_CHARS - 1)}…` : line);
  }
  if (schema.default !== undefined) lines.push(`@default ${safeJson(schema.default)}`);
  return lines;
}

function safeJson(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return String(value);
  }
}

function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  const parts = ref
    .slice(1)
    .split("/")
    .filter((p, i) => !(i === 0 && p === ""))
    .map((p) => decodeURIComponent(p).replace(/~1/g, "/").replace(/~0/g, "~"));
  let node: unknown = root;
  for (const part of parts) {
    if (!isSchema(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Writes type expressions; with `namePrefix`, `$ref`s become named types (so recursion works). */
class TypeWriter {
  readonly named = new Map<string, { name: string; body: string }>();
  /** Brief parameter notes instead of the full docs. */
  brief = false;
  private readonly usedNames = new Set<string>();
  private readonly expanding: string[] = [];
  private size = 0;

  constructor(
    private readonly root: unknown,
    private readonly namePrefix: string | undefined,
    reservedNames: Iterable<string> = [],
  ) {
    for (const n of reservedNames) this.usedNames.add(n);
  }

  type(schema: unknown, depth: number, indent: string): string {
    const out = this.write(schema, depth, indent);
    this.size += out.length;
    return out;
  }

  private write(schema: unknown, depth: number, indent: string): string {
    if (schema === true) return "unknown";
    if (schema === false) return "never";
    if (!isSchema(schema) || depth > MAX_DEPTH || this.size > MAX_OUTPUT) return "unknown";
    if (typeof schema.$ref === "string") return this.ref(schema.$ref, depth, indent);
    let type = this.base(schema, depth, indent);
    if (schema.nullable === true && type !== "unknown" && !/(^|\| )null$/.test(type))
      type = `${wrap(type)} | null`;
    return type;
  }

  private base(schema: Schema, depth: number, indent: string): string {
    if ("const" in schema) return literal(schema.const) ?? "unknown";
    if (Array.isArray(schema.enum)) {
      const members = schema.enum.slice(0, MAX_ENUM).map(literal);
      if (members.length === 0 || members.some((m) => m === undefined)) return "unknown";
      return [...new Set(members)].join(" | ");
    }
    const union = Array.isArray(schema.anyOf)
      ? schema.anyOf
      : Array.isArray(schema.oneOf)
        ? schema.oneOf
        : undefined;
    if (union) {
      const { anyOf: _a, oneOf: _o, ...rest } = schema;
      const shared = hasShape(rest) ? this.base(rest, depth + 1, indent) : undefined;
      const members = union.map((m) => this.write(m, depth + 1, indent));
      const joined = unionOf(members);
      return shared && shared !== "unknown" ? `${wrap(shared)} & (${joined})` : joined;
    }
    if (Array.isArray(schema.allOf)) {
      const { allOf: _a, ...rest } = schema;
      const parts = schema.allOf.map((m) => this.write(m, depth + 1, indent));
      if (hasShape(rest)) parts.unshift(this.base(rest, depth + 1, indent));
      const useful = parts.filter((p) => p !== "unknown");
      return useful.length === 0 ? "unknown" : useful.map(wrap).join(" & ");
    }
    if (Array.isArray(schema.type)) {
      const members = schema.type.map((t) => this.base({ ...schema, type: t }, depth + 1, indent));
      return unionOf(members);
    }
    switch (schema.type) {
      case "string":
        return "string";
      case "number":
      case "integer":
        return "number";
      case "boolean":
        return "boolean";
      case "null":
        return "null";
      case "array":
        return this.array(schema, depth, indent);
      case "object":
        return this.object(schema, depth, indent);
      case undefined:
        if (isSchema(schema.properties) || schema.additionalProperties !== undefined)
          return this.object(schema, depth, indent);
        if (schema.items !== undefined || schema.prefixItems !== undefined)
          return this.array(schema, depth, indent);
        return "unknown";
      default:
        return "unknown";
    }
  }

  private array(schema: Schema, depth: number, indent: string): string {
    const prefix = Array.isArray(schema.prefixItems)
      ? schema.prefixItems
      : Array.isArray(schema.items)
        ? schema.items
        : undefined;
    if (prefix) {
      const rest = Array.isArray(schema.items) ? schema.additionalItems : schema.items;
      const members = prefix.map((m) => this.write(m, depth + 1, indent));
      if (rest === false) return `[${members.join(", ")}]`;
      const restType =
        rest === undefined || rest === true ? "unknown" : this.write(rest, depth + 1, indent);
      return `[${[...members, `...${wrap(restType)}[]`].join(", ")}]`;
    }
    if (schema.items === false) return "[]";
    const item =
      schema.items === undefined ? "unknown" : this.write(schema.items, depth + 1, indent);
    return `${wrap(item)}[]`;
  }

  private object(schema: Schema, depth: number, indent: string): string {
    const props = isSchema(schema.properties) ? schema.properties : {};
    const required = new Set(
      Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === "string") : [],
    );
    const inner = `${indent}  `;
    const lines: string[] = [];
    for (const [key, value] of Object.entries(props)) {
      const doc = isSchema(value) ? (this.brief ? briefDoc(value) : propertyDoc(value)) : [];
      const name = IDENTIFIER.test(key) ? key : JSON.stringify(key);
      lines.push(
        `${jsdoc(doc, inner)}${inner}${name}${required.has(key) ? "" : "?"}: ${this.write(value, depth + 1, inner)};`,
      );
    }
    const extra = schema.additionalProperties;
    const patterns = isSchema(schema.patternProperties)
      ? Object.values(schema.patternProperties)
      : [];
    if (lines.length === 0 && extra === false && patterns.length === 0)
      return "Record<string, never>";
    let indexType: string | undefined;
    if (patterns.length > 0 || isSchema(extra)) {
      const types = [...patterns, ...(isSchema(extra) ? [extra] : [])].map((s) =>
        this.write(s, depth + 1, inner),
      );
      // An index signature must admit every declared property: with properties, only `unknown` does.
      indexType = lines.length > 0 ? "unknown" : unionOf(types);
    } else if (extra === true || (extra === undefined && lines.length === 0)) {
      indexType = "unknown";
    }
    if (indexType !== undefined) lines.push(`${inner}[key: string]: ${indexType};`);
    return `{\n${lines.join("\n")}\n${indent}}`;
  }

  private ref(ref: string, depth: number, indent: string): string {
    const target = resolvePointer(this.root, ref);
    if (target === undefined) return "unknown";
    if (!this.namePrefix) {
      // Inline, guarding against recursion.
      if (this.expanding.includes(ref)) return "unknown";
      this.expanding.push(ref);
      try {
        return this.write(target, depth + 1, indent);
      } finally {
        this.expanding.pop();
      }
    }
    const existing = this.named.get(ref);
    if (existing) return existing.name;
    const last = ref.split("/").pop() ?? "Def";
    let name = `${this.namePrefix}${pascal(decodeURIComponent(last))}`;
    for (let n = 2; this.usedNames.has(name); n++) name = `${this.namePrefix}${pascal(last)}${n}`;
    this.usedNames.add(name);
    const entry = { name, body: "unknown" };
    this.named.set(ref, entry); // registered before writing: a recursive ref finds the name
    entry.body = this.write(target, 0, "");
    return name;
  }

  reserve(name: string): string {
    let candidate = name;
    for (let n = 2; this.usedNames.has(candidate); n++) candidate = `${name}${n}`;
    this.usedNames.add(candidate);
    return candidate;
  }
}

function hasShape(schema: Schema): boolean {
  return schema.type !== undefined || isSchema(schema.properties) || schema.items !== undefined;
}

/** Whether a type has a `|` or `&` outside braces, brackets, parentheses and string literals. */
function hasTopLevelOperator(type: string): boolean {
  let depth = 0;
  for (let i = 0; i < type.length; i++) {
    const c = type[i];
    if (c === '"') {
      for (i++; i < type.length && type[i] !== '"'; i++) if (type[i] === "\\") i++;
    } else if (c === "{" || c === "[" || c === "(" || c === "<") depth++;
    else if (c === "}" || c === "]" || c === ")" || c === ">") depth--;
    else if ((c === "|" || c === "&") && depth === 0) return true;
  }
  return false;
}

/** Parenthesizes a union or intersection where it becomes an operand (`(A | B)[]`, `(A | B) & C`). */
function wrap(type: string): string {
  return hasTopLevelOperator(type) ? `(${type})` : type;
}

function unionOf(members: string[]): string {
  const unique = [...new Set(members)];
  if (unique.includes("unknown")) return "unknown";
  const useful = unique.filter((m) => m !== "never");
  if (useful.length === 0) return "never";
  // `&` binds tighter than `|`: members need no parentheses.
  return useful.join(" | ");
}

/** A TypeScript type expression for a JSON Schema; `$ref`s are inlined (recursion becomes `unknown`). */
export function schemaToType(
  schema: unknown,
  options: {
    indent?: string;
    root?: unknown;
    /** Brief parameter notes (one-line signatures), not the full docs. Default false. */
    brief?: boolean;
  } = {},
): string {
  const writer = new TypeWriter(options.root ?? schema, undefined);
  writer.brief = options.brief === true;
  return writer.type(schema, 0, options.indent ?? "");
}

function annotationDoc(annotations: ToolDeclarationInput["annotations"]): string[] {
  const a = annotations ?? {};
  const readOnly = a.readOnlyHint;
  const line = (key: string, value: boolean | undefined, fallback: boolean) =>
    value === undefined
      ? `@${key} ${fallback} (not annotated: the MCP default)`
      : `@${key} ${value}`;
  return [
    line("readOnlyHint", readOnly, false),
    // A read-only tool cannot be destructive, whatever the default says.
    readOnly === true && a.destructiveHint === undefined
      ? "@destructiveHint false (read-only)"
      : line("destructiveHint", a.destructiveHint, true),
    line("idempotentHint", a.idempotentHint, false),
    line("openWorldHint", a.openWorldHint, true),
  ];
}

function hasRequired(schema: object): boolean {
  const required = (schema as Schema).required;
  return Array.isArray(required) && required.length > 0;
}

/**
 * The member of a server object for one tool, with its named input and output types. The
 * member is a `ToolFunction` (callable, plus `.raw` for the whole MCP result).
 */
export function toolDeclaration(
  tool: ToolDeclarationInput,
  options: { serverIdentifier?: string; reservedNames?: Iterable<string> } = {},
): { declaration: string; types: string } {
  const prefix = pascal(`${options.serverIdentifier ?? ""} ${tool.identifier}`);
  const inputWriter = new TypeWriter(tool.inputSchema, prefix, options.reservedNames);
  const inputName = inputWriter.reserve(`${prefix}Input`);
  const inputBody = inputWriter.type(tool.inputSchema, 0, "");
  const types: string[] = [`type ${inputName} = ${inputBody};`];
  let outputName = "unknown";
  let outputWriter: TypeWriter | undefined;
  if (tool.outputSchema) {
    outputWriter = new TypeWriter(tool.outputSchema, prefix, [
      inputName,
      ...[...inputWriter.named.values()].map((n) => n.name),
    ]);
    outputName = outputWriter.reserve(`${prefix}Output`);
    types.push(`type ${outputName} = ${outputWriter.type(tool.outputSchema, 0, "")};`);
  }
  for (const writer of [inputWriter, outputWriter]) {
    for (const { name, body } of writer?.named.values() ?? [])
      types.push(`type ${name} = ${body};`);
  }
  const doc: string[] = [];
  if (tool.title || tool.annotations?.title) doc.push(`${tool.title ?? tool.annotations?.title}`);
  if (tool.description) doc.push(tool.description.trim());
  if (tool.name !== tool.identifier) doc.push(`MCP tool name: "${tool.name}".`);
  doc.push(...annotationDoc(tool.annotations));
  const fn = hasRequired(tool.inputSchema) ? "ToolFunction" : "ToolFunctionOptionalArgs";
  const member = IDENTIFIER.test(tool.identifier)
    ? tool.identifier
    : JSON.stringify(tool.identifier);
  return {
    declaration: `${jsdoc(doc, "")}${member}: ${fn}<${inputName}, ${outputName}>;`,
    types: types.join("\n\n"),
  };
}

/** Helper types every server declaration uses; interfaces, so several files merge cleanly. */
export const TOOL_HELPER_TYPES = `/** A block of an MCP tool result (text, image, audio, resource, resource_link). */
interface ContentBlock {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  uri?: string;
  resource?: { uri: string; text?: string; blob?: string; mimeType?: string };
}

/** The whole MCP result of a tool call, from \`tool.raw(args)\`. */
interface CallToolResult {
  content: ContentBlock[];
  structuredContent?: { [key: string]: unknown };
  isError?: boolean;
}

/** An upstream tool: resolves to its structured content, else its text (JSON-parsed when JSON); throws on errors. */
interface ToolFunction<I, O> {
  (args: I): Promise<O>;
  raw(args: I): Promise<CallToolResult>;
}

/** An upstream tool whose arguments are all optional. */
interface ToolFunctionOptionalArgs<I, O> {
  (args?: I): Promise<O>;
  raw(args?: I): Promise<CallToolResult>;
}`;

/** A complete, self-contained `.d.ts` for one server: helper types, named types, the global. */
export function serverDeclarations(server: {
  name: string;
  identifier: string;
  description?: string;
  tools: ToolDeclarationInput[];
}): string {
  const types: string[] = [];
  const members: string[] = [];
  const used = new Set<string>();
  for (const tool of server.tools) {
    const { declaration, types: t } = toolDeclaration(tool, {
      serverIdentifier: server.identifier,
      reservedNames: used,
    });
    for (const m of t.matchAll(/^type (\w+)/gm)) used.add(m[1]!);
    types.push(t);
    members.push(declaration.replace(/^/gm, "  "));
  }
  const doc = [
    server.description?.trim() ?? "",
    `MCP server "${server.name}": ${server.tools.length} tools.`,
  ].filter(Boolean);
  return [
    `// Generated by MCP Optimizer from the tools of the MCP server "${server.name.replace(/[\r\n]/g, " ")}".`,
    TOOL_HELPER_TYPES,
    ...types,
    `${jsdoc(doc, "")}declare const ${server.identifier}: {\n${members.join("\n")}\n};`,
    "",
  ].join("\n\n");
}

/** The `.d.ts` of the guest's own globals: `mcp`, `skills`, `state` and `context` (console is the standard one). */
export function guestGlobalsDeclaration(
  servers: { name: string; identifier: string; toolCount: number }[],
): string {
  const names = servers.length ? servers.map((s) => JSON.stringify(s.name)).join(" | ") : "string";
  return `// Generated by MCP Optimizer: the globals every program gets.

/** One hit of mcp.search(). */
interface SearchHit {
  /** "skill" for a saved skill (call it as skills.name(input)); absent for a tool. */
  kind?: "skill";
  /** "server.tool" with the original names. */
  name: string;
  server: string;
  tool: string;
  /** How to call it, e.g. "github.list_issues". */
  call: string;
  score: number;
  description?: string;
  /** With detail "signature" or "full". */
  signature?: string;
  /** With detail "full": the declaration with docs and types. */
  declaration?: string;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
}

/** What mcp.describe() returns. */
interface ToolDescription {
  name: string;
  call: string;
  description?: string;
  declaration: string;
  inputSchema: { [key: string]: unknown };
  outputSchema?: { [key: string]: unknown };
  annotations: { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean; title?: string };
}

/** Discovery and generic calls. */
declare const mcp: {
  /** The connected servers: name, global object, number of tools. */
  readonly servers: { name: string; global: string; tools: number }[];
  /** Ranked search over all tools. detail: "name", "signature" (default) or "full". */
  search(query: string, options?: { limit?: number; detail?: "name" | "signature" | "full"; server?: ${names} }): Promise<SearchHit[]>;
  /** One tool's full declaration, schemas and annotations: mcp.describe("server.tool"). */
  describe(name: string): Promise<ToolDescription>;
  /** The full value behind a result handle an earlier execution returned: mcp.handle("h_ab12cd"). */
  handle(id: string): Promise<unknown>;
  /** Calls any tool by server and tool name; { raw: true } returns the whole MCP result. */
  call(server: ${names}, tool: string, args?: { [key: string]: unknown }, options?: { raw?: boolean }): Promise<unknown>;
  /** What this session can use: servers, tools, sandbox mode and the feature flags that are on. */
  capabilities(): Promise<{ servers: { name: string; global: string; tools: number }[]; tools: number; sandbox: { mode: string }; features: { [flag: string]: boolean } }>;
};

/** One key of context.list(). */
interface ContextEntry {
  key: string;
  value: unknown;
  version: number;
  updatedAt: string;
  expiresAt?: string;
}

/**
 * Keys kept for the user (principal) across all of their sessions: preferences, ids looked up
 * once, notes for the next conversation. Each key is written on its own with a version, so
 * concurrent sessions never lose each other's writes. Values are JSON; ttl is in milliseconds.
 */
declare const context: {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, options?: { ttl?: number }): Promise<{ version: number; expiresAt?: string }>;
  delete(key: string): Promise<boolean>;
  /** Entries whose keys start with prefix, in key order. */
  list(prefix?: string): Promise<ContextEntry[]>;
  /** Compare-and-set: writes next only if the key still holds expected (undefined: does not exist); else reports the conflict. */
  update(key: string, expected: unknown, next: unknown, options?: { ttl?: number }): Promise<{ ok: true; version: number } | { ok: false; current?: unknown; version: number }>;
};

/**
 * The tenant's saved skills: \`await skills.name(input)\` runs one (its input is checked against
 * its schema). mcp.search() lists them with kind "skill" and their signature.
 */
declare const skills: { readonly [name: string]: (input?: { [key: string]: unknown }) => Promise<unknown> };

/** Kept between executions of the same session; must stay JSON. */
declare var state: { [key: string]: unknown };
`;
}
