import * as acorn from "acorn";
import { ErrorCodes, OptimizerError } from "../errors.js";

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
  return {
    code,
    language,
    references,
    literalCalls,
    dynamicCalls,
    computedRefs: [...computedRefs],
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
