import { ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/server";
import { Ajv } from "@modelcontextprotocol/server/validators/ajv";
import type { JsonObject } from "../json.js";
import type { MetaToolDefinition } from "./meta-tools.js";

// The SDK bundles Ajv without exporting its types; these are the compiled function and its errors.
type ValidateFunction = ReturnType<InstanceType<typeof Ajv>["compile"]>;
type ErrorObject = NonNullable<ValidateFunction["errors"]>[number];

/** One problem with a meta-tool's arguments: where (a JSON pointer) and what. */
export interface ArgumentIssue {
  /** JSON pointer into the arguments, e.g. "/code"; "" for the object itself. */
  path: string;
  message: string;
}

/**
 * Checks a meta-tool's arguments against the input schema it publishes, with the JSON Schema
 * validator the MCP SDK bundles (Ajv). A failure is a JSON-RPC `-32602` (Invalid params) whose
 * message and `data.issues` name the path of each problem.
 */
export class MetaToolArgumentValidator {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  /** Compiled schemas by their JSON text: the schemas are fixed, descriptions are not. */
  private readonly compiled = new Map<string, ValidateFunction>();

  /** Throws a `-32602` ProtocolError unless `args` fit the tool's published schema. */
  assertValid(tool: Pick<MetaToolDefinition, "name" | "inputSchema">, args: unknown): void {
    const validate = this.validatorFor(tool.inputSchema);
    if (validate(args)) return;
    const issues = (validate.errors ?? []).map(toIssue);
    const summary = issues.map((i) => `${i.path || "/"} ${i.message}`).join("; ");
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Invalid arguments for ${tool.name}: ${summary}.`,
      { tool: tool.name, issues },
    );
  }

  private validatorFor(schema: JsonObject): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

function toIssue(error: ErrorObject): ArgumentIssue {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "additionalProperties") {
    return {
      path: `${error.instancePath}/${String(params.additionalProperty)}`,
      message: "is not an argument of this tool",
    };
  }
  if (error.keyword === "required") {
    return {
      path: `${error.instancePath}/${String(params.missingProperty)}`,
      message: "is required",
    };
  }
  return { path: error.instancePath, message: error.message ?? error.keyword };
}
