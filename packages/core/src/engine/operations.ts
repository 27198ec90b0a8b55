import * as z from "zod";
import { ErrorCodes, OptimizerError } from "../errors.js";
import { isPlainObject, type JsonObject } from "../json.js";

/** The Standard Schema interface (zod, valibot, arktype ...), for operation parameters. */
export interface StandardSchemaLike {
  "~standard": {
    validate(value: unknown):
      | { value?: unknown; issues?: readonly { message: string; path?: readonly unknown[] }[] }
      | Promise<{
          value?: unknown;
          issues?: readonly { message: string; path?: readonly unknown[] }[];
        }>;
  };
}

/**
 * A named operation an adaptor registers: a program run in the sandbox with `params` as a
 * global, or a single upstream tool. Both run with the same limits, retries and telemetry.
 */
export interface OperationDefinition {
  /** The name callers use: `optimizer.execute({ operation: "triage" })`. */
  name: string;
  description?: string;
  /** JSON Schema or a Standard Schema (e.g. zod) for `params`. Default: any object. */
  inputSchema?: JsonObject | StandardSchemaLike;
  /** A program (TypeScript or JavaScript); it reads its parameters from `params`. */
  code?: string;
  /** Or one upstream tool, "server.tool", called with `params` as its arguments. */
  tool?: string;
  /** Marks operations that change or delete things (for docs and policy). */
  destructive?: boolean;
}

export interface RegisteredOperation extends OperationDefinition {
  validate(params: unknown): Promise<JsonObject>;
}

function isStandardSchema(value: unknown): value is StandardSchemaLike {
  return typeof value === "object" && value !== null && "~standard" in value;
}

export function registerOperation(definition: OperationDefinition): RegisteredOperation {
  if (typeof definition.name !== "string" || !/^[A-Za-z_][\w.-]{0,63}$/.test(definition.name)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `An operation name is 1-64 letters, digits, _ . -; got ${JSON.stringify(definition.name)}.`,
    );
  }
  if ((definition.code === undefined) === (definition.tool === undefined)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_INPUT,
      `Operation "${definition.name}" needs exactly one of "code" or "tool".`,
    );
  }
  const schema = definition.inputSchema;
  let jsonValidator: z.ZodType | undefined;
  if (schema && !isStandardSchema(schema)) {
    try {
      jsonValidator = z.fromJSONSchema(schema as never) as z.ZodType;
    } catch (error) {
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        `Operation "${definition.name}" has an input schema zod cannot read: ${(error as Error).message}`,
      );
    }
  }
  const invalid = (issues: readonly { message: string; path?: readonly unknown[] }[]) =>
    new OptimizerError(
      ErrorCodes.OPERATION_INVALID_PARAMS,
      `Invalid params for operation "${definition.name}": ${issues
        .slice(0, 5)
        .map(
          (i) =>
            `${i.path?.length ? i.path.map((p) => (typeof p === "object" && p && "key" in p ? String((p as { key: unknown }).key) : String(p))).join(".") : "(params)"}: ${i.message}`,
        )
        .join("; ")}.`,
      { details: { operation: definition.name } },
    );
  return {
    ...definition,
    async validate(params: unknown): Promise<JsonObject> {
      const input = params ?? {};
      if (isStandardSchema(schema)) {
        const result = await schema["~standard"].validate(input);
        if (result.issues) throw invalid(result.issues);
        return result.value as JsonObject;
      }
      if (jsonValidator) {
        const parsed = jsonValidator.safeParse(input);
        if (!parsed.success)
          throw invalid(parsed.error.issues.map((i) => ({ message: i.message, path: i.path })));
        return parsed.data as JsonObject;
      }
      if (!isPlainObject(input)) throw invalid([{ message: "params must be an object" }]);
      return input as JsonObject;
    },
  };
}
