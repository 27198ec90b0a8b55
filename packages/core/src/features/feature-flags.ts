import { ErrorCodes, OptimizerError } from "../errors.js";

/** One optional part that a flag turns on or off. */
export interface FeatureDefinition {
  /** The value when nothing sets it. */
  default: boolean;
  /** What it turns on, in one line. */
  description: string;
  /** Whether a running server may change it (a config reload); else it takes a restart. */
  reloadable: boolean;
}

/**
 * Every feature flag, its default and whether it can change without a restart. A part that
 * a flag switches off answers FEATURE_DISABLED naming the flag; nothing is ignored silently.
 * docs/features.md explains each one.
 */
export const FEATURES = {
  context: {
    default: true,
    description:
      "the guest's `context` and optimizer.context(): keys shared by a principal's sessions",
    reloadable: true,
  },
  approvals: {
    default: true,
    description:
      "the `approvals` policy: programs whose plan reaches tools it asks about wait for a person",
    reloadable: true,
  },
  skills: {
    default: true,
    description: "saved skills: skills.name(input) in programs, skill hits in search, saving them",
    reloadable: true,
  },
  privacy: {
    default: true,
    description: "the `privacy` settings: personal data as tokens, sensitive-data flows",
    reloadable: true,
  },
  memoisation: {
    default: true,
    description: "memoised read-only calls of the servers that set `memo`",
    reloadable: true,
  },
  resultHandles: {
    default: true,
    description: "results over the token budget kept behind handles (mcp.handle) instead of cut",
    reloadable: true,
  },
  discoveryResources: {
    default: true,
    description: "the generated .d.ts files as MCP resources (mcp-optimizer://types/...)",
    reloadable: true,
  },
  "sandbox.process": {
    default: true,
    description: "the process sandbox (a Node child process: resource limits, not a boundary)",
    reloadable: false,
  },
  "sandbox.wasm": {
    default: true,
    description: "the wasm sandbox (QuickJS on WASI)",
    reloadable: false,
  },
  "sandbox.docker": {
    default: true,
    description: "the docker sandbox (hardened containers)",
    reloadable: false,
  },
  "sandbox.gvisor": {
    default: true,
    description: "the gvisor sandbox (docker with the runsc runtime)",
    reloadable: false,
  },
} as const satisfies Record<string, FeatureDefinition>;

export type FeatureName = keyof typeof FEATURES;
export const FEATURE_NAMES = Object.keys(FEATURES) as FeatureName[];

/** Where a flag's value came from, least to most specific. */
export type FeatureSource = "default" | "config" | "environment" | "tenant";

/** A flag's value as given: a boolean (from the config), or with where it came from. */
export type FeatureSetting =
  | boolean
  | { value: boolean; source: Exclude<FeatureSource, "default"> };

/** Flags as given to MCPOptimizer: any subset; the rest keep their defaults. */
export type FeatureSettings = Partial<Record<string, FeatureSetting>>;

/** One flag as resolved: its value and where the value came from. */
export interface FeatureState {
  name: FeatureName;
  value: boolean;
  source: FeatureSource;
  default: boolean;
  reloadable: boolean;
  description: string;
}

/** Every flag, resolved. */
export type ResolvedFeatures = Readonly<Record<FeatureName, FeatureState>>;

/** Checks a flag name; an unknown one is INVALID_CONFIG naming the known ones. */
export function assertFeatureName(name: string, where = "features"): asserts name is FeatureName {
  if (!Object.hasOwn(FEATURES, name)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `${where}: unknown feature flag "${name}". The flags are: ${FEATURE_NAMES.join(", ")}.`,
      { details: { flag: name, known: FEATURE_NAMES } },
    );
  }
}

/** Every flag with its default value, then each setting over it; refuses unknown flags. */
export function resolveFeatures(settings: FeatureSettings = {}): ResolvedFeatures {
  const out = {} as Record<FeatureName, FeatureState>;
  for (const name of FEATURE_NAMES) {
    const def: FeatureDefinition = FEATURES[name];
    out[name] = {
      name,
      value: def.default,
      source: "default",
      default: def.default,
      reloadable: def.reloadable,
      description: def.description,
    };
  }
  for (const [name, setting] of Object.entries(settings)) {
    if (setting === undefined) continue;
    assertFeatureName(name);
    const { value, source } =
      typeof setting === "boolean" ? { value: setting, source: "config" as const } : setting;
    if (typeof value !== "boolean") {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `features.${name} is true or false; got ${JSON.stringify(value)}.`,
        { details: { flag: name } },
      );
    }
    out[name] = { ...out[name], value, source };
  }
  return Object.freeze(out);
}

/**
 * Layers flag values, least specific first: what each layer sets overrides the layers before
 * it, and is reported with that layer's source (`capabilities` shows it).
 */
export function layerFeatures(
  layers: { source: Exclude<FeatureSource, "default">; values: Record<string, unknown> }[],
): Record<string, { value: boolean; source: Exclude<FeatureSource, "default"> }> {
  const out: Record<string, { value: boolean; source: Exclude<FeatureSource, "default"> }> = {};
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer.values)) {
      if (value === undefined) continue;
      assertFeatureName(name, `features (${layer.source})`);
      if (typeof value !== "boolean") {
        throw new OptimizerError(
          ErrorCodes.INVALID_CONFIG,
          `features.${name} (${layer.source}) is true or false; got ${JSON.stringify(value)}.`,
          { details: { flag: name } },
        );
      }
      out[name] = { value, source: layer.source };
    }
  }
  return out;
}

/** The environment variable of a flag: MCPO_FEATURE_CONTEXT, MCPO_FEATURE_SANDBOX_DOCKER. */
export function featureEnvName(name: FeatureName): string {
  return `MCPO_FEATURE_${name
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .replace(/\./g, "_")
    .toUpperCase()}`;
}

const ON = new Set(["1", "true", "on", "yes"]);
const OFF = new Set(["0", "false", "off", "no"]);

/**
 * The flags the environment sets (MCPO_FEATURE_<NAME>=on|off). A variable with that prefix
 * that names no flag, or a value that is not on/off, is INVALID_CONFIG.
 */
export function featuresFromEnv(env: Record<string, string | undefined>): Record<string, boolean> {
  const byVar = new Map(FEATURE_NAMES.map((n) => [featureEnvName(n), n]));
  const out: Record<string, boolean> = {};
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith("MCPO_FEATURE_") || raw === undefined) continue;
    const name = byVar.get(key);
    if (!name) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${key} names no feature flag. The variables are: ${[...byVar.keys()].join(", ")}.`,
        { details: { variable: key } },
      );
    }
    const value = raw.trim().toLowerCase();
    if (!ON.has(value) && !OFF.has(value)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `${key} is on or off (also true/false, 1/0, yes/no); got ${JSON.stringify(raw)}.`,
        { details: { variable: key } },
      );
    }
    out[name] = ON.has(value);
  }
  return out;
}

/** A part that is switched off, as the error its caller gets. */
export function featureDisabled(name: FeatureName, what: string): OptimizerError {
  return new OptimizerError(
    ErrorCodes.FEATURE_DISABLED,
    `${what} is switched off here (feature flag "${name}"); ask the operator, or do without it.`,
    { details: { flag: name } },
  );
}

/** Flags whose values differ between two resolutions. */
export function featureChanges(
  before: ResolvedFeatures,
  after: ResolvedFeatures,
): { flag: FeatureName; from: boolean; to: boolean; source: FeatureSource }[] {
  return FEATURE_NAMES.filter((n) => before[n].value !== after[n].value).map((n) => ({
    flag: n,
    from: before[n].value,
    to: after[n].value,
    source: after[n].source,
  }));
}
