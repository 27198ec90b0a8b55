import type { PiiDetector, PiiKind } from "../contracts/pii-detector.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import { createDefaultPiiDetector, type PiiRule } from "./default-pii-detector.js";

/** What stays out of the model: personal data as tokens, labelled data kept where it may go. */
export interface PrivacyOptions {
  /** Kinds of personal data replaced by tokens ([EMAIL_1]) in all the model reads. Default: none. */
  tokenize?: PiiKind[];
  /** Finds personal data. Default: the built-in detector for the kinds in `tokenize`. */
  detector?: PiiDetector;
  /** Region of phone numbers written without a country code (built-in detector). Default "US". */
  defaultRegion?: string;
  /** Patterns of more kinds, e.g. national ids (built-in detector). Default: none. */
  rules?: PiiRule[];
  /** Encrypts the session's token vault at rest (AES-256-GCM, key derived from it). Default: none. */
  vaultKey?: string;
  /**
   * Servers or tools whose results are sensitive ("hr", "hr.*", "crm.get_customer"): every
   * string they hand the program is tracked, masked at egress and kept where `flows` allows.
   * Default: none.
   */
  sensitive?: string[];
  /**
   * Where sensitive data may be sent: a source pattern (the tool it came from) to the tools it
   * may reach as arguments, e.g. { "hr.*": ["hr.*", "mail.send"] }. Default: its own server only.
   */
  flows?: Record<string, string[]>;
}

/** PrivacyOptions checked, with the detector made; undefined when nothing is asked for. */
export interface ResolvedPrivacy {
  kinds: readonly PiiKind[];
  detector: PiiDetector | undefined;
  vaultKey: string | undefined;
  sensitive: readonly string[];
  flows: Readonly<Record<string, readonly string[]>>;
}

export function resolvePrivacy(options: PrivacyOptions | undefined): ResolvedPrivacy | undefined {
  if (!options) return undefined;
  const kinds = options.tokenize ?? [];
  const sensitive = options.sensitive ?? [];
  for (const [name, list] of [
    ["privacy.tokenize", kinds],
    ["privacy.sensitive", sensitive],
  ] as const) {
    if (!Array.isArray(list) || list.some((k) => typeof k !== "string" || k === "")) {
      throw new OptimizerError(ErrorCodes.INVALID_CONFIG, `${name} is a list of names.`);
    }
  }
  for (const [source, targets] of Object.entries(options.flows ?? {})) {
    if (!Array.isArray(targets) || targets.some((t) => typeof t !== "string")) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `privacy.flows["${source}"] is a list of tool patterns ("server.*", "mail.send").`,
      );
    }
  }
  if (options.vaultKey !== undefined && options.vaultKey.length < 16) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      "privacy.vaultKey needs at least 16 characters (use a random 32-byte value, base64).",
    );
  }
  if (kinds.length === 0 && sensitive.length === 0) return undefined;
  const detector =
    kinds.length === 0
      ? undefined
      : (options.detector ??
        createDefaultPiiDetector({
          kinds,
          ...(options.defaultRegion ? { defaultRegion: options.defaultRegion } : {}),
          ...(options.rules ? { rules: options.rules } : {}),
        }));
  if (detector) {
    const unknown = kinds.filter((k) => !detector.kinds.includes(k));
    if (unknown.length > 0) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `privacy.tokenize names ${unknown.join(", ")}, which the detector "${detector.name}" does not find (it finds ${detector.kinds.join(", ")}).`,
      );
    }
  }
  return { kinds, detector, vaultKey: options.vaultKey, sensitive, flows: options.flows ?? {} };
}
