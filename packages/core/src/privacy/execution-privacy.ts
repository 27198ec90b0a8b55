import { createValueMatcher, type ValueMatcher } from "../audit/value-matcher.js";
import type { EntryStore } from "../contracts/entry-store.js";
import type { PiiDetector, PiiMatch } from "../contracts/pii-detector.js";
import { matches } from "../engine/policy.js";
import { ErrorCodes, isOptimizerError, OptimizerError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import type { ResolvedPrivacy } from "./privacy-options.js";
import { TokenVault, type VaultEntry } from "./token-vault.js";

/** Strings shorter than this from a sensitive tool are not tracked: "ok", "yes", ids like "12". */
const MIN_TRACKED_LENGTH = 4;
/** At most this many values of one result are tracked (a large listing is tracked in part). */
const MAX_TRACKED_PER_RESULT = 10_000;
const TOKEN = /\[[A-Z0-9_]+_\d+\]/g;

/**
 * One execution's privacy: tokens in the arguments a program sends become the values they stand
 * for, sensitive values may only flow where the policy allows (EGRESS_DENIED), and everything
 * the model reads has personal data and sensitive values replaced by tokens. The program itself
 * sees real values: it needs them to compute. ADR 0022, docs/privacy.md.
 */
export class ExecutionPrivacy {
  private vault: Promise<TokenVault> | undefined;
  private matcher: { size: number; entries: VaultEntry[]; matcher: ValueMatcher } | undefined;

  constructor(
    private readonly settings: ResolvedPrivacy,
    private readonly store: EntryStore,
    private readonly sessionId: string,
  ) {}

  /**
   * The arguments of a call to `server.tool` as the upstream gets them: this session's tokens
   * replaced by their values. Refuses (EGRESS_DENIED) a call that would send a sensitive value
   * somewhere its policy does not allow.
   */
  async prepareCall(server: string, tool: string, args: JsonObject): Promise<JsonObject> {
    const text = JSON.stringify(args);
    const hasTokens = TOKEN.test(text);
    TOKEN.lastIndex = 0;
    if (!hasTokens && this.settings.sensitive.length === 0) return args;
    const vault = await this.loadVault();
    const prepared = hasTokens
      ? (mapStrings(args, (s) => detokenize(s, vault)) as JsonObject)
      : args;
    this.checkFlows(`${server}.${tool}`, JSON.stringify(prepared), vault);
    return prepared;
  }

  /** A tool's result: when the tool is sensitive, every string it returned is tracked. */
  async noteResult(server: string, tool: string, value: JsonValue | undefined): Promise<void> {
    const source = `${server}.${tool}`;
    if (!this.settings.sensitive.some((p) => matches(p, server) || matches(p, source))) return;
    const vault = await this.loadVault();
    let tracked = 0;
    forEachString(value, (s) => {
      if (s.length >= MIN_TRACKED_LENGTH && tracked < MAX_TRACKED_PER_RESULT) {
        vault.tokenFor("sensitive", s, source);
        tracked++;
      }
    });
  }

  /** Text the model reads: known values (in any common encoding) and found personal data as tokens. */
  async text(text: string): Promise<string> {
    if (text.length === 0) return text;
    const vault = await this.loadVault();
    const known = this.knownValues(vault);
    const masked = known.matcher.replace(text, (i) => known.entries[i]!.token);
    const detector = this.settings.detector;
    if (!detector) return masked;
    const found = (await detectOrWithhold(detector, masked)).filter((m) =>
      this.settings.kinds.includes(m.kind),
    );
    if (found.length === 0) return masked;
    let out = "";
    let at = 0;
    for (const m of found) {
      out += masked.slice(at, m.start) + vault.tokenFor(m.kind, m.value);
      at = m.end;
    }
    return out + masked.slice(at);
  }

  /** A JSON value the model reads, every string (keys included) through `text`. */
  async json<T extends JsonValue | undefined>(value: T): Promise<T> {
    if (value === undefined || value === null) return value;
    if (typeof value === "string") return (await this.text(value)) as T;
    if (Array.isArray(value)) {
      const out: JsonValue[] = [];
      for (const v of value) out.push(await this.json(v));
      return out as T;
    }
    if (typeof value === "object") {
      const out: Record<string, JsonValue> = {};
      for (const [k, v] of Object.entries(value)) out[await this.text(k)] = await this.json(v);
      return out as T;
    }
    return value;
  }

  /** Writes new tokens back, to live as long as the session. */
  async save(ttlMs: number): Promise<void> {
    if (this.vault) await (await this.vault).save(ttlMs);
  }

  private loadVault(): Promise<TokenVault> {
    this.vault ??= TokenVault.load(this.store, this.sessionId, this.settings.vaultKey);
    return this.vault;
  }

  private knownValues(vault: TokenVault): { entries: VaultEntry[]; matcher: ValueMatcher } {
    if (!this.matcher || this.matcher.size !== vault.size) {
      const entries = vault.all();
      this.matcher = {
        size: vault.size,
        entries,
        matcher: createValueMatcher(entries.map((e) => e.value)),
      };
    }
    return this.matcher;
  }

  private checkFlows(destination: string, argsText: string, vault: TokenVault): void {
    if (this.settings.sensitive.length === 0) return;
    const known = this.knownValues(vault);
    for (const i of known.matcher.find(argsText)) {
      const entry = known.entries[i]!;
      if (entry.kind !== "sensitive" || !entry.source) continue;
      if (flowAllowed(this.settings.flows, entry.source, destination)) continue;
      const allowed = allowedTargets(this.settings.flows, entry.source);
      throw new OptimizerError(
        ErrorCodes.EGRESS_DENIED,
        `Data from ${entry.source} (${entry.token}) may not be sent to ${destination}: privacy.flows lets it reach ${allowed.join(", ")} only. The call was not made.`,
        { details: { source: entry.source, destination, token: entry.token } },
      );
    }
  }
}

/**
 * The detector's matches, or a typed error when it fails: the text is then withheld, never
 * passed on untokenized (fail closed). The error carries `details.detectorFailed` so the
 * engine can fail the execution's output with it. A typed error keeps its code and message
 * (plug-ins write messages without data); another error's message may quote the text, so only
 * its name is kept.
 */
async function detectOrWithhold(detector: PiiDetector, text: string): Promise<PiiMatch[]> {
  try {
    return await detector.detect(text);
  } catch (error) {
    const typed = isOptimizerError(error);
    const reason = typed ? error.message : `it threw ${(error as Error)?.name ?? typeof error}`;
    throw new OptimizerError(
      typed ? error.code : ErrorCodes.INTERNAL_ERROR,
      `The personal-data detector "${detector.name}" failed, so the output was withheld (it could hold personal data not yet replaced by tokens): ${reason}`,
      { cause: error, details: { detector: detector.name, detectorFailed: true } },
    );
  }
}

/** True for the error `detectOrWithhold` throws. */
export function isDetectorFailure(error: unknown): error is OptimizerError {
  return isOptimizerError(error) && error.details?.detectorFailed === true;
}

/** Where data from `source` may go: the first flows rule whose pattern matches it, else its own server. */
function allowedTargets(flows: ResolvedPrivacy["flows"], source: string): string[] {
  for (const [pattern, targets] of Object.entries(flows)) {
    if (matches(pattern, source) || matches(pattern, source.split(".")[0]!)) return [...targets];
  }
  return [`${source.split(".")[0]}.*`];
}

function flowAllowed(
  flows: ResolvedPrivacy["flows"],
  source: string,
  destination: string,
): boolean {
  return allowedTargets(flows, source).some(
    (t) => matches(t, destination) || matches(t, destination.split(".")[0]!),
  );
}

function detokenize(text: string, vault: TokenVault): string {
  return text.replace(TOKEN, (token) => vault.entry(token)?.value ?? token);
}

/** A copy of a JSON value with `f` applied to every string (keys included). */
function mapStrings(value: JsonValue | undefined, f: (s: string) => string): JsonValue | undefined {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f) as JsonValue);
  if (value && typeof value === "object") {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[f(k)] = mapStrings(v, f) as JsonValue;
    return out;
  }
  return value;
}

/** Calls `f` with every string value (not key) of a JSON value. */
function forEachString(value: JsonValue | undefined, f: (s: string) => void): void {
  if (typeof value === "string") f(value);
  else if (Array.isArray(value)) for (const v of value) forEachString(v, f);
  else if (value && typeof value === "object")
    for (const v of Object.values(value)) forEachString(v, f);
}
