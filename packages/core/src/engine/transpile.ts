import * as acorn from "acorn";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";

/** Largest program accepted, in characters. */
export const MAX_PROGRAM_CHARS = 256 * 1024;

export interface Program {
  /** JavaScript for the guest: the body of an async function. */
  code: string;
  /** "javascript" when the source parsed as JavaScript as is, else "typescript". */
  language: "javascript" | "typescript";
  /** `global.member` pairs the program mentions, e.g. ["github", "list_issues"]. */
  references: [string, string][];
  /** `mcp.call("server", "tool")` calls with literal names. */
  literalCalls: [string, string][];
  /** Whether some `mcp.call` names its server or tool with anything but a string literal. */
  dynamicCalls: boolean;
  /** Globals read with a computed key, e.g. `github[name]`: any of their members may be reached. */
  computedRefs: string[];
  /**
   * Every call the program writes to `global.member(...)` (also `.raw(...)`) or to `mcp.call`
   * with literal names, with its arguments as far as they are literals: what the effect plan
   * counts and shows.
   */
  callSites: CallSite[];
  /**
   * Globals used as plain values (`const g = github`, `f(github)`), not as `global.member`:
   * their members may be reached under another name.
   */
  bareRefs: string[];
}

/** One call written in the program. */
export interface CallSite {
  /** `global.member(...)`: the global (a server's identifier, `skills`, ...); `mcp.call`: the server's name. */
  target: string;
  /** The member called, or the tool's name for `mcp.call`. */
  member: string;
  /** How it is written: a member call, or `mcp.call("server", "tool", ...)` with literal names. */
  via: "member" | "mcp.call";
  /**
   * The first argument as far as it is written with literals: JSON, where a value computed at
   * run time is `{ "$expr": "<its source, cut>" }`. `{}` when the call has no argument.
   */
  args: JsonValue;
  /** Inside a loop or a function: the call may run any number of times. */
  repeated: boolean;
  /** 1-based line in the program. */
  line: number;
}

const HEADER = "async function __mcpoProgram() {\n";
const FOOTER = "\n}";
const cache = new Map<string, Program>();
const CACHE_SIZE = 512;

type Node = acorn.Node & Record<string, unknown>;

/**
 * Turns model-written TypeScript or JavaScript into the body of an async function:
 * types stripped (esbuild, only when the source is not plain JavaScript), and the value of a
 * final expression statement returned, so `await github.list_issues({})` returns the issues.
 */
export async function compileProgram(source: unknown): Promise<Program> {
  if (typeof source !== "string" || source.trim().length === 0) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      "The code is empty. Write a program, e.g. `const r = await server.tool({ ... }); return r.items.length;`.",
    );
  }
  if (source.length > MAX_PROGRAM_CHARS) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `The program is ${source.length} characters; the limit is ${MAX_PROGRAM_CHARS}. Keep data out of the code: fetch it with tool calls inside the program.`,
    );
  }
  const cached = cache.get(source);
  if (cached) {
    cache.delete(source);
    cache.set(source, cached);
    return cached;
  }
  let language: Program["language"] = "javascript";
  let body = source;
  let fn = tryParse(source);
  if (!fn) {
    language = "typescript";
    body = await stripTypes(source);
    fn = tryParse(body);
    if (!fn) {
      throw new OptimizerError(
        ErrorCodes.CODE_SYNTAX_ERROR,
        "The program could not be compiled to JavaScript.",
      );
    }
  }
  const program = finish(body, fn, language);
  cache.set(source, program);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return program;
}

function tryParse(body: string): Node | undefined {
  try {
    const ast = acorn.parse(`${HEADER}${body}${FOOTER}`, {
      ecmaVersion: "latest",
      sourceType: "script",
    });
    return (ast as unknown as { body: Node[] }).body[0];
  } catch {
    return undefined;
  }
}

async function stripTypes(source: string): Promise<string> {
  const esbuild = await import("esbuild");
  try {
    const out = await esbuild.transform(`${HEADER}${source}${FOOTER}`, {
      loader: "ts",
      target: "es2023",
      sourcefile: "program.ts",
      logLevel: "silent",
    });
    const start = out.code.indexOf("{") + 1;
    const end = out.code.lastIndexOf("}");
    return out.code.slice(start, end);
  } catch (error) {
    throw syntaxError(error, source);
  }
}

function syntaxError(error: unknown, source: string): OptimizerError {
  const messages = (
    error as {
      errors?: {
        text: string;
        location?: { line: number; column: number; lineText: string } | null;
      }[];
    }
  ).errors;
  const first = messages?.[0];
  if (!first)
    return new OptimizerError(
      ErrorCodes.CODE_SYNTAX_ERROR,
      String((error as Error).message ?? error),
    );
  let text = first.text;
  if (/import|export/.test(text) || /^\s*(import|export)\b/m.test(first.location?.lineText ?? "")) {
    text +=
      ". Programs cannot import or export: every server is already a global (see mcp.servers)";
  }
  if (!first.location)
    return new OptimizerError(ErrorCodes.CODE_SYNTAX_ERROR, `Syntax error: ${text}.`);
  // Line 1 is the wrapper's header.
  const line = first.location.line - 1;
  const lines = source.split("\n");
  if (line > lines.length) {
    // The parser reached the wrapper's closing brace: the program itself ended too early.
    const last = lines.length;
    const column = (lines[last - 1] ?? "").length + 1;
    return new OptimizerError(
      ErrorCodes.CODE_SYNTAX_ERROR,
      `Syntax error at line ${last}, column ${column}: the program ends too early (an unfinished expression, or a bracket or string left open).\n  ${(lines[last - 1] ?? "").trim()}`,
      { details: { line: last, column } },
    );
  }
  const col = first.location.column + 1;
  return new OptimizerError(
    ErrorCodes.CODE_SYNTAX_ERROR,
    `Syntax error at line ${line}, column ${col}: ${text}.\n  ${first.location.lineText.trim()}`,
    { details: { line, column: col } },
  );
}

function finish(body: string, fn: Node, language: Program["language"]): Program {
  const statements = (fn.body as { body: Node[] }).body;
  const offset = HEADER.length;
  let code = body;
  const last = statements[statements.length - 1];
  if (last && last.type === "ExpressionStatement" && typeof last.directive !== "string") {
    const expr = last.expression as Node;
    const start = expr.start - offset;
    const end = expr.end - offset;
    code = `${body.slice(0, last.start - offset)}return (${body.slice(start, end)});${body.slice(last.end - offset)}`;
  }
  const references: [string, string][] = [];
  const literalCalls: [string, string][] = [];
  let dynamicCalls = false;
  const computedRefs = new Set<string>();
  // mcp.call read without being called right there (aliased, passed on) is a dynamic call too.
  const mcpCallReads = new Set<Node>();
  const mcpCallCallees = new Set<Node>();
  walk(fn, (node) => {
    if (node.type === "MemberExpression") {
      const object = node.object as Node;
      const property = node.property as Node;
      if (object.type === "Identifier") {
        if (object.name === "mcp" && memberName(node) === "call") mcpCallReads.add(node);
        if (!node.computed && property.type === "Identifier") {
          references.push([object.name as string, property.name as string]);
        } else if (property.type === "Literal" && typeof property.value === "string") {
          references.push([object.name as string, property.value]);
        } else if (node.computed) {
          computedRefs.add(object.name as string);
        }
      }
    }
    if (node.type === "CallExpression") {
      const callee = node.callee as Node;
      const args = node.arguments as Node[];
      if (
        callee.type === "MemberExpression" &&
        (callee.object as Node).type === "Identifier" &&
        (callee.object as Node).name === "mcp" &&
        memberName(callee) === "call"
      ) {
        mcpCallCallees.add(callee);
        if (
          args[0]?.type === "Literal" &&
          typeof args[0].value === "string" &&
          args[1]?.type === "Literal" &&
          typeof args[1].value === "string"
        ) {
          literalCalls.push([args[0].value, args[1].value]);
        } else {
          dynamicCalls = true;
        }
      }
    }
  });
  for (const read of mcpCallReads) if (!mcpCallCallees.has(read)) dynamicCalls = true;
  const source = `${HEADER}${body}${FOOTER}`;
  return {
    code,
    language,
    references,
    literalCalls,
    dynamicCalls,
    computedRefs: [...computedRefs],
    callSites: callSitesOf(fn, source),
    bareRefs: bareReferences(fn),
  };
}

const LOOPS = new Set([
  "ForStatement",
  "ForInStatement",
  "ForOfStatement",
  "WhileStatement",
  "DoWhileStatement",
]);
const FUNCTIONS = new Set(["FunctionExpression", "ArrowFunctionExpression", "FunctionDeclaration"]);
/** Longest source text of a computed argument kept in a call site. */
const EXPR_CHARS = 60;

/** The calls the program writes, each with its literal arguments and whether it may repeat. */
function callSitesOf(fn: Node, source: string): CallSite[] {
  const sites: CallSite[] = [];
  const lineOf = lineIndex(source);
  const visit = (node: Node, repeated: boolean): void => {
    if (node.type === "CallExpression") {
      const site = callSiteOf(node, source);
      if (site) sites.push({ ...site, repeated, line: lineOf(node.start) - 1 });
    }
    for (const child of children(node)) {
      visit(child, repeated || LOOPS.has(node.type) || FUNCTIONS.has(node.type));
    }
  };
  // The program's own function body runs once; functions inside it may run any number of times.
  for (const child of children(fn.body as Node)) visit(child, false);
  return sites;
}

function callSiteOf(node: Node, source: string): Omit<CallSite, "repeated" | "line"> | undefined {
  let callee = node.callee as Node;
  const args = node.arguments as Node[];
  if (callee.type !== "MemberExpression") return undefined;
  const object = callee.object as Node;
  // mcp.call("server", "tool", args)
  if (object.type === "Identifier" && object.name === "mcp" && memberName(callee) === "call") {
    const [server, tool, first] = args;
    if (
      server?.type === "Literal" &&
      typeof server.value === "string" &&
      tool?.type === "Literal" &&
      typeof tool.value === "string"
    ) {
      return {
        target: server.value,
        member: tool.value,
        via: "mcp.call",
        args: argsOf(first, source),
      };
    }
    return undefined;
  }
  // server.tool.raw(args)
  if (
    memberName(callee) === "raw" &&
    object.type === "MemberExpression" &&
    (object.object as Node).type === "Identifier"
  ) {
    callee = object;
  }
  const target = callee.object as Node;
  const member = memberName(callee);
  if (target.type !== "Identifier" || member === undefined) return undefined;
  return {
    target: target.name as string,
    member,
    via: "member",
    args: argsOf(args[0], source),
  };
}

function argsOf(node: Node | undefined, source: string): JsonValue {
  return node === undefined ? {} : literalOf(node, source);
}

/** A node as JSON as far as it is written with literals; anything computed is `{ $expr }`. */
function literalOf(node: Node, source: string): JsonValue {
  const expr = (): JsonObject => {
    const text = source.slice(node.start, node.end).replace(/\s+/g, " ");
    return { $expr: text.length > EXPR_CHARS ? `${text.slice(0, EXPR_CHARS - 1)}…` : text };
  };
  switch (node.type) {
    case "Literal": {
      const value = node.value;
      if (value === null || ["string", "number", "boolean"].includes(typeof value))
        return value as JsonValue;
      return expr();
    }
    case "TemplateLiteral":
      if ((node.expressions as Node[]).length === 0)
        return ((node.quasis as Node[])[0]!.value as { cooked: string }).cooked;
      return expr();
    case "UnaryExpression": {
      const argument = node.argument as Node;
      if (
        node.operator === "-" &&
        argument.type === "Literal" &&
        typeof argument.value === "number"
      )
        return -argument.value;
      return expr();
    }
    case "ArrayExpression":
      return (node.elements as (Node | null)[]).map((e) =>
        e === null
          ? null
          : e.type === "SpreadElement"
            ? literalOf(e, source)
            : literalOf(e, source),
      );
    case "ObjectExpression": {
      const out: JsonObject = {};
      for (const p of node.properties as Node[]) {
        if (p.type !== "Property" || p.computed || p.kind !== "init") {
          out["..."] = { $expr: source.slice(p.start, p.end).slice(0, EXPR_CHARS) };
          continue;
        }
        const key = p.key as Node;
        const name = key.type === "Identifier" ? (key.name as string) : String(key.value);
        out[name] = literalOf(p.value as Node, source);
      }
      return out;
    }
    default:
      return expr();
  }
}

/** Identifiers used as values rather than as the object of `x.y`, by name. */
function bareReferences(fn: Node): string[] {
  const names = new Set<string>();
  const visit = (node: Node, parent: Node | undefined, key: string | undefined): void => {
    if (node.type === "Identifier" && parent) {
      const asObject = parent.type === "MemberExpression" && key === "object";
      const asProperty =
        parent.type === "MemberExpression" && key === "property" && !parent.computed;
      const asKey = parent.type === "Property" && key === "key" && !parent.computed;
      const asLabel =
        parent.type === "LabeledStatement" ||
        parent.type === "BreakStatement" ||
        parent.type === "ContinueStatement";
      if (!asObject && !asProperty && !asKey && !asLabel) names.add(node.name as string);
    }
    for (const [childKey, child] of childEntries(node)) visit(child, node, childKey);
  };
  visit(fn.body as Node, undefined, undefined);
  return [...names];
}

function childEntries(node: Node): [string, Node][] {
  const out: [string, Node][] = [];
  for (const key of Object.keys(node)) {
    const value = node[key];
    if (Array.isArray(value)) {
      for (const child of value)
        if (child && typeof child.type === "string") out.push([key, child]);
    } else if (value && typeof value === "object" && typeof (value as Node).type === "string") {
      out.push([key, value as Node]);
    }
  }
  return out;
}

function children(node: Node): Node[] {
  return childEntries(node).map(([, child]) => child);
}

/** Maps an offset in `text` to its 1-based line. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** The member a MemberExpression names statically (`a.b`, `a["b"]`), if any. */
function memberName(node: Node): string | undefined {
  const property = node.property as Node;
  if (!node.computed && property.type === "Identifier") return property.name as string;
  if (property.type === "Literal" && typeof property.value === "string") return property.value;
  return undefined;
}

function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const key of Object.keys(node)) {
    const value = node[key];
    if (Array.isArray(value)) {
      for (const child of value) if (child && typeof child.type === "string") walk(child, visit);
    } else if (value && typeof value === "object" && typeof (value as Node).type === "string") {
      walk(value as Node, visit);
    }
  }
}
