/** Awkward tool schemas seen in the wild (and a few nastier ones), for type generation tests. */
export const SCHEMA_CORPUS: Record<string, object> = {
  empty: {},
  emptyObject: { type: "object" },
  closedEmpty: { type: "object", properties: {}, additionalProperties: false },
  booleanTrue: { type: "object", properties: { anything: true, nothing: false } },
  everythingEcho: {
    type: "object",
    properties: { message: { type: "string", description: "Message to echo" } },
    required: ["message"],
    $schema: "http://json-schema.org/draft-07/schema#",
  },
  enumWithQuotes: {
    type: "object",
    properties: {
      mode: { enum: ['say "hi"', "back\\slash", "new\nline", "*/ end comment", 1, true, null] },
    },
    required: ["mode"],
  },
  typeArray: { type: "object", properties: { v: { type: ["string", "number", "null"] } } },
  openApiNullable: {
    type: "object",
    properties: { when: { type: "string", format: "date-time", nullable: true } },
  },
  oddKeys: {
    type: "object",
    properties: {
      "x-api-key": { type: "string" },
      "1st": { type: "number" },
      ["__proto__"]: { type: "string" },
      constructor: { type: "boolean" },
      "": { type: "string" },
      "with space": { type: "string" },
      ünïcode: { type: "string" },
    },
    required: ["x-api-key", "constructor"],
  },
  zodDefinitions: {
    $ref: "#/definitions/Args",
    definitions: {
      Args: {
        type: "object",
        properties: {
          filter: { $ref: "#/definitions/Filter" },
          limit: { type: "integer", minimum: 1, maximum: 100, default: 10 },
        },
        required: ["filter"],
        additionalProperties: false,
      },
      Filter: {
        type: "object",
        properties: {
          state: { type: "string", enum: ["open", "closed", "all"] },
          labels: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
  recursiveTree: {
    type: "object",
    properties: { root: { $ref: "#/$defs/node" } },
    required: ["root"],
    $defs: {
      node: {
        type: "object",
        properties: {
          name: { type: "string" },
          children: { type: "array", items: { $ref: "#/$defs/node" } },
        },
        required: ["name"],
      },
    },
  },
  mutualRecursion: {
    type: "object",
    properties: { a: { $ref: "#/$defs/A" } },
    $defs: {
      A: { type: "object", properties: { b: { $ref: "#/$defs/B" } } },
      B: { type: "object", properties: { a: { $ref: "#/$defs/A" } } },
    },
  },
  tuple2020: {
    type: "object",
    properties: {
      point: { type: "array", prefixItems: [{ type: "number" }, { type: "number" }], items: false },
    },
  },
  tupleDraft7: {
    type: "object",
    properties: {
      pair: {
        type: "array",
        items: [{ type: "string" }, { type: "integer" }],
        additionalItems: { type: "boolean" },
      },
    },
  },
  itemsFalse: { type: "object", properties: { none: { type: "array", items: false } } },
  anyOfObjects: {
    type: "object",
    properties: {
      target: {
        anyOf: [
          { type: "object", properties: { id: { type: "number" } }, required: ["id"] },
          { type: "object", properties: { slug: { type: "string" } }, required: ["slug"] },
        ],
      },
    },
  },
  oneOfPrimitives: {
    type: "object",
    properties: { size: { oneOf: [{ type: "string" }, { type: "integer" }] } },
  },
  allOfWithRef: {
    type: "object",
    properties: {
      item: {
        allOf: [
          { $ref: "#/$defs/Base" },
          { type: "object", properties: { extra: { type: "boolean" } } },
        ],
      },
    },
    $defs: { Base: { type: "object", properties: { id: { type: "string" } }, required: ["id"] } },
  },
  additionalSchema: { type: "object", additionalProperties: { type: "number" } },
  additionalWithProps: {
    type: "object",
    properties: { name: { type: "string" } },
    additionalProperties: { type: "number" },
  },
  patternProps: { type: "object", patternProperties: { "^x-": { type: "string" } } },
  noTypeWithProps: { properties: { a: { type: "string" } }, required: ["a"] },
  deepNesting: (() => {
    let s: object = { type: "string" };
    for (let i = 0; i < 30; i++) s = { type: "object", properties: { next: s } };
    return s;
  })(),
  hugeEnum: {
    type: "object",
    properties: { code: { type: "string", enum: Array.from({ length: 800 }, (_, i) => `C${i}`) } },
  },
  unresolvableRef: {
    type: "object",
    properties: { x: { $ref: "#/$defs/missing" }, y: { $ref: "https://example.com/schema.json" } },
  },
  constValues: {
    type: "object",
    properties: { kind: { const: "issue" }, n: { const: -1.5 } },
    required: ["kind"],
  },
  nestedArrays: {
    type: "object",
    properties: {
      grid: { type: "array", items: { type: "array", items: { type: ["number", "null"] } } },
    },
  },
  notKeyword: { type: "object", properties: { anythingBut: { not: { type: "string" } } } },
  githubLike: {
    type: "object",
    properties: {
      owner: { type: "string", description: "Repository owner" },
      repo: { type: "string", description: "Repository name" },
      state: { type: "string", enum: ["open", "closed", "all"], description: "Filter by state" },
      labels: { type: "array", items: { type: "string" }, description: "Filter by labels" },
      since: { type: "string", format: "date-time" },
      perPage: { type: "number", minimum: 1, maximum: 100 },
    },
    required: ["owner", "repo"],
  },
  memoryEntities: {
    type: "object",
    properties: {
      entities: {
        type: "array",
        items: {
          type: "object",
          properties: {
            name: { type: "string" },
            entityType: { type: "string" },
            observations: { type: "array", items: { type: "string" } },
          },
          required: ["name", "entityType", "observations"],
          additionalProperties: false,
        },
      },
    },
    required: ["entities"],
  },
  notAnObjectSchema: { type: "string" },
  garbage: { type: 42, properties: "nope", required: "yes", items: 7 } as object,
  intersectionOfUnions: {
    allOf: [
      { anyOf: [{ type: "string" }, { type: "number" }] },
      { anyOf: [{ type: "number" }, { type: "boolean" }] },
    ],
  },
};

/** Output schemas (structured content). */
export const OUTPUT_CORPUS: Record<string, object> = {
  weather: {
    type: "object",
    properties: {
      temperature: { type: "number" },
      conditions: { type: "string" },
      humidity: { type: "number" },
    },
    required: ["temperature", "conditions", "humidity"],
    additionalProperties: false,
  },
  recursive: {
    $ref: "#/$defs/Node",
    $defs: {
      Node: {
        type: "object",
        properties: { kids: { type: "array", items: { $ref: "#/$defs/Node" } } },
      },
    },
  },
};
