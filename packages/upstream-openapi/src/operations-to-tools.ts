import type { JsonObject, ToolAnnotations, UpstreamTool } from "@mcp-optimizer/core";
import type { OpenApiDocument } from "./load-document.js";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

export type ParameterLocation = "path" | "query" | "header" | "cookie";

/** One argument of a tool and where it goes in the request. */
export interface OperationParameter {
  /** The name in the request (path template, query, header or cookie). */
  name: string;
  /** The property in the tool's arguments (differs from `name` only on a clash). */
  property: string;
  in: ParameterLocation;
  required: boolean;
  style?: string;
  explode?: boolean;
  /** The parameter has `content` instead of `schema`: its value is sent as JSON text. */
  json?: boolean;
}

/** One operation of the document as a tool, with what the request needs to be built. */
export interface OpenApiOperation {
  tool: UpstreamTool;
  method: string;
  /** The path template, e.g. "/files/{name}". */
  path: string;
  parameters: OperationParameter[];
  body?: { property: string; mediaType: string; required: boolean };
}

type Schema = Record<string, unknown>;

/** One tool per operation, named by operationId or by method and path. */
export function operationsToTools(doc: OpenApiDocument): OpenApiOperation[] {
  const out: OpenApiOperation[] = [];
  const names = new Set<string>();
  for (const [path, rawItem] of Object.entries(doc.paths ?? {})) {
    const item = resolveRef(doc, rawItem) as Schema;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method] as Schema | undefined;
      if (!op || typeof op !== "object") continue;
      const base =
        typeof op.operationId === "string" && op.operationId
          ? op.operationId
          : nameFromRoute(method, path);
      let name = base;
      for (let n = 2; names.has(name); n++) name = `${base}_${n}`;
      names.add(name);
      out.push(operationToTool(doc, name, method, path, op, shared));
    }
  }
  return out;
}

/** `GET /pets/{petId}/photos` -> "get_pets_by_petId_photos": stable across document edits. */
export function nameFromRoute(method: string, path: string): string {
  const parts = path
    .split("/")
    .filter(Boolean)
    .map((seg) => {
      const param = /^\{(.+)\}$/.exec(seg);
      return param ? `by_${param[1]}` : seg;
    })
    .map((seg) => seg.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, ""))
    .filter(Boolean);
  return [method.toLowerCase(), ...parts].join("_") || method.toLowerCase();
}

function operationToTool(
  doc: OpenApiDocument,
  name: string,
  method: string,
  path: string,
  op: Schema,
  shared: unknown[],
): OpenApiOperation {
  const defs = new DefCollector(doc);
  // Operation parameters override path-level ones with the same name and location.
  const byKey = new Map<string, Schema>();
  for (const raw of [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
    const p = resolveRef(doc, raw) as Schema;
    if (typeof p?.name !== "string" || typeof p.in !== "string") continue;
    byKey.set(`${p.in}:${p.name}`, p);
  }
  const properties: Schema = {};
  const required: string[] = [];
  const parameters: OperationParameter[] = [];
  for (const p of byKey.values()) {
    const location = p.in as ParameterLocation;
    if (!["path", "query", "header", "cookie"].includes(location)) continue;
    let property = p.name as string;
    if (property in properties) property = `${location}_${property}`;
    const content = p.content as Record<string, { schema?: unknown }> | undefined;
    const rawSchema = p.schema ?? (content ? Object.values(content)[0]?.schema : undefined) ?? {};
    const schema = defs.convert(rawSchema) as Schema;
    if (typeof p.description === "string" && p.description) schema.description = p.description;
    if (p.deprecated === true) schema.deprecated = true;
    properties[property] = schema;
    const isRequired = location === "path" || p.required === true;
    if (isRequired) required.push(property);
    parameters.push({
      name: p.name as string,
      property,
      in: location,
      required: isRequired,
      ...(typeof p.style === "string" ? { style: p.style } : {}),
      ...(typeof p.explode === "boolean" ? { explode: p.explode } : {}),
      ...(p.schema === undefined && content ? { json: true } : {}),
    });
  }
  let body: OpenApiOperation["body"];
  const requestBody = op.requestBody ? (resolveRef(doc, op.requestBody) as Schema) : undefined;
  const media = requestBody ? pickMediaType(requestBody.content) : undefined;
  if (requestBody && media) {
    const property = "body" in properties ? "requestBody" : "body";
    const schema = defs.convert(media.schema ?? {}) as Schema;
    if (typeof requestBody.description === "string" && !schema.description)
      schema.description = requestBody.description;
    properties[property] = schema;
    const isRequired = requestBody.required === true;
    if (isRequired) required.push(property);
    body = { property, mediaType: media.type, required: isRequired };
  }
  const inputSchema: JsonObject = {
    type: "object",
    properties: properties as JsonObject,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
    ...defs.block(),
  };
  const outputSchema = successSchema(doc, op);
  const summary = typeof op.summary === "string" ? op.summary.trim() : "";
  const details = typeof op.description === "string" ? op.description.trim() : "";
  const description = [
    summary,
    details && details !== summary ? details : "",
    `${op.deprecated === true ? "Deprecated. " : ""}${method.toUpperCase()} ${path}`,
  ]
    .filter(Boolean)
    .join("\n\n");
  return {
    tool: {
      name,
      ...(summary ? { title: summary } : {}),
      description,
      inputSchema,
      ...(outputSchema ? { outputSchema } : {}),
      annotations: annotationsFor(method, summary),
    },
    method: method.toUpperCase(),
    path,
    parameters,
    ...(body ? { body } : {}),
  };
}

/** GET and HEAD read; DELETE destroys; PUT and DELETE may be repeated (HTTP's own semantics). */
export function annotationsFor(method: string, title?: string): ToolAnnotations {
  const m = method.toLowerCase();
  const readOnly = m === "get" || m === "head" || m === "options";
  return {
    ...(title ? { title } : {}),
    readOnlyHint: readOnly,
    destructiveHint: m === "delete",
    idempotentHint: readOnly || m === "put" || m === "delete",
    openWorldHint: true,
  };
}

const BODY_TYPES = [
  /^application\/json$/,
  /^application\/[\w.+-]+\+json$/,
  /^application\/x-www-form-urlencoded$/,
  /^multipart\/form-data$/,
  /^text\/plain$/,
  /^\*\/\*$/,
];

/** The request's media type: JSON first, then forms, then text. */
function pickMediaType(content: unknown): { type: string; schema?: unknown } | undefined {
  if (!content || typeof content !== "object") return undefined;
  const entries = Object.entries(content as Record<string, { schema?: unknown }>);
  for (const pattern of BODY_TYPES) {
    const found = entries.find(([type]) => pattern.test(type.split(";")[0]!.trim()));
    if (found) return { type: found[0].split(";")[0]!.trim(), schema: found[1]?.schema };
  }
  const first = entries[0];
  return first ? { type: first[0], schema: { type: "string" } } : undefined;
}

/** The JSON schema of the first 2xx response with a JSON body. */
function successSchema(doc: OpenApiDocument, op: Schema): JsonObject | undefined {
  const responses = (op.responses ?? {}) as Record<string, unknown>;
  const codes = Object.keys(responses)
    .filter((c) => /^2(\d\d|XX)$/i.test(c))
    .sort();
  for (const code of codes) {
    const response = resolveRef(doc, responses[code]) as Schema;
    const content = response?.content as Record<string, { schema?: unknown }> | undefined;
    if (!content) continue;
    const json = Object.entries(content).find(([t]) => /json/.test(t));
    if (!json?.[1]?.schema) continue;
    const defs = new DefCollector(doc);
    const schema = defs.convert(json[1].schema) as JsonObject;
    return { ...schema, ...defs.block() };
  }
  return undefined;
}

/** Follows a local `$ref` (components/parameters, requestBodies, responses, path items). */
function resolveRef(doc: OpenApiDocument, value: unknown, seen = 0): unknown {
  if (!value || typeof value !== "object") return value;
  const ref = (value as Schema).$ref;
  if (typeof ref !== "string" || seen > 20) return value;
  return resolveRef(doc, pointer(doc, ref), seen + 1);
}

function pointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(1).split("/").filter(Boolean)) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (!node || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

const DROP = new Set(["example", "examples", "xml", "externalDocs", "discriminator"]);

/**
 * Copies OpenAPI schemas into JSON Schema: `$ref`s into the document become `#/$defs/Name`
 * (so recursive schemas stay finite), `nullable` (3.0) becomes a type union.
 */
class DefCollector {
  private readonly names = new Map<string, string>();
  private readonly defs: Record<string, unknown> = {};

  constructor(private readonly doc: OpenApiDocument) {}

  convert(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map((s) => this.convert(s));
    if (!schema || typeof schema !== "object") return schema;
    const s = schema as Schema;
    if (typeof s.$ref === "string") return { ...this.siblings(s), $ref: this.defRef(s.$ref) };
    const out: Schema = {};
    for (const [key, value] of Object.entries(s)) {
      if (DROP.has(key) || key.startsWith("x-")) continue;
      if (key === "nullable") continue;
      if (key === "properties" || key === "patternProperties" || key === "$defs") {
        out[key] = Object.fromEntries(
          Object.entries((value ?? {}) as Schema).map(([k, v]) => [k, this.convert(v)]),
        );
      } else if (typeof value === "object" && value !== null && key !== "enum" && key !== "const") {
        out[key] = this.convert(value);
      } else {
        out[key] = value;
      }
    }
    if (s.nullable === true) {
      if (typeof out.type === "string") out.type = [out.type, "null"];
      else if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
      else if (!out.type) return { anyOf: [out, { type: "null" }] };
    }
    return out;
  }

  block(): { $defs?: JsonObject } {
    return Object.keys(this.defs).length ? { $defs: this.defs as JsonObject } : {};
  }

  private siblings(s: Schema): Schema {
    const { $ref: _ref, ...rest } = s;
    return (Object.keys(rest).length ? this.convert(rest) : {}) as Schema;
  }

  private defRef(ref: string): string {
    let name = this.names.get(ref);
    if (!name) {
      const last = ref.split("/").pop() ?? "Def";
      const base =
        decodeURIComponent(last)
          .replace(/~1/g, "_")
          .replace(/[^A-Za-z0-9_.-]+/g, "_") || "Def";
      name = base;
      const used = new Set(this.names.values());
      for (let n = 2; used.has(name); n++) name = `${base}${n}`;
      this.names.set(ref, name);
      this.defs[name] = {}; // registered before converting: a recursive ref finds its name
      this.defs[name] = this.convert(pointer(this.doc, ref) ?? {});
    }
    return `#/$defs/${name}`;
  }
}
