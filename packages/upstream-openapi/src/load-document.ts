import SwaggerParser from "@apidevtools/swagger-parser";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import { parse as parseYaml } from "yaml";

/** An OpenAPI 3.x document after bundling: external files inlined, internal `$ref`s kept. */
export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: { url: string; variables?: Record<string, { default: string }> }[];
  paths?: Record<string, Record<string, unknown>>;
};

export interface LoadDocumentOptions {
  /** How long fetching a document (and the files it references over http) may take, in ms. */
  timeoutMs: number;
}

/**
 * Reads an OpenAPI 3.0/3.1 document from a file or URL (JSON or YAML), inlines external
 * references and validates it against the specification's schema. Every failure is typed:
 * UPSTREAM_SPEC_INVALID names what is wrong and where; an unreachable URL is
 * UPSTREAM_UNAVAILABLE; a missing file INVALID_CONFIG.
 */
export async function loadDocument(
  source: string,
  options: LoadDocumentOptions,
): Promise<OpenApiDocument> {
  const parserOptions = { resolve: { http: { timeout: options.timeoutMs } } };
  let bundled: Record<string, unknown>;
  try {
    // The configured document is fetched here (it may well be an internal host); references
    // inside it go through the parser, whose resolver refuses private addresses.
    bundled = /^https?:\/\//.test(source)
      ? ((await SwaggerParser.bundle(
          source,
          (await fetchDocument(source, options.timeoutMs)) as never,
          parserOptions,
        )) as Record<string, unknown>)
      : ((await SwaggerParser.bundle(source, parserOptions)) as Record<string, unknown>);
  } catch (error) {
    if ((error as { code?: unknown }).code === ErrorCodes.UPSTREAM_UNAVAILABLE) throw error;
    throw readError(source, error);
  }
  if (typeof bundled.swagger === "string") {
    throw new OptimizerError(
      ErrorCodes.UPSTREAM_SPEC_INVALID,
      `${source} is Swagger ${bundled.swagger}; only OpenAPI 3.0 and 3.1 are supported. Convert it (e.g. with swagger2openapi).`,
      { details: { document: source } },
    );
  }
  if (typeof bundled.openapi !== "string" || !/^3\.[01]\./.test(bundled.openapi)) {
    throw new OptimizerError(
      ErrorCodes.UPSTREAM_SPEC_INVALID,
      `${source} is not an OpenAPI 3.0 or 3.1 document: its "openapi" field is ${JSON.stringify(bundled.openapi ?? null)}.`,
      { details: { document: source } },
    );
  }
  try {
    // validate() dereferences in place: give it a copy and keep the bundled form, whose
    // internal $refs stay refs (recursive schemas cannot be inlined).
    await SwaggerParser.validate(structuredClone(bundled) as never, parserOptions);
  } catch (error) {
    const message = String((error as Error).message ?? error)
      .replace(/^Swagger schema validation failed\.\s*/, "")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 1500);
    throw new OptimizerError(
      ErrorCodes.UPSTREAM_SPEC_INVALID,
      `${source} is not a valid OpenAPI document: ${message}`,
      { cause: error, details: { document: source } },
    );
  }
  return bundled as OpenApiDocument;
}

/** GETs a document and parses it as JSON or YAML (YAML is a superset of JSON). */
async function fetchDocument(url: string, timeoutMs: number): Promise<unknown> {
  let text: string;
  try {
    const response = await fetch(url, {
      headers: { accept: "application/json, application/yaml, text/yaml, */*" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    text = await response.text();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new OptimizerError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `Cannot fetch the OpenAPI document ${url}: ${cause?.code ?? (error as Error).message}`,
      { cause: error, details: { document: url } },
    );
  }
  try {
    return parseYaml(text);
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.UPSTREAM_SPEC_INVALID,
      `${url} cannot be parsed as an OpenAPI document: ${(error as Error).message.split("\n")[0]}`,
      { cause: error, details: { document: url } },
    );
  }
}

function readError(source: string, error: unknown): OptimizerError {
  const message = String((error as Error)?.message ?? error);
  const code = (error as { code?: string })?.code;
  const remote = /^https?:\/\//.test(source);
  if (code === "ERESOLVER" && remote) {
    return new OptimizerError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `Cannot fetch the OpenAPI document ${source}: ${message}`,
      { cause: error, details: { document: source } },
    );
  }
  if (code === "ERESOLVER" || /ENOENT|no such file/i.test(message)) {
    return new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `Cannot read the OpenAPI document ${source}: ${message}`,
      { cause: error, details: { document: source } },
    );
  }
  return new OptimizerError(
    ErrorCodes.UPSTREAM_SPEC_INVALID,
    `${source} cannot be parsed as an OpenAPI document: ${message.replace(/\s+/g, " ").slice(0, 1500)}`,
    { cause: error, details: { document: source } },
  );
}
